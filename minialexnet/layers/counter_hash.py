"""Uniform random bits by hashing a counter: the source of dropout's masks (Section 4.2).

Notation: ``key`` = (k0, k1), two 32-bit integers naming one mask (dropout derives them
from its seed and the number of masks drawn so far); n a row (an image's position in the
global batch); j a column (a unit). The value at (n, j) is

    bits[n, j] = mix(mix((mix(n + k0) XOR j * 0x9E3779B9) + k1))        (modulo 2**32)

where mix is MurmurHash3's 32-bit finaliser (Appleby): every input bit changes each
output bit with probability close to 1/2, which is what a dropout mask needs (it is not a
cryptographic generator). Because a value depends only on (key, n, j):

- it is drawn where the arrays live, with a few integer operations through ``xp``:
  nothing crosses between host and GPU, and the CPU and a GPU draw the same mask;
- a process that holds rows [row_offset, row_offset + N) of a larger batch draws exactly
  their rows of the mask the whole batch would get (data-parallel training);
- the generator's state is the key's two integers: a run is reproducible, a gradient check
  can replay one mask, a checkpoint can resume the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_GOLDEN = np.uint32(0x9E3779B9)  # 2**32 / golden ratio: spreads consecutive column numbers apart


def mix32(v: Any) -> Any:
    """MurmurHash3's finaliser on a uint32 array, in place (products wrap modulo 2**32)."""
    v ^= v >> np.uint32(16)
    v *= np.uint32(0x85EBCA6B)
    v ^= v >> np.uint32(13)
    v *= np.uint32(0xC2B2AE35)
    v ^= v >> np.uint32(16)
    return v


def uniform_bits(xp: Any, rows: int, cols: int, key: tuple[int, int], row_offset: int = 0) -> Any:
    """A (rows, cols) uint32 array of hash values of (key, row_offset + n, j), on ``xp``'s device.

    Each value is uniform on [0, 2**32) and independent of the others for practical
    purposes; the same key and global row always give the same row of values.
    """
    row_hash = mix32(xp.arange(row_offset, row_offset + rows, dtype=np.uint32) + np.uint32(key[0]))
    bits = row_hash[:, None] ^ (xp.arange(cols, dtype=np.uint32) * _GOLDEN)[None, :]
    bits += np.uint32(key[1])
    return mix32(mix32(bits))
