"""Exercise: ReLU, forward and backward (paper Section 3.1).

    out = max(0, x)                        x, out, dout, dx: any shape, all the same

Backward: dL/dx = dL/dout * d out/dx, element by element. Work out d max(0, x)/dx on
each side of 0 (at exactly 0 either value is accepted: no input is exactly 0, but some lie
within 1e-9 of it, where only the exact gradient passes).
``dout`` belongs to the caller: compute a new array, never write into ``dout``.

The check also runs it on the strict device (CuPy's rules, no GPU needed). Written with
``xp = get_array_module(x)`` (from minialexnet.backend) instead of ``np``, it runs on a GPU
too, and the check says so; NumPy-only code passes with a note naming the call that
would fail on CuPy.

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
