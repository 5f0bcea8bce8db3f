"""The command-line entry points: a tool's module imported, then its ``main`` run, a Ctrl-C at any moment one line.

``python -m minialexnet.train`` (and the other ``python -m minialexnet.<tool>`` commands, and the
``minialexnet-train`` script) come here first. Importing a tool loads NumPy, matplotlib and the
engines, which takes a moment, and evaluating a test set takes longer: a Ctrl-C in either is
one line and exit code 130, as everywhere else in the tools, never a traceback. (Training
handles its own Ctrl-C: it saves ``last.npz`` first, docs/reliability.md.)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C


def guarded(main: Callable[[], int]) -> int:
    """``main()``, or 130 after one line when Ctrl-C interrupts it."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C)", file=sys.stderr)
        return INTERRUPTED


def run(module: str) -> int:
    """Import ``module`` and return its ``main()``, Ctrl-C included (``guarded``)."""
    return guarded(lambda: importlib.import_module(module).main())


def train() -> int:
    """The ``minialexnet-train`` script."""
    return run("minialexnet.training.train")
