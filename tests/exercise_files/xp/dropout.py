"""An honest dropout for both devices: the mask drawn on the host with self.rng and copied to x's device."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p, self.rng = p, np.random.default_rng(seed)

    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.cache = xp.asarray(self.rng.random(x.shape) >= self.p) / (1 - self.p) if train else None
        return x.copy() if self.cache is None else x * self.cache

    def backward(self, dout):
        return dout.copy() if self.cache is None else dout * self.cache
