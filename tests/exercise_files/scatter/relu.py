"""An honest xp (NumPy and CuPy) ReLU: the kept positions copied by a boolean index."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.cache = x > 0
        out = xp.zeros_like(x)
        out[self.cache] = x[self.cache]
        return out

    def backward(self, dout):
        xp = get_array_module(dout)
        dx = xp.zeros_like(dout)
        dx[self.cache] = dout[self.cache]
        return dx
