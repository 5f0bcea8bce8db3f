"""Exercise: the local response normalization backward pass (Section 3.3).

b[c] = a[c] / D[c]**beta,  D[c] = k + alpha * sum of a[c']**2 for c' in [c - n//2, c + n//2]
(clipped to existing channels; alpha NOT divided by n). Shapes (N, C, H, W).
Write ``backward``: dL/da[j] has a direct term (through b[j]) and a term through every
D[c] whose window contains j.
Check it with:  python -m minialexnet.exercises check lrn
"""

import numpy as np

from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def window_sum(self, v):
        """out[:, c] = sum of v[:, c'] over the window of c (a symmetric window)."""
        half = self.size // 2
        C = v.shape[1]
        out = np.zeros_like(v)
        for c in range(C):
            out[:, c] = v[:, max(0, c - half) : min(C, c + half + 1)].sum(axis=1)
        return out

    def forward(self, a, train=True):
        D = self.k + self.alpha * self.window_sum(a * a)
        b = a * D ** (-self.beta)
        self.cache = (a, b, D)
        return b

    def backward(self, dout):
        a, b, D = self.cache
        # TODO: return dL/da. The window is symmetric, so "every c whose window contains j"
        # is the window of j: self.window_sum can compute that sum.
        raise NotImplementedError("write LocalResponseNorm.backward")
