"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): convolution with plain loops (Section 3.5).

out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] x_padded[n, c, S oh + i, S ow + j]
"""

from minialexnet.backend import get_array_module


def _padded(x, padding):
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def conv_forward_naive(x, W, b, stride, padding):
    xp = get_array_module(x)
    N, _, H, Wd = x.shape
    F, _, KH, KW = W.shape
    OH, OW = (H + 2 * padding - KH) // stride + 1, (Wd + 2 * padding - KW) // stride + 1
    x_padded = _padded(x, padding)
    out = xp.empty((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    window = x_padded[n, :, oh * stride : oh * stride + KH, ow * stride : ow * stride + KW]
                    out[n, f, oh, ow] = xp.sum(window * W[f]) + b[f]
    return out


def conv_backward_naive(dout, x, W, stride, padding):
    xp = get_array_module(dout)
    N, F, OH, OW = dout.shape
    _, _, KH, KW = W.shape
    x_padded = _padded(x, padding)
    dx_padded, dW = xp.zeros_like(x_padded), xp.zeros_like(W)
    for n in range(N):
        for f in range(F):
            for oh in range(OH):
                for ow in range(OW):
                    rows, cols = slice(oh * stride, oh * stride + KH), slice(ow * stride, ow * stride + KW)
                    dW[f] += dout[n, f, oh, ow] * x_padded[n, :, rows, cols]
                    dx_padded[n, :, rows, cols] += dout[n, f, oh, ow] * W[f]
    db = dout.sum(axis=(0, 2, 3))
    H, Wd = x.shape[2], x.shape[3]
    return dx_padded[:, :, padding : padding + H, padding : padding + Wd], dW, db
