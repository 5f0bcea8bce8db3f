"""An honest solution (loops, tests/test_exercises.py edits it into mistakes): ReLU (Section 3.1).

out = max(0, x);  dx = dout where x > 0, else 0
"""

import numpy as np

from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        self.cache = x > 0
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * self.cache
