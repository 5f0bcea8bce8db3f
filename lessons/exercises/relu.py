"""Exercise: ReLU, forward and backward (paper Section 3.1).

    out = max(0, x)                        x, out, dout, dx: any shape, all the same

Backward: dL/dx = dL/dout * d out/dx, element by element. Work out d max(0, x)/dx on
each side of 0 (at exactly 0 either value is accepted; the checker keeps inputs away from 0).
``dout`` belongs to the caller: compute a new array, never write into ``dout``.

Check it:  ``exercises.check("relu")``  or  ``python -m minialexnet.exercises check relu``
"""

import numpy as np

from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        """x (any shape) -> out (same shape). Keep in self.cache what backward needs."""
        # ---- your code ----
        raise NotImplementedError("write ReLU.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (shape of out) -> dx (shape of x). ReLU has no parameters: self.grads stays empty."""
        # ---- your code ----
        raise NotImplementedError("write ReLU.backward")
        # ---- end of your code ----
