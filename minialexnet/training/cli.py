"""What the command-line tools (train, evaluate, predict, bench) share: one-line errors, option checks, progress.

- ``Parser``: an ``argparse.ArgumentParser`` whose errors are one line (``error: ...``,
  exit code 2) instead of the usage text followed by the error.
- Option types (``positive_int``, ``positive_float``, ``fraction``, ``device_name``, ...) refuse
  values that cannot work before anything runs: ``--batch-size 0`` or ``--lr nan`` is
  reported at once, not after the data has loaded.
- ``UsageError``: a problem with the options found later (an output folder that cannot be
  written, an option that cannot change on resume); the tools print it as one line, exit 2.
- ``select_device``: the device and thread checks evaluate, predict and bench make before
  they load anything, then the device made current (train checks before it joins an MPI job
  and makes its rank's device current after).
- ``one_line_warnings``: warnings (a skipped unreadable image) print as ``warning: ...``
  lines, without the file and source line Python adds for programmers.
- ``Progress``: a tqdm bar on a terminal; else (a log file, a notebook, a pipe) one line
  every N steps, so a long run is never silent.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import Any, NoReturn

from tqdm import tqdm

from minialexnet.backend import check_device, parse_device, use_device
from minialexnet.engines import check_engine
from minialexnet.threads import get_num_threads


class UsageError(ValueError):
    """An option or an output path that cannot work; the message says what to do."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser with one-line errors: ``error: argument --lr: ...; see --help``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def check_start(device: str, engine: str = "auto") -> None:
    """The checks every tool makes before it loads anything: the device, the engine on it, the thread setting.

    Raises ``DeviceUnavailableError`` (no such GPU, CuPy missing), ``EngineError`` (``--engine cuda``
    on the CPU) or ``ThreadSettingError`` (``OMP_NUM_THREADS=abc``), each message saying what to do.
    """
    check_device(device)
    check_engine(engine, device)
    get_num_threads()  # a bad thread setting is reported here, not mid-run


def select_device(device: str, engine: str = "auto") -> None:
    """``check_start``, then make ``device`` current."""
    check_start(device, engine)
    use_device(device)


def one_line_warnings() -> None:
    """Print warnings as ``warning: <message>`` lines, like the errors (the command-line tools call this)."""
    warnings.formatwarning = lambda message, category, filename, lineno, line=None: f"warning: {message}\n"


def _number(text: str, kind: type, ok: Any, requirement: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {requirement}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (batch size, epochs, --limit)."""
    return _number(text, int, lambda value: value >= 1, "a whole number >= 1")


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (a seed, a count that may be zero)."""
    return _number(text, int, lambda value: value >= 0, "a whole number >= 0")


def positive_float(text: str) -> float:
    """A finite number > 0 (the learning rate)."""
    return _number(text, float, lambda value: math.isfinite(value) and value > 0, "a finite number > 0")


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (weight decay)."""
    return _number(text, float, lambda value: math.isfinite(value) and value >= 0, "a finite number >= 0")


def fraction(text: str) -> float:
    """A number in [0, 1) (momentum; the share of the training set held out for validation)."""
    return _number(text, float, lambda value: 0 <= value < 1, "a number in [0, 1)")


def device_name(text: str) -> str:
    """``cpu``, ``gpu`` or ``gpu:N`` (whether that device exists is checked when the tool starts)."""
    try:
        parse_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


class Progress:
    """Progress through ``total`` steps: a tqdm bar when ``bar``, else one line every ``every`` steps (0: none).

    ``update(step, **stats)`` reports that ``step`` steps are done; the line reads
    ``<desc>: batch <step>/<total>  <name> <value> ...`` and goes to stderr (with the bar: results alone go
    to stdout), flushed.
    """

    def __init__(self, total: int, desc: str, bar: bool, every: int, initial: int = 0) -> None:
        self.total, self.desc, self.every = total, desc, every
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="batch", leave=False, file=sys.stderr) if bar else None

    def update(self, step: int, **stats: Any) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if stats:
                self.bar.set_postfix(stats, refresh=False)
        elif self.every and (step % self.every == 0 or step == self.total):
            line = "  ".join([f"{self.desc}: batch {step}/{self.total}", *(f"{key} {value}" for key, value in stats.items())])
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
