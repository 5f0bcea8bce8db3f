"""Exercise: the convolution layer by im2col, forward and backward (Section 3.5, Figure 2).

Uses YOUR im2col and col2im (im2col.py, loaded below): write and check those first.

Notation: x (N, C, H, W), W (F, C / G, K, K) = self.params["W"], b (F,) = self.params["b"],
stride S, padding P, G groups, OH, OW the output size, L = N * OH * OW output positions.

    col    = im2col(x)                      (C * K * K, L)
    W_mat  = W.reshape(F, C * K * K)        (F, C * K * K)
    out    = W_mat @ col + b[:, None]       (F, L), columns (n, oh, ow)
           -> reshaped and transposed to (N, F, OH, OW)

Groups (Section 3.2, Figure 2: the two GPUs): with groups=G the C input channels and the F
filters split into G equal, consecutive blocks; filter block g sees only channel block g
(x[:, g*C/G : (g+1)*C/G]), so it is G separate convolutions whose outputs are concatenated
along the channels. groups=1 is the ordinary convolution; do that first, then the loop
over g. The check uses groups 1 and 2.

Backward: bring dout (N, F, OH, OW) into the layout of out's (F, L) matrix, then apply the
matrix-product rule (the gradient of A @ B with respect to A and to B) and col2im, the
adjoint of im2col. db sums over all L positions. Store dW with W's shape and db in
self.grads["W"] and self.grads["b"]; return dx (N, C, H, W).

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("conv")``
"""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.exercises import load
from minialexnet.layers.base import Layer

cols = load("im2col")  # your im2col.py: cols.im2col(x, K, K, S, P), cols.col2im(col, x_shape, K, K, S, P)


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        fan_in = in_channels // groups * kernel_size * kernel_size
        self.params = {"W": rng.standard_normal(shape) * np.sqrt(2.0 / fan_in), "b": np.zeros(out_channels)}  # He initialisation
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        """x (N, C, H, W) -> out (N, F, OH, OW)."""
        xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Conv2d.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (N, F, OH, OW) -> dx (N, C, H, W); fills self.grads["W"] (F, C / G, K, K) and self.grads["b"] (F,)."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Conv2d.backward")
        # ---- end of your code ----
