"""How many threads minialexnet's CPU work may use: the setting, read once from the environment.

``MINIALEXNET_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS``,
else the cores this process may use. A value that is not a positive whole number is a
``ThreadSettingError`` (each tool reports it in one line before it loads anything); more
threads than cores is a warning, because the threads then wait for each other's cores.
``set_num_threads(n)`` changes the setting for the rest of the process (1: no threads).

The setting is shared by every engine and tool; the fast CPU engine's thread pool
(``minialexnet/fast/parallel.py``) runs that many threads.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

THREAD_ENV_NAMES = ("MINIALEXNET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # read in this order
_state: dict[str, Any] = {"threads": None}  # None: read the environment at the next get_num_threads


class ThreadSettingError(ValueError):
    """A thread-count environment variable that is not a positive whole number."""


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def oversubscription(count: int) -> str | None:
    """What is wrong with running ``count`` threads here, when it is more than the cores; else None."""
    cores = available_cores()
    if count <= cores:
        return None
    name = next((name for name in THREAD_ENV_NAMES if os.environ.get(name, "").strip()), "the thread count")
    return (
        f"{name}={count} asks for more threads than the {cores} cores this process may use: the threads wait for each "
        f"other's cores and every buffer is kept once per thread; set it to {cores} or less, or unset it"
    )


def default_num_threads() -> int:
    """The thread count from the environment (see the module docstring)."""
    for name in THREAD_ENV_NAMES:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                count = int(value)
            except ValueError:
                raise ThreadSettingError(
                    f"{name}={value!r} is not a whole number; set it to the number of threads to use, e.g. {name}=2"
                ) from None
            if count < 1:
                raise ThreadSettingError(f"{name}={value!r}: the number of threads must be at least 1")
            return count
    return available_cores()


def get_num_threads() -> int:
    """How many threads the CPU work uses: the environment's setting (read once, with a warning for more than the cores)."""
    if _state["threads"] is None:
        _state["threads"] = default_num_threads()
        problem = oversubscription(_state["threads"])
        if problem is not None:
            warnings.warn(problem, stacklevel=2)
    return _state["threads"]


def set_num_threads(count: int) -> None:
    """Use ``count`` threads from now on (1: everything on the calling thread)."""
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"set_num_threads: need a positive int, got {count!r}")
    _state["threads"] = int(count)
