"""An honest dropout: the mask drawn as binomial trials from self.rng."""

import numpy as np

from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x, train=True):
        self.cache = self.rng.binomial(1, 1 - self.p, size=x.shape) / (1 - self.p) if train else None
        return x.copy() if self.cache is None else x * self.cache

    def backward(self, dout):
        return dout.copy() if self.cache is None else dout * self.cache
