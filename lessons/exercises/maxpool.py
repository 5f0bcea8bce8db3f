"""Exercise: overlapping max-pooling, forward and backward (Section 3.4: 3x3 windows, stride 2).

Notation: x (N, C, H, W), kernel K x K, stride S (no padding),
OH = (H - K) // S + 1, OW likewise.

    out[n, c, oh, ow] = max over i, j in [0, K) of x[n, c, S oh + i, S ow + j]

Backward: the max is a selection, so each window's gradient dout[n, c, oh, ow] goes to the
ONE input element that was its maximum, and to no other. Windows overlap (K > S), so one
element can win several windows: its gradient is the sum. Ties: when a window holds its
maximum more than once, the gradient goes to the first of them in row-major order (the
smallest i, then the smallest j), as in PyTorch; the total gradient is conserved,
sum(dx) = sum(dout). Remember in forward which element won (np.argmax of a flattened window
returns the first maximum).

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("maxpool")``
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x, train=True):
        """x (N, C, H, W) -> out (N, C, OH, OW)."""
        xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write MaxPool2d.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (N, C, OH, OW) -> dx (N, C, H, W)."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write MaxPool2d.backward")
        # ---- end of your code ----
