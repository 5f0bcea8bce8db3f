"""Exercise: the fully connected layer, forward and backward (fc6, fc7, fc8; Section 3.5).

Notation: N batch size, I in_features, O out_features.

    x    (N, I)
    W    (O, I)       self.params["W"], PyTorch's layout
    b    (O,)         self.params["b"]
    out  (N, O)       out[n, o] = sum_i x[n, i] W[o, i] + b[o]

Backward: given dout[n, o] = dL/dout[n, o], write out with the chain rule
dL/dx[n, i], dL/dW[o, i] and dL/db[o] (each W[o, i] and b[o] is used by EVERY example n:
their gradients sum over the batch). Return dx; store dW and db in self.grads["W"] and
self.grads["b"] (the same names as self.params), overwriting, never adding to, what is there.
Check the shapes of your results against the shapes above.

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("linear")``
"""

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Linear(Layer):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__()
        rng = np.random.default_rng(0) if rng is None else rng
        self.params = {
            "W": rng.standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features),  # He initialisation
            "b": np.zeros(out_features),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x, train=True):
        """x (N, I) -> out (N, O)."""
        xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Linear.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (N, O) -> dx (N, I); fills self.grads["W"] (O, I) and self.grads["b"] (O,)."""
        xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write Linear.backward")
        # ---- end of your code ----
