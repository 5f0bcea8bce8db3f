"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): local response normalization (Section 3.3).

D[c] = k + alpha * sum_{c' in window(c)} a[c']**2,   b[c] = a[c] * D[c]**(-beta)
da[j] = dout[j] D[j]**(-beta) - 2 alpha beta a[j] * sum_{c : j in window(c)} dout[c] b[c] / D[c]
window(c) = [c - size//2, c + (size-1)//2];  {c : j in window(c)} = [j - (size-1)//2, j + size//2]: the same for odd sizes
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _window_sum(self, v, mirrored=False):
        """out[:, c] = sum of v[:, c'] over window(c), clipped to the channels (mirrored: over {c' : c in window(c')})."""
        xp = get_array_module(v)
        before, after, C = self.size // 2, (self.size - 1) // 2, v.shape[1]
        before, after = (after, before) if mirrored else (before, after)
        out = xp.zeros_like(v)
        for c in range(C):
            out[:, c] = v[:, max(0, c - before) : min(C, c + after + 1)].sum(axis=1)
        return out

    def forward(self, a, train=True):
        D = self.k + self.alpha * self._window_sum(a * a)
        b = a * D ** (-self.beta)
        self.cache = (a, b, D)
        return b

    def backward(self, dout):
        a, b, D = self.cache
        return dout * D ** (-self.beta) - 2 * self.alpha * self.beta * a * self._window_sum(dout * b / D, mirrored=True)
