"""Rectified linear units. Paper: Section 3.1 (ReLU nonlinearity).

Notation: x the input, any shape; out = max(0, x), same shape.

Backward: d out / d x is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as
PyTorch does). Forward keeps its output, which is positive exactly where x is, as the
mask; ``dout`` is never written to. Both directions run on slices of the batch on all the
CPU's cores (``for_each_slice`` in parallel.py).
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.parallel import for_each_slice


class ReLU(Layer):
    """out = max(0, x). Shapes: x (any) -> out (same). Section 3.1."""

    def forward(self, x: Any, train: bool = True) -> Any:
        xp = get_array_module(x)
        out = xp.empty_like(x)
        zero = x.dtype.type(0)

        def rows(s: Any) -> None:
            xp.maximum(x[s], zero, out=out[s])

        _over_first_axis(xp, x, rows)
        self.cache = out  # out > 0 exactly where x > 0, so the output doubles as the mask
        return out

    def backward(self, dout: Any) -> Any:
        xp = get_array_module(dout)
        out = self.cache
        dx = xp.empty_like(dout)

        def rows(s: Any) -> None:
            xp.multiply(dout[s], out[s] > 0, out=dx[s])

        _over_first_axis(xp, dout, rows)
        return dx

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache > 0


def _over_first_axis(xp: Any, x: Any, work: Any) -> None:
    """Run ``work`` on slices of x's first axis (on the whole of x when it has no axes)."""
    if x.ndim == 0:
        work(Ellipsis)
    else:
        for_each_slice(xp, x.shape[0], work, x[:1].nbytes)
