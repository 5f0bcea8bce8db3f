"""An honest max-pool from sliding windows; backward adds each window's gradient at its argmax with np.add.at."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.K, self.S = kernel_size, stride

    def forward(self, x, train=True):
        K, S = self.K, self.S
        windows = sliding_window_view(x, (K, K), axis=(2, 3))[:, :, ::S, ::S]  # (N, C, OH, OW, K, K)
        flat = windows.reshape(*windows.shape[:4], K * K)
        self.cache = (x.shape, flat.argmax(axis=-1))
        return flat.max(axis=-1)

    def backward(self, dout):
        x_shape, first = self.cache
        K, S = self.K, self.S
        N, C, OH, OW = dout.shape
        n, c, oh, ow = np.indices((N, C, OH, OW))
        rows, cols = oh * S + first // K, ow * S + first % K
        dx = np.zeros(x_shape)
        np.add.at(dx, (n, c, rows, cols), dout)
        return dx
