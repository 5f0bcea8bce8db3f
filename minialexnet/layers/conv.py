"""Convolution by im2col: gather the patches, then one matrix product per group.

Paper: Section 3.5 and Figure 2 (conv2, conv4 and conv5 see only the kernel maps on their
own GPU, which is ``groups=2`` here). Fast twin: ``minialexnet/fast/conv.py``.

Notation::

    N, C, H, W   batch, input channels, height, width      F   output channels (filters)
    G            groups: each sees C/G inputs, makes F/G outputs
    KH, KW       kernel size    SH, SW  stride    PH, PW  zero padding on each side
    OH, OW       output size, OH = (H + 2 PH - KH) // SH + 1;   L = N * OH * OW

Shapes: x (N, C, H, W); W (F, C/G, KH, KW); b (F,); col (C*KH*KW, L), rows (c, i, j),
columns (n, oh, ow); out (N, F, OH, OW).

Forward: out[f] = W_g[f] @ col_g + b[f], one product per group. Backward, with dout
reshaped to (F, L): db = sum over L; dW_g = dout_g @ col_g^T; dcol_g = W_g^T @ dout_g,
and dx = col2im(dcol), the adjoint of im2col: a pixel in several windows gets the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """(size + 2 padding - kernel) // stride + 1: 227 -> 55 for conv1, 55 -> 27 for a 3x3/2 pool. ValueError if it does not fit."""
    padded = size + 2 * padding
    if padded < kernel:
        raise ValueError(f"window of size {kernel} does not fit an input of size {size} with padding {padding}")
    return (padded - kernel) // stride + 1


def _pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def im2col(x: Any, KH: int, KW: int, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> Any:
    """x (N, C, H, W) -> col (C*KH*KW, N*OH*OW): one strided slice of the padded x per kernel offset (i, j)."""
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = _pair(stride, "stride"), _pair(padding, "padding")
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, KH, SH, PH), conv_output_size(W, KW, SW, PW)
    padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=x.dtype)
    padded[:, :, PH : PH + H, PW : PW + W] = x
    col = xp.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            col[:, i, j] = padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW].transpose(1, 0, 2, 3)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(
    col: Any, x_shape: tuple[int, int, int, int], KH: int, KW: int, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0
) -> Any:
    """The adjoint of im2col: col (C*KH*KW, N*OH*OW) -> dx (N, C, H, W), each column added back where it came from."""
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = _pair(stride, "stride"), _pair(padding, "padding")
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, KH, SH, PH), conv_output_size(W, KW, SW, PW)
    col = col.reshape(C, KH, KW, N, OH, OW)
    padded = xp.zeros((N, C, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    for i in range(KH):
        for j in range(KW):
            padded[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, PH : PH + H, PW : PW + W].copy()


class Conv2d(Layer):
    """2-D convolution (cross-correlation) with groups. x (N, C, H, W) -> out (N, F, OH, OW). Section 3.5.

    ``need_input_grad=False`` skips dx for a first layer (backward returns None). Default
    initialisation: He normal, std sqrt(2 / fan_in); the models re-initialise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        groups: int = 1,
        *,
        need_input_grad: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding")
        for value, what in ((in_channels, "in_channels"), (out_channels, "out_channels"), (groups, "groups")):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Conv2d: {what} must be a positive int, got {value!r}")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                "Conv2d: kernel_size and stride must be >= 1 and padding >= 0, "
                f"got kernel_size={kernel_size}, stride={stride}, padding={padding}"
            )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.need_input_grad = need_input_grad
        KH, KW = self.kernel_size
        rng = np.random.default_rng() if rng is None else rng
        std = np.sqrt(2.0 / (in_channels // groups * KH * KW))
        self.params = {
            "W": (rng.standard_normal((out_channels, in_channels // groups, KH, KW)) * std).astype(dtype),
            "b": np.zeros(out_channels, dtype=dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def __repr__(self) -> str:
        sizes = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return f"Conv2d({self.in_channels}, {self.out_channels}, {sizes}, groups={self.groups})"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        N, _, H, W = input_shape
        (KH, KW), (SH, SW), (PH, PW) = self.kernel_size, self.stride, self.padding
        return (N, self.out_channels, conv_output_size(H, KH, SH, PH), conv_output_size(W, KW, SW, PW))

    def forward(self, x: Any, train: bool = True) -> Any:
        self._check_input(x, 4, self.in_channels, f"(N, {self.in_channels}, H, W)")
        self._require_params_like(x)
        N, F, OH, OW = self.output_shape(x.shape)
        col = im2col(x, *self.kernel_size, self.stride, self.padding)
        W_g = self.params["W"].reshape(self.groups, F // self.groups, -1)
        out = (W_g @ col.reshape(self.groups, -1, col.shape[1])).reshape(F, N, OH, OW).transpose(1, 0, 2, 3)
        return self._keep_for_backward((x.shape, col), out + self.params["b"].reshape(1, F, 1, 1))

    def backward(self, dout: Any) -> Any:
        x_shape, col = self._cache_for_backward(dout)
        G, F = self.groups, self.out_channels
        dout_g = dout.transpose(1, 0, 2, 3).reshape(G, F // G, -1)
        col_g = col.reshape(G, -1, col.shape[1])
        self.grads["b"] = dout_g.sum(axis=2).reshape(F)
        self.grads["W"] = (dout_g @ col_g.transpose(0, 2, 1)).reshape(self.params["W"].shape)
        self.cache = None
        if not self.need_input_grad:
            return None
        dcol = self.params["W"].reshape(G, F // G, -1).transpose(0, 2, 1) @ dout_g
        return col2im(dcol.reshape(col.shape), x_shape, *self.kernel_size, self.stride, self.padding)
