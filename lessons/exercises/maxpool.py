"""Exercise: the max-pooling backward pass (Section 3.4: 3x3 windows, stride 2).

x (N, C, H, W) -> out (N, C, OH, OW), out = max over each window.
Write ``backward``: each window's gradient goes to the one input element that was the
maximum (windows overlap, so an element can receive several gradients: add them).
Check it with:  python -m minialexnet.exercises check maxpool
"""

import numpy as np

from minialexnet.layers.base import Layer


class MaxPool2d(Layer):
    def __init__(self, kernel_size=3, stride=2):
        super().__init__()
        self.k, self.s = kernel_size, stride

    def forward(self, x, train=True):
        N, C, H, W = x.shape
        k, s = self.k, self.s
        OH, OW = (H - k) // s + 1, (W - k) // s + 1
        out = np.empty((N, C, OH, OW), dtype=x.dtype)
        for i in range(OH):
            for j in range(OW):
                out[:, :, i, j] = x[:, :, i * s : i * s + k, j * s : j * s + k].max(axis=(2, 3))
        self.cache = x
        return out

    def backward(self, dout):
        x = self.cache
        k, s = self.k, self.s
        dx = np.zeros_like(x)
        # TODO: for every window (i, j), add dout[:, :, i, j] to the position of its maximum.
        # Hint: window.reshape(N, C, k * k).argmax(axis=2) finds it; np.unravel_index turns it into (row, col).
        raise NotImplementedError("write MaxPool2d.backward")
