"""An honest xp Conv2d on the student's im2col, the product written with einsum, the groups as one more index."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.exercises import load
from minialexnet.layers.base import Layer

cols = load("im2col")


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, rng=None):
        super().__init__()
        self.K, self.S, self.P, self.G = kernel_size, stride, padding, groups
        self.params = {"W": np.zeros((out_channels, in_channels // groups, kernel_size, kernel_size)), "b": np.zeros(out_channels)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def _grouped_weights(self):
        """W (F, C / G, K, K) as (G, F / G, C / G * K * K): col's rows are (c, i, j), so group g's rows are one block."""
        return self.params["W"].reshape(self.G, len(self.params["W"]) // self.G, -1)

    def forward(self, x, train=True):
        xp = get_array_module(x)
        N, _, H, W = x.shape
        OH, OW = (H + 2 * self.P - self.K) // self.S + 1, (W + 2 * self.P - self.K) // self.S + 1
        col = cols.im2col(x, self.K, self.K, self.S, self.P).reshape(self.G, -1, N, OH, OW)
        self.cache = (x.shape, col)
        out = xp.einsum("gfr,grnhw->ngfhw", self._grouped_weights(), col).reshape(N, -1, OH, OW)
        return out + self.params["b"][None, :, None, None]

    def backward(self, dout):
        xp = get_array_module(dout)
        x_shape, col = self.cache
        N, F, OH, OW = dout.shape
        grouped = dout.reshape(N, self.G, F // self.G, OH, OW)
        self.grads["W"] = xp.einsum("ngfhw,grnhw->gfr", grouped, col).reshape(self.params["W"].shape)
        self.grads["b"] = xp.einsum("nfhw->f", dout)
        dcol = xp.einsum("gfr,ngfhw->grnhw", self._grouped_weights(), grouped).reshape(-1, N * OH * OW)
        return cols.col2im(dcol, x_shape, self.K, self.K, self.S, self.P)
