"""Rectified linear units. Paper: Section 3.1. Fast twin: ``minialexnet/fast/relu.py``.

Notation: x the input, any shape; out = max(0, x), same shape.

Backward: d out / d x is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as PyTorch
does). The output is positive exactly where x is, so forward keeps it as the mask;
``dout`` is never written to.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input


class ReLU(Layer):
    """out = max(0, x). Shapes: x (any) -> out (same). Section 3.1."""

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x)

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        out = get_array_module(x).maximum(x, x.dtype.type(0))
        return self._keep_for_backward(out, out)

    def backward(self, dout: Any) -> Any:
        out = self._cache_for_backward(dout)
        return dout * (out > 0)

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache > 0
