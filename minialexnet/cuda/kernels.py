"""The GPU engine's kernels: CUDA written in Python with ``numba.cuda``, one per pass over memory.

Every kernel works on flat C-ordered arrays and walks them with a grid-stride loop: thread
``t`` of the grid handles elements t, t + gridsize, t + 2 gridsize, ... of its output, so one
launch of any size covers any shape (the simulator runs one small block; a GPU runs
thousands of threads). The notation is the reference layer's (conv.py, lrn.py, pool.py,
dropout.py, loss.py, optim.py); each kernel's docstring names the reference it replaces.

Two rules make the backward kernels gathers: every output element is written by exactly
one thread, which reads (and sums) everything that contributes to it, so no two threads
write the same address and no atomics are needed (col2im, max-pool backward, LRN backward).

``SIGNATURES`` lists each kernel's argument types for float32 and float64:
``minialexnet.tools.kernels`` compiles them all to PTX for sm_90 without a GPU.
"""

from __future__ import annotations

import math

from numba import cuda

MASK32 = 0xFFFFFFFF  # uint32 arithmetic in 64-bit integers: products wrap modulo 2**32
GOLDEN = 0x9E3779B9  # as in dropout.py


def im2col(x, col, N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW):
    """col[(c, i, j), (n, oh, ow)] = x[n, c, oh SH - PH + i, ow SW - PW + j], 0 in the padding. Replaces conv.im2col.

    x (N, C, H, W) flat; col (C KH KW, N OH OW) flat, rows (c, i, j), columns (n, oh, ow).
    """
    L = N * OH * OW
    for t in range(cuda.grid(1), C * KH * KW * L, cuda.gridsize(1)):
        row, column = t // L, t % L
        c, i, j = row // (KH * KW), row // KW % KH, row % KW
        n, oh, ow = column // (OH * OW), column // OW % OH, column % OW
        h, w = oh * SH - PH + i, ow * SW - PW + j
        if 0 <= h < H and 0 <= w < W:
            col[t] = x[((n * C + c) * H + h) * W + w]
        else:
            col[t] = 0


def col2im(col, x, N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW):
    """The adjoint of im2col as a gather: x[n, c, h, w] = sum of the columns whose window covers (h, w). Replaces conv.col2im.

    col (C KH KW, N OH OW) flat -> x (N, C, H, W) flat. Kernel offset (i, j) covers (h, w)
    from output (oh, ow) when h + PH - i = oh SH and w + PW - j = ow SW.
    """
    L = N * OH * OW
    for t in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, h, w = t // (C * H * W), t // (H * W) % C, t // W % H, t % W
        total = col[0] * 0
        for i in range(KH):
            rows_h = h + PH - i
            if rows_h < 0 or rows_h % SH != 0 or rows_h // SH >= OH:
                continue
            for j in range(KW):
                rows_w = w + PW - j
                if rows_w < 0 or rows_w % SW != 0 or rows_w // SW >= OW:
                    continue
                total += col[((c * KH + i) * KW + j) * L + (n * OH + rows_h // SH) * OW + rows_w // SW]
        x[t] = total


def bias_activation(product, b, out, N, F, P, relu):
    """out[n, f, p] = product[f, (n, p)] + b[f], then max(0, .) when ``relu``: a convolution's (or fc layer's) epilogue.

    product (F, N P) flat is what cuBLAS gives (W col for conv, W x^T for fc with P = 1);
    out (N, F, P) flat. Fuses the layout change, the bias (conv.py's _project) and the
    following ReLU (relu.py) into one pass.
    """
    for t in range(cuda.grid(1), N * F * P, cuda.gridsize(1)):
        n, f, p = t // (F * P), t // P % F, t % P
        value = product[(f * N + n) * P + p] + b[f]
        out[t] = max(value, 0) if relu else value


def output_grad(dout, out, dproduct, N, F, P, relu):
    """dproduct[f, (n, p)] = dout[n, f, p], times (out > 0) when ``relu``: bias_activation's backward, before the products.

    dout, out (N, F, P) flat -> dproduct (F, N P) flat. Fuses ReLU's backward (relu.py) with
    the layout change conv.py's backward makes.
    """
    for t in range(cuda.grid(1), N * F * P, cuda.gridsize(1)):
        f, n, p = t // (N * P), t // P % N, t % P
        source = (n * F + f) * P + p
        dproduct[t] = dout[source] if not relu or out[source] > 0 else 0


def relu_forward(x, out, size):
    """out = max(0, x). Replaces relu.ReLU.forward where no product comes before it."""
    for t in range(cuda.grid(1), size, cuda.gridsize(1)):
        out[t] = max(x[t], 0)


def relu_backward(dout, out, dx, size):
    """dx = dout where out > 0, else 0. Replaces relu.ReLU.backward."""
    for t in range(cuda.grid(1), size, cuda.gridsize(1)):
        dx[t] = dout[t] if out[t] > 0 else 0


def lrn_forward(a, b, D, N, C, HW, G, before, after, alpha, beta, k):
    """b = a / D**beta with D[c] = k + alpha * sum of a[c']**2 over c' in [c - before, c + after] within c's group. Section 3.3.

    a, b, D (N, C, H, W) flat (HW = H W); replaces lrn.LocalResponseNorm.forward in one pass
    (each thread sums its own window: n reads of a instead of n slice-adds over the batch).
    """
    group = C // G
    for t in range(cuda.grid(1), N * C * HW, cuda.gridsize(1)):
        n, c, hw = t // (C * HW), t // HW % C, t % HW
        first = c // group * group
        squares = a[t] * 0
        for neighbour in range(max(c - before, first), min(c + after, first + group - 1) + 1):
            value = a[(n * C + neighbour) * HW + hw]
            squares += value * value
        D[t] = k + alpha * squares
        b[t] = a[t] / D[t] ** beta


def lrn_backward(a, b, D, g, da, N, C, HW, G, before, after, alpha, beta):
    """da[j] = g[j] D[j]**-beta - 2 alpha beta a[j] * sum over c whose window holds j of g[c] b[c] / D[c]. Section 3.3.

    a, b, D (forward's), g = dL/db, da: (N, C, H, W) flat. Replaces lrn.LocalResponseNorm.backward:
    the windows holding j are c in [j - after, j + before] (the window sum's adjoint).
    """
    group = C // G
    for t in range(cuda.grid(1), N * C * HW, cuda.gridsize(1)):
        n, j, hw = t // (C * HW), t // HW % C, t % HW
        first = j // group * group
        spread = a[t] * 0
        for c in range(max(j - after, first), min(j + before, first + group - 1) + 1):
            other = (n * C + c) * HW + hw
            spread += g[other] * b[other] / D[other]
        da[t] = g[t] / D[t] ** beta - 2 * alpha * beta * a[t] * spread


def maxpool_forward(x, out, winner, N, C, H, W, KH, KW, SH, SW, OH, OW):
    """out[n, c, oh, ow] = max of the KH x KW window; winner = h W + w of its first maximum in row-major order. Section 3.4.

    x (N, C, H, W) flat -> out, winner (N, C, OH, OW) flat (winner int32). Replaces
    pool.MaxPool2d.forward; the tie rule is the reference's (and PyTorch's).
    """
    for t in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        plane, oh, ow = t // (OH * OW), t // OW % OH, t % OW
        best_index = oh * SH * W + ow * SW
        best = x[plane * H * W + best_index]
        for i in range(KH):
            for j in range(KW):
                index = (oh * SH + i) * W + ow * SW + j
                if x[plane * H * W + index] > best:
                    best, best_index = x[plane * H * W + index], index
        out[t] = best
        winner[t] = best_index


def maxpool_backward(dout, winner, dx, N, C, H, W, KH, KW, SH, SW, OH, OW):
    """dx[n, c, h, w] = sum of dout over the windows whose winner is (h, w): max-pool's backward as a gather. Section 3.4.

    dout, winner (N, C, OH, OW) flat -> dx (N, C, H, W) flat. The windows covering h are
    oh in [ceil((h - KH + 1) / SH), h // SH], clipped to [0, OH).
    """
    for t in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        plane, h, w = t // (H * W), t // W % H, t % W
        total = dout[0] * 0
        for oh in range(max(0, (h - KH + SH) // SH), min(OH - 1, h // SH) + 1):
            for ow in range(max(0, (w - KW + SW) // SW), min(OW - 1, w // SW) + 1):
                window = (plane * OH + oh) * OW + ow
                if winner[window] == h * W + w:
                    total += dout[window]
        dx[t] = total


def dropout_forward(x, out, mask, rows, cols, key0, key1, row_offset, threshold, scale):
    """mask[n, j] = scale if hash(key, row_offset + n, j) >= threshold else 0; out = x mask. Section 4.2.

    x, out, mask (rows, cols) flat. The hash is layers/counter_hash.py's, bit for bit, so the
    GPU drops the units the CPU drops: MurmurHash3's finaliser on the row, then the column
    and key1 mixed in, then the finaliser twice more. uint32 arithmetic in 64-bit integers.
    Replaces dropout.Dropout's mask and product.
    """
    for t in range(cuda.grid(1), rows * cols, cuda.gridsize(1)):
        n, j = t // cols, t % cols
        v = (row_offset + n + key0) & MASK32
        for mix in range(3):
            v ^= v >> 16
            v = (v * 0x85EBCA6B) & MASK32
            v ^= v >> 13
            v = (v * 0xC2B2AE35) & MASK32
            v ^= v >> 16
            if mix == 0:  # v is the row's hash: mix in the column
                v = ((v ^ ((j * GOLDEN) & MASK32)) + key1) & MASK32
        mask[t] = scale if v >= threshold else 0
        out[t] = x[t] * mask[t]


def softmax_cross_entropy(logits, labels, dlogits, losses, N, K):
    """losses[n] = logsumexp(z[n]) - z[n, y[n]]; dlogits = (softmax(z) - onehot(y)) / N. Section 3.5.

    logits, dlogits (N, K) flat; labels (N,) int64; losses (N,). One thread per image
    computes its loss and its whole gradient row (loss.py's forward and backward in one pass).
    """
    for n in range(cuda.grid(1), N, cuda.gridsize(1)):
        row = n * K
        largest = logits[row]
        for k in range(1, K):
            largest = max(largest, logits[row + k])
        total = logits[row] * 0
        for k in range(K):
            total += math.exp(logits[row + k] - largest)
        losses[n] = largest + math.log(total) - logits[row + labels[n]]
        for k in range(K):
            dlogits[row + k] = (math.exp(logits[row + k] - largest) / total - (1 if k == labels[n] else 0)) / N


def sgd_update(w, g, v, size, lr, momentum, weight_decay):
    """v <- m v - wd lr w - lr g; w <- w + v (optim.SGD's update, Section 5) in one pass over a parameter."""
    for t in range(cuda.grid(1), size, cuda.gridsize(1)):
        v[t] = momentum * v[t] - weight_decay * lr * w[t] - lr * g[t]
        w[t] += v[t]


def _signature(arrays: str, scalars: str) -> dict[str, str]:
    """The numba signature for float32 and float64 data; one letter an argument: arrays f (the data's dtype), i int32, l int64;
    scalars n (int64), s (the data's dtype)."""
    signatures = {}
    for dtype in ("float32", "float64"):
        kinds = {"f": f"{dtype}[::1]", "i": "int32[::1]", "l": "int64[::1]", "n": "int64", "s": dtype}
        signatures[dtype] = "void(" + ", ".join([kinds[a] for a in arrays] + [kinds[s] for s in scalars]) + ")"
    return signatures


CONV_SHAPE = "n" * 12  # N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW
POOL_SHAPE = "n" * 10  # N, C, H, W, KH, KW, SH, SW, OH, OW
SIGNATURES: dict[str, dict[str, str]] = {
    "im2col": _signature("ff", CONV_SHAPE),
    "col2im": _signature("ff", CONV_SHAPE),
    "bias_activation": _signature("fff", "nnnn"),
    "output_grad": _signature("fff", "nnnn"),
    "relu_forward": _signature("ff", "n"),
    "relu_backward": _signature("fff", "n"),
    "lrn_forward": _signature("fff", "nnnnnnsss"),
    "lrn_backward": _signature("fffff", "nnnnnnss"),
    "maxpool_forward": _signature("ffi", POOL_SHAPE),
    "maxpool_backward": _signature("fif", POOL_SHAPE),
    "dropout_forward": _signature("fff", "nnnnnns"),
    "softmax_cross_entropy": _signature("flff", "nn"),
    "sgd_update": _signature("fff", "nsss"),
}
KERNELS = {name: globals()[name] for name in SIGNATURES}
