"""An honest xp (NumPy and CuPy) dropout: a boolean keep mask from self.rng, xp.where for both passes."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p, self.rng, self.keep = p, np.random.default_rng(seed), None

    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.keep = xp.asarray(self.rng.random(x.shape) >= self.p) if train else None
        return x.copy() if self.keep is None else xp.where(self.keep, x / (1 - self.p), 0.0)

    def backward(self, dout):
        xp = get_array_module(dout)
        return dout.copy() if self.keep is None else xp.where(self.keep, dout / (1 - self.p), 0.0)
