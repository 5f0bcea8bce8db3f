"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): ReLU (Section 3.1).

out = max(0, x);  dx = dout where x > 0, else 0
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        xp = get_array_module(x)
        self.cache = x > 0
        return xp.maximum(x, 0)

    def backward(self, dout):
        return dout * self.cache
