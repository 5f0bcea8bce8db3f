"""Exercise: ReLU, forward and backward (paper Section 3.1).

    out = max(0, x)                        x, out, dout, dx: any shape, all the same

Backward: dL/dx = dL/dout * d out/dx, element by element. Work out d max(0, x)/dx on
each side of 0. At exactly 0 the derivative does not exist; take 0 there (the mask is x > 0,
not x >= 0), as the library, PyTorch and lesson 11's kernel do: the check feeds exact zeros,
and inputs within 1e-9 of 0, where only the exact gradient passes.
``dout`` belongs to the caller: compute a new array, never write into ``dout``.

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("relu")``  or  ``python -m minialexnet.exercises check relu``
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    def forward(self, x, train=True):
        """x (any shape) -> out (same shape). Keep in self.cache what backward needs."""
        xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write ReLU.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (shape of out) -> dx (shape of x). ReLU has no parameters: self.grads stays empty."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write ReLU.backward")
        # ---- end of your code ----
