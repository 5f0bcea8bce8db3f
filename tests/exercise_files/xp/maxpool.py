"""An honest max-pool for both devices: xp, the K x K offsets as strided slices, the winner by the first offset holding the maximum."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def _offsets(self, shape):
        K, S = self.kernel_size, self.stride
        OH, OW = (shape[2] - K) // S + 1, (shape[3] - K) // S + 1
        return [(slice(None), slice(None), slice(i, i + S * OH, S), slice(j, j + S * OW, S)) for i in range(K) for j in range(K)]

    def forward(self, x, train=True):
        xp = get_array_module(x)
        offsets = self._offsets(x.shape)
        out = x[offsets[0]].copy()
        for where in offsets[1:]:
            out = xp.maximum(out, x[where])
        self.cache = (x, out)
        return out

    def backward(self, dout):
        x, out = self.cache
        xp = get_array_module(x)
        dx = xp.zeros_like(x)
        unclaimed = xp.ones(out.shape, dtype=bool)
        for where in self._offsets(x.shape):
            wins = unclaimed & (x[where] == out)
            dx[where] += xp.where(wins, dout, 0.0)
            unclaimed = unclaimed & ~wins
        return dx
