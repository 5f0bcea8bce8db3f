"""Running the student's code: the library poisoned, forward calls counted, errors turned into hints."""

from __future__ import annotations

import ast
import inspect
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.files import loaded, solutions_dir, where
from minialexnet.gradcheck import relative_error
from minialexnet.layers import Layer

FORWARD_TOLERANCE = 1e-9  # float64 forward passes agree to rounding (about 1e-15)
BATCH = 3
LIBRARY_MODULES = (  # a name ending in "." stands for every loaded module below it
    "minialexnet.gradcheck",
    "minialexnet.layers.",
    "minialexnet.fast.",
    "minialexnet.cuda.",
    "minialexnet.models",
    "minialexnet.optim",
    "minialexnet.oracles",
)


class StudentError(Exception):
    """The student's code is wrong; the message is the hint."""


class TooSlowError(StudentError):
    """The student's code ran past a time limit: a verdict that depends on the machine's load, so ``status`` does not remember it."""


class NotWrittenError(Exception):
    """The student's code raises NotImplementedError: that part is not written yet."""


class LibraryCallError(BaseException):
    """Raised by the library's functions while the student's code runs (BaseException: ``except Exception`` cannot hide it)."""


class TimeUpError(BaseException):
    """The exercise ran past its time limit."""


class Watch:
    """Runs the student's code with the library poisoned, forward calls counted and warnings silenced."""

    def __init__(self, module: ModuleType, forwards: tuple[str, ...] = (), library: tuple[str, ...] = LIBRARY_MODULES) -> None:
        self.module = module
        # the modules whose functions and classes' methods raise while the student's code runs; the reference
        # solutions are exempt: they are thin wrappers around the library, graded against the grader's own oracles
        self.library = () if is_solution(module) else library
        self.forwards = forwards  # module-level functions that are forward passes (conv_forward_naive)
        self.library_calls: list[str] = []
        self.forward_calls = 0

    def _raiser(self, what: str) -> Callable[..., Any]:
        message = f"you called the library's {what}: write it yourself"

        def poisoned(*args: Any, **kwargs: Any) -> Any:
            self.library_calls.append(message)
            raise LibraryCallError(message)

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

        poisoned: dict[int, Callable[..., Any]] = {}  # id of a library function -> its poisoned stand-in
        names = [name for name in list(sys.modules) if any(name == m or (m.endswith(".") and name.startswith(m)) for m in self.library)]
        for module_name in names:
            for attribute, value in list(vars(sys.modules[module_name]).items()):
                if getattr(value, "__module__", None) != module_name:
                    continue
                if inspect.isfunction(value):
                    poisoned[id(value)] = self._raiser(f"{module_name}.{attribute}")
                elif isinstance(value, type) and value is not Layer:
                    for method, function in list(vars(value).items()):
                        if inspect.isfunction(function) and (not method.startswith("__") or method == "__call__"):
                            poisoned[id(function)] = self._raiser(f"{attribute}.{method}")
                            patch(value, method, poisoned[id(function)])
        students = {id(m): m for m in [self.module, *loaded.values()]}
        holders = [
            m for name, m in list(sys.modules.items()) if name.startswith("minialexnet") and not name.startswith("minialexnet.exercises")
        ]
        for module in [*holders, *students.values()]:  # every reference to a library function, re-exports included
            for attribute, value in list(vars(module).items()):
                if callable(value) and id(value) in poisoned:
                    patch(module, attribute, poisoned[id(value)])
        for module in students.values() if count_forwards else ():
            for attribute, value in list(vars(module).items()):
                if isinstance(value, type) and value.__module__ == module.__name__ and "forward" in vars(value):
                    patch(value, "forward", self._counter(vars(value)["forward"]))
                elif attribute in self.forwards and module is self.module:
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
        except LibraryCallError:
            result = None
        except StudentError:
            raise
        except NotImplementedError as error:
            raise NotWrittenError(str(error) or f"{what} raises NotImplementedError") from None
        except (Exception, SystemExit) as error:
            raise StudentError(f"{what} raised {type(error).__name__}: {error}{where(error)}") from None
        if self.library_calls:
            raise StudentError(f"{what}: {self.library_calls[0]}")
        if self.forward_calls:
            raise StudentError(
                f"{what} called forward {self.forward_calls} time(s): that is finite differences (or recomputing), "
                "not the backward pass; use what forward kept in self.cache"
            )
        return result


AUTODIFF = ("torch", "jax", "autograd", "tensorflow")


def autodiff_import(path: Path, module: ModuleType | None = None) -> str | None:
    """The automatic-differentiation library the student's file imports (anywhere in its source, or bound in its globals)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])  # load() reports these
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            if name.split(".")[0] in AUTODIFF:
                return name.split(".")[0]
    for value in vars(module).values() if module is not None else ():
        owner = getattr(value, "__name__", "") if isinstance(value, ModuleType) else getattr(value, "__module__", "")
        if isinstance(owner, str) and owner.split(".")[0] in AUTODIFF:
            return owner.split(".")[0]
    return None


def is_solution(module: ModuleType) -> bool:
    """Whether ``module`` is one of the reference solutions in ``lessons/solutions``."""
    return Path(module.__file__ or "").resolve().parent == solutions_dir().resolve()


def attribute(module: ModuleType, name: str) -> Any:
    value = getattr(module, name, None)
    if value is None:
        raise StudentError(f"{Path(module.__file__).name} has no {name}: keep the skeleton's names")
    return value


def build(what: str, factory: Callable[[], Any]) -> Any:
    """Construct the student's object (outside the poisoned library: constructors are given code)."""
    try:
        with np.errstate(all="ignore"):
            return factory()
    except StudentError:
        raise
    except NotImplementedError as error:
        raise NotWrittenError(str(error) or f"{what} raises NotImplementedError") from None
    except Exception as error:
        raise StudentError(f"{what} raised {type(error).__name__}: {error}{where(error)}") from None


def as_array(what: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or a hint naming what is wrong with it."""
    if value is None:
        raise StudentError(f"{what} is None: return (or store) the array")
    if isinstance(value, (list, tuple)):
        raise StudentError(f"{what} is a {type(value).__name__}: return a NumPy array (np.array(...) or array arithmetic)")
    if not isinstance(value, np.ndarray):
        raise StudentError(f"{what} is a {type(value).__name__}, not a NumPy array")
    if value.dtype != np.float64:
        raise StudentError(f"{what} has dtype {value.dtype} for float64 inputs: keep the input's dtype (no astype, no int arrays)")
    if value.shape != tuple(shape):
        transposed = value.shape == tuple(shape)[::-1]
        raise StudentError(f"{what} has shape {value.shape}, expected {tuple(shape)}" + (": transposed?" if transposed else ""))
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad:
        raise StudentError(f"{what} holds NaN or inf in {bad} of {value.size} entries (an overflow? a division by zero?)")
    return value


def factor(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The constant c with got = c * expected, if there is one."""
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None
    c = float(np.sum(got * expected)) / denominator
    return c if abs(c) > 1e-12 and relative_error(got, c * expected) < 1e-6 else None


def near(c: float, value: float) -> bool:
    return abs(c - value) < 1e-6 * max(1.0, abs(value))


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise TimeUpError after ``seconds`` (only in the main thread, where signals can be used)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeUpError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
