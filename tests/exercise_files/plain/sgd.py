"""An honest solution (loops, tests/test_exercises.py edits it into mistakes): the paper's SGD with momentum and weight decay (Section 5).

v <- momentum * v - weight_decay * lr * w - lr * g;   w <- w + v
"""

import numpy as np


class SGD:
    def __init__(self, lr=0.01, momentum=0.9, weight_decay=5e-4):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = {}  # name -> array like the parameter

    def step(self, params, grads):
        for name, w in params.items():
            v = self.velocity.setdefault(name, np.zeros_like(w))
            v *= self.momentum
            v -= self.weight_decay * self.lr * w + self.lr * grads[name]
            w += v
