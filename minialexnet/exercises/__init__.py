"""Grade the course's exercises: the student's own layers, checker, optimizer, loops, augmentation, kernel.

``python -m minialexnet.exercises check [NAME ...] [--dir DIR] [--solutions]``, or in a
notebook ``exercises.check("relu")``. The student's code lives in ``lessons/exercises/<name>.py``
(``$MINIALEXNET_EXERCISES`` points elsewhere, e.g. at ``lessons/solutions/``, the reference
solutions: thin wrappers around the library, the one copy of each layer); ``load(name)``
imports it afresh, so an edit counts without restarting the kernel. ``check`` prints one line,
``relu: pass (relative error 3e-11); runs on NumPy and on the GPU (strict device)``,
``relu: not written yet`` or ``relu: FAIL - <hint>``, returns a ``Grade`` and never raises.

What is checked (float64, fixed seeds, several cases per exercise, the failing one named):
- layers: forward against plain float64 loops (``minialexnet/oracles.py``, independent of the
  library), on non-square inputs and kernels, odd sizes, strides 1-4, padding 0-2, batches
  1-4, groups 1 and 2 (Conv2d); backward against central differences of those loops, every tensor; smooth layers
  also against the complex-step derivative (exact to rounding: the reported error), ReLU on
  inputs within 1e-9 of its kink and exactly at it (the gradient there is 0: x > 0, lesson 11's
  rule too), max-pool on exact ties and on near-ties 1e-10 apart, LRN with an even size too;
  two instances run interleaved; each layer once more on the strict device (CuPy's API and
  rules without a GPU, ``minialexnet.strict_device``): the exercises are written against ``xp``;
- softmax (lesson 1), crops and flips (lesson 9) and nearest neighbours (lesson 10) on NumPy
  and on the strict device; the gradient checker (lesson 3) on a curved probe and on correct
  layers, both held to lesson 3's bound of 1e-7, on layers with planted bugs (one whose backward
  ignores dout) and a kink; SGD over a schedule whose lr drops by 10 twice; the training loop on
  a small problem whose last batch is smaller, its order repeated by the same rng; the plateau
  schedule (lesson 8) on a fixed error curve; the data-parallel step (lesson 12) against one
  process on uneven shares, on layers that reuse their gradient arrays (as the fast engine's
  do); a numba.cuda kernel (lesson 11) in the CUDA simulator, in a child process, also
  launched on a dx filled with NaN.

What it rejects, each with a hint naming the mistake (tests/test_exercises.py has one
deliberately wrong file per case):
- not written yet; a syntax or import error, ``sys.exit``, a missing class or function;
  an endless loop (a time limit, where the grader runs in the main thread); a file that
  imports torch, jax, autograd or tensorflow;
- code that fails on the strict device, told apart by cause, with file and line: NumPy called
  on a device array or a host array mixed into one ("runs on NumPy only": write ``xp``); a name
  CuPy has not got ("cannot run on CuPy: CuPy has no cupy.insert", with the ``xp`` alternative);
  something CuPy computes otherwise (an index out of bounds, a repeated index assigned, an
  undefined float-to-int cast); and a result that differs from NumPy's;
- a forward that returns a list, the wrong dtype or shape, NaN/inf, changes its input, or
  disagrees with the formula: a forward changed together with a matching backward fails here;
  shapes computed from the wrong axis (OW from H), KW taken equal to KH, OH = H // S; a conv
  kernel flipped; LRN's window centred for an even size;
- a backward that writes into ``dout``; that calls the library's layers, their functions,
  ``minialexnet.gradcheck`` or the oracles (while the student's code runs, every function and method of
  those modules, and every reference to one in a minialexnet module or the student's
  globals, is replaced by one that records the call and raises a BaseException, so even
  ``except BaseException`` does not hide it; the reference solutions are exempt); that calls
  forward (finite differences), or differentiates a private copy of the forward numerically
  (off the exact derivative by far more than rounding, or wrong next to a kink or a near-tie);
  state shared between instances (a module-level or class-level cache);
- gradients missing, stored under other names, never written (all zeros), accumulated
  across calls, divided by N, averaged over the N * OH * OW positions (conv db), of the wrong
  sign or shape (transposed?), ignoring ``dout``, or plainly wrong;
- max-pool ties given to every maximum, split among them, or to another one; ReLU's
  gradient at exactly 0; LRN's alpha divided by size; softmax without the row maximum;
  im2col's row or column order, col2im assigning instead of adding; dropout's p as the keep
  probability, without or with the wrong scale, one mask for every call or for the whole
  batch, not seeded by ``self.rng``, scaling at test time; Sequential's order, its dout
  hand-over and train flag; SGD's weight decay (on one parameter only, the biases say: named),
  velocity, in-place update and PyTorch's form (equal to the paper's only while lr is
  constant); the loop's dropped last batch, missing shuffle or one not drawn from ``rng``,
  labels out of step with their images, extra or missing steps, percentages, the unweighted
  mean of the batch losses; a checker with dout = ones or one-sided differences; gradients
  kept by reference across the data-parallel shares; a kernel that leaves zeros unwritten;
  and each new exercise's usual slips (see the tests).

What it cannot detect: an autodiff library reached without an import statement in the file
(importlib, a helper module); a library function reached through a reference kept outside
module globals (a default argument, a closure, a class attribute, a container) made before
the check; finite differences so fine that they agree with the exact derivative to 1e-11 on
smooth layers (no float64 step does); code that behaves differently on inputs other than the
checker's; a student who edits the grader; CuPy behaviour the strict device does not model
(see its docstring). It judges results, not style or speed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np

from minialexnet.exercises.course import (
    grade_augment,
    grade_data_parallel,
    grade_gradcheck,
    grade_kernel,
    grade_neighbours,
    grade_schedule,
    grade_softmax,
)
from minialexnet.exercises.files import ENVIRONMENT, exercise_dir, load, loaded, solutions_dir, where
from minialexnet.exercises.harness import LibraryCallError, NotWrittenError, StudentError, TimeUpError, autodiff_import, deadline
from minialexnet.exercises.layer_cases import LAYERS
from minialexnet.exercises.layers import grade_dropout, grade_im2col, grade_layer
from minialexnet.exercises.training import grade_sequential, grade_sgd, grade_train_loop

TIME_LIMIT = 60.0  # seconds per exercise
__all__ = ["ENVIRONMENT", "NAMES", "Grade", "check", "exercise_dir", "load", "main", "solutions_dir"]


@dataclass
class Grade:
    """The result of one check: ``status`` is "pass", "fail" or "not written"; ``hint`` says why (or, for a pass, how it ran on the GPU)."""

    name: str
    status: str
    hint: str = ""
    error: float = float("nan")
    printed: bool = field(default=False, repr=False, compare=False)

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


GRADERS: dict[str, Callable[[ModuleType, int], float | tuple[float, str]]] = {  # in the course's order
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
            return Grade(name, "fail", f"{name}.py uses your {dependency}.py, which fails its check: {before.hint}")
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
    except (StudentError, LibraryCallError) as error:
        return Grade(name, "fail", str(error))
    except TimeUpError:
        return Grade(name, "fail", f"the check took longer than {time_limit:g} s: an endless loop? (or a very slow one)")
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
