"""Grading the layers: forward against the float64 loops of ``minialexnet/oracles.py``, backward against their derivatives.

Every layer runs on a few fixed cases of different shapes (non-square inputs and kernels, odd
sizes, strides 1-4, padding 0-2, batches 1-4; layer_cases.py holds them with each layer's own
probes); a hint names the case that failed. Beyond central differences (relative 1e-7), each
layer meets the probes finite differences cannot pass: smooth layers against the complex-step
derivative (exact to rounding; an exact backward agrees to about 1e-15), ReLU on inputs within
1e-9 of its kink and at it, max-pool on windows whose two largest entries differ by 1e-10; and
two instances run interleaved (state shared between instances, e.g. a module-level cache,
shows there).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet import oracles
from minialexnet.exercises.harness import FORWARD_TOLERANCE, StudentError, Watch, as_array, build, factor, near
from minialexnet.exercises.on_device import device_note
from minialexnet.gradcheck import DEFAULT_THRESHOLD, numerical_gradient, relative_error
from minialexnet.layers import Layer

EXACT_TOLERANCE = 1e-11  # an analytic float64 backward agrees with the complex-step derivative to about 1e-15
Setting = dict[str, Any]


@dataclass(frozen=True)
class LayerExercise:
    """A layer the student writes, the grader's oracle for it and the cases it is graded on."""

    build: Callable[[ModuleType, Setting], Layer]  # the student's layer for a setting
    oracle: Callable[[Setting, np.ndarray, dict[str, np.ndarray], Any], Any]  # forward(setting, x, params, labels)
    cases: tuple[tuple[Setting, tuple[int, ...]], ...]  # (setting, input shape)
    title: str  # how hints name it: "ReLU"
    param_shapes: Callable[[Setting, tuple[int, ...]], dict[str, tuple[int, ...]]] = lambda setting, shape: {}
    make_input: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] = lambda rng, shape: rng.standard_normal(shape)
    names: tuple[str, ...] = ()  # how hints name its forward and backward, if not "<title>.forward", "<title>.backward"
    loss: bool = False  # forward(logits, labels) -> float, backward() without dout
    smooth: bool = True  # the oracle takes complex input: the backward is held to the complex-step derivative
    forwards: tuple[str, ...] = ()  # module functions that are the forward pass
    label: Callable[[str], str] = lambda key: "dx" if key == "dx" else f'self.grads["{key}"]'
    factor_hint: Callable[[str, float, dict[str, int]], str | None] = lambda key, c, sizes: None
    describe: Callable[[Setting, tuple[int, ...]], str] = lambda setting, shape: f"input {shape}"
    extra: Callable[[ModuleType, Watch], None] | None = None  # further checks (ties, kinks, defaults)
    forward_hint: Callable[[np.ndarray, np.ndarray, Setting, dict[str, np.ndarray]], str | None] | None = None  # (out, x, setting, params)


class _Run:
    """One student instance on one case: forward and backward through the Watch, the checks common to every layer."""

    def __init__(self, exercise: LayerExercise, module: ModuleType, watch: Watch, setting: Setting, shape: tuple[int, ...]) -> None:
        self.exercise, self.watch, self.setting, self.shape = exercise, watch, setting, shape
        self.forward_name, self.backward_name = exercise.names or (f"{exercise.title}.forward", f"{exercise.title}.backward")
        self.student = build(f"{exercise.title}(...)", lambda: exercise.build(module, setting))
        wanted = exercise.param_shapes(setting, shape)
        params = getattr(self.student, "params", None)
        if not isinstance(params, dict) or sorted(params) != sorted(wanted):
            raise StudentError(f"self.params has {sorted(params or {})}, expected {sorted(wanted)}: keep the skeleton's names")
        for key, expected in wanted.items():
            as_array(f'self.params["{key}"]', np.asarray(params[key], dtype=np.float64), expected)

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        for key, value in params.items():
            self.student.params[key] = value.copy()

    def forward(self, x: np.ndarray, labels: Any) -> Any:
        given = x.copy()
        if self.exercise.loss:
            out = self.watch.call(self.forward_name, self.student.forward, given, labels.copy())
        else:
            out = self.watch.call(self.forward_name, self.student.forward, given, train=True)
        if not np.array_equal(given, x):
            raise StudentError(f"{self.forward_name} changed its input x in place: compute a new array")
        return out

    def backward(self, dout: np.ndarray | None) -> dict[str, Any]:
        if dout is None:
            dx = self.watch.call(self.backward_name, self.student.backward, in_backward=True)
        else:
            given = dout.copy()
            dx = self.watch.call(self.backward_name, self.student.backward, given, in_backward=True)
            if not np.array_equal(given, dout):
                zeroed = not np.any(given)
                raise StudentError(
                    f"{self.backward_name} {'zeroed' if zeroed else 'changed'} dout in place: "
                    "dout belongs to the caller (it was given a copy), compute a new array"
                )
        grads = getattr(self.student, "grads", None)
        if not isinstance(grads, dict):
            raise StudentError(f"self.grads is a {type(grads).__name__}: a dict with the parameters' names")
        return {"dx": dx, **{key: copy.copy(value) for key, value in grads.items()}}


def grade_layer(exercise: LayerExercise, module: ModuleType, seed: int) -> tuple[float, str]:
    rng = np.random.default_rng(seed)
    watch = Watch(module, exercise.forwards)
    _Run(exercise, module, watch, *exercise.cases[0])  # missing names and constructor errors, before any case
    worst = 0.0
    for setting, shape in exercise.cases:
        where = exercise.describe(setting, shape)
        try:
            worst = max(worst, _grade_case(exercise, module, watch, setting, shape, rng))
        except StudentError as error:
            raise StudentError(f"{error} [{where}]") from None
    setting, shape = exercise.cases[0]
    exact = _exact_and_interleaved(exercise, module, watch, setting, shape, rng)
    worst = exact if exercise.smooth else worst  # reported: against the exact derivative where the oracle gives one
    if exercise.extra is not None:
        exercise.extra(module, watch)
    return worst, _on_the_gpu(exercise, module, watch, setting, shape, rng)


def _on_the_gpu(exercise: LayerExercise, module: ModuleType, watch: Watch, setting: Setting, shape: tuple[int, ...], rng: Any) -> str:
    """The layer once more on the strict device (CuPy's rules, no GPU): NumPy-only code and other results fail."""
    params, x, labels = _inputs(exercise, setting, shape, rng)
    host = _Run(exercise, module, watch, setting, shape)
    host.set_params(params)
    out = np.asarray(host.forward(x, labels))
    dout = None if exercise.loss else rng.standard_normal(out.shape)
    expected = host.backward(dout)

    def run(cupy: Any) -> list[np.ndarray]:
        student = build(f"{exercise.title}(...)", lambda: exercise.build(module, setting))
        for key, value in params.items():
            student.params[key] = cupy.asarray(value)
        if exercise.loss:
            got = cupy.asnumpy(cupy.asarray(student.forward(cupy.asarray(x), cupy.asarray(labels))))
            grads = {"dx": student.backward()}
        else:
            got = cupy.asnumpy(student.forward(cupy.asarray(x), train=True))
            grads = {"dx": student.backward(cupy.asarray(dout))}
        grads.update({key: student.grads[key] for key in params})
        return [got, *(cupy.asnumpy(grads[key]) for key in ["dx", *params])]

    wanted = [out, *(np.asarray(expected[key]) for key in ["dx", *params])]
    return device_note(run, wanted, f"{exercise.title} [{exercise.describe(setting, shape)}]")


def _inputs(exercise: LayerExercise, setting: Setting, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[Any, ...]:
    params = {key: rng.standard_normal(s) for key, s in exercise.param_shapes(setting, shape).items()}
    x = exercise.make_input(rng, shape)
    labels = rng.integers(0, shape[1], size=shape[0]) if exercise.loss else None
    return params, x, labels


def _grade_case(exercise: LayerExercise, module: ModuleType, watch: Watch, setting: Setting, shape: tuple[int, ...], rng: Any) -> float:
    run = _Run(exercise, module, watch, setting, shape)
    params, x, labels = _inputs(exercise, setting, shape, rng)
    run.set_params(params)

    def oracle(_: Any = None) -> Any:
        return np.asarray(exercise.oracle(setting, x, params, labels))

    expected = oracle()
    out = run.forward(x, labels)
    if exercise.loss:
        out = _loss_value(out, shape[0])
        error = abs(out - float(expected)) / max(abs(float(expected)), 1e-300)
    else:
        out = as_array(f"{run.forward_name}'s output", out, expected.shape)
        error = relative_error(out, expected)
    if error > FORWARD_TOLERANCE:
        raise StudentError(
            (exercise.forward_hint(out, x, setting, params) if exercise.forward_hint else None)
            or f"{run.forward_name} differs from the paper's formula (relative error {error:.1e})"
        )
    dout = None if exercise.loss else rng.standard_normal(expected.shape)
    weight = 1.0 if exercise.loss else dout  # the numerical gradient of <forward, weight>
    numeric = {"dx": numerical_gradient(oracle, x, weight)}
    numeric.update({key: numerical_gradient(oracle, value, weight) for key, value in params.items()})
    got = run.backward(dout)
    missing = [key for key in params if key not in got]
    others = sorted(set(got) - {"dx"} - set(params))
    if others and (missing or not all(np.any(np.asarray(got[key], dtype=np.float64)) for key in params)):
        raise StudentError(f"self.grads has {others}: store each gradient under its parameter's name, {sorted(params)}")
    if missing:
        raise StudentError(f"{exercise.label(missing[0])} was never written: backward must store it")
    sizes = {"N": shape[0], "positions": int(np.prod(expected.shape)) // (expected.shape[1] if expected.ndim > 1 else 1)}
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
            run.forward(x, labels)
            again = as_array(what, run.backward(2 * dout)[key], reference.shape)
            if np.allclose(again, value, rtol=1e-12, atol=0):
                raise StudentError(f"{what} does not change when dout does: multiply by the upstream gradient dout (the chain rule)")
        if c is not None:
            raise StudentError(_factor_hint(exercise, what, key, c, sizes))
        if value.ndim == 2 and value.shape[0] == value.shape[1] and relative_error(value.T, reference) < DEFAULT_THRESHOLD:
            raise StudentError(f"{what} is transposed")
        raise StudentError(f"{what} differs from the numerical gradient (relative error {error:.1e}): check its formula")
    run.forward(x, labels)
    second = run.backward(dout)
    for key in params:
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
    return worst


def _exact_and_interleaved(
    exercise: LayerExercise, module: ModuleType, watch: Watch, setting: Setting, shape: tuple[int, ...], rng: Any
) -> float:
    """Smooth layers against the complex-step derivative; then two instances run interleaved must each give their own gradients."""
    where = exercise.describe(setting, shape)
    one, two = _Run(exercise, module, watch, setting, shape), _Run(exercise, module, watch, setting, shape)
    (params_one, x_one, labels_one), (params_two, x_two, labels_two) = (
        _inputs(exercise, setting, shape, rng),
        _inputs(exercise, setting, shape, rng),
    )
    one.set_params(params_one)
    expected = np.asarray(exercise.oracle(setting, x_one, params_one, labels_one))
    dout_one = None if exercise.loss else rng.standard_normal(expected.shape)
    one.forward(x_one, labels_one)
    alone = one.backward(dout_one)
    worst = 0.0
    if exercise.smooth:
        tensors = {"dx": x_one, **params_one}
        for key, value in tensors.items():
            direction = rng.standard_normal(value.shape)

            def along(t: np.ndarray, key: str = key) -> Any:
                inputs = {**tensors, key: t}
                return exercise.oracle(setting, inputs["dx"], {k: inputs[k] for k in params_one}, labels_one)

            exact = oracles.exact_directional(along, value, 1.0 if dout_one is None else dout_one, direction)
            got = float(np.sum(np.asarray(alone[key], dtype=np.float64) * direction))
            error = abs(got - exact) / max(abs(got), abs(exact), 1e-300)
            worst = max(worst, error)
            if error > EXACT_TOLERANCE:
                raise StudentError(
                    f"{exercise.label(key)} agrees with the exact derivative only to {error:.0e} (an analytic backward agrees to "
                    f"about 1e-15): finite differences inside backward? derive the formula instead [{where}]"
                )
    two.set_params(params_two)
    one.forward(x_one, labels_one)
    two.forward(x_two, labels_two)
    interleaved = one.backward(dout_one)
    for key, value in alone.items():
        if (
            key in interleaved
            and relative_error(np.asarray(interleaved[key], dtype=np.float64), np.asarray(value, dtype=np.float64)) > 1e-12
        ):
            raise StudentError(
                f"with two {exercise.title} layers (forward one, forward two, backward one) the first one's "
                f"{exercise.label(key)} is wrong: the layers share state (a module-level or class-level variable?); "
                f"keep what backward needs on self [{where}]"
            )
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
