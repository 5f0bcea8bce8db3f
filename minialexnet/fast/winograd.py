"""Convolution by Winograd's minimal filtering: the same output with fewer multiplications.

Paper: the layers are Section 3.5's (conv2 to conv5, stride 1); the algorithm is not the
paper's. It is Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR
2016), built on Winograd's (1980) minimal filtering algorithms, and it is what cuDNN and
oneDNN use for small stride-1 kernels. It computes exactly what ``Conv2d`` computes (in
exact arithmetic; in float32 the rounding differs slightly, see the tests).

The idea in one dimension, F(m, r): m outputs of an r-tap filter g over alpha = m + r - 1
inputs d, y[i] = sum_k d[i + k] g[k], take m * r multiplications directly but only alpha
this way::

    y = AT [ (G g) * (BT d) ]          (* is elementwise)

AT (m, alpha), G (alpha, r) and BT (alpha, alpha) come from evaluating polynomials at
alpha - 1 points (0, 1, -1, 2, -2, 1/2, ...) and at infinity (``winograd_matrices``: the
Toom-Cook construction, transposed). In two dimensions the same matrices act on rows and
columns of an alpha x alpha tile: Y = AT [(G g GT) * (BT d B)] A, an m x m block of outputs
for alpha^2 multiplications instead of m^2 r^2. For conv2 (5x5, m = 4) that is 64 instead
of 400 per tile, for conv3 to conv5 (3x3, m = 2) 16 instead of 36.

The multiplications are the expensive part because, summed over input channels, they are
matrix products: for each of the alpha^2 positions xi of a tile, the transformed filters
U[xi] (F, C) times the transformed input tiles V[xi] (C, L). The transforms themselves are
small fixed matrices; written as Kronecker products on flattened tiles (BT d B is
(BT kron BT) applied to d's alpha^2 numbers) each is one more matrix product.

Notation (as in conv.py, plus)::

    m        output tile size: each tile gives m x m outputs
    r        kernel size (KH, KW; the matrices are built per axis, so KH != KW works)
    a        input tile size, m + r - 1 (AH, AW per axis); XI = AH * AW positions
    TH, TW   tiles per image: TH = ceil(OH / m); the last tiles may hang over the edge
    L        tiles of the whole batch, N * TH * TW

Shapes::

    x       (N, C, H, W)
    tiles   (XI, C, L)          every a x a window at steps of m (a gather, like im2col)
    V       (XI, C, L)          Bk @ tiles, Bk = BT kron BT        (kept for backward)
    U       (XI, F, C/G)        Gk @ W,     Gk = G kron G
    M       (XI, F, L)          U[xi] @ V[xi] per position and group: the real work
    Y       (m*m, F, L)         Ak @ M,     Ak = AT kron AT
    out     (N, F, OH, OW)      Y's blocks put in place, plus the bias

Backward runs every step's adjoint in reverse order: dM = Ak^T @ dY, dU = dM @ V^T
(then dW = Gk^T @ dU), dV = U^T @ dM, dtiles = Bk^T @ dV, and dx adds each tile back where
it was read (like col2im). It is the exact gradient of what forward computed.

Memory: M and dM are the largest arrays (103 MB for the paper's conv2 at batch 32), so
forward makes them a few filters at a time and backward a few tile positions at a time
(about ``conv.CHUNK_BYTES`` each, as im2col's columns); V is kept for backward and then
holds dV.

Why not always: the transforms and the gathers cost memory passes that im2col does not
have, and the matrix products have only C/G rows to sum over. It pays off when the direct
products are large (the paper's conv2 to conv5 at batch 32) and loses on tiny layers, so
the fast engine chooses per layer (choices.py). Larger tiles save more multiplications but round worse (the transforms' entries
grow with the points used): ``DEFAULT_TILE`` keeps the float32 error within a few 1e-6 of
the largest output for 3x3 kernels and about 1e-5 for 5x5.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.fast.conv import Conv2d, chunk_slices
from minialexnet.fast.parallel import for_each_slice, matmul, slice_scratch
from minialexnet.layers.patches import as_pair, conv_output_size

# the interpolation points; more (3, -3, ...) would allow larger tiles, but their transforms
# round so badly that even float64 gradient checks fail at 10 x 10 tiles
POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2))
DEFAULT_TILE = {3: 2, 5: 4}  # kernel size -> m; other kernel sizes use m = 2


def _times_linear(poly: list[Fraction], root: Fraction) -> list[Fraction]:
    """Coefficients (lowest power first) of poly(x) * (x - root)."""
    shifted = [Fraction(0), *poly]
    return [high - root * low for high, low in zip(shifted, [*poly, Fraction(0)], strict=True)]


@functools.cache
def winograd_matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AT (m, a), G (a, r), BT (a, a) of F(m, r), a = m + r - 1, as float64 arrays.

    With points p_0 .. p_{a-2} and infinity (Toom-Cook): G evaluates the filter polynomial
    at each point, divided by prod_{l != j}(p_j - p_l); AT evaluates the output polynomial
    (row i: p_j^i; the point at infinity picks the leading coefficient); row j of BT holds
    the coefficients of prod_{l != j}(x - p_l), and the last row those of prod_l(x - p_l).
    The entries are computed in exact fractions and rounded once.
    """
    if m < 1 or r < 1:
        raise ValueError(f"F({m}, {r}): the tile m and the kernel size r must be >= 1")
    if m + r - 2 > len(POINTS):
        raise ValueError(
            f"F({m}, {r}) needs {m + r - 2} interpolation points, more than the {len(POINTS)} defined "
            f"(larger tiles round too badly): choose a tile m with m + r <= {len(POINTS) + 2}"
        )
    a = m + r - 1
    points = POINTS[: a - 1]
    AT = [[p**i for p in points] + [Fraction(int(i == m - 1))] for i in range(m)]
    G, BT = [], []
    for p in points:
        others = [q for q in points if q != p]
        scale, poly = Fraction(1), [Fraction(1)]
        for q in others:
            scale *= p - q
            poly = _times_linear(poly, q)
        G.append([p**k / scale for k in range(r)])
        BT.append([*poly, Fraction(0)])
    G.append([Fraction(int(k == r - 1)) for k in range(r)])
    whole = [Fraction(1)]
    for q in points:
        whole = _times_linear(whole, q)
    BT.append(whole)
    return tuple(np.array([[float(v) for v in row] for row in rows]) for rows in (AT, G, BT))


@functools.cache
def kron_matrices(m: int, KH: int, KW: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2-D transforms on flattened tiles: Ak (m*m, XI), Gk (XI, KH*KW), Bk (XI, XI), float64."""
    (ATh, Gh, BTh), (ATw, Gw, BTw) = winograd_matrices(m, KH), winograd_matrices(m, KW)
    return np.kron(ATh, ATw), np.kron(Gh, Gw), np.kron(BTh, BTw)


class WinogradConv2d(Conv2d):
    """A stride-1 convolution computed by Winograd's F(m x m, KH x KW) (see the module docstring).

    Twin of ``minialexnet.layers.conv.Conv2d``, with its constructor and the same parameters,
    shapes, initialisation and results; only the arithmetic differs. A stride other than 1
    is refused (use ``Conv2d``). ``tile``: m, the output block per tile (default:
    ``DEFAULT_TILE``). Shapes: x (N, C, H, W) -> out (N, F, OH, OW); params W (F, C/G, KH, KW), b (F,).
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
        tile: int | None = None,
        need_input_grad: bool = True,
        batch_last_output: bool = False,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ) -> None:
        if as_pair(stride, "stride") != (1, 1):
            raise ValueError(f"WinogradConv2d computes stride-1 convolutions only, got stride={stride!r}; use Conv2d for strided ones")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            need_input_grad=need_input_grad,
            batch_last_output=batch_last_output,
            rng=rng,
            dtype=dtype,
        )
        self.tile = DEFAULT_TILE.get(max(self.kernel_size), 2) if tile is None else tile
        kron_matrices(self.tile, *self.kernel_size)  # a bad tile size fails here, not in forward

    @property
    def algorithm(self) -> str:
        """How out is computed, e.g. ``winograd F(4x4, 5x5)``."""
        (KH, KW), m = self.kernel_size, self.tile
        return f"winograd F({m}x{m}, {KH}x{KW})"

    def __repr__(self) -> str:
        return (
            f"WinogradConv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"padding={self.padding}, groups={self.groups}, tile={self.tile})"
        )

    def _geometry(self, x_shape: tuple[int, ...]) -> tuple[int, int, int, int, int, int]:
        """(OH, OW, TH, TW, AH, AW) for an input of ``x_shape``."""
        (KH, KW), (PH, PW), m = self.kernel_size, self.padding, self.tile
        OH = conv_output_size(x_shape[2], KH, 1, PH)
        OW = conv_output_size(x_shape[3], KW, 1, PW)
        return OH, OW, -(-OH // m), -(-OW // m), m + KH - 1, m + KW - 1

    def _transforms(self, like: Any) -> tuple[Any, Any, Any]:
        """(Ak, Gk, Bk) with ``like``'s dtype on its device, made once: a GPU then gets them in the first step only."""
        xp = get_array_module(like)
        cached = self.workspace.get("transforms")
        if cached is None or cached[0].dtype != like.dtype or get_array_module(cached[0]) is not xp:
            matrices = kron_matrices(self.tile, *self.kernel_size)
            cached = self.workspace["transforms"] = tuple(xp.asarray(matrix, dtype=like.dtype) for matrix in matrices)
        return cached

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        N, C = x.shape[:2]
        G, F, m = self.groups, self.out_channels, self.tile
        OH, OW, TH, TW, AH, AW = self._geometry(x.shape)
        XI, L = AH * AW, N * TH * TW
        Ak, Gk, Bk = self._transforms(x)
        tiles = gather_tiles(x, m, AH, AW, self.padding, TH, TW, out=self.borrow("columns", (XI, C, L), x))
        V = matmul(Bk, tiles.reshape(XI, C * L), out=self.scratch("V", (XI, C * L), x)).reshape(XI, G, C // G, L)
        U = matmul(Gk, self.params["W"].reshape(F * C // G, -1).T).reshape(XI, G, F // G, C // G)
        out = self._empty_output(xp, (N, F, OH, OW), x.dtype)
        for g in range(G):  # a few filters at a time: M for all of them would be the layer's largest array
            for f in chunk_slices(F // G, XI * L * x.itemsize, xp):
                M = matmul(U[:, g, f], V[:, g], out=self.borrow("product", (XI, f.stop - f.start, L), x))
                Y = matmul(Ak, M.reshape(XI, -1), out=self.borrow("partial_product", (m * m, M[0].size), x))
                filters = slice(g * F // G + f.start, g * F // G + f.stop)
                place_blocks(Y.reshape(m, m, -1, TH, TW, N), out[:, filters], self.params["b"][filters])
        return self._keep_for_backward((x, V, U), out)  # x only for its shape and memory layout

    def backward(self, dout: Any) -> Any:
        x, V, U = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        x_shape = x.shape
        N, C = x_shape[:2]
        G, F, m = self.groups, self.out_channels, self.tile
        _, _, TH, TW, AH, AW = self._geometry(x_shape)
        XI, L = AH * AW, N * TH * TW
        Ak, Gk, Bk = self._transforms(dout)
        dY = take_blocks(dout, m, TH, TW, out=self.borrow("partial_product", (m, m, F, TH, TW, N), dout)).reshape(m * m, F, L)
        self.grads["b"] = dY.sum(axis=(0, 2))
        dU = xp.empty_like(U)
        for xi in chunk_slices(XI, F * L * dout.itemsize, xp):  # a few tile positions at a time, for memory as in forward
            dM = matmul(Ak.T[xi], dY.reshape(m * m, F * L), out=self.borrow("product", (xi.stop - xi.start, F * L), dout))
            dM = dM.reshape(-1, G, F // G, L)
            matmul(dM, V[xi].transpose(0, 1, 3, 2), out=dU[xi])
            if self.need_input_grad:  # V[xi] is no longer needed: dV[xi] takes its memory
                matmul(U[xi].transpose(0, 1, 3, 2), dM, out=V[xi])
        dW = matmul(Gk.T, dU.reshape(XI, -1)).reshape(*self.kernel_size, F, C // G)
        grad = self.reusable_grad("W", dW)
        grad = xp.empty(self.params["W"].shape, dtype=dW.dtype) if grad is None else grad
        grad[...] = dW.transpose(2, 3, 0, 1)
        self.grads["W"] = grad
        self.cache = None
        if not self.need_input_grad:
            return None
        dtiles = matmul(Bk.T, V.reshape(XI, C * L), out=self.borrow("columns", (XI, C * L), dout))  # V holds dV
        dx = xp.empty_like(x, dtype=dout.dtype)  # laid out as x is
        add_tiles(dtiles.reshape(AH, AW, C, TH, TW, N), m, self.padding, out=dx)
        return dx


def _phase_blocks(m: int, AH: int, AW: int, TH: int, TW: int) -> tuple[int, int, int, int]:
    """(BH, BW, RH, RW): m x m blocks per tile and per padded image, along each axis.

    A tile's row i is row p = i % m of its block u = i // m, so an AH x AW tile spans
    BH = ceil(AH / m) blocks down (2 when AH = 2m, as for F(2, 3) and F(4, 5)), and tile
    th starts at block th: the padded image needs RH = TH + BH - 1 block rows.
    """
    BH, BW = -(-AH // m), -(-AW // m)
    return BH, BW, TH + BH - 1, TW + BW - 1


def gather_tiles(x: Any, m: int, AH: int, AW: int, padding: tuple[int, int], TH: int, TW: int, *, out: Any = None) -> Any:
    """Every AH x AW window of the zero-padded ``x`` at steps of m: (N, C, H, W) -> (AH*AW, C, TH*TW*N).

    tiles[(i, j), c, (th, tw, n)] = x_padded[n, c, m th + i, m tw + j]. The padding is
    ``padding`` on the top and left and whatever the last tiles need on the bottom and right.

    A few channels at a time, the padded image is split into m x m phases with the batch
    last, phase[p, q][c, bh, bw, n] = x_padded[n, c, m bh + p, m bw + q]. Tile th, tw is
    the blocks bh = th + u, bw = tw + v for u < BH, v < BW (``_phase_blocks``), and every
    tile takes its block (u, v) at the same time: one copy of all m x m phases, shifted by
    (u, v) blocks, fills the tiles' rows m u .. m u + m - 1 and columns m v .. m v + m - 1.
    That is BH * BW copies (4 for F(2, 3) and F(4, 5)) instead of one per tile offset.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    PH, PW = padding
    BH, BW, RH, RW = _phase_blocks(m, AH, AW, TH, TW)
    tiles = (xp.empty((AH, AW, C, TH, TW, N), dtype=x.dtype) if out is None else out).reshape(AH, AW, C, TH, TW, N)

    def channels(s: slice) -> None:
        c = s.stop - s.start
        x_hwn = slice_scratch("padded", (c, RH * m, RW * m, N), x)
        x_hwn.fill(0)
        x_hwn[:, PH : PH + H, PW : PW + W] = x[:, s].transpose(1, 2, 3, 0)
        phases = slice_scratch("phases", (m, m, c, RH, RW, N), x)
        phases[...] = x_hwn.reshape(c, RH, m, RW, m, N).transpose(2, 4, 0, 1, 3, 5)
        for u in range(BH):
            rows = min(m, AH - m * u)  # the last block of a tile may be cut short
            for v in range(BW):
                cols = min(m, AW - m * v)
                tiles[m * u : m * u + rows, m * v : m * v + cols, s] = phases[:rows, :cols, :, u : u + TH, v : v + TW]

    for_each_slice(xp, C, channels, AH * AW * TH * TW * N * x.itemsize)
    return tiles.reshape(AH * AW, C, TH * TW * N)


def add_tiles(dtiles: Any, m: int, padding: tuple[int, int], *, out: Any) -> Any:
    """The adjoint of ``gather_tiles``: (AH, AW, C, TH, TW, N) -> ``out`` (N, C, H, W).

    Each tile is added back onto the pixels it was read from (overlapping tiles add up):
    block (u, v) of every tile at once onto the phases, shifted by (u, v) blocks, the
    reverse of gather's copies; what fell on the padding is dropped.
    """
    xp = get_array_module(dtiles)
    AH, AW, C, TH, TW, N = dtiles.shape
    _, _, H, W = out.shape
    PH, PW = padding
    BH, BW, RH, RW = _phase_blocks(m, AH, AW, TH, TW)

    def channels(s: slice) -> None:
        c = s.stop - s.start
        phases = slice_scratch("phases", (m, m, c, RH, RW, N), dtiles)
        phases.fill(0)
        for u in range(BH):
            rows = min(m, AH - m * u)
            for v in range(BW):
                cols = min(m, AW - m * v)
                phases[:rows, :cols, :, u : u + TH, v : v + TW] += dtiles[m * u : m * u + rows, m * v : m * v + cols, s]
        x_hwn = slice_scratch("padded", (c, RH, m, RW, m, N), dtiles)
        x_hwn[...] = phases.transpose(2, 3, 0, 4, 1, 5)
        x_hwn = x_hwn.reshape(c, RH * m, RW * m, N)
        out[:, s] = x_hwn[:, PH : PH + H, PW : PW + W].transpose(3, 0, 1, 2)

    for_each_slice(xp, C, channels, AH * AW * TH * TW * N * dtiles.itemsize)
    return out


def place_blocks(Y: Any, out: Any, bias: Any) -> Any:
    """out[n, f, m th + a, m tw + b] = Y[a, b, f, th, tw, n] + bias[f], cut off at out's edge.

    Y (m, m, F, TH, TW, N) -> out (N, F, OH, OW), a few filters at a time, through an
    (f, OH, OW, N) array: the block copies move rows of N numbers, the final transpose
    rows of OH * OW.
    """
    xp = get_array_module(Y)
    m, F, N = Y.shape[0], Y.shape[2], Y.shape[5]
    OH, OW = out.shape[2:]
    bias = bias.reshape(F, 1, 1)

    def filters(s: slice) -> None:
        image = slice_scratch("image", (s.stop - s.start, OH, OW, N), Y)
        for a in range(m):
            for b in range(m):
                image[:, a::m, b::m] = Y[a, b, s, : len(range(a, OH, m)), : len(range(b, OW, m))]
        xp.add(image.transpose(3, 0, 1, 2), bias[s], out=out[:, s])

    for_each_slice(xp, F, filters, out[:, :1].nbytes)
    return out


def take_blocks(dout: Any, m: int, TH: int, TW: int, *, out: Any = None) -> Any:
    """The adjoint of ``place_blocks`` (without the bias): (N, F, OH, OW) -> (m, m, F, TH, TW, N).

    Positions past dout's edge (in the last tiles) are zero.
    """
    xp = get_array_module(dout)
    N, F, OH, OW = dout.shape
    blocks = xp.empty((m, m, F, TH, TW, N), dtype=dout.dtype) if out is None else out

    def filters(s: slice) -> None:
        image = slice_scratch("image", (s.stop - s.start, OH, OW, N), dout)
        image[...] = dout[:, s].transpose(1, 2, 3, 0)
        for a in range(m):
            for b in range(m):
                rows, cols = len(range(a, OH, m)), len(range(b, OW, m))
                if (rows, cols) != (TH, TW):
                    blocks[a, b, s].fill(0)
                blocks[a, b, s, :rows, :cols] = image[:, a::m, b::m]

    for_each_slice(xp, F, filters, dout[:, :1].nbytes)
    return blocks
