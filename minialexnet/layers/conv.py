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

from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_conv_arguments, check_input, check_params_like
from minialexnet.layers.patches import as_pair, col2im, conv_output_size, im2col


class Conv2d(Layer):
    """2-D convolution (cross-correlation) with groups. x (N, C, H, W) -> out (N, F, OH, OW). Section 3.5.

    ``need_input_grad=False`` skips dx for a first layer (backward returns None). Default
    initialisation: He normal, std sqrt(2 / fan_in); the models re-initialise.
    """

    algorithm = "im2col"  # how out is computed (AlexNet.summary shows it); an engine's twin may say otherwise

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
        self.kernel_size, self.stride, self.padding = (
            as_pair(v, what) for v, what in ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"))
        )
        check_conv_arguments(in_channels, out_channels, groups, self.kernel_size, self.stride, self.padding)
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

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x, 4, self.in_channels, f"(N, {self.in_channels}, H, W)")
        check_params_like(self, x)

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
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
