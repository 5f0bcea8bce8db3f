"""The grader's own forward passes: plain float64 loops, independent of the layers they grade.

The library's layers are the reference solutions (``lessons/solutions`` wraps them), so they
cannot also be the yardstick. These loops are short, slow and obviously the paper's formulas;
the smooth ones also accept complex input, so ``exact_directional`` can take their derivative
by the complex step, exact to rounding (about 1e-15, where central differences reach 1e-10).

Notation as in the layers: x (N, C, H, W), W (F, C, KH, KW), stride (SH, SW), padding (PH, PW),
out (N, F, OH, OW); col (C*KH*KW, N*OH*OW), rows (c, i, j), columns (n, oh, ow).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

COMPLEX_STEP = 1e-20


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (int(value), int(value)) if np.isscalar(value) else (int(value[0]), int(value[1]))


def out_size(H: int, W: int, KH: int, KW: int, stride: int | tuple[int, int], padding: int | tuple[int, int]) -> tuple[int, int]:
    (SH, SW), (PH, PW) = pair(stride), pair(padding)
    return (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1


def padded(x: np.ndarray, padding: int | tuple[int, int]) -> np.ndarray:
    PH, PW = pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))


def relu(x: np.ndarray) -> np.ndarray:
    return np.where(x.real > 0, x, 0)


def linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x @ W.T + b


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.real.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


def conv(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int | tuple[int, int], padding: int | tuple[int, int], groups: int = 1
) -> np.ndarray:
    """out[n, f, oh, ow] = b[f] + sum over c, i, j of W[f, c, i, j] x_padded[n, g C/G + c, SH oh + i, SW ow + j], g = f // (F/G)."""
    if groups > 1:
        Cg, Fg = x.shape[1] // groups, W.shape[0] // groups
        parts = [
            conv(x[:, g * Cg : (g + 1) * Cg], W[g * Fg : (g + 1) * Fg], b[g * Fg : (g + 1) * Fg], stride, padding) for g in range(groups)
        ]
        return np.concatenate(parts, axis=1)
    N, _, H, Wd = x.shape
    F, _, KH, KW = W.shape
    (SH, SW), (OH, OW) = pair(stride), out_size(H, Wd, KH, KW, stride, padding)
    xp = padded(x, padding)
    out = np.empty((N, F, OH, OW), dtype=np.result_type(x, W, b))
    for oh in range(OH):
        for ow in range(OW):
            window = xp[:, :, oh * SH : oh * SH + KH, ow * SW : ow * SW + KW]
            out[:, :, oh, ow] = np.einsum("ncij,fcij->nf", window, W) + b
    return out


def im2col(x: np.ndarray, KH: int, KW: int, stride: int | tuple[int, int], padding: int | tuple[int, int]) -> np.ndarray:
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


def col2im(
    col: np.ndarray, x_shape: tuple[int, ...], KH: int, KW: int, stride: int | tuple[int, int], padding: int | tuple[int, int]
) -> np.ndarray:
    """The adjoint of ``im2col``: every entry of col is added back to the pixel it was read from."""
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


def maxpool(x: np.ndarray, K: int, S: int) -> tuple[np.ndarray, np.ndarray]:
    """The maxima and, per window, the flat index of its first maximum in row-major order."""
    N, C, H, W = x.shape
    OH, OW = out_size(H, W, K, K, S, 0)
    out, first = np.empty((N, C, OH, OW), dtype=x.dtype), np.empty((N, C, OH, OW), dtype=np.int64)
    for oh in range(OH):
        for ow in range(OW):
            window = x[:, :, oh * S : oh * S + K, ow * S : ow * S + K].reshape(N, C, K * K)
            first[:, :, oh, ow] = window.argmax(axis=2)
            out[:, :, oh, ow] = window.max(axis=2)
    return out, first


def maxpool_backward(dout: np.ndarray, x_shape: tuple[int, ...], first: np.ndarray, K: int, S: int) -> np.ndarray:
    """Each window's gradient to its first maximum: exact, with no finite difference to straddle a near-tie."""
    dx = np.zeros(x_shape)
    N, C, OH, OW = dout.shape
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    i, j = divmod(int(first[n, c, oh, ow]), K)
                    dx[n, c, oh * S + i, ow * S + j] += dout[n, c, oh, ow]
    return dx


def lrn(a: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """b[c] = a[c] / (k + alpha * sum of a[c']**2 for c' in [c - size//2, c + (size-1)//2])**beta (Section 3.3)."""
    C = a.shape[1]
    out = np.empty_like(a)
    for c in range(C):
        window = a[:, max(0, c - size // 2) : min(C, c + (size - 1) // 2 + 1)]
        out[:, c] = a[:, c] / (k + alpha * (window * window).sum(axis=1)) ** beta
    return out


def exact_directional(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray | float, direction: np.ndarray) -> float:
    """d/dt of sum(f(x + t direction) * dout) at t = 0 by the complex step: Im f(x + i h v) / h, exact to rounding."""
    return float(np.sum(np.imag(f(x + 1j * COMPLEX_STEP * direction)) * dout)) / COMPLEX_STEP
