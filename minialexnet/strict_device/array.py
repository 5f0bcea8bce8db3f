"""The device array: a NumPy array underneath, which only the strict device's functions, methods and operators touch.

``wrap`` makes one from a NumPy array computed "on the device"; ``operand`` unwraps an argument
(refusing NumPy arrays, as CuPy does); ``result`` turns NumPy's answer into CuPy's (arrays and
scalars become device arrays: a reduction gives a 0-d array, not a number). Every way to the
host (``get``, ``item``, ``float()``, printing, pickling) is a counted transfer.
"""

from __future__ import annotations

import inspect
import operator
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minialexnet.strict_device import rules
from minialexnet.strict_device.counters import pool, record_launch, record_transfer
from minialexnet.strict_device.cuda import Device
from minialexnet.strict_device.inventory import names, numpy_has, shared

CUPY_NDARRAY = set(names("cupy.ndarray"))


def wrap(host: np.ndarray) -> ndarray:
    """A device array holding ``host`` (computed on the device: no transfer)."""
    rules.check_dtype(host.dtype)
    array = object.__new__(ndarray)
    array._a = host
    if host.base is None:
        pool.allocated(host)
    return array


def _from_host(host: np.ndarray) -> ndarray:
    """A device array copied from the host (unpickling): a transfer."""
    record_transfer("h2d", host.nbytes)
    return wrap(host)


def _callback(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as NumPy calls it back (apply_along_axis, fromfunction): it gets device arrays, NumPy gets its answer's host view."""

    def on_host(*args: Any, **kwargs: Any) -> Any:
        answer = function(*(result(a) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
        return operand(answer)

    return on_host


def operand(value: Any) -> Any:
    """The NumPy value behind an argument: device arrays unwrapped, functions called back with device arrays, NumPy arrays refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(operand(v) for v in value)
    own = getattr(value, "__module__", "") == "cupy" and callable(value) and not isinstance(value, type)  # xp.sum, xp.add
    if inspect.isfunction(value) or inspect.ismethod(value) or own:
        return _callback(value)
    return value


def element(value: Any) -> Any:
    """An operand of an elementwise operation: a device array or a scalar; NumPy arrays and lists are refused, as CuPy does."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, (np.ndarray, list, tuple)):
        raise TypeError(f"Unsupported type {type(value)}")
    return value


def result(value: Any) -> Any:
    """NumPy's answer as CuPy gives it: arrays and scalars become device arrays, tuples and lists of them stay tuples and lists."""
    if isinstance(value, np.ndarray):
        return wrap(value)
    if isinstance(value, (np.generic, bool, int, float, complex)):
        return wrap(np.asarray(value))
    if isinstance(value, tuple):
        items = [result(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [result(v) for v in value]
    return value


def index_key(key: Any) -> Any:
    """An index as NumPy takes it: device arrays unwrapped; NumPy arrays and lists used as index arrays are copied to the
    device first, as CuPy does (a transfer on every call)."""
    if isinstance(key, tuple):
        return tuple(index_key(part) for part in key)
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, (np.ndarray, list)):
        host = np.asarray(key)
        record_transfer("h2d", host.nbytes)
        return host
    return key


class _Flags:
    def __init__(self, host: np.ndarray) -> None:
        self.c_contiguous, self.f_contiguous, self.owndata = host.flags.c_contiguous, host.flags.f_contiguous, host.flags.owndata


class flatiter:  # noqa: N801 (CuPy's name)
    """``a.flat``: the array as one dimension, for indexing and iterating."""

    __module__ = "cupy"

    def __init__(self, base: ndarray) -> None:
        self.base = base

    def __getitem__(self, key: Any) -> ndarray:
        return result(self.base._a.flat[index_key(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        record_launch("setitem")
        self.base._a.flat[index_key(key)] = element(value)

    def __iter__(self) -> Iterator[ndarray]:
        return (self[i] for i in range(self.base.size))

    def __len__(self) -> int:
        return self.base.size

    def copy(self) -> ndarray:
        return self.base.flatten()


class ndarray:  # noqa: N801 (CuPy's name)
    """A device array: ``cupy.ndarray(shape, dtype)`` allocates one, as in CuPy (uninitialised)."""

    __module__ = "cupy"  # backend._is_cupy_array looks at this
    __slots__ = ("_a",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None, strides: Any = None, order: str = "C") -> None:
        if memptr is not None or strides is not None:
            raise rules.not_modelled("cupy.ndarray with memptr or strides")
        rules.check_dtype(dtype)
        self._a = np.empty(shape, dtype, order=order)
        pool.allocated(self._a)

    # --- the host boundary -------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(rules.IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(isinstance(value, np.ndarray) for value in inputs):
            raise TypeError(f"Unsupported type {np.ndarray}")
        if method == "__call__" and not kwargs and len(inputs) == 2 and sum(isinstance(v, ndarray) for v in inputs) == 1:
            record_launch(ufunc.__name__)
            return result(ufunc(*(operand(v) for v in inputs)))  # how `np.float32(2) * a` arrives
        raise rules.numpy_on_device(ufunc.__name__, ufunc.__name__ in names("cupy"))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise rules.numpy_on_device(func.__name__, func.__name__ in names("cupy"))

    def get(self, stream: Any = None, order: str = "C", out: np.ndarray | None = None, blocking: bool = True) -> np.ndarray:
        record_transfer("d2h", self._a.nbytes)
        if out is None:
            return self._a.copy(order=order)
        out[...] = self._a
        return out

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape:
            raise ValueError(f"ndarray.set needs a numpy.ndarray of shape {self.shape}")
        record_transfer("h2d", arr.nbytes)
        self._a[...] = arr

    def item(self) -> Any:
        return self.get().item()

    def tolist(self) -> Any:
        return self.get().tolist()

    def tobytes(self, order: str = "C") -> bytes:
        return self.get().tobytes(order)

    def tofile(self, fid: Any, sep: str = "", format: str = "%s") -> None:
        self.get().tofile(fid, sep, format)

    def dumps(self) -> bytes:
        return pickle.dumps(self)

    def dump(self, file: Any) -> None:
        with open(file, "wb") if isinstance(file, str) else _kept_open(file) as handle:
            pickle.dump(self, handle)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _from_host, (self.get(),)

    def __float__(self) -> float:
        return float(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

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

    def __copy__(self) -> ndarray:
        return wrap(self._a.copy())

    def __deepcopy__(self, memo: dict) -> ndarray:
        return wrap(self._a.copy())

    # --- metadata and views ------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: result(self._a.T))
    mT = property(lambda self: result(self._a.mT))  # noqa: N815 (CuPy's name)
    device = property(lambda self: Device(0))
    base = property(lambda self: wrap(self._a.base) if isinstance(self._a.base, np.ndarray) else None)
    flat = property(lambda self: flatiter(self))

    @property
    def real(self) -> ndarray:
        return result(self._a.real)

    @real.setter
    def real(self, value: Any) -> None:
        self._a.real = element(value)

    @property
    def imag(self) -> ndarray:
        return result(self._a.imag)

    @imag.setter
    def imag(self, value: Any) -> None:
        self._a.imag = element(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[ndarray]:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in CUPY_NDARRAY:
            raise rules.not_in_numpy(name, "ndarray") if not numpy_has(np.ndarray, name) else rules.not_modelled(f"cupy.ndarray.{name}")
        if numpy_has(np.ndarray, name):
            raise rules.not_in_cupy(name, "ndarray")
        raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")

    # --- indexing --------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> ndarray:
        key = index_key(key)
        rules.check_index(self.shape, key)
        return result(self._a[key])

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, (np.ndarray, list)) and np.ndim(value) > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        record_launch("setitem")
        key = index_key(key)
        rules.check_index(self.shape, key)
        value = value if isinstance(value, np.ndarray) else operand(value)
        rules.check_scatter(self.shape, key, value)
        rules.check_cast(np.asarray(value), self.dtype)
        self._a[key] = value

    # --- methods that differ from NumPy's ----------------------------------------------------
    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None, copy: bool = True) -> ndarray:
        rules.check_dtype(dtype)
        rules.check_cast(self._a, dtype)
        record_launch("astype")
        return wrap(self._a.astype(dtype, order=order, copy=copy))

    def fill(self, value: Any) -> None:
        if isinstance(value, np.ndarray) and value.shape != ():
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        record_launch("fill")
        self._a.fill(value.item() if isinstance(value, np.ndarray) else element(value))

    def scatter_add(self, slices: Any, value: Any) -> None:
        """``a[slices] += value`` with every repeated index adding up (``cupyx.scatter_add``)."""
        record_launch("scatter_add")
        np.add.at(self._a, index_key(slices), element(value))

    def scatter_max(self, slices: Any, value: Any) -> None:
        record_launch("scatter_max")
        np.maximum.at(self._a, index_key(slices), element(value))

    def scatter_min(self, slices: Any, value: Any) -> None:
        record_launch("scatter_min")
        np.minimum.at(self._a, index_key(slices), element(value))


class _kept_open:  # noqa: N801 (used like open())
    """A file object passed by the caller: used in a with-block, left open."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> Any:
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        return None


def _binary(op: Callable[[Any, Any], Any], name: str, reflected: bool = False) -> Callable[[ndarray, Any], Any]:
    def method(self: ndarray, other: Any) -> Any:
        record_launch(name)
        return result(op(element(other), self._a) if reflected else op(self._a, element(other)))

    return method


def _in_place(op: Callable[[Any, Any], Any], name: str) -> Callable[[ndarray, Any], ndarray]:
    def method(self: ndarray, other: Any) -> ndarray:
        record_launch(name)
        op(self._a, element(other))
        return self

    return method


def _unary(op: Callable[[Any], Any], name: str) -> Callable[[ndarray], ndarray]:
    def method(self: ndarray) -> ndarray:
        record_launch(name)
        return result(op(self._a))

    return method


_OPERATORS = ("add sub mul truediv floordiv mod pow matmul and or xor lshift rshift").split()
for _name in _OPERATORS:
    _op = getattr(operator, f"{_name}_" if _name in ("and", "or") else _name)
    setattr(ndarray, f"__{_name}__", _binary(_op, _op.__name__.strip("_")))
    setattr(ndarray, f"__r{_name}__", _binary(_op, _op.__name__.strip("_"), reflected=True))
    setattr(ndarray, f"__i{_name}__", _in_place(getattr(operator, f"i{_name}"), _op.__name__.strip("_")))
ndarray.__divmod__ = _binary(divmod, "divmod")
ndarray.__rdivmod__ = _binary(divmod, "divmod", reflected=True)
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name), _name))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _unary(getattr(operator, _name), _name))


def _method(name: str) -> Callable[..., Any]:
    """``ndarray.<name>`` computed by NumPy's method of the same name, on the device."""

    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        record_launch(name)
        answer = getattr(self._a, name)(*operand(args), **{k: operand(v) for k, v in kwargs.items()})
        return out if out is not None else result(answer)

    method.__name__ = method.__qualname__ = name
    return method


for _name in shared("cupy.ndarray", np.ndarray, "method"):
    if _name not in vars(ndarray):
        setattr(ndarray, _name, _method(_name))
