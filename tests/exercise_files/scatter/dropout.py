"""An honest xp (NumPy and CuPy) dropout: the mask drawn as binomial trials from self.rng."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x, train=True):
        xp = get_array_module(x)  # the draw is on the host (self.rng), the mask on x's device
        self.cache = xp.asarray(self.rng.binomial(1, 1 - self.p, size=x.shape)) / (1 - self.p) if train else None
        return x.copy() if self.cache is None else x * self.cache

    def backward(self, dout):
        return dout.copy() if self.cache is None else dout * self.cache
