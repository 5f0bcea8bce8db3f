"""An honest xp max-pool from sliding windows; backward adds each window's gradient at its argmax with xp.add.at."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.K, self.S = kernel_size, stride

    def forward(self, x, train=True):
        xp = get_array_module(x)
        K, S = self.K, self.S
        windows = xp.lib.stride_tricks.sliding_window_view(x, (K, K), axis=(2, 3))[:, :, ::S, ::S]  # (N, C, OH, OW, K, K)
        flat = windows.reshape(*windows.shape[:4], K * K)
        self.cache = (x.shape, flat.argmax(axis=-1))
        return flat.max(axis=-1)

    def backward(self, dout):
        xp = get_array_module(dout)
        x_shape, first = self.cache
        K, S = self.K, self.S
        N, C, OH, OW = dout.shape
        n, c, oh, ow = xp.indices((N, C, OH, OW))
        rows, cols = oh * S + first // K, ow * S + first % K
        dx = xp.zeros(x_shape)
        xp.add.at(dx, (n, c, rows, cols), dout)
        return dx
