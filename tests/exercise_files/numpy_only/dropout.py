"""Deliberately NumPy-only (np on the device's arrays: rejected by the strict-device run): inverted dropout (Section 4.2).

train: mask = (u >= p) / (1 - p), out = x * mask, dx = dout * mask;  test: the identity
"""

import numpy as np

from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x, train=True):
        if not train:
            self.cache = None
            return x.copy()
        self.cache = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * self.cache

    def backward(self, dout):
        return dout.copy() if self.cache is None else dout * self.cache
