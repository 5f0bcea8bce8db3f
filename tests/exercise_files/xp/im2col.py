"""An honest im2col and col2im for both devices: xp, a loop over the kernel offsets."""

from minialexnet.backend import get_array_module


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def im2col(x, KH, KW, stride=1, padding=0):
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    x_padded = xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    col = xp.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            col[:, i, j] = x_padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW].transpose(1, 0, 2, 3)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    blocks = col.reshape(C, KH, KW, N, OH, OW)
    x_padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            x_padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += blocks[:, i, j].transpose(1, 0, 2, 3)
    return x_padded[:, :, PH : PH + H, PW : PW + W]
