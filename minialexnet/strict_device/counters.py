"""What the strict device counts: host<->device copies, kernel launches, and the memory its arrays hold."""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

PACKAGE = str(Path(__file__).resolve().parent)


@dataclass
class Transfers:
    """Every copy between host and device: (direction "h2d" or "d2h", bytes, the project's line that caused it)."""

    log: list[tuple[str, int, str]] = field(default_factory=list)

    def record(self, direction: str, nbytes: int) -> None:
        self.log.append((direction, int(nbytes), _caller()))

    def count(self, direction: str) -> int:
        return sum(1 for d, _, _ in self.log if d == direction)

    def bytes(self, direction: str) -> int:
        return sum(n for d, n, _ in self.log if d == direction)

    def sizes(self, direction: str) -> list[int]:
        return [n for d, n, _ in self.log if d == direction]


@dataclass
class Launches:
    """Kernel launches on the device, by name: as in CuPy, each elementwise operation, reduction, fill or copy through
    ``xp`` is one; each numba kernel launch (``minialexnet/cuda``, through ``record_launch``) is one. Views
    (reshape, transpose, slicing) and ``empty`` launch nothing."""

    log: list[str] = field(default_factory=list)

    def record(self, what: str) -> None:
        self.log.append(what)

    def count(self) -> int:
        return len(self.log)


_logs: dict[str, Transfers | Launches] = {"transfers": Transfers(), "launches": Launches()}  # where records go now
NO_LAUNCH = frozenset("empty empty_like reshape ravel squeeze swapaxes transpose view".split())


Log = TypeVar("Log", Transfers, Launches)


@contextlib.contextmanager
def _fresh_log(kind: str, log: Log) -> Iterator[Log]:
    """Send the records of ``kind`` to ``log`` inside the block, then back to the log before it."""
    outer, _logs[kind] = _logs[kind], log
    try:
        yield log
    finally:
        _logs[kind] = outer


def counting() -> contextlib.AbstractContextManager[Transfers]:
    """Count the transfers made inside the block (a fresh log)."""
    return _fresh_log("transfers", Transfers())


def counting_launches() -> contextlib.AbstractContextManager[Launches]:
    """Count the kernel launches made inside the block (a fresh log)."""
    return _fresh_log("launches", Launches())


def record_transfer(direction: str, nbytes: int) -> None:
    """One copy of ``nbytes`` between host and device ("h2d" or "d2h")."""
    _logs["transfers"].record(direction, nbytes)


def record_launch(what: str) -> None:
    """One kernel launch named ``what`` (a numba kernel run on device arrays; xp calls record themselves)."""
    if what not in NO_LAUNCH:
        _logs["launches"].record(what)


def _caller() -> str:
    """file:line of the innermost frame outside this package (where the transfer was asked for)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        frame = frame.f_back
    return "?" if frame is None else f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}"


class MemoryPool:
    """cupy.get_default_memory_pool(): used_bytes() counts the live device arrays that own their memory, total_bytes()
    their peak since free_all_blocks()."""

    def __init__(self) -> None:
        self.used, self.peak = 0, 0
        self._live: set[int] = set()

    def allocated(self, host: np.ndarray) -> None:
        if id(host) in self._live:
            return
        self._live.add(id(host))
        self.used += host.nbytes
        self.peak = max(self.peak, self.used)
        weakref.finalize(host, self._released, id(host), host.nbytes)

    def _released(self, key: int, nbytes: int) -> None:
        self._live.discard(key)
        self.used -= nbytes

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return self.peak

    def free_all_blocks(self) -> None:
        self.peak = self.used


pool = MemoryPool()
