"""Fully connected layer on all the CPU's cores. Twin of ``minialexnet.layers.linear.Linear``
(Section 3.5), whose docstring holds the notation, shapes and gradients.

What it changes: the products go through ``parallel.matmul`` (cut by their shapes across
threads), and dW is written into the existing gradient array (151 MB for fc6) instead of
a new one each step.
"""

from __future__ import annotations

from typing import Any

from minialexnet.fast.base import FastLayer
from minialexnet.fast.parallel import matmul
from minialexnet.layers import linear as reference


class Linear(FastLayer, reference.Linear):
    """The reference Linear with threaded products and dW written in place (module docstring)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        out = matmul(x, self.params["W"].T)
        out += self.params["b"]
        return self._keep_for_backward(x, out)

    def backward(self, dout: Any) -> Any:
        x = self._cache_for_backward(dout)
        self.grads["W"] = matmul(dout.T, x, out=self.reusable_grad("W", dout))  # 151 MB for fc6: reuse it
        self.grads["b"] = dout.sum(axis=0)
        self.cache = None
        return matmul(dout, self.params["W"])
