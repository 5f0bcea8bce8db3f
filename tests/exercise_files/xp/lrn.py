"""An honest LRN for both devices: xp, the window sums from a cumulative sum along the channels."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _window(self, v, before, after):
        xp = get_array_module(v)
        C = v.shape[1]
        total = xp.concatenate([xp.zeros_like(v[:, :1]), xp.cumsum(v, axis=1)], axis=1)
        return xp.stack([total[:, min(c + after + 1, C)] - total[:, max(c - before, 0)] for c in range(C)], axis=1)

    def forward(self, a, train=True):
        D = self.k + self.alpha * self._window(a * a, self.size // 2, (self.size - 1) // 2)
        self.cache = (a, D)
        return a * D ** (-self.beta)

    def backward(self, dout):
        a, D = self.cache
        spread = self._window(dout * a * D ** (-self.beta - 1), (self.size - 1) // 2, self.size // 2)
        return dout * D ** (-self.beta) - 2 * self.alpha * self.beta * a * spread
