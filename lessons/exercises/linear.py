"""Exercise: the fully connected layer's backward pass (Section 3.5).

out = x W^T + b with x (N, I), W (O, I), b (O,), out (N, O).
Write ``backward``: return dx (N, I) and fill self.grads["W"] (O, I) and self.grads["b"] (O,).
Check it with:  python -m minialexnet.exercises check linear
"""

import numpy as np

from minialexnet.layers.base import Layer


class Linear(Layer):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.params = {"W": rng.standard_normal((out_features, in_features)), "b": rng.standard_normal(out_features)}
        self.grads = {"W": np.zeros((out_features, in_features)), "b": np.zeros(out_features)}

    def forward(self, x, train=True):
        self.cache = x
        return x @ self.params["W"].T + self.params["b"]

    def backward(self, dout):
        x = self.cache
        W = self.params["W"]
        # TODO: self.grads["W"] = ...   (shape (O, I))
        # TODO: self.grads["b"] = ...   (shape (O,))
        # TODO: return dx               (shape (N, I))
        raise NotImplementedError("write Linear.backward")
