"""The ``cupy`` module the strict device puts in ``sys.modules``, built from CuPy's inventory.

Each of CuPy's names that the installed NumPy also has is offered: functions and ufuncs computed
by NumPy's (functions.py), NumPy's own classes and constants where CuPy hands them out too
(``cupy.float32 is numpy.float32``), ``linalg``, ``fft``, ``lib.stride_tricks``, ``random`` and
``cupyx.scatter_add`` (max, min). Asked for any other name, a module answers with the reason:
CuPy has not got it (``NotInCupyError``), the installed NumPy has not (``NotInNumpyError``), or
the stand-in does not model it (``NotModelledError``: kernels, streams, pinned memory, ...).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from minialexnet.strict_device import functions, random, rules
from minialexnet.strict_device.array import flatiter, index_key, ndarray, result
from minialexnet.strict_device.counters import pool, record_launch
from minialexnet.strict_device.cuda import cuda, nccl, runtime
from minialexnet.strict_device.inventory import INVENTORY, numpy_has

NOT_MODELLED = frozenset({"from_dlpack", "show_config"})  # CuPy's and NumPy's, but nothing the device can give
CUPY_OWN = frozenset({"clear_memo", "memoize", "fromDlpack", "get_default_pinned_memory_pool", "make_aligned_dtype"})  # not NumPy 1.x's


class _IndexHelper:
    """``cupy.r_``, ``c_``, ``mgrid``, ``ogrid``: NumPy's, indexed with the arrays underneath, answering with device arrays."""

    __module__ = "cupy"

    def __init__(self, name: str) -> None:
        self.name, self._helper = name, getattr(np, name)

    def __getitem__(self, key: Any) -> Any:
        record_launch(self.name)
        return result(self._helper[index_key(key)])


def module(name: str, numpy_module: Any, attributes: dict[str, Any]) -> types.ModuleType:
    """Module ``name`` holding ``attributes``; another name gets the reason it is not there."""
    made = types.ModuleType(name)
    made.__dict__.update(attributes)
    cupy_names = INVENTORY.get(name, {})
    short = name.removeprefix("cupy.").removeprefix("cupy")

    def missing(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        if attribute in cupy_names:
            own = cupy_names[attribute] in ("class", "module") or attribute in CUPY_OWN  # CuPy's kernels, pools, ...
            if numpy_module is not None and not numpy_has(numpy_module, attribute) and not own:
                raise rules.not_in_numpy(attribute, short)
            raise rules.not_modelled(f"{name}.{attribute}")
        if numpy_module is not None and numpy_has(numpy_module, attribute):
            raise rules.not_in_cupy(attribute, short)
        raise AttributeError(f"module '{name}' has no attribute '{attribute}'")

    made.__getattr__ = missing  # type: ignore[method-assign]
    return made


def _offer(name: str, numpy_module: Any, place: str) -> Any:
    """The strict device's twin of CuPy's ``place.name``, or None when it does not offer one."""
    kind = INVENTORY[place][name]
    if name in NOT_MODELLED or not numpy_has(numpy_module, name):
        return None
    numpy_value = getattr(numpy_module, name)
    if kind in ("numpy class", "numpy function"):
        return numpy_value
    if kind == "constant":
        return _IndexHelper(name) if name in ("r_", "c_", "mgrid", "ogrid") else numpy_value
    if kind not in ("function", "ufunc"):
        return None
    if isinstance(numpy_value, np.ufunc):
        return functions.ufunc(name, numpy_value)
    if name in functions.FROM_HOST:
        return functions.from_host(name, numpy_value)
    if name in functions.HOST_VALUED:
        return functions.host_valued(name, numpy_value)
    return functions.on_device(name, numpy_value)


def _namespace(place: str, numpy_module: Any) -> dict[str, Any]:
    offered = {name: _offer(name, numpy_module, place) for name in INVENTORY[place]}
    return {name: value for name, value in offered.items() if value is not None}


linalg = module("cupy.linalg", np.linalg, _namespace("cupy.linalg", np.linalg))
fft = module("cupy.fft", np.fft, _namespace("cupy.fft", np.fft))
stride_tricks = module("cupy.lib.stride_tricks", np.lib.stride_tricks, _namespace("cupy.lib.stride_tricks", np.lib.stride_tricks))
lib = module("cupy.lib", np.lib, {"stride_tricks": stride_tricks})
random_module = module("cupy.random", np.random, random.ATTRIBUTES)
exceptions = module("cupy.exceptions", np.exceptions, _namespace("cupy.exceptions", np.exceptions))
cupyx = module(
    "cupyx",
    None,
    {f"scatter_{op}": functions.scatter(getattr(np, ufunc)) for op, ufunc in (("add", "add"), ("max", "maximum"), ("min", "minimum"))},
)
cupy = module(
    "cupy",
    np,
    {
        **_namespace("cupy", np),
        **functions.CUPY_ONLY,
        "__version__": f"{rules.CUPY_VERSION} (strict device: NumPy {np.__version__} underneath)",
        "ndarray": ndarray,
        "ufunc": functions.ufunc,
        "flatiter": flatiter,
        "newaxis": None,
        "get_default_memory_pool": lambda: pool,
        "cuda": cuda,
        "linalg": linalg,
        "fft": fft,
        "lib": lib,
        "random": random_module,
        "exceptions": exceptions,
    },
)
MODULES = (
    ("cupy", cupy),
    ("cupy.cuda", cuda),
    ("cupy.cuda.runtime", runtime),
    ("cupy.cuda.nccl", nccl),
    ("cupy.linalg", linalg),
    ("cupy.fft", fft),
    ("cupy.lib", lib),
    ("cupy.lib.stride_tricks", stride_tricks),
    ("cupy.random", random_module),
    ("cupy.exceptions", exceptions),
    ("cupyx", cupyx),
)
