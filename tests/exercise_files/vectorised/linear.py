"""An honest Linear with np.dot and np.tensordot, the bias as a column of ones."""

import numpy as np

from minialexnet.layers.base import Layer


class Linear(Layer):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        self.params = {"W": np.zeros((out_features, in_features)), "b": np.zeros(out_features)}
        self.grads = {"W": np.zeros((out_features, in_features)), "b": np.zeros(out_features)}

    def forward(self, x, train=True):
        ones = np.ones((len(x), 1))
        self.cache = np.hstack([x, ones])
        return np.dot(self.cache, np.hstack([self.params["W"], self.params["b"][:, None]]).T)

    def backward(self, dout):
        both = np.tensordot(dout, self.cache, axes=([0], [0]))  # (O, I + 1): [dW | db]
        self.grads["W"], self.grads["b"] = both[:, :-1], both[:, -1]
        return np.dot(dout, self.params["W"])
