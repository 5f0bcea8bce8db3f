"""Launching the engine's kernels: compile once, pass the arrays, run on CuPy's current stream, count.

- Compiled lazily with ``numba.cuda.jit(cache=True)``: the first launch of a kernel in a
  process compiles it (or loads it from numba's cache beside the source), so a process that
  never uses the engine never imports numba.
- Arrays: CuPy arrays go to the kernel as they are (``__cuda_array_interface__``), flat.
  In numba's simulator (``NUMBA_ENABLE_CUDASIM=1``: kernels run on the CPU, one Python
  thread per CUDA thread) the kernel needs NumPy arrays: an array type registered with
  ``register_array_type`` (the strict device's, when it is installed) is handed over as the
  NumPy array it holds, which the kernel writes in place, and each launch on it is reported
  back (the strict device counts them).
- Stream: the launch goes on CuPy's current stream. Numba would otherwise synchronise on
  the stream each argument exports (CUDA Array Interface v3), a host wait per argument, so
  ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC`` is off for this process unless set: nothing inside a
  step waits for the GPU.
- Grid: ``BLOCK`` threads a block (``MINIALEXNET_CUDA_BLOCK``, default 256) and at most ``MAX_BLOCKS`` blocks (the kernels loop over
  what is left: grid-stride). The simulator gets one block of ``SIMULATOR_THREADS``: the
  same code, few Python threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "0")

BLOCK = int(os.environ.get("MINIALEXNET_CUDA_BLOCK", "256"))  # threads a block; benchmarks/gpu/verify.py sweeps it
MAX_BLOCKS = 132 * 32  # H200: 132 multiprocessors, enough blocks to fill each
SIMULATOR_THREADS = 4

_compiled: dict[str, Any] = {}
_streams: dict[int, Any] = {}
_stand_ins: dict[type, tuple[Callable[[Any], Any], Callable[[str], None]]] = {}


def register_array_type(array_type: type, host_array: Callable[[Any], Any], on_launch: Callable[[str], None]) -> None:
    """Arrays of ``array_type`` (a CuPy stand-in) go to the simulator's kernels as ``host_array(array)``; ``on_launch(name)``
    hears of each launch on them."""
    _stand_ins[array_type] = (host_array, on_launch)


def simulated() -> bool:
    """True when numba runs kernels in its CPU simulator (NUMBA_ENABLE_CUDASIM=1)."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def _kernel(name: str) -> Any:
    kernel = _compiled.get(name)
    if kernel is None:
        from numba import cuda

        from minialexnet.cuda import kernels

        kernel = _compiled[name] = cuda.jit(kernels.KERNELS[name], cache=not simulated())
    return kernel


def _flat(array: Any) -> Any:
    """The array as the kernel takes it: flat, and the NumPy array underneath a registered stand-in's array."""
    stand_in = _stand_ins.get(type(array))
    return (stand_in[0](array) if stand_in else array).reshape(-1)


def _is_array(value: Any) -> bool:
    """An array argument (NumPy scalars such as numpy.float32(2) have a shape too, and no dimensions)."""
    return getattr(value, "ndim", 0) > 0


def _stream(array: Any) -> Any:
    """CuPy's current stream as a numba stream (0, the default, for the simulator and the strict device)."""
    if type(array).__module__ != "cupy" or simulated():
        return 0
    import cupy
    from numba import cuda

    pointer = cupy.cuda.get_current_stream().ptr
    if pointer not in _streams:
        _streams[pointer] = cuda.external_stream(pointer) if pointer else cuda.default_stream()
    return _streams[pointer]


def launch(name: str, size: int, *args: Any) -> None:
    """Run kernel ``name`` over ``size`` output elements; arrays in ``args`` are passed flat, other arguments as they are."""
    arrays = [a for a in args if _is_array(a)]
    if size == 0:
        return
    if simulated():
        blocks, threads = 1, SIMULATOR_THREADS
    else:
        blocks, threads = min(MAX_BLOCKS, -(-size // BLOCK)), BLOCK
    kernel = _kernel(name)
    kernel[blocks, threads, _stream(arrays[0])](*(_flat(a) if _is_array(a) else a for a in args))
    stand_in = _stand_ins.get(type(arrays[0]))
    if stand_in:
        stand_in[1](name)
