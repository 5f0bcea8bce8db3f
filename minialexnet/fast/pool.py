"""Max-pooling as two separable passes on all cores. Twin of ``minialexnet.layers.pool.MaxPool2d``
(Section 3.4), whose docstring holds the notation, the windows and the rule for ties: the
same outputs and the same winners, computed so:

- Separable passes: the maximum over a KH x KW window is first the maximum over the KW
  columns of every row (``row_max``, (N, C, H, OW)), then the maximum of KH consecutive
  row maxima: KH + KW strided slice operations instead of the reference's KH * KW.
  Backward picks the reference's winner (the first maximum in row-major order) in the same
  two steps: the first of the KH rows whose row maximum equals the output, then the first
  of the KW columns in that row holding it, each gradient passed along once (``pending``).
- Both directions work on a few images at a time on all the CPU's cores (``for_each_slice``
  in parallel.py), each slice's intermediates in cache. A batch-last input (layout.py) is
  worked on a few channels at a time instead, and its output and dx are batch-last too:
  every strided window slice then moves runs of N consecutive numbers, faster than rows
  of W numbers with gaps.
- Forward keeps ``row_max`` for backward (half the input's size; rebuilding it cost more time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.fast.base import FastLayer
from minialexnet.fast.layout import empty_batch_last, is_batch_last, slice_scratch_like
from minialexnet.fast.parallel import for_each_slice_along
from minialexnet.layers import pool as reference


def _max_along(x: Any, axis: int, kernel: int, stride: int, out_size: int, out: Any = None) -> Any:
    """Running maximum of ``kernel`` strided slices of ``x`` along ``axis`` (2 or 3), into ``out`` if given."""
    xp = get_array_module(x)

    def window(offset: int) -> Any:
        index = [slice(None)] * 4
        index[axis] = slice(offset, offset + stride * out_size, stride)
        return x[tuple(index)]

    if out is None:
        out = window(0).copy()
    else:
        out[...] = window(0)
    for offset in range(1, kernel):
        xp.maximum(out, window(offset), out=out)
    return out


def _route_along(dout: Any, source: Any, maxima: Any, axis: int, kernel: int, stride: int, dsource: Any = None) -> Any:
    """Backward of ``_max_along``: each gradient goes to the first slice that holds the maximum.

    ``dsource``: an array of ``source``'s shape to write into (it is zeroed first).
    What no earlier slice took goes to the last one without a comparison: the maximum is
    always one of the slices. Intermediates come from this thread's named slice scratch (pending, taken, hit).
    """
    xp = get_array_module(dout)
    out_size = dout.shape[axis]
    if dsource is None:
        dsource = xp.zeros(source.shape, dtype=dout.dtype)
    else:
        dsource.fill(0)
    pending = dout  # the gradient not yet passed on
    taken = slice_scratch_like("taken", dout)
    hit = slice_scratch_like("hit", dout, dtype=bool)
    for offset in range(kernel):
        index = [slice(None)] * 4
        index[axis] = slice(offset, offset + stride * out_size, stride)
        index = tuple(index)
        if offset == kernel - 1:
            dsource[index] += pending
            break
        xp.equal(source[index], maxima, out=hit)
        xp.multiply(pending, hit, out=taken)
        dsource[index] += taken
        if pending is dout:
            pending = xp.subtract(dout, taken, out=slice_scratch_like("pending", dout))
        else:
            pending -= taken
    return dsource


def _for_each_part(xp: Any, x: Any, work: Callable[[tuple[slice, ...]], None]) -> None:
    """``work(index)`` on a few images of x at a time, or a few channels when x is batch-last."""
    for_each_slice_along(xp, x, 1 if is_batch_last(x) else 0, work)


class MaxPool2d(FastLayer, reference.MaxPool2d):
    """The reference max-pool in two separable passes, a few images (or channels) at a time (module docstring)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        N, C, OH, OW = self.output_shape(x.shape)
        H = x.shape[2]
        if is_batch_last(x):  # a few channels at a time, everything batch-last
            out = empty_batch_last(xp, (N, C, OH, OW), x.dtype)
            row_max = self.scratch("row_max", (C, H, OW, N), x).transpose(3, 0, 1, 2)  # kept for backward
        else:  # a few images at a time
            out = xp.empty((N, C, OH, OW), dtype=x.dtype)
            row_max = self.scratch("row_max", (N, C, H, OW), x)

        def part(s: tuple[slice, ...]) -> None:
            _max_along(x[s], 3, KW, SW, OW, out=row_max[s])
            _max_along(row_max[s], 2, KH, SH, OH, out=out[s])

        _for_each_part(xp, x, part)
        return self._keep_for_backward((x, row_max, out), out)

    def backward(self, dout: Any) -> Any:
        x, row_max, out = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        dx = xp.empty_like(x)  # laid out as x is

        def part(s: tuple[slice, ...]) -> None:
            drow_max = _route_along(dout[s], row_max[s], out[s], 2, KH, SH, dsource=slice_scratch_like("drow_max", row_max[s]))
            _route_along(drow_max, x[s], row_max[s], 3, KW, SW, dsource=dx[s])

        _for_each_part(xp, x, part)
        self.cache = None
        return dx

    def kink_state(self) -> Any:
        """Where each window's maximum sits (changes when a perturbation changes a winner)."""
        if self.cache is None:
            return None
        x, row_max, out = self.cache
        xp = get_array_module(x)
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        route = _route_along(_route_along(xp.ones_like(out), row_max, out, 2, KH, SH), x, row_max, 3, KW, SW)
        return route > 0
