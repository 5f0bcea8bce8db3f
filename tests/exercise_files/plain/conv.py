"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): the convolution layer by im2col (Section 3.5).

out = W_mat @ im2col(x) + b;  dW = dout_mat @ col^T;  db = row sums of dout_mat;  dx = col2im(W_mat^T @ dout_mat)
"""

import numpy as np

from minialexnet.exercises import load
from minialexnet.layers.base import Layer

cols = load("im2col")


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        fan_in = in_channels * kernel_size * kernel_size
        self.params = {"W": rng.standard_normal(shape) * np.sqrt(2.0 / fan_in), "b": np.zeros(out_channels)}  # He initialisation
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        N, _, H, W = x.shape
        K, S, P = self.kernel_size, self.stride, self.padding
        F = self.params["W"].shape[0]
        OH, OW = (H + 2 * P - K) // S + 1, (W + 2 * P - K) // S + 1
        col = cols.im2col(x, K, K, S, P)
        out = self.params["W"].reshape(F, -1) @ col + self.params["b"][:, None]  # (F, N * OH * OW)
        self.cache = (x.shape, col)
        return out.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        x_shape, col = self.cache
        K, S, P = self.kernel_size, self.stride, self.padding
        F = self.params["W"].shape[0]
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # the columns of out: (n, oh, ow)
        self.grads["W"] = (dout_mat @ col.T).reshape(self.params["W"].shape)
        self.grads["b"] = dout_mat.sum(axis=1)
        return cols.col2im(self.params["W"].reshape(F, -1).T @ dout_mat, x_shape, K, K, S, P)
