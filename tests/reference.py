"""Independent float64 references written with plain loops (no im2col, no vectorised tricks)."""

from __future__ import annotations

import numpy as np

from minialexnet.backend import asnumpy


def conv2d_naive(x, W, b, stride=(1, 1), padding=(0, 0), groups=1):
    """Loop over every output position; each output is a sum over its window."""
    N, C, H, Wd = x.shape
    F, Cg, KH, KW = W.shape
    SH, SW = stride
    PH, PW = padding
    xp = np.zeros((N, C, H + 2 * PH, Wd + 2 * PW))
    xp[:, :, PH : PH + H, PW : PW + Wd] = x
    OH = (H + 2 * PH - KH) // SH + 1
    OW = (Wd + 2 * PW - KW) // SW + 1
    Fg = F // groups
    out = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            g = f // Fg
            for oh in range(OH):
                for ow in range(OW):
                    window = xp[n, g * Cg : (g + 1) * Cg, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW]
                    out[n, f, oh, ow] = np.sum(window * W[f]) + b[f]
    return out


def maxpool_naive(x, kernel=(3, 3), stride=(2, 2)):
    """Loop over every window; returns the output and, for backward, the argmax positions."""
    N, C, H, W = x.shape
    KH, KW = kernel
    SH, SW = stride
    OH, OW = (H - KH) // SH + 1, (W - KW) // SW + 1
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    out[n, c, oh, ow] = x[n, c, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW].max()
    return out


def maxpool_backward_naive(x, dout, kernel=(3, 3), stride=(2, 2)):
    """Each window's gradient goes to its first maximum (row-major), summed over windows."""
    N, C, _, _ = x.shape
    KH, KW = kernel
    SH, SW = stride
    _, _, OH, OW = dout.shape
    dx = np.zeros_like(x, dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    window = x[n, c, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW]
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, oh * SH + i, ow * SW + j] += dout[n, c, oh, ow]
    return dx


def lrn_naive(a, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """The paper's formula, channel by channel; alpha is not divided by size."""
    C = a.shape[1]
    out = np.zeros_like(a, dtype=np.float64)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
        s = np.sum(a[:, lo : hi + 1] ** 2, axis=1)
        out[:, c] = a[:, c] / (k + alpha * s) ** beta
    return out


def torch_forward_backward(function, inputs, dout):
    """Run ``function`` (of torch tensors) on float64 copies of ``inputs`` with autograd.

    Returns (output, [gradient of <output, dout> for each input]) as NumPy arrays.
    """
    import torch

    tensors = [torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True) for value in inputs]
    out = function(*tensors)
    out.backward(torch.tensor(np.asarray(dout, dtype=np.float64)))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def rel_err(a, b):
    """Largest absolute difference over the largest magnitude (the gradcheck's measure); device arrays are copied to the host."""
    a = asnumpy(a).astype(np.float64)
    b = asnumpy(b).astype(np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def assert_same_top1(ours, theirs, margin):
    """The two sets of logits pick the same class for every row whose two largest logits (in ``ours``) differ by more
    than ``margin``: float32 rounding may flip a near tie, and nothing else."""
    ours, theirs = np.asarray(asnumpy(ours), dtype=np.float64), np.asarray(asnumpy(theirs), dtype=np.float64)
    top_two = np.sort(ours, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > margin
    assert clear.mean() > 0.9, "almost every row is a near tie: the comparison would prove nothing"
    np.testing.assert_array_equal(ours.argmax(axis=1)[clear], theirs.argmax(axis=1)[clear])
