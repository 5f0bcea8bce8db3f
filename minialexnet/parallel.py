"""Spreading elementwise work over the CPU's cores, one slice of the batch at a time.

The matrix products already run on every core (the BLAS library is multithreaded), but a
NumPy elementwise operation (``maximum``, ``multiply``, a strided copy) runs on one.
NumPy releases Python's global lock inside such operations, so plain threads can run
them side by side. ``for_each_slice`` cuts an axis of length ``n`` into slices and runs
``work(slice)`` for each, on a small pool of threads and on the calling thread itself,
each taking the next slice from a shared queue when it is free (measured: the mini step
at batch 128 took 7 to 30 ms less than when the caller only waited for the pool).

The slices are also kept small (about ``SLICE_BYTES`` of data each) so that a layer's whole
sequence of operations on one slice (LRN does about ten) stays in the CPU's cache instead
of streaming every intermediate through main memory.

Inside a slice, intermediates come from ``slice_scratch``: a few buffers per thread, kept
and reused, because allocating even a 2 MiB array afresh costs the operating system page
faults every time (measured: LRN forward plus backward at batch 32 took 98 ms with fresh
temporaries and 76 ms with reused ones).

On the GPU there is nothing to gain (CuPy queues the work on the device), so ``work`` is
called once with the whole range: the layer code is the same on both devices.

Thread count: ``MINIALEXNET_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` (so one setting limits the BLAS and minialexnet alike), else the
cores this process may use. ``set_num_threads(1)`` turns the threads off (the slices then
run one after another on the calling thread). See also ``OPENBLAS_THREAD_TIMEOUT`` in
``minialexnet/__init__.py``: idle BLAS threads must not spin while these threads work.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from minialexnet.backend import get_array_module

SLICE_BYTES = 2 << 20  # about 2 MiB of data per slice: a slice's intermediates stay in cache
MIN_PARALLEL_BYTES = 1 << 20  # below this, threads cost more than they save


class ThreadSettingError(ValueError):
    """A thread-count environment variable that is not a positive whole number."""


THREAD_ENV_NAMES = ("MINIALEXNET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # read in this order
_state: dict[str, Any] = {"threads": None, "pool": None}
_inside = threading.local()


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
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """How many threads ``for_each_slice`` uses on the CPU."""
    if _state["threads"] is None:
        _state["threads"] = default_num_threads()
    return _state["threads"]


def set_num_threads(count: int) -> None:
    """Use ``count`` threads from now on (1: everything on the calling thread)."""
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"set_num_threads: need a positive int, got {count!r}")
    if _state["pool"] is not None:
        _state["pool"].shutdown(wait=True)
    _state["threads"], _state["pool"] = int(count), None


def _forget_pool_after_fork() -> None:
    """A forked child has none of its parent's threads: start a fresh pool there when needed."""
    _state["pool"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _run_marked(work: Callable[[slice], None], part: slice) -> None:
    _inside.active = True
    try:
        work(part)
    finally:
        _inside.active = False


class ScratchSlots:
    """Numbered scratch arrays, each grown to the largest request and reused for smaller ones.

    A network shares one among its layers (``Layer.borrow``); each thread keeps one for the
    intermediates of its slices (``slice_scratch``).
    """

    def __init__(self) -> None:
        self.buffers: dict[int, Any] = {}

    def get(self, slot: int, shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
        """An uninitialised array of ``shape`` on ``like``'s device, with its dtype or ``dtype``, from ``slot``."""
        xp = get_array_module(like)
        dtype = like.dtype if dtype is None else np.dtype(dtype)
        size = int(np.prod(shape))
        buffer = self.buffers.get(slot)
        if buffer is None or buffer.size < size or buffer.dtype != dtype or get_array_module(buffer) is not xp:
            self.buffers.pop(slot, None)  # release the old one before allocating its successor
            buffer = self.buffers[slot] = xp.empty(size, dtype=dtype)
        return buffer[:size].reshape(shape)


def slice_scratch(slot: int, shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
    """An uninitialised array of ``shape`` (``like``'s dtype or ``dtype``) that this thread reuses from call to call.

    Valid until the same thread asks for ``slot`` again: use it for intermediates inside one
    slice's work, never for results. On the GPU it is a fresh array (CuPy's memory pool
    makes that cheap, and a kept one would hold device memory).
    """
    if get_array_module(like) is not np:
        return get_array_module(like).empty(shape, dtype=like.dtype if dtype is None else dtype)
    slots = getattr(_inside, "slots", None)
    if slots is None:
        slots = _inside.slots = ScratchSlots()
    return slots.get(slot, shape, like, dtype)


def for_each_slice_along(xp: Any, a: Any, axis: int, work: Callable[[tuple[slice, ...]], None]) -> None:
    """``for_each_slice`` over ``a``'s axis ``axis``, calling ``work`` with the whole index, e.g. (slice(None), s) for axis 1."""
    lead = (slice(None),) * axis
    for_each_slice(xp, a.shape[axis], lambda s: work((*lead, s)), a[(*lead, slice(0, 1))].nbytes)


def for_each_slice(xp: Any, n: int, work: Callable[[slice], None], bytes_per_item: int) -> None:
    """Call ``work(slice(lo, hi))`` for slices covering ``range(n)``, on several threads.

    ``bytes_per_item``: the data one index of the axis touches (sets the slice size).
    ``work`` must only write to its own slice of its outputs. Runs ``work(slice(0, n))``
    once on the GPU, for small work, or when called from inside a slice; with one thread
    the slices run one after the other on the calling thread (still in cache).
    """
    total = n * bytes_per_item
    if xp is not np or n < 2 or total < MIN_PARALLEL_BYTES or getattr(_inside, "active", False):
        work(slice(0, n))
        return
    threads = get_num_threads()
    count = min(n, max(threads, -(-total // SLICE_BYTES)))
    bounds = [n * k // count for k in range(count + 1)]
    parts = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
    if threads == 1:
        for part in parts:
            _run_marked(work, part)
        return
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(threads - 1, thread_name_prefix="minialexnet")
    queue = collections.deque(parts)  # shared: each thread takes the next slice when it is free

    def drain() -> None:
        while queue:
            try:
                part = queue.popleft()  # atomic: two threads never get the same slice
            except IndexError:
                return
            _run_marked(work, part)

    # the calling thread works too, instead of waiting for the pool's threads
    helpers = [_state["pool"].submit(drain) for _ in range(min(threads, len(parts)) - 1)]
    try:
        drain()
    finally:
        for helper in helpers:
            helper.result()
