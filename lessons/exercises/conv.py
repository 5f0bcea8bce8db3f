"""Exercise: the convolution backward pass (Section 3.5), by im2col.

x (N, C, H, W), W (F, C, KH, KW), b (F,) -> out (N, F, OH, OW).
forward builds col = im2col(x) of shape (C*KH*KW, N*OH*OW) and computes W_mat @ col.
Write ``backward``: fill self.grads["W"] and self.grads["b"] and return dx.
``col2im`` (the adjoint of im2col) is given.
Check it with:  python -m minialexnet.exercises check conv
"""

import numpy as np

from minialexnet.layers.base import Layer
from minialexnet.layers.conv import col2im, im2col


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.stride, self.padding, self.kernel_size = stride, padding, kernel_size
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.params = {"W": rng.standard_normal(shape), "b": rng.standard_normal(out_channels)}
        self.grads = {"W": np.zeros(shape), "b": np.zeros(out_channels)}

    def forward(self, x, train=True):
        N = x.shape[0]
        K, S, P = self.kernel_size, self.stride, self.padding
        F = self.params["W"].shape[0]
        col = im2col(x, K, K, S, S, P, P)  # (C*K*K, N*OH*OW)
        OH = (x.shape[2] + 2 * P - K) // S + 1
        OW = (x.shape[3] + 2 * P - K) // S + 1
        out = self.params["W"].reshape(F, -1) @ col + self.params["b"][:, None]  # (F, N*OH*OW)
        self.cache = (x.shape, col)
        return out.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        x_shape, col = self.cache
        K, S, P = self.kernel_size, self.stride, self.padding
        F = self.params["W"].shape[0]
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, N*OH*OW), same column order as col
        # TODO: self.grads["b"] = ...
        # TODO: self.grads["W"] = ...  (shape (F, C, K, K))
        # TODO: dcol = ...; return col2im(dcol, x_shape, K, K, S, S, P, P)
        raise NotImplementedError("write Conv2d.backward")
