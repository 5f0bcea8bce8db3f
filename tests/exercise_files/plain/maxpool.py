"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): overlapping max-pooling (Section 3.4).

out[n, c, oh, ow] = max of the window;  its gradient goes to the window's first maximum (row-major)
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x, train=True):
        xp = get_array_module(x)
        N, C, H, W = x.shape
        K, S = self.kernel_size, self.stride
        OH, OW = (H - K) // S + 1, (W - K) // S + 1
        out = xp.empty((N, C, OH, OW), dtype=x.dtype)
        winners = xp.empty((N, C, OH, OW), dtype=xp.int64)  # flat index in the K x K window
        for oh in range(OH):
            for ow in range(OW):
                window = x[:, :, oh * S : oh * S + K, ow * S : ow * S + K].reshape(N, C, K * K)
                winners[:, :, oh, ow] = window.argmax(axis=2)  # the first maximum
                out[:, :, oh, ow] = window.max(axis=2)
        self.cache = (x.shape, winners)
        return out

    def backward(self, dout):
        xp = get_array_module(dout)
        x_shape, winners = self.cache
        N, C, OH, OW = dout.shape
        K, S = self.kernel_size, self.stride
        dx = xp.zeros(x_shape, dtype=dout.dtype)
        n, c = xp.meshgrid(xp.arange(N), xp.arange(C), indexing="ij")
        for oh in range(OH):
            for ow in range(OW):
                i, j = xp.divmod(winners[:, :, oh, ow], K)
                dx[n, c, oh * S + i, ow * S + j] += dout[:, :, oh, ow]  # (n, c) pairs are distinct: no collisions
        return dx
