"""The GPU engine's layers: the reference layers (minialexnet/layers) with their passes done by kernels.py.

Each class subclasses its reference twin (same constructor, parameters and numbers; its
forward starts with the twin's ``check_forward``) and replaces forward and backward: the
products stay in cuBLAS through ``xp.matmul``, and everything between them is one kernel
launch a pass. Arrays are CuPy's (or the strict device's, with numba's simulator); they stay
C-contiguous, as the kernels read them flat.

``fuse(network)`` (which this engine's ``Sequential`` applies to itself) fuses each ReLU that
follows a Conv2d or Linear into that layer's epilogue (``bias_activation``) and its backward
(``output_grad``): the ReLU layer stays in the network (same names, same parameters for
checkpoints) and passes its input through.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from minialexnet import layers as reference
from minialexnet.backend import get_array_module
from minialexnet.cuda.launch import launch


def _contiguous(x: Any) -> Any:
    """x, or a C-contiguous copy of it: the kernels read arrays flat."""
    return x if x.flags.c_contiguous else x.copy()


class Conv2d(reference.Conv2d):
    """reference Conv2d (conv.py) with im2col, col2im, the bias and a following ReLU as kernels; one product a group.

    It takes the reference constructor only (the fast engine's ``keep_columns`` and
    ``batch_last_output`` are a TypeError here): it always keeps the column matrix for
    backward and stores out in (N, F, OH, OW) order.
    """

    relu = False  # set by Sequential when a ReLU follows

    def _geometry(self, x: Any) -> tuple[int, ...]:
        N, C, H, W = x.shape
        OH, OW = self.output_shape(x.shape)[2:]
        return (N, C, H, W, *self.kernel_size, *self.stride, *self.padding, OH, OW)

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        x = _contiguous(x)
        N, F, OH, OW = self.output_shape(x.shape)
        G, rows = self.groups, self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        col = xp.empty((rows, N * OH * OW), dtype=x.dtype)  # CuPy's memory pool makes a fresh one as cheap as a kept one
        launch("im2col", col.size, x, col, *self._geometry(x))
        product = xp.empty((F, N * OH * OW), dtype=x.dtype)
        W = self.params["W"].reshape(F, -1)
        for g in range(G):
            filters, columns = slice(g * F // G, (g + 1) * F // G), slice(g * rows // G, (g + 1) * rows // G)
            xp.matmul(W[filters], col[columns], out=product[filters])
        out = xp.empty((N, F, OH, OW), dtype=x.dtype)
        launch("bias_activation", out.size, product, self.params["b"], out, N, F, OH * OW, int(self.relu))
        return self._keep_for_backward((x, col, out), out)

    def backward(self, dout: Any) -> Any:
        x, col, out = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        N, F, OH, OW = out.shape
        G, rows = self.groups, col.shape[0]
        dproduct = xp.empty((F, N * OH * OW), dtype=dout.dtype)
        launch("output_grad", dproduct.size, _contiguous(dout), out, dproduct, N, F, OH * OW, int(self.relu))
        self.grads["b"] = dproduct.sum(axis=1)
        dW = xp.empty((F, rows // G), dtype=dout.dtype)
        dcol = xp.empty(col.shape, dtype=dout.dtype) if self.need_input_grad else None
        W = self.params["W"].reshape(F, -1)
        for g in range(G):
            filters, columns = slice(g * F // G, (g + 1) * F // G), slice(g * rows // G, (g + 1) * rows // G)
            xp.matmul(dproduct[filters], col[columns].T, out=dW[filters])
            if dcol is not None:
                xp.matmul(W[filters].T, dproduct[filters], out=dcol[columns])
        self.grads["W"] = dW.reshape(self.params["W"].shape)
        self.cache = None
        if dcol is None:
            return None
        dx = xp.empty(x.shape, dtype=dout.dtype)
        launch("col2im", dx.size, dcol, dx, *self._geometry(x))
        return dx


class Linear(reference.Linear):
    """reference Linear (linear.py): the product as W x^T (F = out_features rows, as a convolution's), then bias and ReLU in one kernel."""

    relu = False  # set by Sequential when a ReLU follows

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        product = xp.matmul(self.params["W"], x.T)  # (O, N)
        out = xp.empty((x.shape[0], self.out_features), dtype=x.dtype)
        launch("bias_activation", out.size, product, self.params["b"], out, x.shape[0], self.out_features, 1, int(self.relu))
        return self._keep_for_backward((x, out), out)

    def backward(self, dout: Any) -> Any:
        x, out = self._cache_for_backward(dout)
        xp = get_array_module(dout)
        dproduct = xp.empty((self.out_features, x.shape[0]), dtype=dout.dtype)
        launch("output_grad", dproduct.size, _contiguous(dout), out, dproduct, x.shape[0], self.out_features, 1, int(self.relu))
        self.grads["W"] = xp.matmul(dproduct, x)
        self.grads["b"] = dproduct.sum(axis=1)
        self.cache = None
        return xp.matmul(dproduct.T, self.params["W"])


class ReLU(reference.ReLU):
    """reference ReLU (relu.py) as two kernels; inside a cuda Sequential, after a Conv2d or Linear, it is fused into that layer."""

    fused = False  # set by Sequential: the layer before has applied max(0, .) already

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        if self.fused:
            return self._keep_for_backward(x, x)
        xp = get_array_module(x)
        x = _contiguous(x)
        out = xp.empty_like(x)
        launch("relu_forward", out.size, x, out, out.size)
        return self._keep_for_backward(out, out)

    def backward(self, dout: Any) -> Any:
        out = self._cache_for_backward(dout)
        self.cache = None
        if self.fused:
            return dout
        dx = get_array_module(dout).empty_like(out)
        launch("relu_backward", dx.size, _contiguous(dout), out, dx, dx.size)
        return dx


class LocalResponseNorm(reference.LocalResponseNorm):
    """reference LocalResponseNorm (lrn.py): forward and backward one kernel each, groups included."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        x = _contiguous(x)
        N, C, H, W = x.shape
        out, denominator = xp.empty_like(x), xp.empty_like(x)
        scalar = x.dtype.type
        launch(
            "lrn_forward", x.size, x, out, denominator, N, C, H * W, self.groups, self.before, self.after,
            scalar(self.alpha), scalar(self.beta), scalar(self.k),
        )  # fmt: skip
        return self._keep_for_backward((x, out, denominator), out)

    def backward(self, dout: Any) -> Any:
        x, out, denominator = self._cache_for_backward(dout)
        N, C, H, W = x.shape
        dx = get_array_module(dout).empty_like(x)
        scalar = x.dtype.type
        launch(
            "lrn_backward", dx.size, x, out, denominator, _contiguous(dout), dx, N, C, H * W, self.groups, self.before, self.after,
            scalar(self.alpha), scalar(self.beta),
        )  # fmt: skip
        self.cache = None
        return dx


class MaxPool2d(reference.MaxPool2d):
    """reference MaxPool2d (pool.py): forward keeps each window's winner (int32); backward gathers through it."""

    def _geometry(self, x: Any) -> tuple[int, ...]:
        N, C, OH, OW = self.output_shape(x.shape)
        return (N, C, x.shape[2], x.shape[3], *self.kernel_size, *self.stride, OH, OW)

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        xp = get_array_module(x)
        x = _contiguous(x)
        shape = self.output_shape(x.shape)
        out, winner = xp.empty(shape, dtype=x.dtype), xp.empty(shape, dtype=np.int32)
        launch("maxpool_forward", out.size, x, out, winner, *self._geometry(x))
        return self._keep_for_backward((x, winner), out)

    def backward(self, dout: Any) -> Any:
        x, winner = self._cache_for_backward(dout)
        dx = get_array_module(dout).empty_like(x)
        launch("maxpool_backward", dx.size, _contiguous(dout), winner, dx, *self._geometry(x))
        self.cache = None
        return dx

    def kink_state(self) -> Any:
        return None if self.cache is None else self.cache[1].copy()


class Dropout(reference.Dropout):
    """reference Dropout (dropout.py): the mask from the same counter hash, drawn and applied in one kernel."""

    def forward(self, x: Any, train: bool = True) -> Any:
        if not train or self.p == 0.0:
            return super().forward(x, train)
        xp = get_array_module(x)
        x = _contiguous(x)
        key = np.random.SeedSequence([self.seed, self.masks_drawn]).generate_state(2)
        self.masks_drawn += 1
        N = x.shape[0]
        threshold, scale = min(round(self.p * 2**32), 2**32 - 1), x.dtype.type(1.0 / (1.0 - self.p))
        out, mask = xp.empty_like(x), xp.empty_like(x)
        launch("dropout_forward", x.size, x, out, mask, N, x.size // N, int(key[0]), int(key[1]), self.row_offset, threshold, scale)
        return self._keep_for_backward(mask, out)


class SoftmaxCrossEntropy(reference.SoftmaxCrossEntropy):
    """reference SoftmaxCrossEntropy (loss.py): loss and gradient of each row in one kernel; forward keeps the gradient."""

    def forward(self, logits: Any, labels: Any) -> float:  # type: ignore[override]
        labels = self.check_forward(logits, labels)
        xp = get_array_module(logits)
        N, K = logits.shape
        dlogits, losses = xp.empty_like(logits), xp.empty(N, dtype=logits.dtype)
        launch("softmax_cross_entropy", N, _contiguous(logits), labels.astype(np.int64), dlogits, losses, N, K)
        self.cache = dlogits
        return float(losses.sum()) / N

    def backward(self, dout: Any = None) -> Any:
        """Gradient of the mean loss w.r.t. the logits, times ``dout`` (a scalar, default 1)."""
        dlogits = self._cache_for_backward(None)
        return dlogits if dout is None else dlogits * dout


class Flatten(reference.Flatten):
    """reference Flatten (flatten.py): a view, no kernel."""


def fuse(network: reference.Sequential) -> reference.Sequential:
    """Fuse each ReLU that directly follows one of this engine's Conv2d or Linear into it (nested Sequentials too); returns network.

    Any Sequential works (models.AlexNet is the reference one): the layers stay in place
    under their names, the ReLU passes its input through and the layer before applies it.
    """
    for before, after in itertools.pairwise(network.layers.values()):
        if isinstance(before, (Conv2d, Linear)) and isinstance(after, ReLU):
            before.relu, after.fused = True, True
    for layer in network.layers.values():
        if isinstance(layer, reference.Sequential):
            fuse(layer)
    return network


class Sequential(reference.Sequential):
    """reference Sequential, with each ReLU right after a Conv2d or Linear of this engine fused into it (``fuse``)."""

    def __init__(self, *layers: Any) -> None:
        super().__init__(*layers)
        fuse(self)
