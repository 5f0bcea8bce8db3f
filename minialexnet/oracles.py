"""Independent float64 references: the paper's formulas as plain NumPy loops, for the tests and the course's grader.

The library's layers are what is checked (the tests hold every engine to them, and the
course's reference solutions wrap them), so they cannot also be the yardstick. These loops
import nothing of minialexnet and share no code with it: short, slow and obviously the
formulas, with no im2col, no shifted-slice sums and no vectorised tricks. ``tests/`` and
``minialexnet/exercises/`` both use them.

Every result is float64 whatever the input's float dtype (float32 inputs are widened first,
so a float32 layer is compared with the exact answer for its own inputs). The smooth ones
also accept complex input and stay complex, so ``exact_directional`` can take their
derivative by the complex step, exact to rounding (about 1e-15, where central differences
reach 1e-10).

Notation as in the layers: x (N, C, H, W), W (F, C/G, KH, KW), stride (SH, SW), padding
(PH, PW), out (N, F, OH, OW); col (C*KH*KW, N*OH*OW), rows (c, i, j), columns (n, oh, ow).
A stride, padding or window size is an int (both directions) or a pair.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

COMPLEX_STEP = 1e-20
Pair = int | tuple[int, int]


def pair(value: Pair) -> tuple[int, int]:
    """(value, value) for an int, else the pair as two ints."""
    return (int(value), int(value)) if np.isscalar(value) else (int(value[0]), int(value[1]))


def out_size(H: int, W: int, KH: int, KW: int, stride: Pair, padding: Pair) -> tuple[int, int]:
    """(OH, OW) = ((H + 2 PH - KH) // SH + 1, (W + 2 PW - KW) // SW + 1)."""
    (SH, SW), (PH, PW) = pair(stride), pair(padding)
    return (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1


def wide(*arrays: Any) -> tuple[np.ndarray, ...]:
    """The arrays as NumPy arrays of one dtype, at least float64 (complex stays complex)."""
    dtype = np.result_type(*(np.asarray(a) for a in arrays), np.float64)
    return tuple(np.asarray(a).astype(dtype) for a in arrays)


def padded(x: np.ndarray, padding: Pair) -> np.ndarray:
    """x (N, C, H, W) with PH zero rows above and below and PW zero columns left and right."""
    PH, PW = pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), elementwise (0 at exactly 0)."""
    (x,) = wide(x)
    return np.where(x.real > 0, x, 0)


def linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """out[n, o] = b[o] + sum over i of x[n, i] W[o, i]."""
    x, W, b = wide(x, W, b)
    out = np.empty((x.shape[0], W.shape[0]), dtype=x.dtype)
    for n in range(x.shape[0]):
        for o in range(W.shape[0]):
            out[n, o] = np.sum(x[n] * W[o]) + b[o]
    return out


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean over n of -log softmax(logits[n])[labels[n]], with each row's maximum subtracted first."""
    (logits,) = wide(logits)
    shifted = logits - logits.real.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


def conv(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: Pair = 1, padding: Pair = 0, groups: int = 1) -> np.ndarray:
    """out[n, f, oh, ow] = b[f] + sum over c, i, j of W[f, c, i, j] x_padded[n, g C/G + c, SH oh + i, SW ow + j], g = f // (F/G).

    A cross-correlation (no kernel flip), as every deep-learning library computes; filter f
    sees only the C/G input channels of its group g (Section 3.5, Figure 2).
    """
    x, W, b = wide(x, W, b)
    N, _, H, Wd = x.shape
    F, Cg, KH, KW = W.shape
    Fg = F // groups
    (SH, SW), (OH, OW) = pair(stride), out_size(H, Wd, KH, KW, stride, padding)
    xp = padded(x, padding)
    out = np.empty((N, F, OH, OW), dtype=x.dtype)
    for g in range(groups):
        inputs, filters = slice(g * Cg, (g + 1) * Cg), slice(g * Fg, (g + 1) * Fg)
        for oh in range(OH):
            for ow in range(OW):
                window = xp[:, inputs, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW]
                out[:, filters, oh, ow] = np.einsum("ncij,fcij->nf", window, W[filters]) + b[filters]
    return out


def im2col(x: np.ndarray, KH: int, KW: int, stride: Pair = 1, padding: Pair = 0) -> np.ndarray:
    """col[(c, i, j), (n, oh, ow)] = x_padded[n, c, SH oh + i, SW ow + j]: every window as a column."""
    (x,) = wide(x)
    N, C, H, W = x.shape
    (SH, SW), (OH, OW) = pair(stride), out_size(H, W, KH, KW, stride, padding)
    xp = padded(x, padding)
    col = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                for oh in range(OH):
                    for ow in range(OW):
                        col[c, i, j, :, oh, ow] = xp[:, c, SH * oh + i, SW * ow + j]
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(col: np.ndarray, x_shape: tuple[int, ...], KH: int, KW: int, stride: Pair = 1, padding: Pair = 0) -> np.ndarray:
    """The adjoint of ``im2col``: every entry of col is added back to the pixel it was read from."""
    (col,) = wide(col)
    N, C, H, W = x_shape
    (SH, SW), (PH, PW), (OH, OW) = pair(stride), pair(padding), out_size(H, W, KH, KW, stride, padding)
    col = col.reshape(C, KH, KW, N, OH, OW)
    xp = np.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                for oh in range(OH):
                    for ow in range(OW):
                        xp[:, c, SH * oh + i, SW * ow + j] += col[c, i, j, :, oh, ow]
    return xp[:, :, PH : PH + H, PW : PW + W]


def maxpool(x: np.ndarray, kernel: Pair = 3, stride: Pair = 2) -> np.ndarray:
    """out[n, c, oh, ow] = the maximum of x[n, c, SH oh : SH oh + KH, SW ow : SW ow + KW] (no padding; Section 3.4)."""
    (x,) = wide(x)
    (KH, KW), (SH, SW) = pair(kernel), pair(stride)
    N, C, H, W = x.shape
    OH, OW = out_size(H, W, KH, KW, stride, 0)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    for oh in range(OH):
        for ow in range(OW):
            out[:, :, oh, ow] = x[:, :, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW].max(axis=(2, 3))
    return out


def maxpool_backward(x: np.ndarray, dout: np.ndarray, kernel: Pair = 3, stride: Pair = 2) -> np.ndarray:
    """dx: each window's gradient goes to its first maximum in row-major order (as PyTorch on ties), summed over windows.

    Exact: no finite difference to straddle a near-tie.
    """
    x, dout = wide(x, dout)
    (KH, KW), (SH, SW) = pair(kernel), pair(stride)
    N, C, OH, OW = dout.shape
    dx = np.zeros(x.shape, dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    window = x[n, c, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW]
                    i, j = divmod(int(np.argmax(window)), KW)
                    dx[n, c, oh * SH + i, ow * SW + j] += dout[n, c, oh, ow]
    return dx


def lrn(a: np.ndarray, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> np.ndarray:
    """b[c] = a[c] / (k + alpha * sum of a[c']**2 for c' in [c - size//2, c + (size-1)//2])**beta (Section 3.3).

    The window is clipped to the channels 0 .. C-1; an even size has one more channel before
    c than after it. Alpha is the paper's, NOT divided by size (PyTorch and Caffe divide).
    """
    (a,) = wide(a)
    C = a.shape[1]
    out = np.empty_like(a)
    for c in range(C):
        window = a[:, max(0, c - size // 2) : min(C, c + (size - 1) // 2 + 1)]
        out[:, c] = a[:, c] / (k + alpha * (window * window).sum(axis=1)) ** beta
    return out


def exact_directional(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray | float, direction: np.ndarray) -> float:
    """d/dt of sum(f(x + t direction) * dout) at t = 0 by the complex step: Im f(x + i h v) / h, exact to rounding."""
    return float(np.sum(np.imag(f(x + 1j * COMPLEX_STEP * direction)) * dout)) / COMPLEX_STEP
