"""Spreading work over the CPU's cores: slices of the elementwise work, pieces of the matrix products.

A NumPy elementwise operation (``maximum``, ``multiply``, a strided copy) runs on one core.
NumPy releases Python's global lock inside such operations, so plain threads can run
them side by side. ``for_each_slice`` cuts an axis of length ``n`` into slices and runs
``work(slice)`` for each, on a small pool of threads and on the calling thread itself,
each taking the next slice from a shared queue when it is free.

The slices are also kept small (about ``SLICE_BYTES`` of data each) so that a layer's whole
sequence of operations on one slice (LRN does about ten) stays in the CPU's cache instead
of streaming every intermediate through main memory.

Inside a slice, intermediates come from ``slice_scratch``: a few buffers per thread, kept
and reused, because allocating even a 2 MiB array afresh costs the operating system page
faults every time (docs/fast_engine.md).

The matrix products go through ``matmul``, which cuts them into pieces shared by the same
threads and the same queue, each piece computed by the BLAS on one thread. A multithreaded
OpenBLAS is as fast on an idle machine, but its threads wait for each other inside every
product, so a machine with anything else running (the normal case: a notebook, a browser,
another training run) made every product wait for whichever thread had lost its core; the
queue lets the threads that have a core take the remaining pieces (docs/fast_engine.md,
"Threads and products").

On the GPU there is nothing to gain (CuPy queues the work on the device), so ``work`` is
called once with the whole range and ``matmul`` is ``cupy.matmul``: the layer code is the
same on both devices.

Thread count: ``minialexnet.threads`` (the environment's setting, shared by every tool);
``set_num_threads(1)`` there turns the threads off (the slices and pieces then run one after
another on the calling thread), and the pool follows any change at its next use.
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
from minialexnet.threads import get_num_threads

SLICE_BYTES = 2 << 20  # about 2 MiB of data per slice: a slice's intermediates stay in cache
MIN_PARALLEL_BYTES = 1 << 20  # below this, threads cost more than they save
GEMM_PIECE_MACS = 8 << 20  # multiply-adds of one piece of a matrix product (about 0.2 ms on one core)
GEMM_PIECE_MIN_EDGE = 256  # rows or columns of a piece at least: thinner ones re-pack the other operand too often


_state: dict[str, Any] = {"pool": None, "pool_threads": 0}
_inside = threading.local()


def _forget_pool_after_fork() -> None:
    """A forked child has none of its parent's threads: start a fresh pool there when needed."""
    _state["pool"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _pool(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads - 1`` threads (the calling thread is the last), made anew when the setting changed."""
    if _state["pool"] is None or _state["pool_threads"] != threads:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=True)
        _state["pool"], _state["pool_threads"] = ThreadPoolExecutor(threads - 1, thread_name_prefix="minialexnet"), threads
    return _state["pool"]


def _run_marked(work: Callable[[slice], None], part: slice) -> None:
    _inside.active = True
    try:
        work(part)
    finally:
        _inside.active = False


class ScratchSlots:
    """Named scratch arrays, each grown to the largest request and reused for smaller ones.

    A network shares one among its layers (``Layer.borrow``); each thread keeps one for the
    intermediates of its slices (``slice_scratch``).
    """

    def __init__(self) -> None:
        self.buffers: dict[str, Any] = {}

    def get(self, name: str, shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
        """An uninitialised array of ``shape`` on ``like``'s device, with its dtype or ``dtype``, from the buffer called ``name``."""
        xp = get_array_module(like)
        dtype = like.dtype if dtype is None else np.dtype(dtype)
        size = int(np.prod(shape))
        buffer = self.buffers.get(name)
        if buffer is None or buffer.size < size or buffer.dtype != dtype or get_array_module(buffer) is not xp:
            self.buffers.pop(name, None)  # release the old one before allocating its successor
            buffer = self.buffers[name] = xp.empty(size, dtype=dtype)
        return buffer[:size].reshape(shape)


def slice_scratch(name: str, shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
    """An uninitialised array of ``shape`` (``like``'s dtype or ``dtype``) that this thread reuses from call to call.

    Valid until the same thread asks for ``name`` again: use it for intermediates inside one
    slice's work, never for results. On the GPU it is a fresh array (CuPy's memory pool
    makes that cheap, and a kept one would hold device memory).
    """
    if get_array_module(like) is not np:
        return get_array_module(like).empty(shape, dtype=like.dtype if dtype is None else dtype)
    slots = getattr(_inside, "slots", None)
    if slots is None:
        slots = _inside.slots = ScratchSlots()
    return slots.get(name, shape, like, dtype)


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
    count = min(n, max(get_num_threads(), -(-total // SLICE_BYTES)))
    bounds = [n * k // count for k in range(count + 1)]
    run_parts([slice(lo, hi) for lo, hi in itertools.pairwise(bounds)], work)


def run_parts(parts: list[Any], work: Callable[[Any], None]) -> None:
    """Call ``work(part)`` for every part, on the pool's threads and the calling thread, each taking the next part when free.

    Nothing waits for a particular thread: a thread that the operating system takes off
    the CPU (another program wants the core) delays only the part it holds, while the
    others take the rest. Parts run inline when there is one thread or when called from
    inside a part.
    """
    threads = get_num_threads()
    if threads == 1 or len(parts) < 2 or getattr(_inside, "active", False):
        for part in parts:
            _run_marked(work, part)
        return
    pool = _pool(threads)
    queue = collections.deque(parts)  # shared: each thread takes the next part when it is free

    def drain() -> None:
        while queue:
            try:
                part = queue.popleft()  # atomic: two threads never get the same part
            except IndexError:
                return
            _run_marked(work, part)

    # the calling thread works too, instead of waiting for the pool's threads
    helpers = [pool.submit(drain) for _ in range(min(threads, len(parts)) - 1)]
    try:
        drain()
    finally:
        for helper in helpers:
            helper.result()


class _OneThreadBLAS:
    """While active, NumPy's OpenBLAS runs every product on the calling thread alone (threadpoolctl).

    Found once; a NumPy built on another BLAS is left as it is (``found`` is False).
    """

    def __init__(self) -> None:
        from threadpoolctl import ThreadpoolController

        numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
        libraries = ThreadpoolController().select(internal_api="openblas").lib_controllers
        self.libraries = [lib for lib in libraries if os.path.abspath(lib.filepath).startswith(numpy_dir)]
        self.found = bool(self.libraries)

    def __enter__(self) -> None:
        self.saved = [lib.num_threads for lib in self.libraries]
        for lib in self.libraries:
            lib.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        for lib, count in zip(self.libraries, self.saved, strict=True):
            lib.set_num_threads(count)


def _one_thread_blas() -> _OneThreadBLAS:
    if _state.get("blas") is None:
        _state["blas"] = _OneThreadBLAS()
    return _state["blas"]


def one_thread_blas_found() -> bool:
    """True when ``matmul`` can run NumPy's BLAS on one thread per piece (NumPy uses OpenBLAS)."""
    return _one_thread_blas().found


def _matmul_parts(a: Any, b: Any) -> list[tuple[slice, slice, slice]] | None:
    """(stack, rows, columns) pieces of a @ b of about GEMM_PIECE_MACS each, or None to run it whole.

    The pieces depend only on the shapes, never on the thread count, and ``matmul`` cuts
    every product it is given the same way (on one thread too, and inside a slice), so the
    result is the same number for number on any number of threads. It is not always the
    number one whole product gives: a BLAS may block a whole product differently from its
    pieces (OpenBLAS's Haswell kernels on AMD Zen 3 do), which changes float32 roundings by
    a few units in the last place. A piece splits the longer of the rows of a and the
    columns of b: the operand it re-reads whole is then the smaller one.
    """
    if a.ndim != b.ndim or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[0] != b.shape[0]):
        return None
    S = a.shape[0] if a.ndim == 3 else 1
    M, K = a.shape[-2:]
    N = b.shape[-1]
    count = min(-(-S * M * N * K // GEMM_PIECE_MACS), S * -(-max(M, N) // GEMM_PIECE_MIN_EDGE))
    if count < 2:
        return None
    if S >= count:
        bounds = [S * k // count for k in range(count + 1)]
        return [(slice(lo, hi), slice(None), slice(None)) for lo, hi in itertools.pairwise(bounds)]
    per_stack = -(-count // S)
    length = max(M, N)
    bounds = [length * k // per_stack for k in range(per_stack + 1)]
    pieces = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    stacks = [slice(s, s + 1) for s in range(S)] if a.ndim == 3 else [slice(None)]
    return [(s, p, slice(None)) if M >= N else (s, slice(None), p) for s in stacks for p in pieces]


def matmul(a: Any, b: Any, out: Any = None) -> Any:
    """``xp.matmul(a, b, out=out)``, on the CPU cut into pieces that the threads share (``run_parts``).

    Why not let OpenBLAS use every core itself: its threads wait for one another inside each
    product, spinning, so when any other program wants a core (a busy loop, a PyTorch run,
    a notebook) every product waits for the thread that lost its core (docs/fast_engine.md).
    So inside this function
    the BLAS runs one thread per call and the pieces (2-D products, or stacks of them) are
    spread by the same queue as the elementwise slices; outside, the BLAS is as it was.
    On the GPU this is ``cupy.matmul``.
    """
    xp = get_array_module(a, b)
    if xp is not np:
        return xp.matmul(a, b, out=out)
    blas = _one_thread_blas()
    if not blas.found:
        return np.matmul(a, b, out=out)
    parts = _matmul_parts(a, b)  # by the shapes alone: one thread or many compute the same pieces
    with blas:
        if parts is None:
            return np.matmul(a, b, out=out)
        if out is None:
            out = np.empty((*a.shape[:-1], b.shape[-1]), dtype=np.result_type(a, b))

        def piece(part: tuple[slice, slice, slice]) -> None:
            s, rows, cols = part
            if a.ndim == 2:
                np.matmul(a[rows], b[:, cols], out=out[rows, cols])
            else:
                np.matmul(a[s, rows], b[s, :, cols], out=out[s, rows, cols])

        run_parts(parts, piece)
    return out
