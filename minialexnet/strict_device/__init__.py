"""A strict stand-in for CuPy: CuPy's API, NumPy doing the arithmetic, CuPy's rules enforced.

CuPy has no CPU mode, so without a GPU the project's GPU path (``--device gpu``, ``to_device``,
``get_array_module``, ``asnumpy``, ``synchronize``) would never run in CI. ``installed()`` (a
context manager) puts the stand-in into ``sys.modules`` as ``cupy`` (and ``cupyx``) and takes it
out again; ``install(monkeypatch)`` does the same for one pytest test. ``backend.py`` then imports
it as it would import CuPy and recognises its arrays as CuPy's (their type's module is ``cupy``).
The tests' ``device`` fixture (``tests/conftest.py``) does this for the ``"gpu"`` parameter when no
real CUDA device is there; with one, the same tests run on CuPy. The course's grader
(``minialexnet.exercises``) runs the student's code on it too.

Its API is CuPy's: ``cupy_inventory.json`` lists CuPy 14.2.0's functions, ufuncs, ndarray methods
and attributes, constants and submodules, taken from CuPy itself by scripts/cupy_inventory.py.
The stand-in offers each of them that the installed NumPy also has (namespace.py); a name NumPy
has and CuPy lacks (``insert``, ``ndarray.resize``, ...) raises ``NotInCupyError``, "CuPy has no
...", with the ``xp`` alternative where there is one.

Modelled, as CuPy does it (the messages are CuPy's own where CuPy has one):
- A device array is a distinct type (array.py). ``numpy.asarray(a)`` and ``a.__array__()`` raise
  "Implicit conversion to a NumPy array is not allowed ..."; a NumPy array (or a list) in an
  operator, a ufunc or an ``xp`` function raises "Unsupported type ..."; a non-scalar NumPy array
  assigned into a device array raises "non-scalar numpy.ndarray cannot be used for fill".
  ``a.get()``, ``cupy.asnumpy(a)``, ``float()``, ``int()``, ``bool()``, ``item()``, ``tolist()``,
  printing and pickling go to the host, each a transfer; ``xp.asarray``, ``a.set()`` and NumPy or
  list index arrays (``a[np.array([0, 2])]``, which CuPy copies to the device) come from it.
- Reductions, ``allclose``, ``count_nonzero`` and full indexing give 0-d device arrays, not
  NumPy scalars; ``ndim``, ``shape``, ``result_type`` and the like give host values.
- ``cupy.random`` (random.py): CuPy's generators and ``dtype`` arguments; seeded streams that
  are not NumPy's. No object, string or datetime dtypes.
- Every host<->device copy is counted with its size and the line that caused it
  (``counting()``), for the transfer budgets in ``test_strict_device.py``; every kernel launch
  by name (``counting_launches()``): each elementwise operation, reduction, fill or copy through
  ``xp``, and each launch of the GPU engine's numba kernels (minialexnet/cuda registers a hook
  here, see ``install``), which run on the NumPy arrays underneath in numba's simulator.

Refused although NumPy runs it, because CuPy silently computes something else (rules.py,
``NotPortableError``): integer-array indices out of bounds (CuPy wraps them around); assigning
through index arrays that repeat a position (CuPy's order is undefined: ``cupyx.scatter_add`` or
``xp.add.at`` add up); float-to-integer casts of NaN, infinities or out-of-range values.

Stricter than CuPy, on purpose: a NumPy function or ufunc called on a device array raises. CuPy 14
hands many of them to its own through ``__array_function__`` and ``__array_ufunc__``, but not all,
and that has changed between versions; the course writes ``xp`` so that the code says which device
computes. (A NumPy scalar in an operator, ``np.float32(2) * a``, is fine, as in CuPy.)

Not modelled (a test that passes here can still fail on real CuPy; the GPU lane finds those):
- asynchrony: everything runs at once, ``synchronize()`` waits for nothing, and a race between
  streams cannot show;
- rounding: NumPy's kernels compute the values, so CuPy's (different summation orders,
  ``exp``/``log`` to within an ulp or two, TF32 matmul with ``CUPY_TF32=1``) are not reproduced;
- memory: device memory is host memory; the pool's figures count the live arrays that own their
  memory (``used_bytes``) and their peak since ``free_all_blocks`` (``total_bytes``);
- one device (``gpu:0``); no CuPy kernels (``RawKernel``, ``ElementwiseKernel``, ``fuse`` runs the
  function as written), streams, events, cuBLAS handles, pinned memory, DLPack, ``cupyx`` beyond
  ``scatter_add``/``scatter_max``/``scatter_min``, ``cupy.testing``, ``cupy.polynomial``;
- arguments CuPy's functions take and NumPy's do not (NumPy's signatures apply), and where CuPy
  returns a view and NumPy a copy or the reverse.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

from minialexnet.strict_device.array import ndarray
from minialexnet.strict_device.counters import Launches, Transfers, counting, counting_launches, pool, record_launch
from minialexnet.strict_device.namespace import MODULES, cupy, cupyx
from minialexnet.strict_device.rules import (
    IMPLICIT_CONVERSION,
    NotInCupyError,
    NotInNumpyError,
    NotModelledError,
    NotPortableError,
)

__all__ = [
    "IMPLICIT_CONVERSION",
    "MODULES",
    "Launches",
    "NotInCupyError",
    "NotInNumpyError",
    "NotModelledError",
    "NotPortableError",
    "Transfers",
    "counting",
    "counting_launches",
    "cupy",
    "cupyx",
    "install",
    "installed",
    "ndarray",
    "record_launch",
]


def _register_kernel_launches() -> None:
    """Let the GPU engine's launcher run its numba kernels (in the simulator) on these arrays, counting each launch."""
    from minialexnet.cuda.launch import register_array_type

    register_array_type(ndarray, lambda array: array._a, record_launch)


def install(monkeypatch: Any) -> types.ModuleType:
    """Make ``import cupy`` give the strict device until the test ends (``monkeypatch``: pytest's fixture); returns it."""
    _register_kernel_launches()
    for name, module in MODULES:
        monkeypatch.setitem(sys.modules, name, module)
    pool.free_all_blocks()
    return cupy


@contextlib.contextmanager
def installed() -> Iterator[types.ModuleType]:
    """``import cupy`` gives the strict device inside the ``with`` block; whatever was there before comes back after."""
    _register_kernel_launches()
    missing = object()
    saved = {name: sys.modules.get(name, missing) for name, _ in MODULES}
    sys.modules.update(dict(MODULES))
    pool.free_all_blocks()
    try:
        yield cupy
    finally:
        for name, module in saved.items():
            if module is missing:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
