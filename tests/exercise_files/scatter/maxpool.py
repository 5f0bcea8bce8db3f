"""An honest xp max-pool as a loop over the K x K offsets with strided slices; ties to the first offset, routed by masks."""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def _slices(self, shape):
        K, S = self.kernel_size, self.stride
        OH, OW = (shape[2] - K) // S + 1, (shape[3] - K) // S + 1
        return [(i, j, np.s_[:, :, i : i + S * OH : S, j : j + S * OW : S]) for i in range(K) for j in range(K)]

    def forward(self, x, train=True):
        xp = get_array_module(x)
        slices = self._slices(x.shape)
        out = x[slices[0][2]].copy()
        for _, _, where in slices[1:]:
            out = xp.maximum(out, x[where])
        self.cache = (x, out)
        return out

    def backward(self, dout):
        xp = get_array_module(dout)
        x, out = self.cache
        dx = xp.zeros_like(x)
        unclaimed = xp.ones(out.shape, dtype=bool)  # the first offset (row-major) holding the maximum takes the gradient
        for _, _, where in self._slices(x.shape):
            wins = unclaimed & (x[where] == out)
            dx[where] += xp.where(wins, dout, 0.0)
            unclaimed &= ~wins
        return dx
