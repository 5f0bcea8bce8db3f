"""CuPy's functions and ufuncs, computed by NumPy's of the same name on the arrays underneath.

Every function takes device arrays and refuses NumPy arrays, except the few that read host data
(``asarray``, ``loadtxt``, ...: a transfer). Each call through ``xp`` is one kernel launch, except
views and the functions whose answer is a host value (``ndim``, ``shape``, ``result_type``, ...,
where CuPy answers with a Python value too). Whatever reads device data into a host object
(``array_str``, ``save``) is a transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minialexnet.strict_device import rules
from minialexnet.strict_device.array import element, index_key, ndarray, operand, result
from minialexnet.strict_device.counters import record_launch, record_transfer

# CuPy builds these from host data (a list, a NumPy array, a file): a transfer to the device.
FROM_HOST = frozenset(
    "array asarray asanyarray ascontiguousarray asfortranarray asarray_chkfinite require "
    "frombuffer fromfile fromiter fromstring loadtxt genfromtxt load".split()
)
# CuPy answers these with host values (Python numbers, tuples, dtypes, strings), not device arrays.
HOST_VALUED = frozenset(
    "ndim shape size result_type can_cast common_type min_scalar_type isscalar iscomplexobj isrealobj isfortran "
    "shares_memory may_share_memory base_repr binary_repr format_float_positional format_float_scientific "
    "array_repr array_str array2string save savez savez_compressed savetxt show_config".split()
)
READS_DEVICE = frozenset("array_repr array_str array2string save savez savez_compressed savetxt".split())  # a copy to the host
VIEWS = frozenset(
    "atleast_1d atleast_2d atleast_3d broadcast_arrays broadcast_to expand_dims matrix_transpose moveaxis permute_dims "
    "real imag rollaxis as_strided sliding_window_view".split()
)


def _device_bytes(values: Any) -> int:
    """The bytes of every device array among ``values`` (nested in lists, tuples and dicts)."""
    if isinstance(values, ndarray):
        return values.nbytes
    if isinstance(values, (list, tuple)):
        return sum(_device_bytes(v) for v in values)
    if isinstance(values, dict):
        return sum(_device_bytes(v) for v in values.values())
    return 0


def _host_data(value: Any) -> Any:
    """A function's argument that may be host data: device arrays unwrapped, NumPy arrays and lists taken as they are."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, (list, tuple)) and any(isinstance(v, ndarray) for v in value):
        return type(value)(_host_data(v) for v in value)
    return value


def from_host(name: str, numpy_function: Callable[..., Any]) -> Callable[..., Any]:
    """``xp.<name>`` that builds a device array from host data (a counted transfer) or from a device array (a copy on the device)."""

    def function(*args: Any, **kwargs: Any) -> Any:
        rules.check_dtype(kwargs.get("dtype"))
        on_device = bool(args) and _device_bytes(args[0]) > 0  # a device array, or a list of them: no transfer
        if isinstance(args[0] if args else None, ndarray) and kwargs.get("dtype") is not None:
            rules.check_cast(args[0]._a, kwargs["dtype"])
        answer = numpy_function(*(_host_data(a) for a in args), **{k: _host_data(v) for k, v in kwargs.items()})
        if isinstance(answer, np.ndarray) and answer.dtype.kind in "OSUVMm":
            raise TypeError(f"{name}({type(args[0]).__name__} ...): {rules.NON_NUMERIC}")
        if on_device:
            if isinstance(args[0], ndarray) and answer is args[0]._a:
                return args[0]
            record_launch(name)
        else:
            record_transfer("h2d", answer.nbytes if isinstance(answer, np.ndarray) else 0)
        return result(answer)

    return _named(function, name)


def host_valued(name: str, numpy_function: Callable[..., Any]) -> Callable[..., Any]:
    """``xp.<name>`` whose answer is a host value; reading device data into it is a transfer."""

    def function(*args: Any, **kwargs: Any) -> Any:
        if name in READS_DEVICE:
            record_transfer("d2h", _device_bytes(args) + _device_bytes(kwargs))
        return numpy_function(*operand(args), **{k: operand(v) for k, v in kwargs.items()})

    return _named(function, name)


def on_device(name: str, numpy_function: Callable[..., Any]) -> Callable[..., Any]:
    """``xp.<name>``: NumPy's function on the arrays underneath, the answer as device arrays (``out=`` written in place)."""

    def function(*args: Any, **kwargs: Any) -> Any:
        rules.check_dtype(kwargs.get("dtype"))
        out = kwargs.get("out")
        if name not in VIEWS:
            record_launch(name)
        answer = numpy_function(*operand(args), **{k: operand(v) for k, v in kwargs.items()})
        return out if out is not None else result(answer)

    return _named(function, name)


def _named(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    function.__name__ = function.__qualname__ = name
    function.__module__ = "cupy"
    return function


class ufunc:  # noqa: N801 (CuPy's name)
    """A CuPy ufunc: elementwise on device arrays and scalars (NumPy arrays and lists refused), with reduce, accumulate,
    reduceat, outer and at."""

    __module__ = "cupy"

    def __init__(self, name: str, numpy_ufunc: np.ufunc) -> None:
        self.__name__ = self.name = name
        self._u = numpy_ufunc

    nin = property(lambda self: self._u.nin)
    nout = property(lambda self: self._u.nout)
    nargs = property(lambda self: self._u.nargs)
    types = property(lambda self: self._u.types)

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        rules.check_dtype(kwargs.get("dtype"))
        out = kwargs.get("out")
        record_launch(self.name)
        answer = self._u(*(element(a) for a in args), **{k: operand(v) for k, v in kwargs.items()})
        return out if out is not None else result(answer)

    def _method(self, method: str, *args: Any, **kwargs: Any) -> Any:
        record_launch(f"{self.name}.{method}")
        out = kwargs.get("out")
        answer = getattr(self._u, method)(*operand(args), **{k: operand(v) for k, v in kwargs.items()})
        return out if out is not None else result(answer)

    def reduce(self, array: Any, *args: Any, **kwargs: Any) -> Any:
        return self._method("reduce", array, *args, **kwargs)

    def accumulate(self, array: Any, *args: Any, **kwargs: Any) -> Any:
        return self._method("accumulate", array, *args, **kwargs)

    def reduceat(self, array: Any, indices: Any, *args: Any, **kwargs: Any) -> Any:
        return self._method("reduceat", array, indices, *args, **kwargs)

    def outer(self, a: Any, b: Any, **kwargs: Any) -> Any:
        return self._method("outer", a, b, **kwargs)

    def at(self, a: ndarray, indices: Any, b: Any = None) -> None:
        """``a[indices] op= b`` with repeated indices applied once each (``xp.add.at`` adds them all up)."""
        record_launch(f"{self.name}.at")
        if not isinstance(a, ndarray):
            raise TypeError(f"Unsupported type {type(a)}")
        key = index_key(indices)
        rules.check_index(a.shape, key)
        self._u.at(a._a, key, *(() if b is None else (element(b),)))


def scatter(numpy_ufunc: np.ufunc) -> Callable[[ndarray, Any, Any], None]:
    """``cupyx.scatter_add`` (max, min): ``a[slices] op= value`` with every repeated index counted."""
    name = f"scatter_{numpy_ufunc.__name__.replace('imum', '')}"

    def function(a: ndarray, slices: Any, value: Any) -> None:
        if not isinstance(a, ndarray):
            raise TypeError(f"Unsupported type {type(a)}")
        getattr(a, name)(slices, value)

    return _named(function, name)


def get_array_module(*args: Any) -> Any:
    """``cupy.get_array_module``: the strict device for device arrays, else NumPy."""
    from minialexnet.strict_device.namespace import cupy

    return cupy if any(isinstance(a, ndarray) for a in args) else np


def asnumpy(value: Any, stream: Any = None, order: str = "C", out: np.ndarray | None = None) -> np.ndarray:
    """``cupy.asnumpy``: a device array copied to the host (a transfer); anything else through ``numpy.asarray``."""
    return value.get(order=order, out=out) if isinstance(value, ndarray) else np.asarray(value, order=order)


def fuse(*args: Any, **kwargs: Any) -> Any:
    """``cupy.fuse``: CuPy compiles the function into one kernel; here it runs as written (its launches are counted one by one)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


CUPY_ONLY = {  # CuPy's functions that NumPy has no twin of, as the strict device gives them
    "asnumpy": asnumpy,
    "get_array_module": get_array_module,
    "is_available": lambda: True,
    "fuse": fuse,
}
