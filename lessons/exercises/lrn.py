"""Exercise: local response normalization, forward and backward (Section 3.3).

Notation: a (N, C, H, W) the input (ReLU outputs), n = size, half = n // 2; for channel c
the window is the channels c' in [c - half, c + half] that exist (clipped at 0 and C - 1).

    D[c] = k + alpha * sum over c' in window(c) of a[c']**2
    b[c] = a[c] * D[c] ** (-beta)

with the paper's k = 2, n = 5, alpha = 1e-4, beta = 0.75: alpha is NOT divided by n
(PyTorch and Caffe divide it; their alpha would be n * ours). Positions n, h, w never mix.

Backward: a[j] enters b[j] directly AND every D[c] whose window contains j. So
dL/da[j] = dout[j] * db[j]/da[j] (D[j] held fixed) + sum over c with j in window(c) of
dout[c] * db[c]/dD[c] * dD[c]/da[j]. Work out the two derivatives; the window is symmetric,
so "every c whose window contains j" is window(j).

The check also runs it on the strict device (CuPy's rules, no GPU needed). Written with
``xp = get_array_module(x)`` (from minialexnet.backend) instead of ``np``, it runs on a GPU
too, and the check says so; NumPy-only code passes with a note naming the call that
would fail on CuPy.

Check it:  ``exercises.check("lrn")``
"""

import numpy as np

from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, a, train=True):
        """a (N, C, H, W) -> b (N, C, H, W)."""
        # ---- your code ----
        raise NotImplementedError("write LocalResponseNorm.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (N, C, H, W) -> da (N, C, H, W)."""
        # ---- your code ----
        raise NotImplementedError("write LocalResponseNorm.backward")
        # ---- end of your code ----
