"""Exercise: inverted dropout, forward and backward (Section 4.2: p = 0.5 on fc6 and fc7).

x, out, dout, dx: any shape, all the same. p is the probability of DROPPING a unit.

    train=True:   mask[i] = 1 / (1 - p) with probability 1 - p, else 0 (a fresh draw every call,
                  one for every entry of x: each example of the batch its own mask)
                  out = x * mask
    train=False:  out = x (nothing dropped, nothing scaled)

"Inverted": the kept units are scaled up by 1 / (1 - p) during training, so the expected
output equals x and the test-time network needs no change. (The paper instead multiplies
the outputs by 0.5 at test time: the same network up to that factor.)
Backward: out is x times a constant mask, so dx = ?  (train=False: the identity.)
Draw random numbers with self.rng (np.random.Generator, on the host), so a seed makes a run
repeatable, and bring the mask to x's device with xp.asarray (a no-op on NumPy).

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("dropout")``
"""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Dropout(Layer):
    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x, train=True):
        """x -> out, same shape."""
        xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Dropout.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout -> dx, same shape."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Dropout.backward")
        # ---- end of your code ----
