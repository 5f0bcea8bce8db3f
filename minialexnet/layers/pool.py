"""Overlapping max-pooling. Paper: Section 3.4 (stride s = 2 < window z = 3: windows overlap).
Fast twin: ``minialexnet/fast/pool.py``.

Notation (as in conv.py): N, C, H, W the input; KH, KW the window (z = 3); SH, SW the
stride (s = 2); OH = (H - KH) // SH + 1, OW likewise (55 -> 27 -> 13 -> 6 in AlexNet).

Shapes: x (N, C, H, W) -> out (N, C, OH, OW).

Forward: the window at (oh, ow) holds x[:, :, SH oh + i, SW ow + j] for the KH * KW offsets
(i, j); for each offset that is one strided slice of the whole batch, so out is the running
maximum of KH * KW slices.

Backward: each output gradient goes to exactly one input, the first maximum of its window
in row-major order (as PyTorch does on ties); windows that pick the same pixel add up.
Walking the offsets in row-major order, ``pending`` is the gradient no earlier offset took.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input
from minialexnet.layers.patches import as_pair, conv_output_size


class MaxPool2d(Layer):
    """Max over KH x KW windows moved by SH, SW; no padding. Shapes: (N, C, H, W) -> (N, C, OH, OW). Section 3.4."""

    def __init__(self, kernel_size: int | tuple[int, int] = 3, stride: int | tuple[int, int] = 2) -> None:
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = as_pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"MaxPool2d: kernel_size and stride must be >= 1, got kernel_size={kernel_size}, stride={stride}")

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        N, C, H, W = input_shape
        return (N, C, conv_output_size(H, self.kernel_size[0], self.stride[0]), conv_output_size(W, self.kernel_size[1], self.stride[1]))

    def _windows(self, OH: int, OW: int) -> list[tuple[slice, ...]]:
        """The strided slice of x that offset (i, j) of every window reads, in row-major order of (i, j)."""
        (KH, KW), (SH, SW) = self.kernel_size, self.stride
        return [(slice(None), slice(None), slice(i, i + SH * OH, SH), slice(j, j + SW * OW, SW)) for i in range(KH) for j in range(KW)]

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x, 4, layout="(N, C, H, W)")

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        _, _, OH, OW = self.output_shape(x.shape)
        windows = self._windows(OH, OW)
        out = x[windows[0]].copy()
        for window in windows[1:]:
            xp.maximum(out, x[window], out=out)
        return self._keep_for_backward((x, out), out)

    def _route(self, dout: Any) -> Any:
        """dx: each dout goes to the first (row-major) position of its window's maximum."""
        x, out = self.cache
        xp = get_array_module(dout)
        dx = xp.zeros(x.shape, dtype=dout.dtype)
        pending = dout
        for window in self._windows(*out.shape[2:]):
            taken = pending * (x[window] == out)
            dx[window] += taken
            pending = pending - taken
        return dx

    def backward(self, dout: Any) -> Any:
        self._cache_for_backward(dout)
        dx = self._route(dout)
        self.cache = None
        return dx

    def kink_state(self) -> Any:
        """Where each window's maximum sits (changes when a perturbation changes a winner)."""
        if self.cache is None:
            return None
        return self._route(get_array_module(self.cache[1]).ones_like(self.cache[1])) > 0
