"""The patches a sliding window sees (im2col) and their adjoint (col2im), for Conv2d.

Paper: Section 3.5. After Chainer's ``utils/conv.py``: one function owns the output-size
arithmetic, and col2im is the adjoint of im2col (a pixel under several windows gets the
sum of their gradients), not its inverse.

Notation (as in ``conv.py``)::

    N, C, H, W   batch, channels, height, width       KH, KW   window (kernel) size
    SH, SW       stride      PH, PW   zero padding on each side
    OH, OW       output size, OH = (H + 2 PH - KH) // SH + 1

Shapes: x (N, C, H, W) <-> col (C*KH*KW, N*OH*OW), rows (c, i, j), columns (n, oh, ow).
Both are a loop over the KH*KW kernel offsets (i, j), each one strided slice of the padded
input: KH*KW copies on the GPU too, not one per patch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """(size + 2 padding - kernel) // stride + 1: 227 -> 55 for conv1, 55 -> 27 for a 3x3/2 pool. ValueError if it does not fit."""
    padded = size + 2 * padding
    if padded < kernel:
        raise ValueError(f"window of size {kernel} does not fit an input of size {size} with padding {padding}")
    return (padded - kernel) // stride + 1


def as_pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    """3 -> (3, 3), (2, 1) -> (2, 1): a size given for both directions or for (height, width)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def im2col(x: Any, KH: int, KW: int, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> Any:
    """x (N, C, H, W) -> col (C*KH*KW, N*OH*OW): one strided slice of the padded x per kernel offset (i, j)."""
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = as_pair(stride, "stride"), as_pair(padding, "padding")
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, KH, SH, PH), conv_output_size(W, KW, SW, PW)
    padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=x.dtype)
    padded[:, :, PH : PH + H, PW : PW + W] = x
    col = xp.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            col[:, i, j] = padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW].transpose(1, 0, 2, 3)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(
    col: Any, x_shape: tuple[int, int, int, int], KH: int, KW: int, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0
) -> Any:
    """The adjoint of im2col: col (C*KH*KW, N*OH*OW) -> dx (N, C, H, W), each column added back where it came from."""
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = as_pair(stride, "stride"), as_pair(padding, "padding")
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, KH, SH, PH), conv_output_size(W, KW, SW, PW)
    col = col.reshape(C, KH, KW, N, OH, OW)
    padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, PH : PH + H, PW : PW + W].copy()
