"""Grade the gradient-check exercises in ``lessons/exercises/``.

``python -m minialexnet.exercises check [NAME ...] [--dir lessons/exercises]``

Each exercise file gives a layer's forward pass and leaves ``backward`` for the student.
The grader runs the student's backward under a random upstream gradient, compares dx and
every parameter gradient with central differences (float64, inputs away from kinks, see
``minialexnet.gradcheck``), prints pass/FAIL with the relative error, and on a failure a
hint: not written yet, wrong shape (a transpose?), ignores ``dout``, off by a constant
factor (the 1/N of a mean?), or simply wrong values. ``--solutions`` grades the library's
own layers through the same harness: they are the reference solutions.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.gradcheck import DEFAULT_THRESHOLD, kink_free_input, numerical_gradient, relative_error
from minialexnet.layers import Conv2d, Layer, Linear, LocalResponseNorm, MaxPool2d, ReLU, SoftmaxCrossEntropy

BATCH = 3


@dataclass(frozen=True)
class Exercise:
    """Which file and class, how to build it (student or library), and its test input."""

    file: str
    cls: str
    build: Callable[[type], Layer]
    library: Callable[[], Layer]
    make_input: Callable[[np.random.Generator], np.ndarray]
    needs_labels: bool = False


def _with_params(layer: Layer, rng: np.random.Generator) -> Layer:
    layer.params = {key: rng.standard_normal(value.shape) for key, value in layer.params.items()}
    return layer


EXERCISES: dict[str, Exercise] = {
    "relu": Exercise("relu.py", "ReLU", lambda c: c(), ReLU, lambda rng: kink_free_input((BATCH, 2, 3, 4), rng)),
    "linear": Exercise(
        "linear.py", "Linear", lambda c: c(5, 4), lambda: Linear(5, 4, dtype=np.float64), lambda rng: rng.standard_normal((BATCH, 5))
    ),
    "softmax_cross_entropy": Exercise(
        "softmax_cross_entropy.py",
        "SoftmaxCrossEntropy",
        lambda c: c(),
        SoftmaxCrossEntropy,
        lambda rng: rng.standard_normal((BATCH, 6)),
        True,
    ),
    "maxpool": Exercise(
        "maxpool.py", "MaxPool2d", lambda c: c(3, 2), lambda: MaxPool2d(3, 2), lambda rng: kink_free_input((BATCH, 2, 7, 7), rng)
    ),
    "lrn": Exercise(
        "lrn.py",
        "LocalResponseNorm",
        lambda c: c(size=5, alpha=0.5, beta=0.75, k=2.0),  # a large alpha, so the neighbour term counts
        lambda: LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0),
        lambda rng: rng.standard_normal((BATCH, 7, 3, 3)),
    ),
    "conv": Exercise(
        "conv.py",
        "Conv2d",
        lambda c: c(3, 4, 3, stride=2, padding=1),
        lambda: Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 3, 7, 7)),
    ),
}


@dataclass
class Grade:
    name: str
    passed: bool
    error: float
    hint: str = ""


def load_student_layer(exercise: Exercise, directory: Path) -> Layer:
    """Import the exercise file and build its layer."""
    path = directory / exercise.file
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (pass --dir with the folder of the exercises)")
    spec = importlib.util.spec_from_file_location(f"minialexnet_exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return exercise.build(getattr(module, exercise.cls))


def _factor(analytic: np.ndarray, numeric: np.ndarray) -> float | None:
    """The constant c with analytic = c * numeric, if there is one (else None)."""
    denominator = float(np.sum(numeric * numeric))
    if denominator == 0.0:
        return None
    c = float(np.sum(analytic * numeric)) / denominator
    if relative_error(analytic, c * numeric) < 1e-6 and abs(c) > 1e-12:
        return c
    return None


def _factor_hint(name: str, c: float) -> str:
    if abs(c - BATCH) < 1e-6:
        return f"{name} is {BATCH} (= N) times too large: the loss is a mean over the batch, divide by N"
    if abs(c - 1 / BATCH) < 1e-6:
        return f"{name} is N = {BATCH} times too small: divide by N once, not twice"
    if abs(c + 1) < 1e-6:
        return f"{name} has the wrong sign"
    return f"{name} is off by a constant factor of {c:.4g}"


def grade_layer(name: str, layer: Layer, seed: int = 0, threshold: float = DEFAULT_THRESHOLD) -> Grade:
    """Grade one layer's backward pass (see the module docstring for the hints)."""
    exercise = EXERCISES[name]
    rng = np.random.default_rng(seed)
    layer = copy.deepcopy(layer).astype(np.float64)
    x = exercise.make_input(rng)
    labels = rng.integers(0, x.shape[1], size=x.shape[0]) if exercise.needs_labels else None

    def run(_: Any = None) -> Any:
        return np.asarray(layer.forward(x, labels)) if labels is not None else layer.forward(x, train=True)

    def backward(upstream: Any) -> tuple[Any, dict[str, Any]]:
        run()
        dx = layer.backward(upstream)
        return dx, {key: np.array(value, dtype=np.float64, copy=True) for key, value in layer.grads.items()}

    out = run()
    dout = rng.standard_normal(np.shape(out))
    try:
        dx, grads = backward(dout)
    except NotImplementedError:
        return Grade(name, False, float("nan"), "backward is not written yet (it raises NotImplementedError)")
    except Exception as error:  # a student's bug, shown as a hint rather than a traceback
        return Grade(name, False, float("nan"), f"backward raised {type(error).__name__}: {error}")
    analytic = {"dx": dx, **grads}
    targets = {"dx": x, **layer.params}
    for key, value in analytic.items():
        expected = np.shape(targets[key])
        if value is None or np.shape(value) != expected:
            got = None if value is None else np.shape(value)
            transposed = got is not None and got == expected[::-1]
            return Grade(name, False, float("nan"), f"{key} has shape {got}, expected {expected}" + (": transposed?" if transposed else ""))
    worst, hint = 0.0, ""
    for key, value in analytic.items():
        numeric = numerical_gradient(run, targets[key], dout)
        error = relative_error(value, numeric)
        worst = max(worst, error)
        if error >= threshold and not hint:
            doubled, doubled_grads = backward(2 * dout)
            again = {"dx": doubled, **doubled_grads}[key]
            c = _factor(np.asarray(value), numeric)
            if np.allclose(again, value):
                hint = f"{key} does not change when dout does: multiply by the upstream gradient dout"
            elif c is not None:
                hint = _factor_hint(key, c)
            elif value.ndim == 2 and value.shape[0] == value.shape[1] and relative_error(value.T, numeric) < threshold:
                hint = f"{key} is transposed"
            else:
                hint = f"{key} differs from the numerical gradient (relative error {error:.2e}): check its formula"
    return Grade(name, worst < threshold, worst, hint)


def grade(names: list[str], directory: Path | None = None, solutions: bool = False) -> list[Grade]:
    """Grade the student files in ``directory`` (or the library's layers with ``solutions``)."""
    grades = []
    for name in names:
        exercise = EXERCISES[name]
        try:
            layer = exercise.library() if solutions else load_student_layer(exercise, directory)
        except Exception as error:
            grades.append(Grade(name, False, float("nan"), f"could not load: {type(error).__name__}: {error}"))
            continue
        if solutions:
            _with_params(layer, np.random.default_rng(1))
        grades.append(grade_layer(name, layer))
    return grades


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minialexnet.exercises", description="Grade the backward-pass exercises with the gradient checker."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="grade exercises (all, or the ones named)")
    check.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(EXERCISES)}")
    check.add_argument("--dir", default="lessons/exercises", help="folder holding the exercise files")
    check.add_argument("--solutions", action="store_true", help="grade the library's own layers (the reference solutions)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in EXERCISES]
    if unknown:
        print(f"error: unknown exercise {', '.join(unknown)}; choose from {', '.join(EXERCISES)}", file=sys.stderr)
        return 2
    grades = grade(args.names or list(EXERCISES), Path(args.dir), args.solutions)
    width = max(len(g.name) for g in grades)
    for g in grades:
        error = "-" if np.isnan(g.error) else f"{g.error:.2e}"
        line = f"{g.name:<{width}}  {'pass' if g.passed else 'FAIL'}  rel. error {error:>9}"
        print(line + (f"  hint: {g.hint}" if g.hint and not g.passed else ""))
    failed = sum(not g.passed for g in grades)
    print(f"{len(grades) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
