"""An honest xp (NumPy and CuPy) ReLU with xp.where."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.cache = x
        return xp.where(x > 0, x, 0.0)

    def backward(self, dout):
        xp = get_array_module(dout)
        return xp.where(self.cache > 0, dout, 0.0)
