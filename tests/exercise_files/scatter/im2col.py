"""An honest im2col by one fancy index; col2im by np.add.at on the same indices (a scatter-add)."""

import numpy as np


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def _indices(C, H, W, KH, KW, SH, SW, OH, OW):
    """c, row and column of x_padded for every (c, i, j) row and (oh, ow) position."""
    c = np.repeat(np.arange(C), KH * KW)[:, None]
    rows = np.tile(np.repeat(np.arange(KH), KW), C)[:, None] + SH * np.repeat(np.arange(OH), OW)[None, :]
    cols = np.tile(np.arange(KW), KH * C)[:, None] + SW * np.tile(np.arange(OW), OH)[None, :]
    return c, rows, cols


def im2col(x, KH, KW, stride=1, padding=0):
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    x_padded = np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    c, rows, cols = _indices(C, H, W, KH, KW, SH, SW, OH, OW)
    gathered = x_padded[:, c, rows, cols]  # (N, C*KH*KW, OH*OW)
    return gathered.transpose(1, 0, 2).reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    c, rows, cols = _indices(C, H, W, KH, KW, SH, SW, OH, OW)
    x_padded = np.zeros((N, C, H + 2 * PH, W + 2 * PW))
    np.add.at(x_padded, (slice(None), c, rows, cols), col.reshape(C * KH * KW, N, OH * OW).transpose(1, 0, 2))
    return x_padded[:, :, PH : PH + H, PW : PW + W]
