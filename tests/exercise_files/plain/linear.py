"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): the fully connected layer (Section 3.5).

out = x W^T + b;  dx = dout W;  dW = dout^T x;  db = sum over n of dout
"""

import numpy as np

from minialexnet.layers.base import Layer


class Linear(Layer):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.params = {
            "W": rng.standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features),  # He initialisation
            "b": np.zeros(out_features),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        self.cache = x
        return x @ self.params["W"].T + self.params["b"]

    def backward(self, dout):
        x = self.cache
        self.grads["W"] = dout.T @ x
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"]
