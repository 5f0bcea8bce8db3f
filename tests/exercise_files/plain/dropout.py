"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): inverted dropout (Section 4.2).

train: mask = (u >= p) / (1 - p), out = x * mask, dx = dout * mask;  test: the identity
"""

import numpy as np

from minialexnet.backend import get_array_module
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
        xp = get_array_module(x)  # the draw is on the host (self.rng), the mask on x's device
        self.cache = xp.asarray(self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * self.cache

    def backward(self, dout):
        return dout.copy() if self.cache is None else dout * self.cache
