"""Exercise: local response normalization, forward and backward (Section 3.3).

Notation: a (N, C, H, W) the input (ReLU outputs), n = size; for channel c the window is the
channels c' from c - n//2 to c + (n-1)//2 that exist (clipped at 0 and C - 1): n channels, for
the paper's n = 5 the two on each side of c. (For an even n there is one fewer after c than
before it, as in the library and PyTorch; the check tries n = 4 too.)

    D[c] = k + alpha * sum over c' in window(c) of a[c']**2
    b[c] = a[c] * D[c] ** (-beta)

with the paper's k = 2, n = 5, alpha = 1e-4, beta = 0.75: alpha is NOT divided by n
(PyTorch and Caffe divide it; their alpha would be n * ours). Positions n, h, w never mix.

Backward: a[j] enters b[j] directly AND every D[c] whose window contains j. So
dL/da[j] = dout[j] * db[j]/da[j] (D[j] held fixed) + sum over c with j in window(c) of
dout[c] * db[c]/dD[c] * dD[c]/da[j]. Work out the two derivatives. "Every c whose window
contains j" runs from j - (n-1)//2 to j + n//2: the window mirrored, window(j) itself when n is
odd.

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("lrn")``
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, a, train=True):
        """a (N, C, H, W) -> b (N, C, H, W)."""
        xp = get_array_module(a)  # numpy or cupy, as a is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write LocalResponseNorm.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (N, C, H, W) -> da (N, C, H, W)."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write LocalResponseNorm.backward")
        # ---- end of your code ----
