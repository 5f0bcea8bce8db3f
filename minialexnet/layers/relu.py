"""Rectified linear units. Paper: Section 3.1 (ReLU nonlinearity).

Notation: x the input, any shape; out = max(0, x), same shape.

Backward: d out / d x is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as
PyTorch does). Forward keeps its output, which is positive exactly where x is, as the
mask; ``dout`` is never written to.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class ReLU(Layer):
    """out = max(0, x). Shapes: x (any) -> out (same). Section 3.1."""

    def forward(self, x: Any, train: bool = True) -> Any:
        xp = get_array_module(x)
        out = xp.maximum(x, x.dtype.type(0))
        self.cache = out  # out > 0 exactly where x > 0, so the output doubles as the mask
        return out

    def backward(self, dout: Any) -> Any:
        out = self.cache
        return dout * (out > 0)

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache > 0
