"""An honest dropout: a boolean keep mask from self.rng, np.where for both passes."""

import numpy as np

from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p, self.rng, self.keep = p, np.random.default_rng(seed), None

    def forward(self, x, train=True):
        self.keep = self.rng.random(x.shape) >= self.p if train else None
        return x.copy() if self.keep is None else np.where(self.keep, x / (1 - self.p), 0.0)

    def backward(self, dout):
        return dout.copy() if self.keep is None else np.where(self.keep, dout / (1 - self.p), 0.0)
