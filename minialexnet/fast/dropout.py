"""Dropout drawing its mask on all the CPU's cores. Twin of ``minialexnet.layers.dropout.Dropout``
(Section 4.2), whose docstring holds the maths.

What it changes: the mask's rows are hashed a few images at a time on threads
(``for_each_slice`` in parallel.py) into one preallocated array. The values are the
reference's exactly (the hash of (seed, mask, row, column) does not depend on the split).
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.fast.base import FastLayer
from minialexnet.fast.parallel import for_each_slice
from minialexnet.layers import dropout as reference
from minialexnet.layers.counter_hash import uniform_bits


class Dropout(FastLayer, reference.Dropout):
    """The reference Dropout with its mask drawn in slices on every core (module docstring)."""

    def _draw_mask(self, x: Any) -> Any:
        xp = get_array_module(x)
        key = self._mask_key()
        N = x.shape[0]
        cols = x.size // max(N, 1)
        threshold, scale = self._threshold(), x.dtype.type(1.0 / (1.0 - self.p))
        mask = xp.empty((N, cols), dtype=x.dtype)

        def rows(s: slice) -> None:
            bits = uniform_bits(xp, s.stop - s.start, cols, key, self.row_offset + s.start)
            xp.multiply(bits >= threshold, scale, out=mask[s])

        for_each_slice(xp, N, rows, 4 * cols)
        return mask.reshape(x.shape)
