"""Deliberately NumPy-only (np on the device's arrays: rejected by the strict-device run): im2col and col2im by loops.

col[(c, i, j), (n, oh, ow)] = x_padded[n, c, SH oh + i, SW ow + j]
"""

import numpy as np


def pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def im2col(x, KH, KW, stride=1, padding=0):
    N, C, H, W = x.shape
    (SH, SW), (PH, PW) = pair(stride), pair(padding)
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    x_padded = np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    col = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            window = x_padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW]  # (N, C, OH, OW)
            col[:, i, j] = window.transpose(1, 0, 2, 3)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    N, C, H, W = x_shape
    (SH, SW), (PH, PW) = pair(stride), pair(padding)
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    col = col.reshape(C, KH, KW, N, OH, OW)
    x_padded = np.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            x_padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[:, i, j].transpose(1, 0, 2, 3)
    return x_padded[:, :, PH : PH + H, PW : PW + W]
