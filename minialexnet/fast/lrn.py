"""LRN on slices of a few images, in cache. Twin of ``minialexnet.layers.lrn.LocalResponseNorm``
(Section 3.3), whose docstring holds the notation, the forward and backward formulas and the
groups: the same numbers, computed so:

- Forward and backward each run their ten or so elementwise steps on a few images at a
  time (``for_each_slice`` in parallel.py): the slices go to the CPU's cores, each slice's
  intermediates stay in cache, in named per-thread buffers instead of fresh temporaries.
- A batch-last input (layout.py) is worked on as the (C, H, W, N) array it is stored as,
  a few rows h at a time, and gives a batch-last output.
- D**0.75 is two square roots (``_power``), several times faster than a general power.
- Forward keeps the denominators D in the layer's own buffer; backward recomputes
  D**beta from them (three cheap in-cache operations) rather than keeping a second array
  of the input's size (58 MB for AlexNet at batch 32).
- The window sums are the reference's n shifted slice-adds (a cumulative sum would be
  shorter but subtracts large running totals in float32 and loses digits), written into
  a given array along either channel axis (``channel_window_sum``).
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.fast.base import FastLayer
from minialexnet.fast.layout import is_batch_last
from minialexnet.fast.parallel import for_each_slice_along, slice_scratch
from minialexnet.layers import lrn as reference


def channel_window_sum(v: Any, before: int, after: int, out: Any = None, axis: int = 1, groups: int = 1) -> Any:
    """out[:, c] = sum of v[:, c'] for c' in [c - before, c + after] (clipped to valid channels).

    v has the channel axis at position ``axis`` (1, or 0 for a (C, H, W, N) view). The
    adjoint of this sum is the same sum with ``before`` and ``after`` swapped (used in
    backward). ``out``: an array to write into. ``groups``: the window is clipped to each
    of ``groups`` equal blocks of channels instead of to all C.
    """
    C = v.shape[axis] // groups
    lead = (slice(None),) * axis

    if out is None:
        out = v.copy()
    else:
        out[...] = v
    for first in range(0, groups * C, C):

        def channels(start: int, stop: int, first: int = first) -> tuple[slice, ...]:
            return (*lead, slice(first + start, first + stop))

        for shift in range(1, before + 1):
            out[channels(shift, C)] += v[channels(0, C - shift)]
        for shift in range(1, after + 1):
            out[channels(0, C - shift)] += v[channels(shift, C)]
    return out


def _channels_view(a: Any) -> tuple[Any, int]:
    """(view, channel axis): ``a`` itself (N, C, H, W), or a batch-last ``a`` as its (C, H, W, N) storage."""
    return (a.transpose(1, 2, 3, 0), 0) if is_batch_last(a) else (a, 1)


def _power(base: Any, beta: float, out: Any, work: Any) -> Any:
    """base ** beta into ``out`` (``work``: scratch of the same shape). For the paper's
    beta = 3/4 it is sqrt(base) * sqrt(sqrt(base)): square roots are exact to rounding and
    several times faster than a general power."""
    xp = get_array_module(base)
    if beta == 0.75:
        xp.sqrt(base, out=out)
        xp.sqrt(out, out=work)
        out *= work
        return out
    return xp.power(base, beta, out=out)


class LocalResponseNorm(FastLayer, reference.LocalResponseNorm):
    """The reference LRN on a few images (or rows of a batch-last input) at a time, on every core (module docstring)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        out = xp.empty_like(x)  # laid out as x is
        (a, axis), (b, _) = _channels_view(x), _channels_view(out)
        denominator = self.scratch("denominator", a.shape, x)  # kept for backward

        def part(s: tuple[slice, ...]) -> None:  # a few images, or a few rows h of (C, H, W, N)
            squares = xp.multiply(a[s], a[s], out=slice_scratch("squares", a[s].shape, x))
            D = channel_window_sum(squares, self.before, self.after, out=denominator[s], axis=axis, groups=self.groups)
            D *= self.alpha
            D += self.k
            xp.divide(a[s], _power(D, self.beta, out=slice_scratch("denominator_power", D.shape, x), work=squares), out=b[s])

        for_each_slice_along(xp, a, 1 - axis, part)
        return self._keep_for_backward((x, out, denominator), out)

    def backward(self, dout: Any) -> Any:
        x, out, denominator = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        dx = xp.empty_like(x, dtype=dout.dtype)  # laid out as x is
        (a, axis), (b, _) = _channels_view(x), _channels_view(out)  # as in forward
        g, da = (dout.transpose(1, 2, 3, 0), dx.transpose(1, 2, 3, 0)) if axis == 0 else (dout, dx)

        def part(s: tuple[slice, ...]) -> None:
            D = denominator[s]
            D_beta = _power(D, self.beta, out=slice_scratch("denominator_power", D.shape, D), work=slice_scratch("power_work", D.shape, D))
            neighbour_term = xp.multiply(g[s], b[s], out=slice_scratch("neighbour_term", D.shape, D))
            neighbour_term /= D  # g[c] * b[c] / D[c]
            # the window sum's adjoint: swap the window's sides
            spread = channel_window_sum(neighbour_term, self.after, self.before, out=da[s], axis=axis, groups=self.groups)
            spread *= a[s]
            spread *= -2.0 * self.alpha * self.beta
            direct = xp.divide(g[s], D_beta, out=neighbour_term)  # g[j] * D[j]**-beta
            spread += direct

        for_each_slice_along(xp, a, 1 - axis, part)
        self.cache = None
        return dx
