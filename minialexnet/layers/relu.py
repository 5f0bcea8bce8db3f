"""Rectified linear units. Paper: Section 3.1 (ReLU nonlinearity).

Notation: x the input, any shape; out = max(0, x), same shape.

Backward: d out / d x is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as
PyTorch does). The mask is kept from the forward pass; ``dout`` is never written to.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    """out = max(0, x). Shapes: x (any) -> out (same). Section 3.1."""

    def forward(self, x: Any, train: bool = True) -> Any:
        xp = get_array_module(x)
        positive = x > 0
        self.cache = positive
        return xp.where(positive, x, xp.zeros((), dtype=x.dtype))

    def backward(self, dout: Any) -> Any:
        xp = get_array_module(dout)
        positive = self.cache
        return xp.where(positive, dout, xp.zeros((), dtype=dout.dtype))

    def kink_state(self) -> Any:
        return self.cache
