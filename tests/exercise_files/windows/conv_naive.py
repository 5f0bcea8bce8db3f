"""An honest xp (NumPy and CuPy) convolution from sliding windows (xp.lib.stride_tricks.sliding_window_view) and tensordot."""

from minialexnet.backend import get_array_module


def _windows(x, KH, KW, stride, padding):
    xp = get_array_module(x)
    x_padded = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return xp.lib.stride_tricks.sliding_window_view(x_padded, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, OH, OW, KH, KW)


def conv_forward_naive(x, W, b, stride, padding):
    xp = get_array_module(x)
    windows = _windows(x, W.shape[2], W.shape[3], stride, padding)
    return xp.tensordot(windows, W, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]


def conv_backward_naive(dout, x, W, stride, padding):
    xp = get_array_module(dout)
    N, C, H, Wd = x.shape
    _F, _, KH, KW = W.shape
    OH, OW = dout.shape[2:]
    windows = _windows(x, KH, KW, stride, padding)
    dW = xp.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, KH, KW)
    dx_padded = xp.zeros((N, C, H + 2 * padding, Wd + 2 * padding))
    for i in range(KH):
        for j in range(KW):
            dx_padded[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += xp.tensordot(
                W[:, :, i, j], dout, axes=([0], [1])
            ).transpose(1, 0, 2, 3)
    return dx_padded[:, :, padding : padding + H, padding : padding + Wd], dW, dout.sum(axis=(0, 2, 3))
