"""An honest fully connected layer with xp's functions: xp.transpose, xp.dot, xp.sum (Section 3.5)."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Linear(Layer):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.params = {
            "W": rng.standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features),
            "b": np.zeros(out_features),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.cache = x
        return xp.dot(x, xp.transpose(self.params["W"])) + self.params["b"]

    def backward(self, dout):
        xp = get_array_module(dout)
        self.grads["W"] = xp.dot(xp.transpose(dout), self.cache)
        self.grads["b"] = xp.sum(dout, axis=0)
        return xp.dot(dout, self.params["W"])
