"""An honest xp (NumPy and CuPy) convolution as a loop over the kernel offsets (i, j), each an einsum over channels."""

from minialexnet.backend import get_array_module


def conv_forward_naive(x, W, b, stride, padding):
    xp = get_array_module(x)
    N, _C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    OH, OW = (H + 2 * padding - KH) // stride + 1, (Wd + 2 * padding - KW) // stride + 1
    x_padded = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = xp.zeros((N, F, OH, OW)) + b[:, None, None]
    for i in range(KH):
        for j in range(KW):
            out += xp.einsum("nchw,fc->nfhw", x_padded[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride], W[:, :, i, j])
    return out


def conv_backward_naive(dout, x, W, stride, padding):
    xp = get_array_module(dout)
    _N, _C, H, Wd = x.shape
    _F, _, KH, KW = W.shape
    OH, OW = dout.shape[2:]
    x_padded = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_padded, dW = xp.zeros_like(x_padded), xp.zeros_like(W)
    for i in range(KH):
        for j in range(KW):
            rows, cols = slice(i, i + stride * OH, stride), slice(j, j + stride * OW, stride)
            dW[:, :, i, j] = xp.einsum("nfhw,nchw->fc", dout, x_padded[:, :, rows, cols])
            dx_padded[:, :, rows, cols] += xp.einsum("nfhw,fc->nchw", dout, W[:, :, i, j])
    return dx_padded[:, :, padding : padding + H, padding : padding + Wd], dW, xp.einsum("nfhw->f", dout)
