"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): the convolution layer by im2col (Section 3.5).

out = W_mat @ im2col(x) + b;  dW = dout_mat @ col^T;  db = row sums of dout_mat;  dx = col2im(W_mat^T @ dout_mat)
groups: group g's filters see only its C / G input channels, one im2col product per group.
"""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.exercises import load
from minialexnet.layers.base import Layer

cols = load("im2col")


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        fan_in = in_channels // groups * kernel_size * kernel_size
        self.params = {"W": rng.standard_normal(shape) * np.sqrt(2.0 / fan_in), "b": np.zeros(out_channels)}  # He initialisation
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        xp = get_array_module(x)
        N, C, H, W = x.shape
        K, S, P, G = self.kernel_size, self.stride, self.padding, self.groups
        F = self.params["W"].shape[0]
        OH, OW = (H + 2 * P - K) // S + 1, (W + 2 * P - K) // S + 1
        Cg, Fg = C // G, F // G
        col_of_group, outs = [], []
        for g in range(G):
            col = cols.im2col(x[:, g * Cg : (g + 1) * Cg], K, K, S, P)
            outs.append(self.params["W"][g * Fg : (g + 1) * Fg].reshape(Fg, -1) @ col)  # (F / G, N * OH * OW)
            col_of_group.append(col)
        out = xp.concatenate(outs, axis=0) + self.params["b"][:, None]
        self.cache = (x.shape, col_of_group)
        return out.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        xp = get_array_module(dout)
        x_shape, col_of_group = self.cache
        K, S, P, G = self.kernel_size, self.stride, self.padding, self.groups
        F = self.params["W"].shape[0]
        N, C, H, W = x_shape
        Cg, Fg = C // G, F // G
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # the columns of out: (n, oh, ow)
        dW, dx = [], []
        for g in range(G):
            filters = slice(g * Fg, (g + 1) * Fg)
            W_mat = self.params["W"][filters].reshape(Fg, -1)
            dW.append(dout_mat[filters] @ col_of_group[g].T)
            dx.append(cols.col2im(W_mat.T @ dout_mat[filters], (N, Cg, H, W), K, K, S, P))
        self.grads["W"] = xp.concatenate(dW, axis=0).reshape(self.params["W"].shape)
        self.grads["b"] = dout_mat.sum(axis=1)
        return xp.concatenate(dx, axis=1)
