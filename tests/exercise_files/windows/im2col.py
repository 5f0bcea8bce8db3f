"""An honest xp (NumPy and CuPy) im2col from sliding windows; col2im adds each window back, offset by offset."""

import numpy as np

from minialexnet.backend import get_array_module


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def im2col(x, KH, KW, stride=1, padding=0):
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    x_padded = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    windows = xp.lib.stride_tricks.sliding_window_view(x_padded, (KH, KW), axis=(2, 3))[:, :, ::SH, ::SW]  # (N, C, OH, OW, KH, KW)
    N, C, OH, OW = windows.shape[:4]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    blocks = col.reshape(C, KH, KW, N, OH, OW).transpose(3, 0, 1, 2, 4, 5)  # (N, C, KH, KW, OH, OW)
    x_padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW))
    for oh in range(OH):
        for ow in range(OW):
            x_padded[:, :, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW] += blocks[:, :, :, :, oh, ow]
    return x_padded[:, :, PH : PH + H, PW : PW + W]
