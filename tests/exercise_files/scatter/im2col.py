"""An honest xp (NumPy and CuPy) im2col by one fancy index; col2im by xp.add.at on the same indices (a scatter-add)."""

import numpy as np

from minialexnet.backend import get_array_module


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _indices(xp, C, H, W, KH, KW, SH, SW, OH, OW):
    """c, row and column of x_padded for every (c, i, j) row and (oh, ow) position."""
    c = xp.repeat(xp.arange(C), KH * KW)[:, None]
    rows = xp.tile(xp.repeat(xp.arange(KH), KW), C)[:, None] + SH * xp.repeat(xp.arange(OH), OW)[None, :]
    cols = xp.tile(xp.arange(KW), KH * C)[:, None] + SW * xp.tile(xp.arange(OW), OH)[None, :]
    return c, rows, cols


def im2col(x, KH, KW, stride=1, padding=0):
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    x_padded = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    c, rows, cols = _indices(xp, C, H, W, KH, KW, SH, SW, OH, OW)
    gathered = x_padded[:, c, rows, cols]  # (N, C*KH*KW, OH*OW)
    return gathered.transpose(1, 0, 2).reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    c, rows, cols = _indices(xp, C, H, W, KH, KW, SH, SW, OH, OW)
    x_padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW))
    xp.add.at(x_padded, (slice(None), c, rows, cols), col.reshape(C * KH * KW, N, OH * OW).transpose(1, 0, 2))
    return x_padded[:, :, PH : PH + H, PW : PW + W]
