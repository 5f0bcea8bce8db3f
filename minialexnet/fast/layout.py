"""Memory layout: an (N, C, H, W) array stored batch-last, in (C, H, W, N) order.

Every layer takes and returns arrays of shape (N, C, H, W). How their numbers lie in
memory is a separate choice, which PyTorch calls a memory format: the usual one is
row-major (the batch axis outermost); **batch-last** stores the same array as the
transpose of a row-major (C, H, W, N) array. cuda-convnet, the code the paper was trained
with, kept every activation batch-last.

Why it is faster here: convolutions multiply matrices whose columns run over (h, w, n),
so their products come out batch-last (conv.py, winograd.py), and a max-pool or LRN
working on a few channels at a time then reads runs of N consecutive numbers instead
of rows of W numbers with stride-2 gaps. A network whose layers hand each other
batch-last arrays saves the transposing copies in between (``choices.py`` chooses which
convolutions store their outputs so; ReLU, LRN and max-pool keep the layout they get).

NumPy and CuPy index a batch-last array exactly like any other, so no layer depends on
the layout for its results, only for its speed.
"""

from __future__ import annotations

from typing import Any

from minialexnet.fast.parallel import slice_scratch


def is_batch_last(a: Any) -> bool:
    """True when the 4-D array ``a`` is stored in (C, H, W, N) order (and not also row-major, as tiny arrays can be)."""
    return a.ndim == 4 and not a.flags.c_contiguous and a.transpose(1, 2, 3, 0).flags.c_contiguous


def empty_batch_last(xp: Any, shape: tuple[int, int, int, int], dtype: Any) -> Any:
    """An uninitialised array of ``shape`` (N, C, H, W), stored batch-last."""
    N, C, H, W = shape
    return xp.empty((C, H, W, N), dtype=dtype).transpose(3, 0, 1, 2)


def slice_scratch_like(name: str, a: Any, dtype: Any = None) -> Any:
    """``slice_scratch`` of ``a``'s shape (``a``'s dtype or ``dtype``), stored batch-last when ``a`` is."""
    if not is_batch_last(a):
        return slice_scratch(name, a.shape, a, dtype)
    N, C, H, W = a.shape
    return slice_scratch(name, (C, H, W, N), a, dtype).transpose(3, 0, 1, 2)


def to_batch_last(a: Any) -> Any:
    """A copy of the (N, C, H, W) array ``a`` with the same values, stored batch-last."""
    return a.transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2)
