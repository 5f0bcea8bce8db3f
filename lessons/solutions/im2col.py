"""Reference solution: im2col and its adjoint col2im (Section 3.5). The plain twins of
im2col/col2im in minialexnet/layers/conv.py (which add strided phases, threads and batch-last columns).

    col[(c, i, j), (n, oh, ow)] = xp[n, c, S oh + i, S ow + j]
"""

import numpy as np


def _output_size(H, W, KH, KW, stride, padding):
    return (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1


def im2col(x, KH, KW, stride, padding):
    N, C, H, W = x.shape
    OH, OW = _output_size(H, W, KH, KW, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    col = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            window = xp[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride]  # (N, C, OH, OW)
            col[:, i, j] = window.transpose(1, 0, 2, 3)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride, padding):
    N, C, H, W = x_shape
    OH, OW = _output_size(H, W, KH, KW, stride, padding)
    col = col.reshape(C, KH, KW, N, OH, OW)
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            xp[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += col[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, padding : padding + H, padding : padding + W]
