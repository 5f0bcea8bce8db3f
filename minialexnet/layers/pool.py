"""Overlapping max-pooling. Paper: Section 3.4 (s = 2 < z = 3, so windows overlap).

Notation (as in conv.py)::

    N, C, H, W   input batch, channels, height, width
    KH, KW       window size (z = 3 in the paper)
    SH, SW       stride (s = 2 in the paper)
    OH, OW       output size, OH = (H - KH) // SH + 1   (55 -> 27 -> 13 -> 6 in AlexNet)

Shapes: x (N, C, H, W) -> out (N, C, OH, OW).

Forward visits the KH * KW offsets of the window; each visit is one strided slice of the
whole batch, compared with the running maximum. ``argmax`` remembers which offset won
(the first one on ties, as PyTorch does, because only a strictly larger value replaces it).
Backward sends each output gradient to that one element with a slice-add per offset:
overlapping windows may send several gradients to the same pixel, and they add up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.layers.conv import _pair, conv_output_size


class MaxPool2d(Layer):
    """Max over KH x KW windows moved by SH, SW. Section 3.4. No parameters, no padding.

    Shapes: x (N, C, H, W) -> out (N, C, (H - KH) // SH + 1, (W - KW) // SW + 1).
    """

    def __init__(self, kernel_size: int | tuple[int, int] = 3, stride: int | tuple[int, int] = 2) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"MaxPool2d: kernel_size and stride must be >= 1, got kernel_size={kernel_size}, stride={stride}")
        if self.kernel_size[0] * self.kernel_size[1] > 255:
            raise ValueError(f"MaxPool2d: windows of more than 255 elements are not supported, got {self.kernel_size}")

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        N, C, H, W = input_shape
        return (N, C, conv_output_size(H, self.kernel_size[0], self.stride[0]), conv_output_size(W, self.kernel_size[1], self.stride[1]))

    def forward(self, x: Any, train: bool = True) -> Any:
        self._require_rank(x, 4, layout="(N, C, H, W)")
        xp = get_array_module(x)
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        _, _, OH, OW = self.output_shape(x.shape)
        out = x[:, :, 0 : SH * OH : SH, 0 : SW * OW : SW].copy()
        argmax = xp.zeros(out.shape, dtype=np.uint8)
        for offset in range(1, KH * KW):
            i, j = divmod(offset, KW)
            window = x[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW]
            larger = window > out
            xp.copyto(out, window, where=larger)
            argmax[larger] = offset
        self.cache = (x.shape, argmax)
        return out

    def backward(self, dout: Any) -> Any:
        xp = get_array_module(dout)
        x_shape, argmax = self.cache
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        _, _, OH, OW = dout.shape
        dx = xp.zeros(x_shape, dtype=dout.dtype)
        zero = xp.zeros((), dtype=dout.dtype)
        for offset in range(KH * KW):
            i, j = divmod(offset, KW)
            dx[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += xp.where(argmax == offset, dout, zero)
        self.cache = None
        return dx

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache[1]
