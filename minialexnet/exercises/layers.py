"""Grading the layers: forward against the library's layer, backward against central differences."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.harness import (
    BATCH,
    FORWARD_TOLERANCE,
    StudentError,
    Watch,
    as_array,
    attribute,
    build,
    factor,
    near,
)
from minialexnet.gradcheck import DEFAULT_THRESHOLD, kink_free_input, numerical_gradient, relative_error
from minialexnet.layers import Conv2d, Layer, Linear, LocalResponseNorm, MaxPool2d, ReLU, SoftmaxCrossEntropy, col2im, im2col

# ---------------------------------------------------------------- layers: forward against the library, backward against gradcheck


@dataclass(frozen=True)
class LayerExercise:
    """A layer the student writes, its library twin and its test input."""

    build: Callable[[ModuleType], Layer]  # the student's layer
    library: Callable[[], Layer]  # the same layer from minialexnet.layers, float64
    make_input: Callable[[np.random.Generator], np.ndarray]
    title: str  # how hints name it: "ReLU"
    names: tuple[str, ...] = ()  # how hints name its forward and backward, if not "<title>.forward", "<title>.backward"
    loss: bool = False  # forward(logits, labels) -> float, backward() without dout
    forwards: tuple[str, ...] = ()  # module functions that are the forward pass
    label: Callable[[str], str] = lambda key: "dx" if key == "dx" else f'self.grads["{key}"]'
    factor_hint: Callable[[str, float, dict[str, int]], str | None] = lambda key, c, sizes: None
    extra: Callable[[ModuleType, Watch], None] | None = None  # further checks (ties, defaults)
    forward_hint: Callable[[np.ndarray, np.ndarray, Layer], str | None] | None = None  # a diagnosis of a wrong forward


def grade_layer(exercise: LayerExercise, module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    watch = Watch(module, exercise.forwards)
    forward_name, backward_name = exercise.names or (f"{exercise.title}.forward", f"{exercise.title}.backward")
    student = build(f"{exercise.title}(...)", lambda: exercise.build(module))
    library = exercise.library()
    student_params = getattr(student, "params", None)
    if not isinstance(student_params, dict) or sorted(student_params) != sorted(library.params):
        raise StudentError(f"self.params has {sorted(student_params or {})}, expected {sorted(library.params)}: keep the skeleton's names")
    for key, value in library.params.items():
        as_array(f'self.params["{key}"]', np.asarray(student_params[key], dtype=np.float64), value.shape)
        library.params[key] = rng.standard_normal(value.shape)
        student.params[key] = library.params[key].copy()
    x = exercise.make_input(rng)
    labels = rng.integers(0, x.shape[1], size=x.shape[0]) if exercise.loss else None

    def library_forward(_: Any = None) -> Any:
        return np.asarray(library.forward(x, labels)) if exercise.loss else library.forward(x, train=True)

    def student_forward(given: np.ndarray) -> Any:
        if exercise.loss:
            return watch.call(forward_name, student.forward, given, labels.copy())
        return watch.call(forward_name, student.forward, given, train=True)

    expected = library_forward()
    given = x.copy()
    out = student_forward(given)
    if not np.array_equal(given, x):
        raise StudentError(f"{forward_name} changed its input x in place: compute a new array")
    if exercise.loss:
        out = _loss_value(out, x.shape[0])
        error = abs(out - float(expected)) / max(abs(float(expected)), 1e-300)
    else:
        out = as_array(f"{forward_name}'s output", out, expected.shape)
        error = relative_error(out, expected)
    if error > FORWARD_TOLERANCE:
        raise StudentError(
            (exercise.forward_hint(out, x, library) if exercise.forward_hint else None)
            or f"{forward_name} differs from the library's {exercise.title} on the same input (relative error {error:.1e})"
        )
    dout = None if exercise.loss else rng.standard_normal(expected.shape)
    weight = 1.0 if exercise.loss else dout  # the numerical gradient of <forward, weight>
    numeric = {"dx": numerical_gradient(library_forward, x, weight)}
    numeric.update({key: numerical_gradient(library_forward, value, weight) for key, value in library.params.items()})

    def student_backward(upstream: np.ndarray | None) -> dict[str, Any]:
        student_forward(x.copy())
        if upstream is None:
            dx = watch.call(backward_name, student.backward, in_backward=True)
        else:
            given = upstream.copy()
            dx = watch.call(backward_name, student.backward, given, in_backward=True)
            if not np.array_equal(given, upstream):
                zeroed = not np.any(given)
                raise StudentError(
                    f"{backward_name} {'zeroed' if zeroed else 'changed'} dout in place: "
                    "dout belongs to the caller (it was given a copy), compute a new array"
                )
        grads = getattr(student, "grads", None)
        if not isinstance(grads, dict):
            raise StudentError(f"self.grads is a {type(grads).__name__}: a dict with the parameters' names")
        return {"dx": dx, **{key: copy.copy(value) for key, value in grads.items()}}

    got = student_backward(dout)
    missing = [key for key in library.params if key not in got]
    others = sorted(set(got) - {"dx"} - set(library.params))
    if others and (missing or not all(np.any(np.asarray(got[key], dtype=np.float64)) for key in library.params)):
        raise StudentError(f"self.grads has {others}: store each gradient under its parameter's name, {sorted(library.params)}")
    if missing:
        raise StudentError(f"{exercise.label(missing[0])} was never written: backward must store it")
    sizes = {"N": x.shape[0], "positions": int(np.prod(expected.shape)) // (expected.shape[1] if expected.ndim > 1 else 1)}
    worst = 0.0
    for key, reference in numeric.items():
        what = exercise.label(key)
        value = as_array(what, got[key], reference.shape)
        error = relative_error(value, reference)
        worst = max(worst, error)
        if error < DEFAULT_THRESHOLD:
            continue
        if not np.any(value):
            raise StudentError(f"{what} is all zeros: never written" if key != "dx" else f"{what} is all zeros: compute it from dout")
        c = factor(value, reference)
        if dout is not None:
            again = as_array(what, student_backward(2 * dout)[key], reference.shape)
            if np.allclose(again, value, rtol=1e-12, atol=0):
                raise StudentError(f"{what} does not change when dout does: multiply by the upstream gradient dout (the chain rule)")
        if c is not None:
            raise StudentError(_factor_hint(exercise, what, key, c, sizes))
        if value.ndim == 2 and value.shape[0] == value.shape[1] and relative_error(value.T, reference) < DEFAULT_THRESHOLD:
            raise StudentError(f"{what} is transposed")
        raise StudentError(f"{what} differs from the numerical gradient (relative error {error:.1e}): check its formula")
    second = student_backward(dout)
    for key in numeric:
        if key == "dx":
            continue
        value = np.asarray(second[key], dtype=np.float64)
        if value.shape == got[key].shape and relative_error(value, got[key]) > DEFAULT_THRESHOLD:
            twice = relative_error(value, 2 * got[key]) < 1e-9
            raise StudentError(
                f"{exercise.label(key)} "
                + (
                    "doubled on a second backward: you accumulate with +=; overwrite it (=)"
                    if twice
                    else "changed on a second backward of the same batch"
                )
            )
    if exercise.extra is not None:
        exercise.extra(module, watch)
    return worst


def _loss_value(value: Any, N: int) -> float:
    if isinstance(value, np.ndarray) and value.shape == (N,):
        raise StudentError("forward returned the per-example losses (shape (N,)): return their mean, a float")
    if isinstance(value, (list, tuple)):
        raise StudentError(f"forward returned a {type(value).__name__}: return the mean loss, a float")
    try:
        loss = float(value)
    except (TypeError, ValueError):
        raise StudentError(f"forward returned {type(value).__name__} {np.shape(value)}: return the mean loss, a float") from None
    if not np.isfinite(loss):
        raise StudentError(f"forward returned {loss} (an overflow? subtract each row's maximum before exp)")
    return loss


def _factor_hint(exercise: LayerExercise, what: str, key: str, c: float, sizes: dict[str, int]) -> str:
    N = sizes["N"]
    special = exercise.factor_hint(key, c, sizes)
    if special:
        return f"{what}: {special}"
    if near(c, -1):
        return f"{what} has the wrong sign"
    if exercise.loss and near(c, N):
        return f"{what} is N = {N} times too large: the loss is the mean over the batch, divide by N"
    if exercise.loss and near(c, 1 / N):
        return f"{what} is N = {N} times too small: divide by N once, not twice"
    if near(c, 1 / N):
        return f"{what} is N = {N} times too small: a layer's gradients sum over the batch (dout holds the loss's 1/N), don't divide by N"
    return f"{what} is off by a constant factor of {c:.4g}"


def _conv_factor_hint(key: str, c: float, sizes: dict[str, int]) -> str | None:
    if key == "b" and near(c, 1 / sizes["positions"]):
        return f"you averaged over N * OH * OW = {sizes['positions']} positions: db sums dout over them"
    if key == "b" and near(c, sizes["N"] / sizes["positions"]):
        return f"you averaged over OH * OW = {sizes['positions'] // sizes['N']} positions: db sums dout over them"
    return None


def _maxpool_ties(module: ModuleType, watch: Watch) -> None:
    """Windows with tied maxima: one winner each, the first in row-major order, the total conserved."""
    rng = np.random.default_rng(7)
    x = np.concatenate([np.full((1, 1, 7, 7), 0.5), rng.integers(0, 3, size=(1, 1, 7, 7)).astype(np.float64)], axis=1)
    student = build("MaxPool2d(3, 2)", lambda: module.MaxPool2d(3, 2))
    out = as_array("MaxPool2d.forward's output (tied input)", watch.call("MaxPool2d.forward", student.forward, x.copy()), (1, 2, 3, 3))
    if relative_error(out, MaxPool2d(3, 2).forward(x)) > FORWARD_TOLERANCE:
        raise StudentError("MaxPool2d.forward differs from the library's on an input with ties")
    dout = rng.standard_normal(out.shape) + 2.0  # positive, so sums cannot cancel
    dx = as_array("dx (tied input)", watch.call("MaxPool2d.backward", student.backward, dout.copy(), in_backward=True), x.shape)
    expected = np.zeros_like(x)
    for oh in range(3):
        for ow in range(3):
            window = x[:, :, 2 * oh : 2 * oh + 3, 2 * ow : 2 * ow + 3].reshape(2, 9)
            first = window.argmax(axis=1)  # the first maximum in row-major order
            for c in range(2):
                expected[0, c, 2 * oh + first[c] // 3, 2 * ow + first[c] % 3] += dout[0, c, oh, ow]
    if relative_error(dx, expected) < DEFAULT_THRESHOLD:
        return
    total, wanted = float(dx.sum()), float(dout.sum())
    if total > wanted * (1 + 1e-9):
        raise StudentError(
            f"with tied maxima the gradient went to every tied maximum (sum of dx {total:.4g}, of dout {wanted:.4g}): "
            "send each window's gradient to one maximum only, the first in row-major order"
        )
    if abs(total - wanted) > 1e-9 * abs(wanted):
        raise StudentError(
            f"the total gradient is not conserved on ties (sum of dx {total:.4g}, of dout {wanted:.4g}): "
            "each window gives all its gradient to one maximum"
        )
    if np.count_nonzero(dx) > np.count_nonzero(expected):
        raise StudentError("with tied maxima the gradient was split among them: it goes to one maximum only, the first in row-major order")
    raise StudentError(
        "with tied maxima the gradient went to another maximum: the first in row-major order (smallest row, then column) gets it, "
        "as in PyTorch"
    )


def _lrn_alpha_hint(out: np.ndarray, x: np.ndarray, library: Layer) -> str | None:
    """The usual LRN mistake: PyTorch's alpha / size."""
    divided = LocalResponseNorm(library.size, alpha=library.alpha / library.size, beta=library.beta, k=library.k).forward(x)
    if relative_error(out, divided) < FORWARD_TOLERANCE:
        return "you divided alpha by size (PyTorch's and Caffe's convention): the paper's alpha is used as it is"
    return None


def _lrn_defaults(module: ModuleType, watch: Watch) -> None:
    """LocalResponseNorm() is the paper's: size 5, alpha 1e-4, beta 0.75, k 2."""
    x = np.random.default_rng(3).standard_normal((2, 7, 3, 3)) * 30
    student = build("LocalResponseNorm()", lambda: module.LocalResponseNorm())
    out = as_array("LocalResponseNorm().forward's output", watch.call("LocalResponseNorm.forward", student.forward, x.copy()), x.shape)
    library = LocalResponseNorm()
    if relative_error(out, library.forward(x)) > FORWARD_TOLERANCE:
        raise StudentError(
            _lrn_alpha_hint(out, x, library)
            or "LocalResponseNorm() differs from the paper's: the defaults are size 5, alpha 1e-4, beta 0.75, k 2"
        )


def _softmax_overflow(module: ModuleType, watch: Watch) -> None:
    """Logits of a few thousand: exp overflows unless each row's maximum is subtracted."""
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((4, 5)) * 3000, rng.integers(0, 5, size=4)
    student = build("SoftmaxCrossEntropy()", lambda: module.SoftmaxCrossEntropy())
    loss = watch.call("SoftmaxCrossEntropy.forward", student.forward, logits.copy(), labels.copy())
    library = SoftmaxCrossEntropy()
    expected = library.forward(logits, labels)
    try:
        value = float(loss)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or abs(value - expected) > 1e-9 * abs(expected):
        raise StudentError(
            f"for logits of about 3000 forward gives {value} instead of {expected:.6g}: subtract each row's maximum before exp"
        )
    dlogits = watch.call("SoftmaxCrossEntropy.backward", student.backward, in_backward=True)
    as_array("dlogits for logits of about 3000", dlogits, logits.shape)


def _naive_conv(module: ModuleType) -> Layer:
    """The student's two conv functions as a layer, so they are graded like one."""
    for name in ("conv_forward_naive", "conv_backward_naive"):
        attribute(module, name)

    class NaiveConv(Layer):
        def __init__(self) -> None:
            super().__init__()
            self.params = {"W": np.zeros((3, 2, 3, 3)), "b": np.zeros(3)}

        def forward(self, x: np.ndarray, train: bool = True) -> Any:
            self.cache = x
            return module.conv_forward_naive(x, self.params["W"], self.params["b"], 2, 1)

        def backward(self, dout: np.ndarray) -> Any:
            result = module.conv_backward_naive(dout, self.cache, self.params["W"], 2, 1)
            if not isinstance(result, tuple) or len(result) != 3:
                raise StudentError(f"conv_backward_naive returned {type(result).__name__}: return the tuple (dx, dW, db)")
            dx, self.grads["W"], self.grads["b"] = result
            return dx

    return NaiveConv()


LAYERS: dict[str, LayerExercise] = {
    "relu": LayerExercise(lambda m: attribute(m, "ReLU")(), ReLU, lambda rng: kink_free_input((BATCH, 2, 3, 4), rng), "ReLU"),
    "linear": LayerExercise(
        lambda m: attribute(m, "Linear")(5, 4),
        lambda: Linear(5, 4, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 5)),
        "Linear",
    ),
    "softmax_cross_entropy": LayerExercise(
        lambda m: attribute(m, "SoftmaxCrossEntropy")(),
        SoftmaxCrossEntropy,
        lambda rng: rng.standard_normal((BATCH, 6)) * 2,
        "SoftmaxCrossEntropy",
        loss=True,
        label=lambda key: "dlogits",
        extra=_softmax_overflow,
    ),
    "conv_naive": LayerExercise(
        _naive_conv,
        lambda: Conv2d(2, 3, 3, stride=2, padding=1, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 2, 5, 5)),
        "Conv2d",
        names=("conv_forward_naive", "conv_backward_naive"),
        forwards=("conv_forward_naive",),
        label=lambda key: f"d{key}",
        factor_hint=_conv_factor_hint,
    ),
    "conv": LayerExercise(
        lambda m: attribute(m, "Conv2d")(3, 4, 3, stride=2, padding=1),
        lambda: Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 3, 7, 7)),
        "Conv2d",
        factor_hint=_conv_factor_hint,
    ),
    "maxpool": LayerExercise(
        lambda m: attribute(m, "MaxPool2d")(3, 2),
        lambda: MaxPool2d(3, 2),
        lambda rng: kink_free_input((BATCH, 2, 7, 7), rng),
        "MaxPool2d",
        extra=_maxpool_ties,
    ),
    "lrn": LayerExercise(
        lambda m: attribute(m, "LocalResponseNorm")(size=5, alpha=0.5, beta=0.75, k=2.0),  # a large alpha, so the neighbours count
        lambda: LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0),
        lambda rng: rng.standard_normal((BATCH, 7, 3, 3)),
        "LocalResponseNorm",
        extra=_lrn_defaults,
        forward_hint=_lrn_alpha_hint,
    ),
}


# ---------------------------------------------------------------- im2col and col2im


def grade_im2col(module: ModuleType, seed: int) -> float:
    """im2col against the library's (same row and column order), col2im against the library's adjoint."""
    rng = np.random.default_rng(seed)
    watch = Watch(module)
    gather, scatter = attribute(module, "im2col"), attribute(module, "col2im")
    worst = 0.0
    for shape, KH, KW, S, P in (((2, 3, 5, 6), 3, 2, 1, 1), ((2, 2, 7, 7), 3, 3, 2, 0), ((1, 2, 6, 6), 2, 2, 2, 0)):
        N, C, H, W = shape
        x = rng.standard_normal(shape)
        expected = im2col(x, KH, KW, S, P)
        setting = f"(KH={KH}, KW={KW}, stride={S}, padding={P})"
        given = x.copy()
        col = watch.call("im2col", gather, given, KH, KW, S, P)
        if not np.array_equal(given, x):
            raise StudentError("im2col changed x in place: compute a new array")
        col = as_array(f"im2col's col {setting}", col, expected.shape)
        error = relative_error(col, expected)
        if error > FORWARD_TOLERANCE:
            OH, OW = (H + 2 * P - KH) // S + 1, (W + 2 * P - KW) // S + 1
            by_batch_last = expected.reshape(-1, N, OH, OW).transpose(0, 2, 3, 1).reshape(expected.shape)
            by_ijc = expected.reshape(C, KH, KW, -1).transpose(1, 2, 0, 3).reshape(expected.shape)
            if relative_error(col, by_batch_last) < FORWARD_TOLERANCE:
                raise StudentError("im2col's columns are in (oh, ow, n) order: number them (n, oh, ow)")
            if relative_error(col, by_ijc) < FORWARD_TOLERANCE:
                raise StudentError("im2col's rows are in (i, j, c) order: number them (c, i, j), the order of W.reshape(F, -1)")
            raise StudentError(f"im2col differs from the library's im2col {setting} (relative error {error:.1e})")
        y = rng.standard_normal(expected.shape)
        given = y.copy()
        dx = watch.call("col2im", scatter, given, shape, KH, KW, S, P)
        if not np.array_equal(given, y):
            raise StudentError("col2im changed col in place: compute a new array")
        if isinstance(dx, np.ndarray) and dx.shape == (N, C, H + 2 * P, W + 2 * P) and P:
            raise StudentError("col2im returned the padded shape: drop the padding at the end")
        dx = as_array(f"col2im's result {setting}", dx, shape)
        reference = col2im(y, shape, KH, KW, S, P)
        error = relative_error(dx, reference)
        if error > FORWARD_TOLERANCE:
            overlapping = S < max(KH, KW)
            raise StudentError(
                "col2im is not the adjoint of im2col: a pixel covered by several windows must receive the SUM of their entries (+=, not =)"
                if overlapping
                else f"col2im differs from the adjoint of im2col {setting} (relative error {error:.1e})"
            )
        worst = max(worst, error, relative_error(float(np.sum(col * y)), float(np.sum(x * dx))))
    return worst


# ---------------------------------------------------------------- dropout: statistics and the mask


def grade_dropout(module: ModuleType, seed: int) -> float:
    p = 0.3  # not 0.5, so that keep and drop probabilities differ
    watch = Watch(module)
    layer = build("Dropout(p=0.3, seed=0)", lambda: attribute(module, "Dropout")(p=p, seed=seed))
    x = kink_free_input((100, 100), np.random.default_rng(seed))  # no zeros: out / x is the mask
    given = x.copy()
    out = as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, given, train=True), x.shape)
    if not np.array_equal(given, x):
        raise StudentError("Dropout.forward changed x in place: compute a new array")
    mask = out / x
    kept = mask != 0
    dropped = 1.0 - float(kept.mean())
    scales = np.unique(np.round(mask[kept], 9))
    sigma = np.sqrt(p * (1 - p) / x.size)
    if abs(dropped - p) > 6 * sigma:
        if abs(dropped - (1 - p)) < 6 * sigma:
            raise StudentError(f"you dropped {dropped:.0%} of the units for p = {p}: p is the probability of DROPPING a unit")
        raise StudentError(f"you dropped {dropped:.1%} of the units, expected p = {p:.0%}")
    if scales.size != 1:
        raise StudentError("Dropout.forward must multiply each unit by 0 or by one constant, 1 / (1 - p)")
    if near(scales[0], 1.0):
        raise StudentError(f"the kept units are not scaled: inverted dropout multiplies them by 1 / (1 - p) = {1 / (1 - p):.4g}")
    if not near(scales[0], 1 / (1 - p)):
        raise StudentError(f"the kept units are scaled by {scales[0]:.4g}, expected 1 / (1 - p) = {1 / (1 - p):.4g}")
    again = as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, x.copy(), train=True), x.shape)
    if np.array_equal(again != 0, kept):
        raise StudentError("the same units were dropped on two calls: draw a new mask in every forward")
    mask = again / x
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    given = dout.copy()
    dx = watch.call("Dropout.backward", layer.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise StudentError("Dropout.backward changed dout in place: dout belongs to the caller, compute a new array")
    dx = as_array("Dropout.backward's dx", dx, x.shape)
    error = relative_error(dx, dout * mask)
    if error > DEFAULT_THRESHOLD:
        if relative_error(dx, dout) < DEFAULT_THRESHOLD:
            raise StudentError("Dropout.backward ignores the mask: dx = dout * mask, the same mask as forward's")
        if relative_error(dx, dout * (mask != 0)) < DEFAULT_THRESHOLD:
            raise StudentError("Dropout.backward drops the right units but does not scale by 1 / (1 - p)")
        raise StudentError(f"Dropout.backward differs from dout * mask of the last forward (relative error {error:.1e})")
    test = watch.call("Dropout.forward", layer.forward, x.copy(), train=False)
    test = as_array("Dropout.forward's output with train=False", test, x.shape)
    if not np.allclose(test, x, rtol=0, atol=0):
        scaled = np.allclose(test, x * (1 - p))
        raise StudentError(
            "with train=False dropout is the identity" + (" (inverted dropout does not scale at test time)" if scaled else "")
        )
    test_dx = as_array(
        "Dropout.backward's dx after train=False", watch.call("Dropout.backward", layer.backward, dout.copy(), in_backward=True), x.shape
    )
    if not np.array_equal(test_dx, dout):
        raise StudentError("after a forward with train=False, backward is the identity: return dout (a copy) unchanged")
    first = build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    second = build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    one = watch.call("Dropout.forward", first.forward, x.copy(), train=True)
    two = watch.call("Dropout.forward", second.forward, x.copy(), train=True)
    if not np.array_equal(one, two):
        raise StudentError("two Dropout(seed=3) dropped different units: draw the mask with self.rng")
    return error
