"""An honest xp (NumPy and CuPy) LRN: the channel window sums from a cumulative sum (a difference of two running totals)."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _window(self, v, before, after):
        xp = get_array_module(v)
        """out[:, c] = sum of v[:, c - before .. c + after], clipped."""
        C = v.shape[1]
        total = xp.concatenate([xp.zeros_like(v[:, :1]), xp.cumsum(v, axis=1)], axis=1)  # total[:, c] = sum of v[:, :c]
        top = xp.minimum(xp.arange(C) + after + 1, C)
        bottom = xp.maximum(xp.arange(C) - before, 0)
        return total[:, top] - total[:, bottom]

    def forward(self, a, train=True):
        D = self.k + self.alpha * self._window(a * a, self.size // 2, (self.size - 1) // 2)
        self.cache = (a, D)
        return a * D ** (-self.beta)

    def backward(self, dout):
        a, D = self.cache
        spread = self._window(dout * a * D ** (-self.beta - 1), (self.size - 1) // 2, self.size // 2)
        return dout * D ** (-self.beta) - 2 * self.alpha * self.beta * a * spread
