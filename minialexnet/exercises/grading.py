"""Grading one exercise: the course's lessons and their exercises, the grader of each, and ``check``.

``check(name)`` imports the student's file afresh (``files.load``), hands it to the exercise's
grader (a ``grade_*.py`` module) and turns what happens into a ``Grade``: a pass with the error
measured, a failure whose hint says what to fix, or "not written yet". It never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np

from minialexnet.exercises.files import exercise_dir, load, loaded, where
from minialexnet.exercises.grade_data import grade_augment, grade_neighbours
from minialexnet.exercises.grade_dropout import grade_dropout
from minialexnet.exercises.grade_gradcheck import grade_gradcheck
from minialexnet.exercises.grade_im2col import grade_im2col
from minialexnet.exercises.grade_kernel import grade_kernel
from minialexnet.exercises.grade_layers import grade_layer
from minialexnet.exercises.grade_loops import grade_data_parallel, grade_train_loop
from minialexnet.exercises.grade_optim import grade_schedule, grade_sgd
from minialexnet.exercises.grade_sequential import grade_sequential
from minialexnet.exercises.grade_softmax import grade_softmax
from minialexnet.exercises.harness import (
    LibraryCallError,
    NotWrittenError,
    StudentError,
    TimeUpError,
    TooSlowError,
    autodiff_import,
    deadline,
)
from minialexnet.exercises.layer_cases import LAYERS

TIME_LIMIT = 60.0  # seconds per exercise


@dataclass
class Grade:
    """The result of one check: ``status`` is "pass", "fail" or "not written"; ``hint`` says why (or, for a pass, how it ran on the GPU).

    ``lasting`` is False for a verdict that depends on the machine's load rather than on the
    files alone (a time limit ran out): ``status`` does not remember it.
    """

    name: str
    status: str
    hint: str = ""
    error: float = float("nan")
    printed: bool = field(default=False, repr=False, compare=False)
    lasting: bool = field(default=True, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        if self.passed:
            line = f"{self.name}: pass" + ("" if np.isnan(self.error) else f" (relative error {self.error:.1e})")
            return line + (f"; {self.hint}" if self.hint else "")
        if self.status == "not written":
            return f"{self.name}: not written yet" + (f" ({self.hint})" if self.hint else "")
        return f"{self.name}: FAIL - {self.hint}"

    def _ipython_display_(self) -> None:
        """A notebook cell ending in ``check(...)`` shows the line once: check has printed it."""
        if not self.printed:
            print(self)


@dataclass(frozen=True)
class Lesson:
    """A notebook of ``lessons/`` and the exercises it teaches (and checks first), in the order it teaches them."""

    number: int
    title: str
    notebook: str  # its file in lessons/
    exercises: tuple[str, ...]


LESSONS = (
    Lesson(1, "Arrays and backends", "01_arrays_and_backends.ipynb", ("softmax",)),
    Lesson(2, "Backpropagation, linear and softmax", "02_linear_and_softmax.ipynb", ("linear", "softmax_cross_entropy")),
    Lesson(3, "Gradient checking", "03_gradient_checking.ipynb", ("relu", "gradcheck")),
    Lesson(4, "Convolution by im2col", "04_convolution_im2col.ipynb", ("conv_naive", "im2col", "conv")),
    Lesson(5, "Max-pooling, LRN, dropout", "05_pool_lrn_dropout.ipynb", ("maxpool", "lrn", "dropout")),
    Lesson(6, "Building AlexNet", "06_building_alexnet.ipynb", ("sequential",)),
    Lesson(7, "Training your own network", "07_training_your_own_network.ipynb", ("sgd", "train_loop")),
    Lesson(8, "Training on Fashion-MNIST", "08_training_fashion_mnist.ipynb", ("schedule",)),
    Lesson(9, "Data augmentation", "09_data_augmentation.ipynb", ("augment",)),
    Lesson(10, "What the network learned", "10_what_the_network_learned.ipynb", ("neighbours",)),
    Lesson(11, "The GPU and speed", "11_gpu_and_speed.ipynb", ("kernel",)),
    Lesson(12, "Many GPUs", "12_many_gpus.ipynb", ("data_parallel",)),
)

GRADERS: dict[str, Callable[[ModuleType, int], float | tuple[float, str]]] = {  # the exercise -> its grader (float: the error)
    "softmax": grade_softmax,
    "relu": partial(grade_layer, LAYERS["relu"]),
    "linear": partial(grade_layer, LAYERS["linear"]),
    "softmax_cross_entropy": partial(grade_layer, LAYERS["softmax_cross_entropy"]),
    "gradcheck": grade_gradcheck,
    "conv_naive": partial(grade_layer, LAYERS["conv_naive"]),
    "im2col": grade_im2col,
    "conv": partial(grade_layer, LAYERS["conv"]),
    "maxpool": partial(grade_layer, LAYERS["maxpool"]),
    "lrn": partial(grade_layer, LAYERS["lrn"]),
    "dropout": grade_dropout,
    "sequential": grade_sequential,
    "sgd": grade_sgd,
    "train_loop": grade_train_loop,
    "schedule": grade_schedule,
    "augment": grade_augment,
    "neighbours": grade_neighbours,
    "kernel": grade_kernel,
    "data_parallel": grade_data_parallel,
}
NAMES = tuple(GRADERS)
DEPENDS_ON = {"conv": "im2col"}  # conv.py uses the student's own im2col


def _grade(name: str, folder: Path, seed: int, time_limit: float | None) -> Grade:
    if name not in GRADERS:
        return Grade(name, "fail", f"unknown exercise {name!r}; choose from {', '.join(NAMES)}")
    dependency = DEPENDS_ON.get(name)
    if dependency:
        before = _grade(dependency, folder, seed, time_limit)
        if before.status == "not written":
            return Grade(name, "not written", f"{name}.py uses your {dependency}.py: write that first")
        if not before.passed:
            return Grade(name, "fail", f"{name}.py uses your {dependency}.py, which fails its check: {before.hint}", lasting=before.lasting)
    loaded.clear()
    try:
        with deadline(time_limit):
            hint = f"{name}.py imports {{}}: its autograd would compute the gradients for you; write backward with array operations"
            borrowed = autodiff_import(folder / f"{name}.py")
            if borrowed:
                return Grade(name, "fail", hint.format(borrowed))
            try:
                module = load(name, folder)
            except FileNotFoundError as error:
                return Grade(name, "fail", str(error))
            except SyntaxError as error:
                return Grade(name, "fail", f"{Path(error.filename or name).name} line {error.lineno}: SyntaxError: {error.msg}")
            except NotImplementedError as error:
                return Grade(name, "not written", str(error))
            except (Exception, SystemExit) as error:
                return Grade(name, "fail", f"importing {name}.py raised {type(error).__name__}: {error}{where(error)}")
            borrowed = autodiff_import(folder / f"{name}.py", module)
            if borrowed:
                return Grade(name, "fail", hint.format(borrowed))
            result = GRADERS[name](module, seed)
            error, note = result if isinstance(result, tuple) else (result, "")
            return Grade(name, "pass", note, error=error)
    except NotWrittenError as error:
        return Grade(name, "not written", str(error))
    except TooSlowError as error:
        return Grade(name, "fail", str(error), lasting=False)
    except (StudentError, LibraryCallError) as error:
        return Grade(name, "fail", str(error))
    except TimeUpError:
        return Grade(name, "fail", f"the check took longer than {time_limit:g} s: an endless loop? (or a very slow one)", lasting=False)
    except (Exception, SystemExit) as error:  # the student's code failed somewhere the grader did not expect
        return Grade(name, "fail", f"{type(error).__name__}: {error}{where(error)}")
    finally:
        loaded.clear()


def check(
    name: str, directory: str | Path | None = None, *, seed: int = 0, time_limit: float | None = TIME_LIMIT, quiet: bool = False
) -> Grade:
    """Grade exercise ``name`` in ``directory`` (default ``exercise_dir()``), print one line, return the Grade. Never raises."""
    grade = _grade(name, Path(directory) if directory is not None else exercise_dir(), seed, time_limit)
    if not quiet:
        print(grade)
        grade.printed = True
    return grade
