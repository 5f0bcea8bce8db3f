"""An honest convolution from sliding windows (np.lib.stride_tricks.sliding_window_view) and tensordot."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x, KH, KW, stride, padding):
    x_padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return sliding_window_view(x_padded, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, OH, OW, KH, KW)


def conv_forward_naive(x, W, b, stride, padding):
    windows = _windows(x, W.shape[2], W.shape[3], stride, padding)
    return np.tensordot(windows, W, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]


def conv_backward_naive(dout, x, W, stride, padding):
    N, C, H, Wd = x.shape
    _F, _, KH, KW = W.shape
    OH, OW = dout.shape[2:]
    windows = _windows(x, KH, KW, stride, padding)
    dW = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, KH, KW)
    dx_padded = np.zeros((N, C, H + 2 * padding, Wd + 2 * padding))
    for i in range(KH):
        for j in range(KW):
            dx_padded[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += np.tensordot(
                W[:, :, i, j], dout, axes=([0], [1])
            ).transpose(1, 0, 2, 3)
    return dx_padded[:, :, padding : padding + H, padding : padding + Wd], dW, dout.sum(axis=(0, 2, 3))
