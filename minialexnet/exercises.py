"""Grade the course's exercises: the student's own layers, optimizer and training loop.

``python -m minialexnet.exercises check [NAME ...] [--dir DIR] [--solutions]``, or in a
notebook ``exercises.check("relu")``. The student's code lives in ``lessons/exercises/<name>.py``
(``$MINIALEXNET_EXERCISES`` points elsewhere, e.g. at ``lessons/solutions/``, the reference
solutions); ``load(name)`` imports it afresh, so an edit counts without restarting the kernel.
``check`` prints one line, ``relu: pass (relative error 3e-11)``, ``relu: not written yet``
or ``relu: FAIL - <hint>``, returns a ``Grade`` and never raises, whatever the file holds.

What is checked (float64, small inputs, fixed seeds):
- forward passes against the library's layers on the same input and parameters;
- backward passes against central differences of the library's forward
  (``minialexnet.gradcheck``), every tensor: dx and each parameter gradient;
- max-pool on a deterministic case full of ties (one maximum per window, the first in
  row-major order, total gradient conserved), LRN's defaults and the paper's alpha,
  softmax on logits of 1e3 (overflow), dropout by its statistics and its mask;
- the chain rule through ``Sequential`` with probe layers that log every call;
- SGD against the paper's formula over three steps; the training loop on a small problem.

What it rejects, each with a hint naming the mistake: not written yet; a syntax or import
error, a missing class or function; a forward that returns a list, the wrong dtype or
shape, NaN/inf, changes its input, or disagrees with the library (with its matching
backward, a consistently wrong pair still fails on forward); a backward that writes into
``dout`` (it receives a copy, compared afterwards; zeroing it and returning zeros too), calls
the library's layers or ``minialexnet.gradcheck`` (they are replaced by functions that
raise and record while the student's code runs, so even ``except BaseException`` does not
hide the call), or calls forward again (finite differences); gradients that are missing,
stored under other names, never written (all zeros), accumulated across calls (backward
twice on one forward), divided by N, averaged over the N * OH * OW positions (conv db), of
the wrong sign or shape (transposed?), ignoring ``dout``, or plainly wrong; max-pool ties
given to every maximum, split, or to another one; an infinite loop (a time limit, where the
grader runs in the main thread).

What it cannot detect: finite differences computed with a copy of the forward maths written
inside backward (no forward call to count), or gradients from another autodiff library
(PyTorch, JAX); code that behaves differently on inputs other than the checker's; a
student who edits the grader. It judges results, not style or speed.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import inspect
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.gradcheck import DEFAULT_THRESHOLD, kink_free_input, numerical_gradient, relative_error
from minialexnet.layers import (
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    col2im,
    im2col,
)
from minialexnet.optim import SGD

ENVIRONMENT = "MINIALEXNET_EXERCISES"
FORWARD_TOLERANCE = 1e-9  # float64 forward passes agree to rounding (about 1e-15)
TIME_LIMIT = 60.0  # seconds per exercise
BATCH = 3
LIBRARY_MODULES = (
    "minialexnet.gradcheck",
    "minialexnet.layers.conv",
    "minialexnet.layers.dropout",
    "minialexnet.layers.flatten",
    "minialexnet.layers.linear",
    "minialexnet.layers.loss",
    "minialexnet.layers.lrn",
    "minialexnet.layers.pool",
    "minialexnet.layers.relu",
    "minialexnet.layers.sequential",
    "minialexnet.layers.winograd",
    "minialexnet.models",
    "minialexnet.optim",
)


# ---------------------------------------------------------------- where the student's files are


def _repository_folder(name: str) -> Path:
    """``lessons/<name>`` of the repository: beside the package, else above the current directory."""
    beside_package = Path(__file__).resolve().parents[1] / "lessons" / name
    if beside_package.is_dir():
        return beside_package
    for folder in (Path.cwd(), *Path.cwd().parents):
        for candidate in (folder / "lessons" / name, folder / name if folder.name == "lessons" else None):
            if candidate is not None and candidate.is_dir():
                return candidate
    return beside_package


def exercise_dir() -> Path:
    """The folder of the student's files: ``$MINIALEXNET_EXERCISES`` if set, else ``lessons/exercises``."""
    chosen = os.environ.get(ENVIRONMENT)
    return Path(chosen).expanduser().resolve() if chosen else _repository_folder("exercises")


def solutions_dir() -> Path:
    """The reference solutions, ``lessons/solutions``."""
    return _repository_folder("solutions")


_loading_from: list[Path] = []  # the folder of the file being imported, so its own load() calls read the same folder
_loaded: list[ModuleType] = []  # every student module imported during the current check


def load(name: str, directory: str | Path | None = None) -> ModuleType:
    """Import ``<directory>/<name>.py`` afresh (default: ``exercise_dir()``, or the folder of the file loading it).

    A file that imports another exercise (conv.py uses ``load("im2col")``) gets it from its own folder.
    """
    folder = Path(directory) if directory is not None else (_loading_from[-1] if _loading_from else exercise_dir())
    path = folder / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: set ${ENVIRONMENT} or pass --dir with the folder of the exercises")
    module_name = f"minialexnet_exercise_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    _loading_from.append(folder)
    try:
        spec.loader.exec_module(module)
    finally:
        _loading_from.pop()
    _loaded.append(module)
    return module


def show(name: str, directory: str | Path | None = None) -> None:
    """Print the student's file ``<name>.py`` (the regions to write are marked ``# ---- your code ----``)."""
    folder = Path(directory) if directory is not None else exercise_dir()
    path = folder / f"{name}.py"
    print(f"# {path}\n{path.read_text()}" if path.is_file() else f"{path} does not exist")


# ---------------------------------------------------------------- grades


@dataclass
class Grade:
    """The result of one check: ``status`` is "pass", "fail" or "not written"."""

    name: str
    status: str
    hint: str = ""
    error: float = float("nan")

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        if self.passed:
            return f"{self.name}: pass" + ("" if np.isnan(self.error) else f" (relative error {self.error:.1e})")
        if self.status == "not written":
            return f"{self.name}: not written yet" + (f" ({self.hint})" if self.hint else "")
        return f"{self.name}: FAIL - {self.hint}"


class _Reject(Exception):
    """The student's code is wrong; the message is the hint."""


class _NotWritten(Exception):
    """The student's code raises NotImplementedError: that part is not written yet."""


class _LibraryCall(BaseException):
    """Raised by the library's functions while the student's code runs (BaseException: ``except Exception`` cannot hide it)."""


class _TimeUp(BaseException):
    """The exercise ran past its time limit."""


# ---------------------------------------------------------------- running the student's code


class _Watch:
    """Runs the student's code with the library poisoned, forward calls counted and warnings silenced."""

    def __init__(self, module: ModuleType, forwards: tuple[str, ...] = (), library: tuple[str, ...] = LIBRARY_MODULES) -> None:
        self.module = module
        self.library = library  # the modules whose functions and classes' methods raise while the student's code runs
        self.forwards = forwards  # module-level functions that are forward passes (conv_forward_naive)
        self.library_calls: list[str] = []
        self.forward_calls = 0

    def _raiser(self, what: str) -> Callable[..., Any]:
        message = f"you called the library's {what}: write it yourself"

        def poisoned(*args: Any, **kwargs: Any) -> Any:
            self.library_calls.append(message)
            raise _LibraryCall(message)

        return poisoned

    def _counter(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.forward_calls += 1
            return function(*args, **kwargs)

        return counted

    @contextmanager
    def _patched(self, count_forwards: bool) -> Iterator[None]:
        undo: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, attribute: str, value: Any) -> None:
            undo.append((owner, attribute, owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)))
            setattr(owner, attribute, value)

        originals: dict[int, Callable[..., Any]] = {}
        for module_name in self.library:
            library = sys.modules.get(module_name)
            for attribute, value in list(vars(library).items()) if library else ():
                if getattr(value, "__module__", None) != module_name:
                    continue
                if inspect.isfunction(value):
                    poisoned = self._raiser(f"{module_name}.{attribute}")
                    originals[id(value)] = poisoned
                    patch(library, attribute, poisoned)
                elif isinstance(value, type) and value is not Layer:
                    for method, function in list(vars(value).items()):
                        if inspect.isfunction(function) and (not method.startswith("__") or method == "__call__"):
                            patch(value, method, self._raiser(f"{attribute}.{method}"))
        for module in {id(m): m for m in [self.module, *_loaded]}.values():
            for attribute, value in list(vars(module).items()):
                if id(value) in originals and callable(value):
                    patch(module, attribute, originals[id(value)])
                elif count_forwards and isinstance(value, type) and value.__module__ == module.__name__ and "forward" in vars(value):
                    patch(value, "forward", self._counter(vars(value)["forward"]))
                elif count_forwards and attribute in self.forwards and module is self.module:
                    patch(module, attribute, self._counter(value))
        try:
            yield
        finally:
            for owner, attribute, value in reversed(undo):
                setattr(owner, attribute, value)

    def call(self, what: str, function: Callable[..., Any], *args: Any, in_backward: bool = False, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` as the student's ``what``; errors become hints."""
        self.library_calls.clear()
        self.forward_calls = 0
        try:
            with self._patched(count_forwards=in_backward), np.errstate(all="ignore"):
                if inspect.ismethod(function):  # looked up again: an inherited library method is poisoned now
                    function = getattr(function.__self__, function.__name__)
                result = function(*args, **kwargs)
        except _LibraryCall:
            result = None
        except _Reject:
            raise
        except NotImplementedError as error:
            raise _NotWritten(str(error) or f"{what} raises NotImplementedError") from None
        except Exception as error:
            raise _Reject(f"{what} raised {type(error).__name__}: {error}{_where(error)}") from None
        if self.library_calls:
            raise _Reject(f"{what}: {self.library_calls[0]}")
        if self.forward_calls:
            raise _Reject(
                f"{what} called forward {self.forward_calls} time(s): that is finite differences (or recomputing), "
                "not the backward pass; use what forward kept in self.cache"
            )
        return result


def _where(error: BaseException) -> str:
    """ " (relu.py, line 12)": the last line of the student's files in the traceback."""
    folders = {Path(m.__file__).resolve().parent for m in _loaded if getattr(m, "__file__", None)}
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve().parent in folders]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""


def _attribute(module: ModuleType, name: str) -> Any:
    value = getattr(module, name, None)
    if value is None:
        raise _Reject(f"{Path(module.__file__).name} has no {name}: keep the skeleton's names")
    return value


def _build(what: str, factory: Callable[[], Any]) -> Any:
    """Construct the student's object (outside the poisoned library: constructors are given code)."""
    try:
        with np.errstate(all="ignore"):
            return factory()
    except _Reject:
        raise
    except NotImplementedError as error:
        raise _NotWritten(str(error) or f"{what} raises NotImplementedError") from None
    except Exception as error:
        raise _Reject(f"{what} raised {type(error).__name__}: {error}{_where(error)}") from None


# ---------------------------------------------------------------- comparing arrays


def _as_array(what: str, value: Any, shape: tuple[int, ...], transposed_hint: bool = True) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or a hint naming what is wrong with it."""
    if value is None:
        raise _Reject(f"{what} is None: return (or store) the array")
    if isinstance(value, (list, tuple)):
        raise _Reject(f"{what} is a {type(value).__name__}: return a NumPy array (np.array(...) or array arithmetic)")
    if not isinstance(value, np.ndarray):
        raise _Reject(f"{what} is a {type(value).__name__}, not a NumPy array")
    if value.dtype != np.float64:
        raise _Reject(f"{what} has dtype {value.dtype} for float64 inputs: keep the input's dtype (no astype, no int arrays)")
    if value.shape != tuple(shape):
        transposed = value.shape == tuple(shape)[::-1]
        raise _Reject(
            f"{what} has shape {value.shape}, expected {tuple(shape)}" + (": transposed?" if transposed and transposed_hint else "")
        )
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad:
        raise _Reject(f"{what} holds NaN or inf in {bad} of {value.size} entries (an overflow? a division by zero?)")
    return value


def _factor(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The constant c with got = c * expected, if there is one."""
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None
    c = float(np.sum(got * expected)) / denominator
    return c if abs(c) > 1e-12 and relative_error(got, c * expected) < 1e-6 else None


def _near(c: float, value: float) -> bool:
    return abs(c - value) < 1e-6 * max(1.0, abs(value))


# ---------------------------------------------------------------- layers: forward against the library, backward against gradcheck


@dataclass(frozen=True)
class LayerExercise:
    """A layer the student writes, its library twin and its test input."""

    build: Callable[[ModuleType], Layer]  # the student's layer
    library: Callable[[], Layer]  # the same layer from minialexnet.layers, float64
    make_input: Callable[[np.random.Generator], np.ndarray]
    title: str  # how hints name it: "ReLU"
    loss: bool = False  # forward(logits, labels) -> float, backward() without dout
    forwards: tuple[str, ...] = ()  # module functions that are the forward pass
    label: Callable[[str], str] = lambda key: "dx" if key == "dx" else f'self.grads["{key}"]'
    factor_hint: Callable[[str, float, dict[str, int]], str | None] = lambda key, c, sizes: None
    extra: Callable[[ModuleType, _Watch], None] | None = None  # further checks (ties, defaults)
    forward_hint: Callable[[np.ndarray, np.ndarray, Layer], str | None] | None = None  # a diagnosis of a wrong forward


def _grade_layer(exercise: LayerExercise, module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    watch = _Watch(module, exercise.forwards)
    student = _build(f"{exercise.title}(...)", lambda: exercise.build(module))
    library = exercise.library()
    student_params = getattr(student, "params", None)
    if not isinstance(student_params, dict) or sorted(student_params) != sorted(library.params):
        raise _Reject(f"self.params has {sorted(student_params or {})}, expected {sorted(library.params)}: keep the skeleton's names")
    for key, value in library.params.items():
        _as_array(f'self.params["{key}"]', np.asarray(student_params[key], dtype=np.float64), value.shape)
        library.params[key] = rng.standard_normal(value.shape)
        student.params[key] = library.params[key].copy()
    x = exercise.make_input(rng)
    labels = rng.integers(0, x.shape[1], size=x.shape[0]) if exercise.loss else None

    def library_forward(_: Any = None) -> Any:
        return np.asarray(library.forward(x, labels)) if exercise.loss else library.forward(x, train=True)

    def student_forward(given: np.ndarray) -> Any:
        if exercise.loss:
            return watch.call(f"{exercise.title}.forward", student.forward, given, labels.copy())
        return watch.call(f"{exercise.title}.forward", student.forward, given, train=True)

    expected = library_forward()
    given = x.copy()
    out = student_forward(given)
    if not np.array_equal(given, x):
        raise _Reject(f"{exercise.title}.forward changed its input x in place: compute a new array")
    if exercise.loss:
        out = _loss_value(out, x.shape[0])
        error = abs(out - float(expected)) / max(abs(float(expected)), 1e-300)
    else:
        out = _as_array(f"{exercise.title}.forward's output", out, expected.shape)
        error = relative_error(out, expected)
    if error > FORWARD_TOLERANCE:
        raise _Reject(
            (exercise.forward_hint(out, x, library) if exercise.forward_hint else None)
            or f"{exercise.title}.forward differs from the library's {exercise.title} on the same input (relative error {error:.1e})"
        )
    dout = None if exercise.loss else rng.standard_normal(expected.shape)
    weight = 1.0 if exercise.loss else dout  # the numerical gradient of <forward, weight>
    numeric = {"dx": numerical_gradient(library_forward, x, weight)}
    numeric.update({key: numerical_gradient(library_forward, value, weight) for key, value in library.params.items()})

    def student_backward(upstream: np.ndarray | None) -> dict[str, Any]:
        student_forward(x.copy())
        if upstream is None:
            dx = watch.call(f"{exercise.title}.backward", student.backward, in_backward=True)
        else:
            given = upstream.copy()
            dx = watch.call(f"{exercise.title}.backward", student.backward, given, in_backward=True)
            if not np.array_equal(given, upstream):
                zeroed = not np.any(given)
                raise _Reject(
                    f"{exercise.title}.backward {'zeroed' if zeroed else 'changed'} dout in place: "
                    "dout belongs to the caller (it was given a copy), compute a new array"
                )
        grads = getattr(student, "grads", None)
        if not isinstance(grads, dict):
            raise _Reject(f"self.grads is a {type(grads).__name__}: a dict with the parameters' names")
        return {"dx": dx, **{key: copy.copy(value) for key, value in grads.items()}}

    got = student_backward(dout)
    missing = [key for key in library.params if key not in got]
    others = sorted(set(got) - {"dx"} - set(library.params))
    if others and (missing or not all(np.any(np.asarray(got[key], dtype=np.float64)) for key in library.params)):
        raise _Reject(f"self.grads has {others}: store each gradient under its parameter's name, {sorted(library.params)}")
    if missing:
        raise _Reject(f"{exercise.label(missing[0])} was never written: backward must store it")
    sizes = {"N": x.shape[0], "positions": int(np.prod(expected.shape)) // (expected.shape[1] if expected.ndim > 1 else 1)}
    worst = 0.0
    for key, reference in numeric.items():
        what = exercise.label(key)
        value = _as_array(what, got[key] if key != "dx" or got[key] is None else np.asarray(got[key]), reference.shape)
        error = relative_error(value, reference)
        worst = max(worst, error)
        if error < DEFAULT_THRESHOLD:
            continue
        if not np.any(value):
            raise _Reject(f"{what} is all zeros: never written" if key != "dx" else f"{what} is all zeros: compute it from dout")
        c = _factor(value, reference)
        if dout is not None:
            again = _as_array(what, student_backward(2 * dout)[key], reference.shape)
            if np.allclose(again, value, rtol=1e-12, atol=0):
                raise _Reject(f"{what} does not change when dout does: multiply by the upstream gradient dout (the chain rule)")
        if c is not None:
            raise _Reject(_factor_hint(exercise, what, key, c, sizes))
        if value.ndim == 2 and value.shape[0] == value.shape[1] and relative_error(value.T, reference) < DEFAULT_THRESHOLD:
            raise _Reject(f"{what} is transposed")
        raise _Reject(f"{what} differs from the numerical gradient (relative error {error:.1e}): check its formula")
    second = student_backward(dout)
    for key in numeric:
        if key == "dx":
            continue
        value = np.asarray(second[key], dtype=np.float64)
        if value.shape == got[key].shape and relative_error(value, got[key]) > DEFAULT_THRESHOLD:
            twice = relative_error(value, 2 * got[key]) < 1e-9
            raise _Reject(
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
        raise _Reject("forward returned the per-example losses (shape (N,)): return their mean, a float")
    if isinstance(value, (list, tuple)):
        raise _Reject(f"forward returned a {type(value).__name__}: return the mean loss, a float")
    try:
        loss = float(value)
    except (TypeError, ValueError):
        raise _Reject(f"forward returned {type(value).__name__} {np.shape(value)}: return the mean loss, a float") from None
    if not np.isfinite(loss):
        raise _Reject(f"forward returned {loss} (an overflow? subtract each row's maximum before exp)")
    return loss


def _factor_hint(exercise: LayerExercise, what: str, key: str, c: float, sizes: dict[str, int]) -> str:
    N = sizes["N"]
    special = exercise.factor_hint(key, c, sizes)
    if special:
        return f"{what}: {special}"
    if _near(c, -1):
        return f"{what} has the wrong sign"
    if exercise.loss and _near(c, N):
        return f"{what} is N = {N} times too large: the loss is the mean over the batch, divide by N"
    if exercise.loss and _near(c, 1 / N):
        return f"{what} is N = {N} times too small: divide by N once, not twice"
    if _near(c, 1 / N):
        return f"{what} is N = {N} times too small: a layer's gradients sum over the batch (dout already holds the loss's 1/N), do not divide by N"
    return f"{what} is off by a constant factor of {c:.4g}"


def _conv_factor_hint(key: str, c: float, sizes: dict[str, int]) -> str | None:
    if key == "b" and _near(c, 1 / sizes["positions"]):
        return f"you averaged over N * OH * OW = {sizes['positions']} positions: db sums dout over them"
    if key == "b" and _near(c, sizes["N"] / sizes["positions"]):
        return f"you averaged over OH * OW = {sizes['positions'] // sizes['N']} positions: db sums dout over them"
    return None


def _maxpool_ties(module: ModuleType, watch: _Watch) -> None:
    """Windows with tied maxima: one winner each, the first in row-major order, the total conserved."""
    rng = np.random.default_rng(7)
    x = np.concatenate([np.full((1, 1, 7, 7), 0.5), rng.integers(0, 3, size=(1, 1, 7, 7)).astype(np.float64)], axis=1)
    student = _build("MaxPool2d(3, 2)", lambda: module.MaxPool2d(3, 2))
    out = _as_array("MaxPool2d.forward's output (tied input)", watch.call("MaxPool2d.forward", student.forward, x.copy()), (1, 2, 3, 3))
    if relative_error(out, MaxPool2d(3, 2).forward(x)) > FORWARD_TOLERANCE:
        raise _Reject("MaxPool2d.forward differs from the library's on an input with ties")
    dout = rng.standard_normal(out.shape) + 2.0  # positive, so sums cannot cancel
    dx = _as_array("dx (tied input)", watch.call("MaxPool2d.backward", student.backward, dout.copy(), in_backward=True), x.shape)
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
        raise _Reject(
            f"with tied maxima the gradient went to every tied maximum (sum of dx {total:.4g}, of dout {wanted:.4g}): "
            "send each window's gradient to one maximum only, the first in row-major order"
        )
    if abs(total - wanted) > 1e-9 * abs(wanted):
        raise _Reject(
            f"the total gradient is not conserved on ties (sum of dx {total:.4g}, of dout {wanted:.4g}): each window gives all its gradient to one maximum"
        )
    if np.count_nonzero(dx) > np.count_nonzero(expected):
        raise _Reject("with tied maxima the gradient was split among them: it goes to one maximum only, the first in row-major order")
    raise _Reject(
        "with tied maxima the gradient went to another maximum: the first in row-major order (smallest row, then column) gets it, as in PyTorch"
    )


def _lrn_alpha_hint(out: np.ndarray, x: np.ndarray, library: Layer) -> str | None:
    """The usual LRN mistake: PyTorch's alpha / size."""
    divided = LocalResponseNorm(library.size, alpha=library.alpha / library.size, beta=library.beta, k=library.k).forward(x)
    if relative_error(out, divided) < FORWARD_TOLERANCE:
        return "you divided alpha by size (PyTorch's and Caffe's convention): the paper's alpha is used as it is"
    return None


def _lrn_defaults(module: ModuleType, watch: _Watch) -> None:
    """LocalResponseNorm() is the paper's: size 5, alpha 1e-4, beta 0.75, k 2."""
    x = np.random.default_rng(3).standard_normal((2, 7, 3, 3)) * 30
    student = _build("LocalResponseNorm()", lambda: module.LocalResponseNorm())
    out = _as_array("LocalResponseNorm().forward's output", watch.call("LocalResponseNorm.forward", student.forward, x.copy()), x.shape)
    library = LocalResponseNorm()
    if relative_error(out, library.forward(x)) > FORWARD_TOLERANCE:
        raise _Reject(
            _lrn_alpha_hint(out, x, library)
            or "LocalResponseNorm() differs from the paper's: the defaults are size 5, alpha 1e-4, beta 0.75, k 2"
        )


def _softmax_overflow(module: ModuleType, watch: _Watch) -> None:
    """Logits of a few thousand: exp overflows unless each row's maximum is subtracted."""
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((4, 5)) * 3000, rng.integers(0, 5, size=4)
    student = _build("SoftmaxCrossEntropy()", lambda: module.SoftmaxCrossEntropy())
    loss = watch.call("SoftmaxCrossEntropy.forward", student.forward, logits.copy(), labels.copy())
    library = SoftmaxCrossEntropy()
    expected = library.forward(logits, labels)
    try:
        value = float(loss)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or abs(value - expected) > 1e-9 * abs(expected):
        raise _Reject(f"for logits of about 3000 forward gives {value} instead of {expected:.6g}: subtract each row's maximum before exp")
    dlogits = watch.call("SoftmaxCrossEntropy.backward", student.backward, in_backward=True)
    _as_array("dlogits for logits of about 3000", dlogits, logits.shape)


def _naive_conv(module: ModuleType) -> Layer:
    """The student's two conv functions as a layer, so they are graded like one."""
    for name in ("conv_forward_naive", "conv_backward_naive"):
        _attribute(module, name)

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
                raise _Reject(f"conv_backward_naive returned {type(result).__name__}: return the tuple (dx, dW, db)")
            dx, self.grads["W"], self.grads["b"] = result
            return dx

    return NaiveConv()


LAYERS: dict[str, LayerExercise] = {
    "relu": LayerExercise(lambda m: _attribute(m, "ReLU")(), ReLU, lambda rng: kink_free_input((BATCH, 2, 3, 4), rng), "ReLU"),
    "linear": LayerExercise(
        lambda m: _attribute(m, "Linear")(5, 4),
        lambda: Linear(5, 4, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 5)),
        "Linear",
    ),
    "softmax_cross_entropy": LayerExercise(
        lambda m: _attribute(m, "SoftmaxCrossEntropy")(),
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
        "conv_naive",
        forwards=("conv_forward_naive",),
        label=lambda key: f"d{key}",
        factor_hint=_conv_factor_hint,
    ),
    "conv": LayerExercise(
        lambda m: _attribute(m, "Conv2d")(3, 4, 3, stride=2, padding=1),
        lambda: Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64),
        lambda rng: rng.standard_normal((BATCH, 3, 7, 7)),
        "Conv2d",
        factor_hint=_conv_factor_hint,
    ),
    "maxpool": LayerExercise(
        lambda m: _attribute(m, "MaxPool2d")(3, 2),
        lambda: MaxPool2d(3, 2),
        lambda rng: kink_free_input((BATCH, 2, 7, 7), rng),
        "MaxPool2d",
        extra=_maxpool_ties,
    ),
    "lrn": LayerExercise(
        lambda m: _attribute(m, "LocalResponseNorm")(size=5, alpha=0.5, beta=0.75, k=2.0),  # a large alpha, so the neighbours count
        lambda: LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0),
        lambda rng: rng.standard_normal((BATCH, 7, 3, 3)),
        "LocalResponseNorm",
        extra=_lrn_defaults,
        forward_hint=_lrn_alpha_hint,
    ),
}


# ---------------------------------------------------------------- im2col and col2im


def _grade_im2col(module: ModuleType, seed: int) -> float:
    """im2col against the library's (same row and column order), col2im against the library's adjoint."""
    rng = np.random.default_rng(seed)
    watch = _Watch(module)
    gather, scatter = _attribute(module, "im2col"), _attribute(module, "col2im")
    worst = 0.0
    for shape, KH, KW, S, P in (((2, 3, 5, 6), 3, 2, 1, 1), ((2, 2, 7, 7), 3, 3, 2, 0), ((1, 2, 6, 6), 2, 2, 2, 0)):
        N, C, H, W = shape
        x = rng.standard_normal(shape)
        expected = im2col(x, KH, KW, S, S, P, P)
        setting = f"(KH={KH}, KW={KW}, stride={S}, padding={P})"
        given = x.copy()
        col = watch.call("im2col", gather, given, KH, KW, S, P)
        if not np.array_equal(given, x):
            raise _Reject("im2col changed x in place: compute a new array")
        col = _as_array(f"im2col's col {setting}", col, expected.shape)
        error = relative_error(col, expected)
        if error > FORWARD_TOLERANCE:
            OH, OW = (H + 2 * P - KH) // S + 1, (W + 2 * P - KW) // S + 1
            by_batch_last = expected.reshape(-1, N, OH, OW).transpose(0, 2, 3, 1).reshape(expected.shape)
            by_ijc = expected.reshape(C, KH, KW, -1).transpose(1, 2, 0, 3).reshape(expected.shape)
            if relative_error(col, by_batch_last) < FORWARD_TOLERANCE:
                raise _Reject("im2col's columns are in (oh, ow, n) order: number them (n, oh, ow)")
            if relative_error(col, by_ijc) < FORWARD_TOLERANCE:
                raise _Reject("im2col's rows are in (i, j, c) order: number them (c, i, j), the order of W.reshape(F, -1)")
            raise _Reject(f"im2col differs from the library's im2col {setting} (relative error {error:.1e})")
        y = rng.standard_normal(expected.shape)
        given = y.copy()
        dx = watch.call("col2im", scatter, given, shape, KH, KW, S, P)
        if not np.array_equal(given, y):
            raise _Reject("col2im changed col in place: compute a new array")
        if isinstance(dx, np.ndarray) and dx.shape == (N, C, H + 2 * P, W + 2 * P) and P:
            raise _Reject("col2im returned the padded shape: drop the padding at the end")
        dx = _as_array(f"col2im's result {setting}", dx, shape)
        reference = col2im(y, shape, KH, KW, S, S, P, P)
        error = relative_error(dx, reference)
        if error > FORWARD_TOLERANCE:
            overlapping = S < max(KH, KW)
            raise _Reject(
                "col2im is not the adjoint of im2col: a pixel covered by several windows must receive the SUM of their entries (+=, not =)"
                if overlapping
                else f"col2im differs from the adjoint of im2col {setting} (relative error {error:.1e})"
            )
        worst = max(worst, error, relative_error(float(np.sum(col * y)), float(np.sum(x * dx))))
    return worst


# ---------------------------------------------------------------- dropout: statistics and the mask


def _grade_dropout(module: ModuleType, seed: int) -> float:
    p = 0.3  # not 0.5, so that keep and drop probabilities differ
    watch = _Watch(module)
    layer = _build("Dropout(p=0.3, seed=0)", lambda: _attribute(module, "Dropout")(p=p, seed=seed))
    x = kink_free_input((100, 100), np.random.default_rng(seed))  # no zeros: out / x is the mask
    given = x.copy()
    out = _as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, given, train=True), x.shape)
    if not np.array_equal(given, x):
        raise _Reject("Dropout.forward changed x in place: compute a new array")
    mask = out / x
    kept = mask != 0
    dropped = 1.0 - float(kept.mean())
    scales = np.unique(np.round(mask[kept], 9))
    sigma = np.sqrt(p * (1 - p) / x.size)
    if abs(dropped - p) > 6 * sigma:
        if abs(dropped - (1 - p)) < 6 * sigma:
            raise _Reject(f"you dropped {dropped:.0%} of the units for p = {p}: p is the probability of DROPPING a unit")
        raise _Reject(f"you dropped {dropped:.1%} of the units, expected p = {p:.0%}")
    if scales.size != 1:
        raise _Reject("Dropout.forward must multiply each unit by 0 or by one constant, 1 / (1 - p)")
    if _near(scales[0], 1.0):
        raise _Reject(f"the kept units are not scaled: inverted dropout multiplies them by 1 / (1 - p) = {1 / (1 - p):.4g}")
    if not _near(scales[0], 1 / (1 - p)):
        raise _Reject(f"the kept units are scaled by {scales[0]:.4g}, expected 1 / (1 - p) = {1 / (1 - p):.4g}")
    again = _as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, x.copy(), train=True), x.shape)
    if np.array_equal(again != 0, kept):
        raise _Reject("the same units were dropped on two calls: draw a new mask in every forward")
    mask = again / x
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    given = dout.copy()
    dx = watch.call("Dropout.backward", layer.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise _Reject("Dropout.backward changed dout in place: dout belongs to the caller, compute a new array")
    dx = _as_array("Dropout.backward's dx", dx, x.shape)
    error = relative_error(dx, dout * mask)
    if error > DEFAULT_THRESHOLD:
        if relative_error(dx, dout) < DEFAULT_THRESHOLD:
            raise _Reject("Dropout.backward ignores the mask: dx = dout * mask, the same mask as forward's")
        if relative_error(dx, dout * (mask != 0)) < DEFAULT_THRESHOLD:
            raise _Reject("Dropout.backward drops the right units but does not scale by 1 / (1 - p)")
        raise _Reject(f"Dropout.backward differs from dout * mask of the last forward (relative error {error:.1e})")
    test = watch.call("Dropout.forward", layer.forward, x.copy(), train=False)
    test = _as_array("Dropout.forward's output with train=False", test, x.shape)
    if not np.allclose(test, x, rtol=0, atol=0):
        scaled = np.allclose(test, x * (1 - p))
        raise _Reject("with train=False dropout is the identity" + (" (inverted dropout does not scale at test time)" if scaled else ""))
    test_dx = _as_array(
        "Dropout.backward's dx after train=False", watch.call("Dropout.backward", layer.backward, dout.copy(), in_backward=True), x.shape
    )
    if not np.array_equal(test_dx, dout):
        raise _Reject("after a forward with train=False, backward is the identity: return dout (a copy) unchanged")
    first = _build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    second = _build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    one = watch.call("Dropout.forward", first.forward, x.copy(), train=True)
    two = watch.call("Dropout.forward", second.forward, x.copy(), train=True)
    if not np.array_equal(one, two):
        raise _Reject("two Dropout(seed=3) dropped different units: draw the mask with self.rng")
    return error


# ---------------------------------------------------------------- sequential: the chain rule, with probe layers


class _Probe(Layer):
    """A grader's layer that logs its calls: "scale" (x * w), "tanh", or "shift" (x + b)."""

    def __init__(self, kind: str, size: int, log: list[tuple[str, str, Any]], rng: np.random.Generator) -> None:
        super().__init__()
        self.kind, self.log = kind, log
        self.params = {"scale": {"w": rng.standard_normal(size)}, "tanh": {}, "shift": {"b": rng.standard_normal(size)}}[kind]
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x: Any, train: bool = True) -> Any:
        self.log.append(("forward", self.kind, train))
        self.cache = x
        if self.kind == "scale":
            return x * self.params["w"]
        return np.tanh(x) if self.kind == "tanh" else x + self.params["b"]

    def backward(self, dout: Any) -> Any:
        self.log.append(("backward", self.kind, np.array(dout, copy=True)))
        x = self.cache
        if self.kind == "scale":
            self.grads["w"] = (dout * x).sum(axis=0)
            return dout * self.params["w"]
        if self.kind == "tanh":
            return dout * (1 - np.tanh(x) ** 2)
        self.grads["b"] = dout.sum(axis=0)
        return dout.copy()


def _grade_sequential(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    log: list[tuple[str, str, Any]] = []
    kinds = ("scale", "tanh", "shift")
    probes = [_Probe(kind, 4, log, rng) for kind in kinds]
    model = _build("Sequential(...)", lambda: _attribute(module, "Sequential")(*zip(kinds, probes, strict=True)))
    watch = _Watch(module)
    x = rng.standard_normal((BATCH, 4))
    w, b = probes[0].params["w"], probes[2].params["b"]
    expected = np.tanh(x * w) + b
    for train in (True, False):
        log.clear()
        out = watch.call("Sequential.forward", model.forward, x.copy(), train=train)
        order = [kind for call, kind, _ in log if call == "forward"]
        if order != list(kinds):
            raise _Reject(f"forward called the layers {order}: go through the list once, first to last ({list(kinds)})")
        if any(flag is not train for _, _, flag in log):
            raise _Reject(f"forward(x, train={train}) must pass train={train} on to every layer (dropout depends on it)")
        out = _as_array("Sequential.forward's output", out, expected.shape)
        if relative_error(out, expected) > FORWARD_TOLERANCE:
            raise _Reject("Sequential.forward does not return the last layer's output")
    watch.call("Sequential.forward", model.forward, x.copy(), train=True)
    log.clear()
    dout = rng.standard_normal(expected.shape)
    given = dout.copy()
    dx = watch.call("Sequential.backward", model.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise _Reject("Sequential.backward changed dout in place: dout belongs to the caller")
    if any(call == "forward" for call, _, _ in log):
        raise _Reject("Sequential.backward called a layer's forward: backward only goes back, through each layer's backward")
    order = [kind for _, kind, _ in log]
    if order != list(reversed(kinds)):
        raise _Reject(f"backward called the layers {order}: each once, in reverse order ({list(reversed(kinds))})")
    upstream = {kind: received for _, kind, received in log}
    dtanh = dout * (1 - np.tanh(x * w) ** 2)
    for kind, wanted in (("tanh", dout), ("scale", dtanh)):
        if relative_error(upstream[kind], wanted) > FORWARD_TOLERANCE:
            after = kinds[kinds.index(kind) + 1]
            raise _Reject(f"layer {kind!r} got the wrong dout: pass each layer the gradient returned by the layer after it ({after!r})")
    dx = _as_array("Sequential.backward's dx", dx, x.shape)
    numeric = numerical_gradient(lambda _: np.tanh(x * w) + b, x, dout)
    error = relative_error(dx, numeric)
    if error > DEFAULT_THRESHOLD:
        raise _Reject(f"Sequential.backward must return the first layer's dx (relative error {error:.1e})")
    grads = getattr(model, "grads", {})
    if sorted(grads) != ["scale.w", "shift.b"]:
        raise _Reject(f'Sequential.grads has {sorted(grads)}: expected "<layer>.<key>" names ["scale.w", "shift.b"]')
    return max(error, relative_error(grads["shift.b"], dout.sum(axis=0)))


# ---------------------------------------------------------------- SGD: three steps against the formula


def _sgd_trajectory(params: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]], lr: float, m: float, wd: float, rule: str) -> list:
    """Parameters after each step under ``rule`` ("paper" or a typical mistake)."""
    w = {key: value.copy() for key, value in params.items()}
    v = {key: np.zeros_like(value) for key, value in params.items()}
    after = []
    for g in grads:
        for key in w:
            if rule == "fresh velocity":
                v[key] = np.zeros_like(w[key])
            decay = {"no weight decay": 0.0, "decay without lr": wd * w[key]}.get(rule, wd * lr * w[key])
            v[key] = m * v[key] - decay - lr * g[key]
            w[key] = w[key] - v[key] if rule == "minus velocity" else w[key] + v[key]
        after.append({key: value.copy() for key, value in w.items()})
    return after


SGD_MISTAKES = {
    "no weight decay": "the weight decay term is missing: v <- m v - wd lr w - lr g",
    "decay without lr": "the weight decay term must be multiplied by lr as well: - wd * lr * w",
    "fresh velocity": "the velocity must persist between steps: keep one per parameter name in self.velocity",
    "minus velocity": "w <- w + v (v already holds the minus sign)",
}


def _grade_sgd(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    lr, m, wd = 0.1, 0.8, 0.05  # distinct values, so that a mix-up shows
    optimizer = _build("SGD(lr, momentum, weight_decay)", lambda: _attribute(module, "SGD")(lr=lr, momentum=m, weight_decay=wd))
    watch = _Watch(module)
    start = {"fc.W": rng.standard_normal((3, 4)), "fc.b": rng.standard_normal(3)}
    grads = [{key: rng.standard_normal(value.shape) for key, value in start.items()} for _ in range(3)]
    params = {key: value.copy() for key, value in start.items()}
    arrays = dict(params)
    got = []
    for step, g in enumerate(grads, 1):
        given = {key: value.copy() for key, value in g.items()}
        watch.call("SGD.step", optimizer.step, params, given)
        if any(not np.array_equal(given[key], g[key]) for key in g):
            raise _Reject("SGD.step changed the gradients: only read them")
        for key, array in arrays.items():
            if params.get(key) is not array:
                raise _Reject(f"SGD.step replaced params[{key!r}] by a new array: update it in place (w += v) so the model sees it")
        got.append({key: _as_array(f"params[{key!r}] after step {step}", value, start[key].shape).copy() for key, value in params.items()})
    expected = _sgd_trajectory(start, grads, lr, m, wd, "paper")
    errors = [relative_error(got[s][key], expected[s][key]) for s in range(3) for key in start]
    if max(errors) < DEFAULT_THRESHOLD:
        return max(errors)
    for rule, hint in SGD_MISTAKES.items():
        variant = _sgd_trajectory(start, grads, lr, m, wd, rule)
        if all(relative_error(got[s][key], variant[s][key]) < 1e-9 for s in range(3) for key in start):
            raise _Reject(hint)
    first_wrong = next(s for s in range(3) if any(relative_error(got[s][key], expected[s][key]) >= DEFAULT_THRESHOLD for key in start))
    raise _Reject(f"step {first_wrong + 1} differs from v <- m v - wd lr w - lr g; w <- w + v (relative error {max(errors):.1e})")


# ---------------------------------------------------------------- the training loop, on a small problem


class _WatchedModel(Sequential):
    """A small classifier that logs the batches it is given and the calls made on it."""

    def __init__(self, log: list[tuple[Any, ...]], rng: np.random.Generator) -> None:
        super().__init__(
            ("flatten", Flatten()),
            ("fc1", Linear(4, 16, rng=rng, dtype=np.float64)),
            ("relu", ReLU()),
            ("drop", Dropout(0.2, seed=0)),
            ("fc2", Linear(16, 3, rng=rng, dtype=np.float64)),
        )
        self.log = log

    def forward(self, x: Any, train: bool | None = None) -> Any:
        self.log.append(("forward", np.array(x, copy=True), self.training if train is None else train))
        return super().forward(x, train)

    def backward(self, dout: Any) -> Any:
        self.log.append(("backward",))
        return super().backward(dout)


class _WatchedLoss(SoftmaxCrossEntropy):
    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.log = log

    def forward(self, logits: Any, labels: Any) -> float:  # type: ignore[override]
        loss = super().forward(logits, labels)
        self.log.append(("loss", np.array(labels, copy=True), loss))
        return loss


class _WatchedSGD(SGD):
    def __init__(self, log: list[tuple[Any, ...]], model: Sequential) -> None:
        super().__init__(lr=0.1, momentum=0.9, weight_decay=5e-4)
        self.log, self.model = log, model

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        self.log.append(("step", sorted(params) == sorted(self.model.params) and sorted(grads) == sorted(self.model.params)))
        super().step(params, grads)


def _problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """60 images of 1 x 2 x 2 pixels in 3 well separated classes, each image distinct."""
    rng = np.random.default_rng(seed)
    labels = np.arange(60) % 3
    centres = rng.standard_normal((3, 1, 2, 2)) * 3
    return centres[labels] + 0.5 * rng.standard_normal((60, 1, 2, 2)), labels


def _which_images(batches: list[np.ndarray], images: np.ndarray) -> list[int]:
    index = {image.tobytes(): n for n, image in enumerate(images)}
    return [index.get(np.ascontiguousarray(image, dtype=np.float64).tobytes(), -1) for batch in batches for image in batch]


def _grade_train_loop(module: ModuleType, seed: int) -> float:
    train_epoch, evaluate = _attribute(module, "train_epoch"), _attribute(module, "evaluate")
    images, labels = _problem(seed)
    log: list[tuple[Any, ...]] = []
    model = _WatchedModel(log, np.random.default_rng(seed))
    loss_layer, optimizer = _WatchedLoss(log), None
    optimizer = _WatchedSGD(log, model)
    watch = _Watch(module, library=("minialexnet.train", "minialexnet.evaluate"))  # the model and optimizer are the library's
    orders, losses = [], []
    for epoch in range(12):
        log.clear()
        value = watch.call(
            "train_epoch", train_epoch, model, loss_layer, optimizer, images.copy(), labels.copy(), 16, np.random.default_rng(epoch)
        )
        forwards = [entry for entry in log if entry[0] == "forward"]
        batches = len(forwards)
        used = _which_images([entry[1] for entry in forwards], images)
        if epoch == 0:
            if -1 in used:
                raise _Reject("train_epoch gave the model images that are not in the training set (changed or reshaped?)")
            missing = sorted(set(range(len(images))) - set(used))
            if missing:
                raise _Reject(
                    f"{len(missing)} of {len(images)} images were never used in the epoch (the last, smaller batch?): every image once"
                )
            if len(used) != len(images):
                raise _Reject(f"the epoch used {len(used)} images for {len(images)}: every image exactly once")
            if any(len(entry[1]) > 16 for entry in forwards):
                raise _Reject("a batch held more than batch_size images")
            if not all(entry[2] for entry in forwards):
                raise _Reject("train_epoch must call model.forward(x, train=True): dropout is on in training")
            calls = [entry[0] for entry in log]
            steps = calls.count("step")
            if steps != batches:
                raise _Reject(f"optimizer.step was called {steps} times for {batches} batches: once per batch")
            if calls.count("backward") != batches or calls.count("loss") != batches:
                raise _Reject(
                    f"{batches} batches but {calls.count('loss')} losses and {calls.count('backward')} backward passes: one each per batch"
                )
            expected_order = ["forward", "loss", "backward", "step"] * batches
            if calls != expected_order:
                raise _Reject("each batch must run forward, loss, backward, step in this order")
            if not all(entry[1] for entry in log if entry[0] == "step"):
                raise _Reject("optimizer.step must get model.params and model.grads")
            batch_labels = np.concatenate([entry[1] for entry in log if entry[0] == "loss"])
            if not np.array_equal(batch_labels, labels[used]):
                raise _Reject("the labels given to the loss do not belong to the images: index both with the same permutation")
            if used == sorted(used):
                raise _Reject("the images came in their stored order: shuffle them each epoch with rng.permutation")
            batch_losses = [(len(entry[1]), entry[2]) for entry in log if entry[0] == "loss"]
            weighted = sum(n * loss for n, loss in batch_losses) / len(images)
            plain = sum(loss for _, loss in batch_losses) / len(batch_losses)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise _Reject(f"train_epoch returned {type(value).__name__}: return the mean loss, a float") from None
            if not (_near(value, weighted) or _near(value, plain)):
                raise _Reject(f"train_epoch returned {value:.6g}, but the epoch's mean loss was {weighted:.6g}")
        elif epoch == 1 and used == orders[0]:
            raise _Reject("every epoch used the same order: draw a new permutation each epoch from rng")
        orders.append(used)
        losses.append(float(value))
    if not losses[-1] < 0.5 * losses[0]:
        raise _Reject(f"the loss did not go down: {losses[0]:.3g} in the first epoch, {losses[-1]:.3g} in the twelfth")
    log.clear()
    accuracy = watch.call("evaluate", evaluate, model, images.copy(), labels.copy(), 25)
    forwards = [entry for entry in log if entry[0] == "forward"]
    if any(entry[0] in ("backward", "step") for entry in log):
        raise _Reject("evaluate must not call backward or the optimizer: it only measures")
    if not forwards or any(entry[2] for entry in forwards):
        raise _Reject("evaluate must call model.forward(x, train=False): dropout is off when measuring")
    if any(len(entry[1]) > 25 for entry in forwards):
        raise _Reject("evaluate gave the model more than batch_size images at once: work in batches")
    used = _which_images([entry[1] for entry in forwards], images)
    if sorted(used) != list(range(len(images))):
        raise _Reject("evaluate must look at every image exactly once")
    predictions = np.argmax(Sequential.forward(model, images, train=False), axis=1)
    expected = float(np.mean(predictions == labels))
    try:
        accuracy = float(accuracy)
    except (TypeError, ValueError):
        raise _Reject(f"evaluate returned {type(accuracy).__name__}: return the accuracy, a float in [0, 1]") from None
    if _near(accuracy, 100 * expected) and expected > 0:
        raise _Reject("evaluate returned a percentage: return the fraction in [0, 1]")
    if not _near(accuracy, expected):
        raise _Reject(f"evaluate returned {accuracy:.4g}, but the model classifies {expected:.4g} of the images correctly")
    return float("nan")  # nothing is compared to a tolerance


# ---------------------------------------------------------------- checking, and the command line


def _layer_grader(name: str) -> Callable[[ModuleType, int], float]:
    return lambda module, seed: _grade_layer(LAYERS[name], module, seed)


GRADERS: dict[str, Callable[[ModuleType, int], float]] = {
    "relu": _layer_grader("relu"),
    "linear": _layer_grader("linear"),
    "softmax_cross_entropy": _layer_grader("softmax_cross_entropy"),
    "conv_naive": _layer_grader("conv_naive"),
    "im2col": _grade_im2col,
    "conv": _layer_grader("conv"),
    "maxpool": _layer_grader("maxpool"),
    "lrn": _layer_grader("lrn"),
    "dropout": _grade_dropout,
    "sequential": _grade_sequential,
    "sgd": _grade_sgd,
    "train_loop": _grade_train_loop,
}
NAMES = tuple(GRADERS)
DEPENDS_ON = {"conv": "im2col"}  # conv.py uses the student's own im2col


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise _TimeUp after ``seconds`` (only in the main thread, where signals can be used)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _grade(name: str, folder: Path, seed: int, time_limit: float | None) -> Grade:
    if name not in GRADERS:
        return Grade(name, "fail", f"unknown exercise {name!r}; choose from {', '.join(NAMES)}")
    dependency = DEPENDS_ON.get(name)
    if dependency:
        before = _grade(dependency, folder, seed, time_limit)
        if before.status == "not written":
            return Grade(name, "not written", f"{name}.py uses your {dependency}.py: write that first")
        if not before.passed:
            return Grade(name, "fail", f"{name}.py uses your {dependency}.py, which fails its check: {before.hint}")
    _loaded.clear()
    try:
        with _time_limit(time_limit):
            try:
                module = load(name, folder)
            except FileNotFoundError as error:
                return Grade(name, "fail", str(error))
            except SyntaxError as error:
                return Grade(name, "fail", f"{Path(error.filename or name).name} line {error.lineno}: SyntaxError: {error.msg}")
            except NotImplementedError as error:
                return Grade(name, "not written", str(error))
            except Exception as error:
                return Grade(name, "fail", f"importing {name}.py raised {type(error).__name__}: {error}{_where(error)}")
            return Grade(name, "pass", error=GRADERS[name](module, seed))
    except _NotWritten as error:
        return Grade(name, "not written", str(error))
    except _Reject as error:
        return Grade(name, "fail", str(error))
    except _TimeUp:
        return Grade(name, "fail", f"the check took longer than {time_limit:g} s: an endless loop? (or a very slow one)")
    except _LibraryCall as error:
        return Grade(name, "fail", str(error))
    except Exception as error:  # the student's code failed somewhere the grader did not expect
        return Grade(name, "fail", f"{type(error).__name__}: {error}{_where(error)}")
    finally:
        _loaded.clear()


def check(
    name: str, directory: str | Path | None = None, *, seed: int = 0, time_limit: float | None = TIME_LIMIT, quiet: bool = False
) -> Grade:
    """Grade exercise ``name`` in ``directory`` (default ``exercise_dir()``), print one line, return the Grade. Never raises."""
    grade = _grade(name, Path(directory) if directory is not None else exercise_dir(), seed, time_limit)
    if not quiet:
        print(grade)
    return grade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minialexnet.exercises", description="Grade the course's exercises.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("check", help="grade exercises (all, or the ones named)")
    command.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(NAMES)}")
    command.add_argument("--dir", default=None, help=f"folder of the exercise files (default: ${ENVIRONMENT} or lessons/exercises)")
    command.add_argument("--solutions", action="store_true", help="grade the reference solutions in lessons/solutions")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in GRADERS]
    if unknown:
        print(f"error: unknown exercise {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    folder = solutions_dir() if args.solutions else Path(args.dir) if args.dir else exercise_dir()
    grades = [check(name, folder) for name in args.names or NAMES]
    counts = {status: sum(g.status == status for g in grades) for status in ("pass", "fail", "not written")}
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['not written']} not written yet ({folder})")
    return 0 if counts["pass"] == len(grades) else 1


if __name__ == "__main__":  # run the imported module, whose load() the exercise files share
    from minialexnet import exercises

    sys.exit(exercises.main())
