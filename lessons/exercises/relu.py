"""Exercise: the ReLU backward pass (Section 3.1).

out = max(0, x). Write ``backward``: given dout = dL/dout (same shape as x), return
dL/dx. Check it with:  python -m minialexnet.exercises check relu
"""

import numpy as np

from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        self.cache = x
        return np.maximum(x, 0)

    def backward(self, dout):
        x = self.cache
        # TODO: return dL/dx. The derivative of max(0, x) is 1 where x > 0, else 0.
        raise NotImplementedError("write ReLU.backward")
