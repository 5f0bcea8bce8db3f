"""Exercise: the paper's SGD update with momentum and weight decay (Section 5).

For every parameter w (a name in params, its gradient grads[name], its velocity v, zero
at the start and kept between steps, one per name):

    v <- momentum * v - weight_decay * lr * w - lr * dL/dw
    w <- w + v

(the paper: momentum 0.9, weight decay 0.0005, lr 0.01). Weight decay is inside the
velocity, applied to every parameter, the biases too (as in the paper). Update each w IN PLACE (the model holds these very
arrays: w += ... or w[...] = ...; rebinding params[name] would leave the model unchanged).
Only read the gradients.

Check it:  ``exercises.check("sgd")``
"""

import numpy as np


class SGD:
    def __init__(self, lr=0.01, momentum=0.9, weight_decay=5e-4):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = {}  # name -> array like the parameter

    def step(self, params, grads):
        """params, grads: dicts name -> array (same names, same shapes). Updates params in place."""
        # ---- your code ----
        raise NotImplementedError("write SGD.step")
        # ---- end of your code ----
