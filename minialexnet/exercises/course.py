"""Grading the exercises beyond the layers: device-agnostic code, the gradient checker, the schedule, data parallelism, a kernel.

- ``softmax`` (lesson 1): written against ``xp``, run on NumPy and on the strict device
  (``minialexnet.strict_device``, CuPy's rules without a GPU); NumPy-only code is answered with
  the call that would fail on CuPy.
- ``gradcheck`` (lesson 3): the student's ``numerical_gradient`` against exact derivatives, and
  the student's ``check_layer`` on correct layers (it must pass them), on layers with planted
  bugs (it must catch each) and on a ReLU input next to its kink (it must report the crossing).
- ``schedule`` (lesson 8): the paper's "divide the learning rate by 10 when the validation
  error stops improving" (Section 5), against the grader's own rule on a fixed error curve.
- ``data_parallel`` (lesson 12): one step split over K shares of an uneven batch must give the
  gradients of one process on the whole batch (relative 1e-12).
- ``augment`` (lesson 9): crops and flips against plain slicing (both devices), the ten test
  patches, the eigenpairs of the RGB covariance (Section 4.1).
- ``neighbours`` (lesson 10): the k nearest rows by Euclidean distance (Figure 4, right).
- ``kernel`` (lesson 11): ReLU's backward as a ``numba.cuda.jit`` kernel, run in numba's CUDA
  simulator in a child process (``NUMBA_ENABLE_CUDASIM`` holds for a whole process), on sizes
  that are not multiples of the block.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet import strict_device
from minialexnet.exercises.harness import (
    FORWARD_TOLERANCE,
    NotWrittenError,
    StudentError,
    Watch,
    as_array,
    attribute,
    build,
    device_failure,
    near,
)
from minialexnet.gradcheck import DEFAULT_THRESHOLD
from minialexnet.layers import Layer, Linear, LocalResponseNorm, ReLU, Sequential, SoftmaxCrossEntropy

KERNEL_TIME_LIMIT = 120  # seconds for the simulator's child process

# ---------------------------------------------------------------- lesson 1: softmax with xp, on both devices


def on_strict_device(what: str, function: Callable[..., Any], *host_args: np.ndarray) -> np.ndarray:
    """``function`` on the strict device with ``host_args`` moved there; the result back on the host, or a hint."""
    with strict_device.installed() as cupy:
        args = [cupy.asarray(value) for value in host_args]
        try:
            result = function(*args)
        except Exception as error:
            raise device_failure(what, error) from None
        if type(result).__module__.split(".")[0] != "cupy":
            raise StudentError(
                f"{what} returned a {type(result).__name__} for a CuPy input: compute with xp so the result stays on the GPU"
            )
        return cupy.asnumpy(result)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def grade_softmax(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    softmax = attribute(module, "softmax")
    watch = Watch(module)
    worst = 0.0
    for shape, scale in (((4, 7), 3.0), ((1, 3), 1.0), ((5, 10), 1000.0)):
        z = rng.standard_normal(shape) * scale
        given = z.copy()
        out = as_array(f"softmax of a {shape} array", watch.call("softmax", softmax, given), shape)
        if not np.array_equal(given, z):
            raise StudentError("softmax changed its input in place: compute a new array")
        error = float(np.abs(out - _softmax(z)).max())
        if error > FORWARD_TOLERANCE:
            hint = ": subtract each row's maximum before exp" if scale > 100 else ""
            raise StudentError(f"softmax of a {shape} array with logits of about {scale:g} is off by {error:.1e}{hint}")
        device = on_strict_device("softmax", softmax, z)
        worst = max(worst, error, float(np.abs(device - out).max()))
    single = softmax(rng.standard_normal((3, 4)).astype(np.float32))
    if getattr(single, "dtype", None) != np.float32:
        raise StudentError(f"softmax of float32 logits returned {getattr(single, 'dtype', type(single).__name__)}: keep the input's dtype")
    return worst


# ---------------------------------------------------------------- lesson 3: the student's gradient checker


class Tanh(Layer):
    """A smooth layer with no parameters."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.cache = np.tanh(x)
        return self.cache

    def backward(self, dout: Any) -> Any:
        return dout * (1 - self.cache**2)


class _TwiceW(Linear):
    """A planted bug: dW doubled."""

    def backward(self, dout: Any) -> Any:
        dx = super().backward(dout)
        self.grads["W"] = 2 * self.grads["W"]
        return dx


class _LeakyBackward(ReLU):
    """A planted bug: the backward lets every gradient through."""

    def backward(self, dout: Any) -> Any:
        super().backward(dout)
        return dout.copy()


class _ShortLRN(LocalResponseNorm):
    """A planted bug: the backward forgets how a[j] enlarges its neighbours' denominators (alpha is large, so that shows)."""

    def forward(self, a: Any, train: bool = True) -> Any:
        self.kept = a
        return super().forward(a, train)

    def backward(self, dout: Any) -> Any:
        super().backward(dout)
        D = self.k + self.alpha * np.stack([(self.kept[:, max(0, c - 2) : c + 3] ** 2).sum(axis=1) for c in range(self.kept.shape[1])], 1)
        return dout * D**-self.beta


class _LazyScale(Layer):
    """A planted bug (lesson 3's): out = 3 x, and a backward that ignores dout (right only when dout is all ones)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        return 3 * x

    def backward(self, dout: Any) -> Any:
        return np.full(dout.shape, 3.0)


IGNORES_DOUT = "Scale by 3 whose backward ignores dout"


def _subjects(rng: np.random.Generator) -> dict[str, tuple[Layer, np.ndarray, str | None]]:
    """name -> (layer, input, the tensor with a planted bug or None)."""
    away = np.sign(rng.standard_normal((3, 8))) * rng.uniform(0.1, 1.0, (3, 8))  # no input near ReLU's kink
    return {
        "Linear(6, 4)": (Linear(6, 4, rng=rng, dtype=np.float64), rng.standard_normal((3, 6)), None),
        "Tanh": (Tanh(), rng.standard_normal((2, 5)), None),
        "ReLU": (ReLU(), away, None),
        "LocalResponseNorm(alpha=0.5)": (LocalResponseNorm(5, alpha=0.5), rng.standard_normal((2, 6, 2, 3)), None),
        "Linear(6, 4) with dW doubled": (_TwiceW(6, 4, rng=rng, dtype=np.float64), rng.standard_normal((3, 6)), "W"),
        "ReLU that lets every gradient through": (_LeakyBackward(), away, "dx"),
        "LocalResponseNorm without its neighbour term": (_ShortLRN(5, alpha=0.5), rng.standard_normal((2, 6, 2, 3)), "dx"),
        IGNORES_DOUT: (_LazyScale(), rng.standard_normal((3, 4)), "dx"),
    }


def _report(what: str, value: Any, layer: Layer) -> dict[str, tuple[float, bool]]:
    tensors = ["dx", *layer.params]
    if not isinstance(value, dict) or sorted(value) != sorted(tensors):
        raise StudentError(
            f"check_layer({what}) returned {type(value).__name__} {sorted(value) if isinstance(value, dict) else ''}: "
            f"return a dict {{tensor: (relative error, crossed a kink)}} for {tensors}"
        )
    try:
        return {key: (float(value[key][0]), bool(value[key][1])) for key in tensors}
    except (TypeError, ValueError, IndexError, KeyError):
        raise StudentError(f"check_layer({what}) must map each tensor to a pair (relative error, crossed a kink)") from None


CURVATURE = 20.0  # the probe cos(20 t) / 20: central differences are off by about 1e-10, one-sided ones by about 1e-5


def grade_gradcheck(module: ModuleType, seed: int) -> float:
    """The student's checker, held to the lesson's bound (``DEFAULT_THRESHOLD``, 1e-7) on a probe and on correct layers."""
    rng = np.random.default_rng(seed)
    numerical_gradient, check_layer = attribute(module, "numerical_gradient"), attribute(module, "check_layer")
    watch = Watch(module, library=("minialexnet.gradcheck",))
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    given = x.copy()

    def probe(t: np.ndarray) -> np.ndarray:
        return np.cos(CURVATURE * t) / CURVATURE

    numeric = as_array("numerical_gradient", watch.call("numerical_gradient", numerical_gradient, probe, given, dout), x.shape)
    if not np.array_equal(given, x):
        raise StudentError("numerical_gradient left x changed: put every coordinate back after perturbing it")
    exact = -dout * np.sin(CURVATURE * x)
    error = float(np.abs(numeric - exact).max() / np.abs(exact).max())
    ratio = float(np.sum(numeric * exact) / np.sum(exact * exact))
    if near(ratio, 2.0) or near(ratio, 0.5):
        raise StudentError(f"numerical_gradient is {ratio:g} times the derivative: central differences divide by 2 eps")
    if error > DEFAULT_THRESHOLD:
        eps = 1e-6
        one_sided = dout * (probe(x + eps) - probe(x)) / eps
        if float(np.abs(numeric - one_sided).max() / np.abs(exact).max()) < error / 10:
            raise StudentError(
                f"numerical_gradient of sum(cos(20 x) / 20 * dout) is off by {error:.1e}, above the lesson's bound of "
                f"{DEFAULT_THRESHOLD:g}: one-sided differences (f(x + eps) - f(x)) / eps are off by O(eps) where f curves; "
                "central ones, (f(x + eps) - f(x - eps)) / (2 eps), by O(eps^2)"
            )
        raise StudentError(
            f"numerical_gradient of sum(cos(20 x) / 20 * dout) is off by {error:.1e} (the bound is {DEFAULT_THRESHOLD:g}): "
            "(f(x + eps) - f(x - eps)) / (2 eps), weighted by dout"
        )
    worst = error
    for name, (layer, inputs, bug) in _subjects(rng).items():
        report = _report(name, watch.call("check_layer", check_layer, layer, inputs.copy()), layer)
        for tensor, (relative, kink) in report.items():
            if kink:
                raise StudentError(f"check_layer({name}) reports a kink crossing in {tensor}, but every input is at least 0.1 from a kink")
            if tensor == bug and not relative > 1e-3:
                advice = ": with dout = ones a backward that ignores dout looks right; draw dout at random" if name == IGNORES_DOUT else ""
                raise StudentError(
                    f"check_layer({name}) gives {tensor} a relative error of {relative:.1e}: that layer's {tensor} is wrong, "
                    f"catch it{advice}"
                )
            if tensor != bug and not relative < DEFAULT_THRESHOLD:
                raise StudentError(
                    f"check_layer({name}) gives the correct {tensor} a relative error of {relative:.1e}, above the lesson's bound "
                    f"of {DEFAULT_THRESHOLD:g}: central differences in float64 (one-sided ones are off by O(eps)), compared as "
                    "|a - n| to the larger of |a|, |n|"
                )
            worst = max(worst, relative if tensor != bug else 0.0)
    near_kink = rng.standard_normal((2, 5))
    near_kink[0, 0] = 3e-7  # within eps = 1e-6 of ReLU's kink
    report = _report("ReLU near its kink", watch.call("check_layer", check_layer, ReLU(), near_kink.copy()), ReLU())
    if not report["dx"][1]:
        raise StudentError(
            "check_layer(ReLU) on an input 3e-7 from 0 did not report a kink crossing: compare the one-sided differences "
            "(f(x + eps) - f(x)) / eps and (f(x) - f(x - eps)) / eps; when they disagree, the step crossed a kink"
        )
    return worst


# ---------------------------------------------------------------- lesson 8: the paper's schedule

ERRORS = (0.50, 0.40, 0.35, 0.3499, 0.36, 0.352, 0.30, 0.31, 0.32, 0.33, 0.29, 0.2895, 0.2893, 0.2891)


def _schedule(errors: tuple[float, ...], lr: float, patience: int, threshold: float) -> list[float]:
    """lr after each epoch: divided by 10 once ``patience`` epochs in a row failed to beat the best by ``threshold``."""
    best, waited, rates = float("inf"), 0, []
    for error in errors:
        if error < best - threshold:
            best, waited = error, 0
        else:
            waited += 1
            if waited > patience:
                lr, waited = lr / 10, 0
        rates.append(lr)
    return rates


class _Optimizer:
    def __init__(self, lr: float) -> None:
        self.lr = lr


def grade_schedule(module: ModuleType, seed: int) -> float:
    watch = Watch(module)
    for patience, threshold in ((2, 1e-3), (1, 0.0), (3, 0.01)):
        schedule = build(
            f"ReduceOnPlateau(patience={patience}, threshold={threshold})",
            lambda p=patience, t=threshold: attribute(module, "ReduceOnPlateau")(patience=p, threshold=t),
        )
        optimizer, expected = _Optimizer(0.01), _schedule(ERRORS, 0.01, patience, threshold)
        for epoch, (error, wanted) in enumerate(zip(ERRORS, expected, strict=True), 1):
            returned = watch.call("ReduceOnPlateau.step", schedule.step, optimizer, error)
            if not near(optimizer.lr, wanted):
                raise StudentError(
                    f"with patience {patience} and threshold {threshold}, after epoch {epoch} (validation errors {list(ERRORS[:epoch])}) "
                    f"lr is {optimizer.lr:g}, expected {wanted:g}: divide lr by 10 once the error has not beaten the best by more than "
                    "threshold for more than patience epochs in a row, then count again"
                )
            if returned is None or not near(float(returned), wanted):
                raise StudentError(f"ReduceOnPlateau.step returned {returned!r}: return the learning rate it leaves in optimizer.lr")
    return float("nan")


# ---------------------------------------------------------------- lesson 12: the data-parallel step


class _BufferedLinear(Linear):
    """Linear whose backward writes its gradients into the same two arrays every time, as the fast engine's layers do:
    a reference to model.grads kept from one share is overwritten by the next share's backward."""

    def backward(self, dout: Any) -> Any:
        buffers = dict(self.grads)
        dx = super().backward(dout)
        for key, buffer in buffers.items():
            buffer[...] = self.grads[key]
        self.grads = buffers
        return dx


def _network(rng: np.random.Generator) -> Sequential:
    return Sequential(
        ("fc1", _BufferedLinear(5, 6, rng=rng, dtype=np.float64)),
        ("relu", ReLU()),
        ("fc2", _BufferedLinear(6, 3, rng=rng, dtype=np.float64)),
    )


def grade_data_parallel(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    step = attribute(module, "data_parallel_grads")
    watch = Watch(module, library=())
    worst = 0.0
    for N, ranks in ((10, 3), (7, 2), (4, 4), (6, 1)):
        images, labels = rng.standard_normal((N, 5)), rng.integers(0, 3, N)
        one, many = _network(np.random.default_rng(seed)), _network(np.random.default_rng(seed))
        loss_layer = SoftmaxCrossEntropy()
        expected_loss = loss_layer.forward(one.forward(images, train=True), labels)
        one.backward(loss_layer.backward())
        expected = {key: value.copy() for key, value in one.grads.items()}
        result = watch.call("data_parallel_grads", step, many, SoftmaxCrossEntropy(), images.copy(), labels.copy(), ranks)
        if not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[1], dict):
            raise StudentError("data_parallel_grads must return (loss, grads): the batch's mean loss and a dict like model.grads")
        loss, grads = result
        setting = f"[a batch of {N} over {ranks} ranks]"
        if sorted(grads) != sorted(expected):
            raise StudentError(f"grads has {sorted(grads)}, expected model.grads' names {sorted(expected)} {setting}")
        errors = {key: float(np.abs(np.asarray(grads[key]) - value).max() / np.abs(value).max()) for key, value in expected.items()}
        if max(errors.values()) > 1e-12:
            key = max(errors, key=errors.get)
            shares = np.array_split(np.arange(N), ranks)
            last = _last_share(shares[-1], images, labels, seed)
            weight = len(shares[-1]) / N
            if any(np.allclose(np.asarray(grads[key]), factor * last[key], rtol=1e-12) for factor in (1.0, 1 / weight)):
                raise StudentError(
                    f"grads are the last share's only: the next backward overwrites model.grads in place (this network's layers "
                    f"reuse their gradient arrays, as the fast engine's do), so copy them (value.copy()) after each share {setting}"
                )
            raise StudentError(
                f"grads[{key!r}] differs from one process's on the whole batch (relative {errors[key]:.1e}): "
                f"each rank's loss is the mean over "
                f"its share, so weight rank r's gradient by its share n_r / N (unequal shares here) {setting}"
            )
        if not near(float(loss), float(expected_loss)):
            raise StudentError(
                f"the loss {float(loss):.6g} is not the batch's mean {expected_loss:.6g}: weight each share's mean by n_r / N {setting}"
            )
        worst = max(worst, *errors.values())
    return worst


def _last_share(share: np.ndarray, images: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    model, loss_layer = _network(np.random.default_rng(seed)), SoftmaxCrossEntropy()
    loss_layer.forward(model.forward(images[share], train=True), labels[share])
    model.backward(loss_layer.backward())
    return {key: value * len(share) / len(images) for key, value in model.grads.items()}


# ---------------------------------------------------------------- lesson 11: a kernel in the simulator


def grade_kernel(module: ModuleType, seed: int) -> float:
    """The student's kernel is graded in a child process with the simulator on (the parent's numba, if any, stays untouched)."""
    environment = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    command = [sys.executable, "-m", "minialexnet.exercises.kernel_child", str(module.__file__), str(seed)]
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=KERNEL_TIME_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        raise StudentError(f"the kernel ran longer than {KERNEL_TIME_LIMIT} s in the simulator: an endless loop?") from None
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise StudentError(f"the simulator's process failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    answer = json.loads(lines[-1])
    if answer["status"] == "not written":
        raise NotWrittenError(answer["hint"])
    if answer["status"] != "pass":
        raise StudentError(answer["hint"])
    return float(answer["error"])


# ---------------------------------------------------------------- lesson 9: crops, flips, the ten test patches, the colour PCA


def _crops(x: np.ndarray, tops: np.ndarray, lefts: np.ndarray, flips: np.ndarray, size: int) -> np.ndarray:
    out = np.stack([x[n, :, top : top + size, left : left + size] for n, (top, left) in enumerate(zip(tops, lefts, strict=True))])
    return np.stack([patch[:, :, ::-1] if flip else patch for patch, flip in zip(out, flips, strict=True)])


def grade_augment(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    crop_and_flip, ten_crop_offsets, rgb_pca = (attribute(module, name) for name in ("crop_and_flip", "ten_crop_offsets", "rgb_pca"))
    watch = Watch(module)
    for N, C, S, size in ((5, 3, 11, 7), (2, 1, 9, 9), (3, 2, 8, 3)):
        x = rng.standard_normal((N, C, S, S))
        tops, lefts, flips = rng.integers(0, S - size + 1, N), rng.integers(0, S - size + 1, N), rng.integers(0, 2, N).astype(bool)
        setting = f"[images {x.shape}, patches {size}x{size}, tops {tops.tolist()}, lefts {lefts.tolist()}, flips {flips.tolist()}]"
        got = watch.call("crop_and_flip", crop_and_flip, x.copy(), tops.copy(), lefts.copy(), flips.copy(), size)
        got = as_array(f"crop_and_flip's result {setting}", got, (N, C, size, size))
        expected = _crops(x, tops, lefts, flips, size)
        if not np.array_equal(got, expected):
            unflipped = _crops(x, tops, lefts, ~flips, size)
            swapped = _crops(x, lefts, tops, flips, size) if S - size + 1 > 0 else None
            if np.array_equal(got, unflipped):
                raise StudentError(f"crop_and_flip mirrors the wrong patches: flips[n] True means mirrored left to right {setting}")
            if swapped is not None and np.array_equal(got, swapped):
                raise StudentError(f"crop_and_flip swapped tops and lefts: tops are rows (height), lefts columns (width) {setting}")
            raise StudentError(
                f"crop_and_flip differs from x[n, :, top : top + size, left : left + size] (mirrored where flips[n]) {setting}"
            )
        on_gpu = on_strict_device("crop_and_flip", lambda x, s=size, t=tops, le=lefts, f=flips: crop_and_flip(x, t, le, f, s), x)
        if not np.array_equal(on_gpu, expected):
            raise StudentError(f"crop_and_flip gives other patches on the GPU (the strict device) {setting}")
    for full, size in ((256, 227), (32, 28), (9, 4)):
        far, centre = full - size, (full - size) // 2
        expected_offsets = {
            (top, left, flip) for flip in (False, True) for top, left in ((0, 0), (0, far), (far, 0), (far, far), (centre, centre))
        }
        offsets = watch.call("ten_crop_offsets", ten_crop_offsets, full, size)
        try:
            got_offsets = [(int(top), int(left), bool(flip)) for top, left, flip in offsets]
        except (TypeError, ValueError):
            raise StudentError("ten_crop_offsets must return a list of (top, left, flipped) triples") from None
        if len(got_offsets) != 10 or set(got_offsets) != expected_offsets:
            raise StudentError(
                f"ten_crop_offsets({full}, {size}) gave {sorted(got_offsets)}: the four corners and the centre "
                f"(top = left = (full - size) // 2 = {centre}), each also flipped"
            )
    images = rng.standard_normal((4, 3, 32, 32)) * np.array([1.0, 2.0, 0.5])[None, :, None, None] + rng.standard_normal((4, 1, 32, 32))
    result = watch.call("rgb_pca", rgb_pca, images.copy())
    if not isinstance(result, tuple) or len(result) != 2:
        raise StudentError("rgb_pca must return (eigenvalues (3,), eigenvectors (3, 3) as columns)")
    values, vectors = (
        as_array("rgb_pca's eigenvalues", np.asarray(result[0], dtype=np.float64), (3,)),
        np.asarray(result[1], dtype=np.float64),
    )
    vectors = as_array("rgb_pca's eigenvectors", vectors, (3, 3))
    pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3)
    covariance = np.cov(pixels, rowvar=False)
    if not np.allclose(vectors.T @ vectors, np.eye(3), atol=1e-9):
        raise StudentError("rgb_pca's eigenvectors are not orthonormal columns (np.linalg.eigh gives them as columns)")
    residual = float(np.abs(covariance @ vectors - vectors * values).max() / np.abs(covariance).max())
    if residual > 1e-3:  # ddof 0 and 1 differ by 1 / (N H W) here; both are fine
        if np.abs(covariance @ vectors.T - vectors.T * values).max() < 1e-3 * np.abs(covariance).max():
            raise StudentError("rgb_pca's eigenvectors are rows: return them as columns (p_i = vectors[:, i])")
        raise StudentError(
            f"rgb_pca's pairs are not eigenpairs of the 3x3 covariance of the pixels' RGB values (relative residual {residual:.1e}): "
            "one sample per pixel, images.transpose(0, 2, 3, 1).reshape(-1, 3)"
        )
    return residual


# ---------------------------------------------------------------- lesson 10: nearest neighbours in fc7 space


def grade_neighbours(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    nearest = attribute(module, "nearest")
    watch = Watch(module)
    for Q, R, D, k in ((3, 20, 8, 5), (1, 7, 3, 7), (4, 50, 16, 1)):
        query, reference = rng.standard_normal((Q, D)), rng.standard_normal((R, D)) * rng.uniform(0.5, 2.0, D)
        expected = np.argsort(((query[:, None, :] - reference[None]) ** 2).sum(axis=2), axis=1)[:, :k]
        got = np.asarray(watch.call("nearest", nearest, query.copy(), reference.copy(), k))
        if got.shape != (Q, k):
            raise StudentError(f"nearest returned shape {got.shape}, expected (queries, k) = {(Q, k)}")
        if not np.array_equal(got, expected):
            if np.array_equal(got, expected[:, ::-1]):
                raise StudentError("nearest lists the neighbours farthest first: nearest first")
            farthest = np.argsort(-((query[:, None, :] - reference[None]) ** 2).sum(axis=2), axis=1)[:, :k]
            if np.array_equal(got, farthest):
                raise StudentError("nearest returned the farthest rows: sort the distances ascending")
            raise StudentError(
                f"nearest differs from the k rows of reference closest in Euclidean distance [{Q} queries, {R} references, k = {k}]"
            )
        on_gpu = on_strict_device("nearest", lambda q, r, k=k: nearest(q, r, k), query, reference)
        if not np.array_equal(on_gpu, expected):
            raise StudentError("nearest gives other neighbours on the GPU (the strict device)")
    return float("nan")
