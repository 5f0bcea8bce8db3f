"""A strict stand-in for CuPy: NumPy does the arithmetic, CuPy's rules apply.

CuPy has no CPU mode, so without a GPU the project's GPU path (``--device gpu``,
``to_device``, ``get_array_module``, ``asnumpy``, ``synchronize``) would never run in CI.
``installed()`` (a context manager) puts this module into ``sys.modules`` as ``cupy`` and
takes it out again; ``install(monkeypatch)`` does the same for one pytest test. ``backend.py``
then imports it as it would import CuPy, and recognises its arrays as CuPy's (their type's
module is ``cupy``). The tests' ``device`` fixture (``tests/conftest.py``) does this for the
``"gpu"`` parameter when no real CUDA device is there; with one, the same tests run on CuPy.
The course's grader (``minialexnet.exercises``) runs the student's layers on it too.

What it enforces, as CuPy does (the messages are CuPy's own where CuPy has one):

- A device array is a distinct type. ``numpy.asarray(a)``, ``numpy.array(a)`` and
  ``a.__array__()`` raise "Implicit conversion to a NumPy array is not allowed ...";
  a NumPy array in an operator or an ``xp`` function raises "Unsupported type ..."; a
  non-scalar NumPy array assigned into a device array raises "non-scalar numpy.ndarray
  cannot be used for fill". ``a.get()`` and ``cupy.asnumpy(a)`` are the ways to the host
  (and ``float()``, ``int()``, ``bool()``, ``item()``, ``tolist()``, printing: each one a
  transfer, counted).
- Reductions and full indexing give 0-d device arrays, not NumPy scalars.
- Only the part of CuPy's API the project uses exists; anything else raises
  ``NotModelledError`` ("strict device does not model ..."), so the stand-in cannot
  silently behave unlike CuPy.
- Every host<->device copy is counted with its size and the line that caused it
  (``counting()``), for the transfer budgets in ``test_strict_device.py``.
- Every kernel launch is counted by name (``counting_launches()``): each elementwise
  operation, reduction, fill or copy through ``xp`` (as CuPy launches one kernel for each),
  and each launch of the GPU engine's numba kernels (minialexnet/cuda), which run on the
  NumPy arrays underneath in numba's simulator.

Stricter than CuPy, on purpose (each is a bug in code meant to run through ``xp``):

- NumPy functions and ufuncs on a device array raise. CuPy hands many of them to its own
  (``__array_ufunc__``, ``__array_function__``) and refuses the rest, depending on its version.
  (A NumPy scalar in an operator, ``np.float32(2) * a``, is fine, as in CuPy.)
- NumPy arrays and lists as indices raise. CuPy copies them to the device, a transfer
  nobody sees, on every call.

Not modelled (a test that passes here can still fail on real CuPy; the GPU lane finds those):

- asynchrony: everything runs at once, ``synchronize()`` waits for nothing, and a race
  between streams cannot show;
- rounding: NumPy's kernels compute the values, so CuPy's (different summation orders,
  ``exp``/``log`` to within an ulp or two, TF32 matmul with ``CUPY_TF32=1``) are not reproduced;
- out-of-bounds integer-array indices: NumPy raises IndexError, CuPy wraps them around;
- memory: device memory is host memory; the pool's figures count the arrays this module
  made that are alive (``used_bytes``) and their peak since ``free_all_blocks`` (``total_bytes``);
- one device (``gpu:0``); no CuPy kernels (``RawKernel``, ``ElementwiseKernel``; the GPU
  engine's kernels are numba's, see minialexnet/cuda/launch.py), cuBLAS handles, pinned memory,
  ``cupy.random`` and ``cupyx`` beyond ``cupyx.scatter_add`` (also ``cupy.add.at``)
  (the project draws its dropout masks with ``xp`` integer arithmetic instead).
"""

from __future__ import annotations

import contextlib
import operator
import sys
import types
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IMPLICIT_CONVERSION = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."


class NotModelledError(NotImplementedError):
    """The project used a part of CuPy that the strict device does not have."""


def _not_modelled(what: str) -> NotModelledError:
    return NotModelledError(f"strict device does not model {what}; if CuPy has it, add it to minialexnet/strict_device.py as CuPy behaves")


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


_transfers = Transfers()


@contextlib.contextmanager
def counting() -> Iterator[Transfers]:
    """Count the transfers made inside the block (a fresh log)."""
    global _transfers
    outer, _transfers = _transfers, Transfers()
    try:
        yield _transfers
    finally:
        _transfers = outer


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


_launches = Launches()
_NO_LAUNCH = frozenset("empty empty_like reshape ravel squeeze swapaxes transpose view".split())


@contextlib.contextmanager
def counting_launches() -> Iterator[Launches]:
    """Count the kernel launches made inside the block (a fresh log)."""
    global _launches
    outer, _launches = _launches, Launches()
    try:
        yield _launches
    finally:
        _launches = outer


def record_launch(what: str) -> None:
    """One kernel launch named ``what`` (a numba kernel run on device arrays; xp calls record themselves)."""
    if what not in _NO_LAUNCH:
        _launches.record(what)


def _caller() -> str:
    """file:line of the innermost frame outside this module (where the transfer was asked for)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return "?" if frame is None else f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}"


class _MemoryPool:
    """cupy.get_default_memory_pool(): used_bytes(), total_bytes(), free_all_blocks()."""

    def __init__(self) -> None:
        self.used, self.peak = 0, 0

    def allocated(self, host: np.ndarray) -> None:
        self.used += host.nbytes
        self.peak = max(self.peak, self.used)
        weakref.finalize(host, self._released, host.nbytes)

    def _released(self, nbytes: int) -> None:
        self.used -= nbytes

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return self.peak

    def free_all_blocks(self) -> None:
        self.peak = self.used


_pool = _MemoryPool()


class _Flags:
    def __init__(self, host: np.ndarray) -> None:
        self.c_contiguous, self.f_contiguous, self.owndata = host.flags.c_contiguous, host.flags.f_contiguous, host.flags.owndata


def _operand(value: Any) -> Any:
    """The NumPy value behind an argument: device arrays unwrapped, scalars as they are, NumPy arrays refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(_operand(v) for v in value)
    return value


def _result(value: Any) -> Any:
    """A NumPy result as CuPy gives it: arrays and scalars become device arrays."""
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, (np.generic, bool, int, float)):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_result(v) for v in value)
    return value


def _index(key: Any) -> Any:
    parts = key if isinstance(key, tuple) else (key,)
    for part in parts:
        if isinstance(part, (np.ndarray, list)):
            raise TypeError(
                f"strict device: a {type(part).__name__} index into a device array (CuPy would copy it to the device on every call, "
                "unseen); build the index with xp (xp.arange, xp.asarray once)"
            )
    return _operand(key)


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        record_launch(op.__name__)
        return _result(op(_operand(other), self._a) if reflected else op(self._a, _operand(other)))

    return method


def _in_place(op: Any) -> Any:
    def method(self: ndarray, other: Any) -> ndarray:
        record_launch(op.__name__)
        op(self._a, _operand(other))
        return self

    return method


class ndarray:  # noqa: N801 (CuPy's name)
    """A device array: a NumPy array that only this module's functions and operators may touch."""

    __module__ = "cupy"  # backend._is_cupy_array looks at this
    __slots__ = ("_a",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, host: np.ndarray) -> None:
        self._a = host
        if host.base is None:
            _pool.allocated(host)

    # --- the host boundary -------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(isinstance(value, np.ndarray) for value in inputs):
            raise TypeError(f"Unsupported type {np.ndarray}")
        if method == "__call__" and not kwargs and len(inputs) == 2 and sum(isinstance(v, ndarray) for v in inputs) == 1:
            return _result(ufunc(*(_operand(v) for v in inputs)))  # how `np.float32(2) * a` arrives
        raise TypeError(
            f"strict device: numpy.{ufunc.__name__} was called on a device array; call xp.{ufunc.__name__} with xp = get_array_module(...)"
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(
            f"strict device: numpy.{func.__name__} was called on a device array; call xp.{func.__name__} with xp = get_array_module(...) "
            "(or asnumpy() first, if the host is meant)"
        )

    def get(self) -> np.ndarray:
        _transfers.record("d2h", self._a.nbytes)
        return self._a.copy()

    def item(self) -> Any:
        return self.get().item()

    def tolist(self) -> Any:
        return self.get().tolist()

    def __float__(self) -> float:
        return float(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __bool__(self) -> bool:
        if self._a.size > 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()")
        return bool(self.get())

    def __repr__(self) -> str:
        return repr(self.get())

    def __str__(self) -> str:
        return str(self.get())

    def __format__(self, spec: str) -> str:
        return format(self.get(), spec)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise _not_modelled("pickling device arrays")

    def __copy__(self) -> ndarray:
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo: dict) -> ndarray:
        return ndarray(self._a.copy())

    # --- metadata ------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: _result(self._a.T))
    device = property(lambda self: Device(0))

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[ndarray]:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _not_modelled(f"cupy.ndarray.{name}")

    # --- indexing --------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> ndarray:
        return _result(self._a[_index(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, (np.ndarray, list)) and np.ndim(value) > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        record_launch("setitem")
        self._a[_index(key)] = value if isinstance(value, np.ndarray) else _operand(value)

    # --- operators -------------------------------------------------------------------------
    def __neg__(self) -> ndarray:
        record_launch("neg")
        return _result(-self._a)

    __pos__ = lambda self: _result(+self._a)  # noqa: E731
    __abs__ = lambda self: _result(abs(self._a))  # noqa: E731
    __invert__ = lambda self: _result(~self._a)  # noqa: E731


_OPERATORS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
for _name, _op in _OPERATORS.items():
    setattr(ndarray, f"__{_name}__", _binary(_op))
    setattr(ndarray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(ndarray, f"__i{_name}__", _in_place(getattr(operator, f"i{_name}")))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name)))

_METHODS = (
    "all any argmax argmin argsort astype clip copy cumsum dot fill max mean min prod ravel reshape squeeze std sum swapaxes transpose view"
)


def _method(name: str) -> Any:
    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        record_launch(name)
        result = getattr(self._a, name)(*_operand(args), **{k: _operand(v) for k, v in kwargs.items()})
        return out if out is not None else _result(result)

    method.__name__ = name
    return method


for _name in _METHODS.split():
    setattr(ndarray, _name, _method(_name))


# --- the module's functions ----------------------------------------------------------------
def asarray(value: Any, dtype: Any = None) -> ndarray:
    """A device array of ``value``: the same one if it is already there with that dtype, else a copy (a transfer from the host)."""
    if isinstance(value, ndarray):
        return value if dtype is None or value.dtype == np.dtype(dtype) else value.astype(dtype)
    host = np.array(value, dtype=dtype)
    _transfers.record("h2d", host.nbytes)
    return ndarray(host)


def array(value: Any, dtype: Any = None) -> ndarray:
    if isinstance(value, ndarray):
        return value.astype(value.dtype if dtype is None else dtype)  # a copy on the device
    return asarray(value, dtype)


def asnumpy(value: Any) -> np.ndarray:
    return value.get() if isinstance(value, ndarray) else np.asarray(value)


_FUNCTIONS = (
    "abs add arange argmax argsort array_equal clip concatenate divide empty empty_like equal exp full log matmul maximum minimum "
    "multiply ones ones_like power sqrt stack subtract sum where zeros zeros_like"
    # what honest students' xp code in the course's exercises reaches for
    " cumsum divmod dot einsum eye hstack indices mean meshgrid pad repeat tanh tensordot tile"
)


def _function(name: str) -> Any:
    numpy_function = getattr(np, name)

    def function(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        record_launch(name)
        result = numpy_function(*_operand(args), **{k: _operand(v) for k, v in kwargs.items()})
        return out if out is not None else _result(result)

    function.__name__ = function.__qualname__ = name
    return function


def get_default_memory_pool() -> _MemoryPool:
    return _pool


class Device:
    """cupy.cuda.Device: the only one is device 0."""

    compute_capability = "90"

    def __init__(self, device: int | None = None) -> None:
        self.id = 0 if device is None else int(device)

    def _check(self) -> None:
        if self.id != 0:
            raise RuntimeError("cudaErrorInvalidDevice: invalid device ordinal (the strict device has one device, 0)")

    def use(self) -> None:
        self._check()

    def __enter__(self) -> Device:
        self._check()
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @property
    def mem_info(self) -> tuple[int, int]:
        total = 16 << 30
        return total - _pool.used, total


class _Stream:
    def synchronize(self) -> None:
        """Nothing is queued: every operation has already run."""


def _submodule(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)

    def missing(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise _not_modelled(f"{name}.{attribute}")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def _device_properties(index: int) -> dict[str, Any]:
    Device(index)._check()
    return {"name": b"strict device (NumPy underneath)", "totalGlobalMem": Device().mem_info[1], "major": 9, "minor": 0}


runtime = _submodule(
    "cupy.cuda.runtime",
    getDeviceCount=lambda: 1,
    getDeviceProperties=_device_properties,
    runtimeGetVersion=lambda: 12090,
    driverGetVersion=lambda: 12090,
)
nccl = _submodule("cupy.cuda.nccl", available=False)
cuda = _submodule("cupy.cuda", Device=Device, runtime=runtime, nccl=nccl, get_current_stream=_Stream)
cupy = _submodule(
    "cupy",
    __version__="strict device",
    ndarray=ndarray,
    asarray=asarray,
    array=array,
    asnumpy=asnumpy,
    get_default_memory_pool=get_default_memory_pool,
    cuda=cuda,
    **{name: _function(name) for name in _FUNCTIONS.split()},
    **{name: getattr(np, name) for name in ("dtype", "float32", "float64", "int32", "int64", "uint8", "uint32", "bool_")},
)


def _scatter_add(target: ndarray, indices: Any, values: Any) -> None:
    """``cupyx.scatter_add`` and ``cupy.add.at``: target[indices] += values, repeated indices adding up."""
    np.add.at(_operand(target), _index(indices), _operand(values))


def _sliding_window_view(x: ndarray, window_shape: Any, axis: Any = None) -> ndarray:
    return ndarray(np.lib.stride_tricks.sliding_window_view(_operand(x), window_shape, axis=axis))


cupy.add.at = _scatter_add
stride_tricks = _submodule("cupy.lib.stride_tricks", sliding_window_view=_sliding_window_view)
cupy.lib = _submodule("cupy.lib", stride_tricks=stride_tricks)
cupyx = _submodule("cupyx", scatter_add=_scatter_add)

MODULES = (
    ("cupy", cupy),
    ("cupy.cuda", cuda),
    ("cupy.cuda.runtime", runtime),
    ("cupy.cuda.nccl", nccl),
    ("cupy.lib", cupy.lib),
    ("cupy.lib.stride_tricks", stride_tricks),
    ("cupyx", cupyx),
)


def install(monkeypatch: Any) -> types.ModuleType:
    """Make ``import cupy`` give the strict device until the test ends (``monkeypatch``: pytest's fixture); returns it."""
    for name, module in MODULES:
        monkeypatch.setitem(sys.modules, name, module)
    _pool.free_all_blocks()
    return cupy


@contextlib.contextmanager
def installed() -> Iterator[types.ModuleType]:
    """``import cupy`` gives the strict device inside the ``with`` block; whatever was there before comes back after."""
    missing = object()
    saved = {name: sys.modules.get(name, missing) for name, _ in MODULES}
    sys.modules.update(dict(MODULES))
    _pool.free_all_blocks()
    try:
        yield cupy
    finally:
        for name, module in saved.items():
            if module is missing:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
