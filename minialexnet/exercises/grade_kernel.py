"""Lesson 11's kernel: ReLU's backward as a ``numba.cuda.jit`` kernel, run in numba's CUDA simulator.

The simulator is switched on for a whole process (``NUMBA_ENABLE_CUDASIM=1``), so the check
runs in a child process (the parent's numba, if any, stays untouched):
``grade_kernel`` starts it and reads its verdict, ``main`` is the child, which prints one JSON
line, {"status": "pass" | "fail" | "not written", "hint": ..., "error": ...}. The simulator
runs one Python thread per CUDA thread, so the arrays are small; their sizes are not
multiples of the block, so a kernel without its bounds check writes past the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from minialexnet.exercises.files import load
from minialexnet.exercises.harness import NotWrittenError, StudentError, TooSlowError

KERNEL_TIME_LIMIT = 120  # seconds for the simulator's child process
CHILD = "import sys; from minialexnet.exercises.grade_kernel import main; main(sys.argv[1:])"


def grade_kernel(module: ModuleType, seed: int) -> float:
    """The student's kernel, graded by ``main`` in a child process with the simulator on."""
    environment = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    command = [sys.executable, "-c", CHILD, str(module.__file__), str(seed)]
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=KERNEL_TIME_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        raise TooSlowError(f"the kernel ran longer than {KERNEL_TIME_LIMIT} s in the simulator: an endless loop?") from None
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise StudentError(f"the simulator's process failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    answer = json.loads(lines[-1])
    if answer["status"] == "not written":
        raise NotWrittenError(answer["hint"])
    if answer["status"] != "pass":
        raise StudentError(answer["hint"])
    return float(answer["error"])


def main(argv: list[str]) -> None:
    """The child: ``FILE SEED`` -> one JSON line on stdout."""
    print(json.dumps(grade_in_simulator(Path(argv[0]), int(argv[1]))))


def grade_in_simulator(path: Path, seed: int) -> dict[str, object]:
    """The verdict on the kernel in ``path``, run in numba's CUDA simulator (this process must have NUMBA_ENABLE_CUDASIM=1)."""
    try:
        module = load(path.stem, path.parent)
    except NotImplementedError as error:
        return {"status": "not written", "hint": str(error)}
    except (Exception, SystemExit) as error:
        return {"status": "fail", "hint": f"importing {path.name} raised {type(error).__name__}: {error}"}
    launch = getattr(module, "relu_backward", None)
    if launch is None:
        return {"status": "fail", "hint": f"{path.name} has no relu_backward: keep the skeleton's names"}
    rng = np.random.default_rng(seed)
    worst = 0.0
    for shape in ((3, 5, 7), (1, 130), (2, 3, 4, 5)):
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        x.reshape(-1)[::7] = 0.0  # ReLU's kink: the gradient there is 0 (x > 0 is False), as in the library
        given = dout.copy()
        try:
            dx = launch(x.copy(), given)
        except NotImplementedError as error:
            return {"status": "not written", "hint": str(error).split(": ", 1)[-1] or "write relu_backward_kernel"}
        except (Exception, SystemExit) as error:
            message = str(error).splitlines()[0] if str(error) else ""
            hint = f"the kernel raised {type(error).__name__}: {message}"
            if isinstance(error, IndexError):
                hint += " (threads past the end: start the kernel with `if i < x.size:`)"
            return {"status": "fail", "hint": hint}
        if not np.array_equal(given, dout):
            return {"status": "fail", "hint": "the kernel wrote into dout: write dx, its own output array"}
        dx = np.asarray(dx)
        if dx.shape != shape:
            return {"status": "fail", "hint": f"relu_backward returned shape {dx.shape} for {shape}"}
        expected = np.where(x > 0, dout, 0.0)
        wrong = dx != expected
        if np.any(wrong):
            hint = f"{int(wrong.sum())} of {dx.size} entries of dx differ from dout where x > 0, else 0 (shape {shape})"
            if np.all(x[wrong] == 0) and np.array_equal(dx[wrong], dout[wrong]):
                hint += ": at x == 0 exactly the gradient is 0 (use x > 0, not x >= 0)"
            elif np.all(x[wrong] <= 0):
                hint += f": where x <= 0 {UNWRITTEN}"
            return {"status": "fail", "hint": hint}
        worst = max(worst, float(np.abs(dx - expected).max()))
    return _every_entry_written(module, rng) or {"status": "pass", "hint": "", "error": worst}


UNWRITTEN = "the kernel must write 0 (else: dx[i] = 0.0): an array from np.empty_like holds whatever was in memory"


def _every_entry_written(module: object, rng: np.random.Generator) -> dict[str, object] | None:
    """The student's kernel launched on a dx filled with NaN: every entry must be written, zeros included."""
    kernel = getattr(module, "relu_backward_kernel", None)
    if kernel is None:
        return None
    x, dout = rng.standard_normal(70), rng.standard_normal(70)
    dx = np.full(70, np.nan)
    try:
        kernel[3, 32](x, dout, dx)
    except Exception:  # a kernel with another signature: relu_backward has been checked
        return None
    if np.isnan(dx).any():
        return {"status": "fail", "hint": f"relu_backward_kernel leaves dx unwritten where x <= 0: {UNWRITTEN}"}
    return None
