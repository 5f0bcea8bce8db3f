"""An honest im2col from one strided view (xp.lib.stride_tricks.as_strided, strides in bytes); col2im adds back offset by offset."""

import numpy as np

from minialexnet.backend import get_array_module


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def im2col(x, KH, KW, stride=1, padding=0):
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    x_padded = xp.ascontiguousarray(xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW))))
    sN, sC, sH, sW = x_padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        x_padded, shape=(C, KH, KW, N, OH, OW), strides=(sC, sH, sW, sN, SH * sH, SW * sW)
    )  # windows[c, i, j, n, oh, ow] = x_padded[n, c, SH oh + i, SW ow + j], a view
    return windows.reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    blocks = col.reshape(C, KH, KW, N, OH, OW)
    x_padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            x_padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += xp.transpose(blocks[:, i, j], (1, 0, 2, 3))
    return x_padded[:, :, PH : PH + H, PW : PW + W]
