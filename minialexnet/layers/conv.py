"""Convolution by im2col: gather the patches, then one matrix product per group.

Paper: Section 3.5 and Figure 2 (the five convolutional layers; conv2, conv4 and conv5
connect only to the kernel maps on their own GPU, which is ``groups=2`` here).

Notation (used for every variable below)::

    N        batch size
    C, F     input channels, output channels (filters)
    G        groups; each group sees C/G input channels and makes F/G outputs
    H, W     input height and width
    KH, KW   kernel height and width
    SH, SW   stride
    PH, PW   zero padding added on each side
    OH, OW   output height and width: OH = (H + 2 PH - KH) // SH + 1
    L        output positions of the whole batch, N * OH * OW

Shapes::

    x     (N, C, H, W)             input
    W     (F, C/G, KH, KW)         weights, PyTorch's layout
    b     (F,)                     bias
    col   (C * KH * KW, L)         im2col(x): one column per output position
    out   (N, F, OH, OW)

The column matrix puts the batch inside the column index (C, KH, KW) x (N, OH, OW), so
that the forward product, the weight gradient and the input gradient are each one plain
matrix product per group, and the weight gradient sums over the batch inside the GEMM.

``im2col`` gathers with one strided slice per kernel offset (KH * KW copies, each moving
every image at once); ``col2im`` is its adjoint, not its inverse: it scatters the columns
back by slice-adds over the same kernel offsets, so a pixel covered by several windows
receives the sum of their gradients. There is no ``np.add.at`` and no Python loop over
images or pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output length of a convolution or pooling window: (size + 2 padding - kernel) // stride + 1.

    This is the one place the arithmetic lives: 227 -> 55 for conv1 (11x11, stride 4),
    55 -> 27 for the 3x3 stride-2 pool. (224 gives 54.25, which is why the input is 227.)
    Raises ValueError when the window does not fit.
    """
    padded = size + 2 * padding
    if padded < kernel:
        raise ValueError(f"window of size {kernel} does not fit an input of size {size} with padding {padding}")
    return (padded - kernel) // stride + 1


def _pad(x: Any, PH: int, PW: int) -> Any:
    if PH == 0 and PW == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))


def im2col(x: Any, KH: int, KW: int, SH: int = 1, SW: int = 1, PH: int = 0, PW: int = 0, *, out: Any = None) -> Any:
    """Gather every KH x KW window of ``x`` into a column.

    x (N, C, H, W) -> col (C * KH * KW, N * OH * OW), rows ordered (c, i, j), columns (n, oh, ow).
    The input is first copied to (C, N, H, W) order, so each of the KH * KW slice copies
    reads and writes rows of OW consecutive numbers. ``out``: an array of col's size to fill.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH = conv_output_size(H, KH, SH, PH)
    OW = conv_output_size(W, KW, SW, PW)
    x_cn = xp.ascontiguousarray(_pad(x, PH, PW).transpose(1, 0, 2, 3))  # (C, N, H + 2PH, W + 2PW)
    shape = (C, KH, KW, N, OH, OW)
    col = xp.empty(shape, dtype=x.dtype) if out is None else out.reshape(shape)
    for i in range(KH):
        for j in range(KW):
            col[:, i, j] = x_cn[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW]
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(
    col: Any, x_shape: tuple[int, int, int, int], KH: int, KW: int, SH: int = 1, SW: int = 1, PH: int = 0, PW: int = 0, *, work: Any = None
) -> Any:
    """The adjoint of im2col: add every column back onto the pixels it was taken from.

    col (C * KH * KW, N * OH * OW) -> x (N, C, H, W). Satisfies <im2col(x), y> = <x, col2im(y)>.
    ``work``: a (C, N, H + 2PH, W + 2PW) array to accumulate in (it is zeroed first).
    """
    xp = get_array_module(col)
    N, C, H, W = x_shape
    OH = conv_output_size(H, KH, SH, PH)
    OW = conv_output_size(W, KW, SW, PW)
    col = col.reshape(C, KH, KW, N, OH, OW)
    if work is None:
        x_cn = xp.zeros((C, N, H + 2 * PH, W + 2 * PW), dtype=col.dtype)
    else:
        x_cn = work
        x_cn.fill(0)
    for i in range(KH):
        for j in range(KW):
            x_cn[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[:, i, j]
    return xp.ascontiguousarray(x_cn[:, :, PH : PH + H, PW : PW + W].transpose(1, 0, 2, 3))


def _pair(value: int | tuple[int, int], what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in every framework), with groups.

    Section 3.5 / Figure 2. ``groups=2`` reproduces the paper's two-GPU connectivity.

    Shapes: x (N, C, H, W) -> out (N, F, OH, OW); params W (F, C/G, KH, KW), b (F,).
    ``need_input_grad=False`` skips dx (and col2im) for a first layer, whose input is data;
    backward then returns None.
    Default initialisation: He normal, std sqrt(2 / fan_in); the models re-initialise.
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
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
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
        fan_in = in_channels // groups * KH * KW
        rng = np.random.default_rng() if rng is None else rng
        self.params = {
            "W": (rng.standard_normal((out_channels, in_channels // groups, KH, KW)) * np.sqrt(2.0 / fan_in)).astype(dtype),
            "b": np.zeros(out_channels, dtype=dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, groups={self.groups})"
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(N, C, H, W) -> (N, F, OH, OW)."""
        N, _, H, W = input_shape
        OH = conv_output_size(H, self.kernel_size[0], self.stride[0], self.padding[0])
        OW = conv_output_size(W, self.kernel_size[1], self.stride[1], self.padding[1])
        return (N, self.out_channels, OH, OW)

    def forward(self, x: Any, train: bool = True) -> Any:
        self._require_rank(x, 4, self.in_channels, f"(N, {self.in_channels}, H, W)")
        self._require_params_like(x)
        xp = get_array_module(x)
        (KH, KW), (SH, SW), (PH, PW) = self.kernel_size, self.stride, self.padding
        G, F = self.groups, self.out_channels
        N, F, OH, OW = self.output_shape(x.shape)
        K = x.shape[1] * KH * KW
        col = im2col(x, KH, KW, SH, SW, PH, PW, out=self.scratch("col", (K, N * OH * OW), x))
        col_g = col.reshape(G, K // G, N * OH * OW)
        W_g = self.params["W"].reshape(G, F // G, -1)
        out_fn = xp.matmul(W_g, col_g, out=self.scratch("out_fn", (G, F // G, N * OH * OW), x)).reshape(F, N, OH, OW)
        out = xp.empty((N, F, OH, OW), dtype=x.dtype)
        xp.add(out_fn.transpose(1, 0, 2, 3), self.params["b"].reshape(F, 1, 1), out=out)
        self.cache = (x.shape, col_g)
        return out

    def backward(self, dout: Any) -> Any:
        xp = get_array_module(dout)
        x_shape, col_g = self.cache
        (KH, KW), (SH, SW), (PH, PW) = self.kernel_size, self.stride, self.padding
        G, F = self.groups, self.out_channels
        dout_g = self.scratch("dout_g", (F, *dout.shape[:1], *dout.shape[2:]), dout)
        dout_g[...] = dout.transpose(1, 0, 2, 3)
        dout_g = dout_g.reshape(G, F // G, -1)
        self.grads["b"] = dout_g.reshape(F, -1).sum(axis=1)
        self.grads["W"] = self._dW(xp, dout_g, col_g)
        self.cache = None
        if not self.need_input_grad:
            return None
        W_g = self.params["W"].reshape(G, F // G, -1)
        dcol = xp.matmul(W_g.transpose(0, 2, 1), dout_g, out=col_g)  # col is no longer needed: reuse its memory
        N, C, H, W = x_shape
        work = self.scratch("col2im", (C, N, H + 2 * PH, W + 2 * PW), dout)
        return col2im(dcol, x_shape, KH, KW, SH, SW, PH, PW, work=work)

    def _dW(self, xp: Any, dout_g: Any, col_g: Any) -> Any:
        """dW = dout @ col^T per group, written into the existing gradient array when it fits."""
        grad = self.reusable_grad("W", dout_g)
        out = None if grad is None else grad.reshape(self.groups, self.out_channels // self.groups, col_g.shape[1])
        return xp.matmul(dout_g, col_g.transpose(0, 2, 1), out=out).reshape(self.params["W"].shape)
