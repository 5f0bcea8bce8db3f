"""Convolution by im2col on all the CPU's cores. Twin of ``minialexnet.layers.conv.Conv2d``
(Section 3.5, Figure 2), whose docstring holds the notation (used for every variable below),
the shapes and the forward and backward products: the same products and numbers, computed so:

- ``im2col`` gathers with one strided slice per kernel offset (KH * KW copies, each moving
  a slice of the batch at once), a few images at a time on all the CPU's cores
  (parallel.py); ``col2im``, its adjoint, adds the columns back by slice-adds over the same
  offsets, with no ``np.add.at`` and no Python loop over pixels.
- With a stride S > 1 (conv1: 4) the input is first split into S x S phases, so that the
  copies read consecutive numbers instead of every S-th one (``im2col``).
- Column order: for small outputs (at most ``SMALL_OUTPUT_POSITIONS`` positions per image)
  and for batch-last outputs the columns are ordered by position, (OH, OW, N) instead of
  (N, OH, OW): the same matrix with its columns permuted, and longer rows to copy.
- Memory: the reference keeps the column matrix for backward, KH * KW times the input
  (214 MB for the paper's conv2 at batch 32). With ``keep_columns=False`` forward keeps
  only x, both passes work through the batch a chunk of images at a time (``CHUNK_BYTES``
  of columns), and backward rebuilds each chunk's columns: a second im2col buys back
  almost all of that memory. The fast engine does this for its largest layers (choices.py).
- Memory layout (layout.py): with ``batch_last_output=True`` out, of shape (N, F, OH, OW),
  is stored in (F, OH, OW, N) order. The products with columns by position leave it in
  that order, so storing it that way saves a transposing copy, and the next convolution,
  which wants its input batch-last for the same reason, reads it with plain copies; dx is
  laid out as x was. Any layer accepts any layout: NumPy follows the strides.
- The column matrix and the products live in reused named buffers (base.py).

For stride 1, ``winograd.py`` computes the same convolution with fewer multiplications;
the fast engine chooses per layer (``choices.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.fast.base import FastLayer
from minialexnet.fast.layout import empty_batch_last
from minialexnet.fast.parallel import for_each_slice, matmul, slice_scratch
from minialexnet.layers import conv as reference
from minialexnet.layers.patches import as_pair, conv_output_size

CHUNK_BYTES = 32 << 20  # memory of one chunk of a large intermediate: columns not kept, Winograd's products
GPU_CHUNK_BYTES = 1 << 30  # on a GPU, fewer and larger matrix products pay off more
SMALL_OUTPUT_POSITIONS = 256  # columns ordered by position (oh, ow, n) when an image's output has at most this many


def chunk_slices(n: int, bytes_per_item: int, xp: Any) -> list[slice]:
    """Slices of range(n), each about CHUNK_BYTES of ``bytes_per_item`` (GPU_CHUNK_BYTES on a GPU).

    All are the same size but the last, which may be smaller: the scratch arrays sized by
    the first chunk then fit every later one (uneven chunks that grow cost more peak memory).
    """
    limit = CHUNK_BYTES if xp is np else GPU_CHUNK_BYTES
    size = -(-n // min(n, max(1, -(-n * bytes_per_item // limit))))
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def im2col(
    x: Any,
    KH: int,
    KW: int,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    *,
    out: Any = None,
    columns_by_position: bool = False,
) -> Any:
    """Gather every KH x KW window of ``x`` into a column.

    ``stride`` (SH, SW) and ``padding`` (PH, PW): an int for both directions, or a pair.

    x (N, C, H, W) -> col (C * KH * KW, N * OH * OW), rows ordered (c, i, j), columns (n, oh, ow),
    or (oh, ow, n) with ``columns_by_position``. ``out``: an array of col's size to fill.

    Columns (n, oh, ow): a few images at a time (on all cores, see parallel.py), copied to
    (C, n, H, W) order, so each of the KH * KW slice copies moves rows of OW consecutive
    numbers. Columns (oh, ow, n): a few channels at a time, copied to (c, H, W, N) order, so
    the rows are OW * N numbers long; this pays off when OW is small (13 in conv3-5).

    With a stride S > 1 (conv1: 4) the input is first split into S x S phases,
    phase[a, b][h, w] = x[S h + a, S w + b]; kernel offset (i, j) then reads phase
    (i % S, j % S) from (i // S, j // S) on, with step 1: the copies read consecutive
    numbers instead of every S-th one.
    """
    xp = get_array_module(x)
    (SH, SW), (PH, PW) = as_pair(stride, "stride"), as_pair(padding, "padding")
    N, C, H, W = x.shape
    OH = conv_output_size(H, KH, SH, PH)
    OW = conv_output_size(W, KW, SW, PW)
    HP, WP = -(-(H + 2 * PH) // SH) * SH, -(-(W + 2 * PW) // SW) * SW  # padded, rounded up to whole strides
    if columns_by_position:
        col = xp.empty((C, KH, KW, OH, OW, N), dtype=x.dtype) if out is None else out.reshape(C, KH, KW, OH, OW, N)

        def channels(s: slice) -> None:
            c = s.stop - s.start
            x_hwn = slice_scratch("padded", (c, HP, WP, N), x)  # the channels, padded, batch last
            if (HP, WP) != (H, W):
                x_hwn.fill(0)
            x_hwn[:, PH : PH + H, PW : PW + W] = x[:, s].transpose(1, 2, 3, 0)
            if SH == SW == 1:
                phases = x_hwn.reshape(c, 1, 1, HP, WP, N)
            else:
                phases = slice_scratch("phases", (c, SH, SW, HP // SH, WP // SW, N), x)
                phases[...] = x_hwn.reshape(c, HP // SH, SH, WP // SW, SW, N).transpose(0, 2, 4, 1, 3, 5)
            for i in range(KH):
                for j in range(KW):
                    a, b = i // SH, j // SW
                    col[s, i, j] = phases[:, i % SH, j % SW, a : a + OH, b : b + OW]

        for_each_slice(xp, C, channels, KH * KW * OH * OW * N * x.itemsize)
        return col.reshape(C * KH * KW, N * OH * OW)

    col = xp.empty((C, KH, KW, N, OH, OW), dtype=x.dtype) if out is None else out.reshape(C, KH, KW, N, OH, OW)

    def images(s: slice) -> None:
        n = s.stop - s.start
        x_cn = slice_scratch("padded", (C, n, HP, WP), x)  # the images, padded
        if (HP, WP) != (H, W):
            x_cn.fill(0)
        x_cn[:, :, PH : PH + H, PW : PW + W] = x[s].transpose(1, 0, 2, 3)
        if SH == SW == 1:
            phases = x_cn.reshape(C, 1, 1, n, HP, WP)
        else:
            phases = slice_scratch("phases", (C, SH, SW, n, HP // SH, WP // SW), x)
            phases[...] = x_cn.reshape(C, n, HP // SH, SH, WP // SW, SW).transpose(0, 3, 5, 1, 2, 4)
        for i in range(KH):
            for j in range(KW):
                a, b = i // SH, j // SW
                col[:, i, j, s] = phases[:, i % SH, j % SW, :, a : a + OH, b : b + OW]

    for_each_slice(xp, N, images, C * KH * KW * OH * OW * x.itemsize)
    return col.reshape(C * KH * KW, N * OH * OW)


def col2im(
    col: Any,
    x_shape: tuple[int, int, int, int],
    KH: int,
    KW: int,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    *,
    out: Any = None,
    columns_by_position: bool = False,
) -> Any:
    """The adjoint of im2col: add every column back onto the pixels it was taken from.

    col (C * KH * KW, N * OH * OW) -> x (N, C, H, W). Satisfies <im2col(x), y> = <x, col2im(y)>
    (with the same ``columns_by_position``). A few images (or, with ``columns_by_position``,
    channels) at a time, each summed in a zeroed padded array. ``out``: an (N, C, H, W) array
    to write into.
    """
    xp = get_array_module(col)
    (SH, SW), (PH, PW) = as_pair(stride, "stride"), as_pair(padding, "padding")
    N, C, H, W = x_shape
    OH = conv_output_size(H, KH, SH, PH)
    OW = conv_output_size(W, KW, SW, PW)
    x = xp.empty(x_shape, dtype=col.dtype) if out is None else out
    if columns_by_position:
        col = col.reshape(C, KH, KW, OH, OW, N)

        def channels(s: slice) -> None:
            x_hwn = slice_scratch("padded", (s.stop - s.start, H + 2 * PH, W + 2 * PW, N), col)
            x_hwn.fill(0)
            for i in range(KH):
                for j in range(KW):
                    x_hwn[:, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[s, i, j]
            x[:, s] = x_hwn[:, PH : PH + H, PW : PW + W].transpose(3, 0, 1, 2)

        for_each_slice(xp, C, channels, KH * KW * OH * OW * N * col.itemsize)
        return x

    col = col.reshape(C, KH, KW, N, OH, OW)

    def images(s: slice) -> None:
        x_cn = slice_scratch("padded", (C, s.stop - s.start, H + 2 * PH, W + 2 * PW), col)
        x_cn.fill(0)
        for i in range(KH):
            for j in range(KW):
                x_cn[:, :, i : i + SH * OH : SH, j : j + SW * OW : SW] += col[:, i, j, s]
        x[s] = x_cn[:, :, PH : PH + H, PW : PW + W].transpose(1, 0, 2, 3)

    for_each_slice(xp, N, images, C * KH * KW * OH * OW * col.itemsize)
    return x


class Conv2d(FastLayer, reference.Conv2d):
    """The reference Conv2d (its constructor, parameters and numbers) on every core, with two options of its own.

    ``keep_columns=False`` trades a second im2col in backward for the column matrix's
    memory; ``batch_last_output=True`` stores out in (F, OH, OW, N) order (same shape and
    values). Both are described in the module docstring.
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
        keep_columns: bool = True,
        batch_last_output: bool = False,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, groups, need_input_grad=need_input_grad, rng=rng, dtype=dtype
        )
        self.keep_columns = keep_columns
        self.batch_last_output = batch_last_output
        self.columns_by_position: bool | None = None  # the column order (see im2col); None: ``_by_position`` decides

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        N, F, OH, OW = self.output_shape(x.shape)
        out = self._empty_output(xp, (N, F, OH, OW), x.dtype)
        if self.keep_columns:
            col = self._columns(x, self.scratch("col", (self._col_rows(x), N * OH * OW), x))
            self._project(col, out)
        else:
            col = None
            for c in self._chunks(x):
                self._project(self._columns(x[c]), out[c])
        return self._keep_for_backward((x, col), out)  # col None: backward rebuilds the columns from x

    def backward(self, dout: Any) -> Any:
        x, col = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        dx = xp.empty_like(x, dtype=dout.dtype) if self.need_input_grad else None  # laid out as x is
        chunks = [slice(0, x.shape[0])] if col is not None else self._chunks(x)
        for number, c in enumerate(chunks):
            col_c = col if col is not None else self._columns(x[c])
            dW_c, db_c = self._backward_chunk(dout[c], col_c, None if dx is None else dx[c], first=number == 0)
            if number == 0:
                self.grads["W"], self.grads["b"] = dW_c, db_c
            else:  # the chunks' weight and bias gradients add up
                self.grads["W"] += dW_c
                self.grads["b"] += db_c
        self.cache = None
        return dx

    def _empty_output(self, xp: Any, shape: tuple[int, int, int, int], dtype: Any) -> Any:
        """An uninitialised (N, F, OH, OW) array, stored batch-last with ``batch_last_output`` (module docstring)."""
        return empty_batch_last(xp, shape, dtype) if self.batch_last_output else xp.empty(shape, dtype=dtype)

    def _col_rows(self, x: Any) -> int:
        return x.shape[1] * self.kernel_size[0] * self.kernel_size[1]

    def _by_position(self, OH: int, OW: int) -> bool:
        """Columns (oh, ow, n) for small outputs, where rows of OW numbers are too short to copy fast,
        and for outputs stored batch-last, which the product then gives without a transpose."""
        if self.columns_by_position is not None:
            return self.columns_by_position
        return OH * OW <= SMALL_OUTPUT_POSITIONS or self.batch_last_output

    def _columns(self, x: Any, out: Any = None) -> Any:
        """im2col(x), into ``out`` or into the network's shared "columns" buffer."""
        (KH, KW), (SH, SW), (PH, PW) = self.kernel_size, self.stride, self.padding
        _, _, OH, OW = self.output_shape(x.shape)
        if out is None:
            out = self.borrow("columns", (self._col_rows(x), x.shape[0] * OH * OW), x)
        return im2col(x, KH, KW, (SH, SW), (PH, PW), out=out, columns_by_position=self._by_position(OH, OW))

    def _chunks(self, x: Any) -> list[slice]:
        """Slices of the batch whose columns take about CHUNK_BYTES each (``chunk_slices``)."""
        _, _, OH, OW = self.output_shape(x.shape)
        return chunk_slices(x.shape[0], self._col_rows(x) * OH * OW * x.itemsize, get_array_module(x))

    def _project(self, col: Any, out: Any) -> None:
        """out = W @ col + b per group, written into ``out`` (n, F, OH, OW)."""
        xp = get_array_module(col)
        G, F = self.groups, self.out_channels
        n, _, OH, OW = out.shape
        W_g = self.params["W"].reshape(G, F // G, -1)
        col_g = col.reshape(G, -1, n * OH * OW)
        product = matmul(W_g, col_g, out=self.borrow("product", (G, F // G, n * OH * OW), col))
        if self._by_position(OH, OW):
            out_f = product.reshape(F, OH, OW, n)
            bias = self.params["b"].reshape(F, 1, 1, 1)

            def filters(s: slice) -> None:  # (f, OH, OW, n) -> (n, f, OH, OW), plus the bias
                xp.add(out_f[s].transpose(3, 0, 1, 2), bias[s].reshape(-1, 1, 1), out=out[:, s])

            for_each_slice(xp, F, filters, out[:, :1].nbytes)
            return
        out_fn = product.reshape(F, n, OH, OW)
        bias = self.params["b"].reshape(F, 1, 1)

        def images(s: slice) -> None:  # (F, n, OH, OW) -> (n, F, OH, OW), plus the bias
            xp.add(out_fn[:, s].transpose(1, 0, 2, 3), bias, out=out[s])

        for_each_slice(xp, n, images, out[:1].nbytes)

    def _backward_chunk(self, dout: Any, col: Any, dx: Any, first: bool) -> tuple[Any, Any]:
        """dW and db of one chunk of images, and its dx written into ``dx`` (unless None).

        ``col`` is overwritten (by dcol, the gradient of the columns). The first chunk's dW
        goes into the existing gradient array, later ones into the shared "partial_product" buffer.
        """
        xp = get_array_module(dout)
        (KH, KW), (SH, SW), (PH, PW) = self.kernel_size, self.stride, self.padding
        G, F = self.groups, self.out_channels
        n, _, OH, OW = dout.shape
        by_position = self._by_position(OH, OW)
        if by_position:
            dout_fn = self.borrow("product", (F, OH, OW, n), dout)

            def filters(s: slice) -> None:  # (n, f, OH, OW) -> (f, OH, OW, n)
                dout_fn[s] = dout[:, s].transpose(1, 2, 3, 0)

            for_each_slice(xp, F, filters, dout[:, :1].nbytes)
        else:
            dout_fn = self.borrow("product", (F, n, OH, OW), dout)

            def images(s: slice) -> None:  # (n, F, OH, OW) -> (F, n, OH, OW)
                dout_fn[:, s] = dout[s].transpose(1, 0, 2, 3)

            for_each_slice(xp, n, images, dout[:1].nbytes)
        dout_g = dout_fn.reshape(G, F // G, -1)
        col_g = col.reshape(G, -1, dout_g.shape[2])
        db = dout_fn.reshape(F, -1).sum(axis=1)
        dW = self._dW(xp, dout_g, col_g, first)
        if dx is not None:
            W_g = self.params["W"].reshape(G, F // G, -1)
            dcol = matmul(W_g.transpose(0, 2, 1), dout_g, out=col_g)  # col is no longer needed: reuse its memory
            col2im(dcol, dx.shape, KH, KW, (SH, SW), (PH, PW), out=dx, columns_by_position=by_position)
        return dW, db

    def _dW(self, xp: Any, dout_g: Any, col_g: Any, into_grad: bool) -> Any:
        """dW = dout @ col^T per group, into the existing gradient array (when it fits and ``into_grad``) or scratch."""
        G, F = self.groups, self.out_channels
        grad = self.reusable_grad("W", dout_g) if into_grad else self.borrow("partial_product", self.params["W"].shape, dout_g)
        out = None if grad is None else grad.reshape(G, F // G, col_g.shape[1])
        return matmul(dout_g, col_g.transpose(0, 2, 1), out=out).reshape(self.params["W"].shape)
