"""ReLU on all the CPU's cores. Twin of ``minialexnet.layers.relu.ReLU`` (Section 3.1), whose
docstring holds the maths: the same maximum and mask, the same numbers.

What it changes: both directions run on slices on all the CPU's cores (``for_each_slice``
in parallel.py), slices of the numbers in the order memory holds them, so any layout works
(a convolution may store its output batch-last, layout.py), or slices of the first axis
when the arrays are laid out differently from each other.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.fast.base import FastLayer
from minialexnet.fast.parallel import for_each_slice_along
from minialexnet.layers import relu as reference


class ReLU(FastLayer, reference.ReLU):
    """The reference ReLU on slices in memory order, on every core (module docstring)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        out = xp.empty_like(x)
        zero = x.dtype.type(0)

        x_flat, out_flat = _flat_views(x, out)

        def rows(s: Any) -> None:
            xp.maximum(x_flat[s], zero, out=out_flat[s])

        _over_first_axis(xp, x_flat, rows)
        return self._keep_for_backward(out, out)  # out > 0 exactly where x > 0, so the output doubles as the mask

    def backward(self, dout: Any) -> Any:
        out = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        dx = xp.empty_like(dout)
        dout_flat, out_flat, dx_flat = _flat_views(dout, out, dx)

        def rows(s: Any) -> None:
            xp.multiply(dout_flat[s], out_flat[s] > 0, out=dx_flat[s])

        _over_first_axis(xp, dout_flat, rows)
        return dx

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache > 0


def _flat_views(*arrays: Any) -> tuple[Any, ...]:
    """The arrays as 1-D views in memory order, when they are all laid out alike without gaps; else as they are.

    Element i of every view is then the same (n, c, h, w) of every array, so elementwise
    work on the views is elementwise work on the arrays, on long contiguous runs.
    """
    first = arrays[0]
    if first.ndim == 0 or any(a.shape != first.shape or a.strides != first.strides for a in arrays):
        return arrays
    order = sorted(range(first.ndim), key=lambda axis: -first.strides[axis])
    if not first.transpose(order).flags.c_contiguous:
        return arrays
    return tuple(a.transpose(order).reshape(-1) for a in arrays)


def _over_first_axis(xp: Any, x: Any, work: Any) -> None:
    """Run ``work`` on slices of x's first axis (on the whole of x when it has no axes)."""
    if x.ndim == 0:
        work(Ellipsis)
    else:
        for_each_slice_along(xp, x, 0, work)
