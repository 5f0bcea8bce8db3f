"""One code path for CPU and GPU: the array-module switch.

Every layer asks ``xp = get_array_module(x)`` and then writes ``xp.matmul``,
``xp.maximum``, ... . With NumPy arrays ``xp`` is ``numpy``; with CuPy arrays it is
``cupy``. This module is the only place in minialexnet that imports CuPy, and it does
so lazily, so ``import minialexnet`` works on a machine without CuPy or without a GPU.

Devices are named ``"cpu"``, ``"gpu"`` (the current CUDA device, normally 0) or
``"gpu:N"`` (CUDA device N).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

# minialexnet is not on the package index: the [gpu] extra only works from a checkout
GPU_INSTALL_HINT = 'install CuPy: pip install cupy-cuda12x (CUDA 12) or cupy-cuda13x (CUDA 13); in a checkout, pip install -e ".[gpu]"'


class DeviceUnavailableError(RuntimeError):
    """The requested device cannot be used here; the message says why and what to do."""


def parse_device(device: str) -> tuple[str, int | None]:
    """Split a device name into ``(kind, index)``: ``"gpu:1"`` -> ``("gpu", 1)``.

    Raises ValueError for anything but ``"cpu"``, ``"gpu"`` or ``"gpu:N"``.
    """
    if not isinstance(device, str):
        raise ValueError(f"device must be a string like 'cpu', 'gpu' or 'gpu:0', got {device!r}")
    name = device.strip().lower()
    if name == "cpu":
        return "cpu", None
    if name in ("gpu", "cuda"):
        return "gpu", None
    for prefix in ("gpu:", "cuda:"):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return "gpu", int(name[len(prefix) :])
    raise ValueError(f"unknown device {device!r}: use 'cpu', 'gpu' or 'gpu:N' (N = CUDA device number)")


def _import_cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as error:
        raise DeviceUnavailableError(f"a GPU was requested but CuPy is not installed ({error}); {GPU_INSTALL_HINT}") from None
    return cupy


def get_cupy(index: int | None = None) -> ModuleType:
    """Return the ``cupy`` module after checking that a usable CUDA device exists.

    Raises DeviceUnavailableError saying what is missing (CuPy, a driver, a device).
    """
    cupy = _import_cupy()
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises CUDARuntimeError or driver errors here
        raise DeviceUnavailableError(
            f"CuPy is installed but no CUDA device could be used ({type(error).__name__}: {error}); "
            "check the NVIDIA driver with `nvidia-smi`, or train with --device cpu"
        ) from None
    if count == 0:
        raise DeviceUnavailableError("CuPy is installed but found no CUDA device; train with --device cpu")
    if index is not None and not 0 <= index < count:
        raise DeviceUnavailableError(f"CUDA device {index} was requested but only {count} device(s) exist (gpu:0 .. gpu:{count - 1})")
    return cupy


def check_device(device: str) -> None:
    """Raise DeviceUnavailableError (or ValueError for a bad name) unless ``device`` is usable."""
    kind, index = parse_device(device)
    if kind == "gpu":
        get_cupy(index)


def gpu_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    try:
        get_cupy()
    except DeviceUnavailableError:
        return False
    return True


def _is_cupy_array(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "cupy"


def get_array_module(*arrays: Any) -> ModuleType:
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``.

    Never imports CuPy when all arrays are NumPy arrays (or scalars).
    """
    for array in arrays:
        if _is_cupy_array(array):
            return _import_cupy()
    return np


def device_of(array: Any) -> str:
    """The device name an array lives on: ``"cpu"`` or ``"gpu:N"``."""
    if _is_cupy_array(array):
        return f"gpu:{array.device.id}"
    return "cpu"


def asnumpy(array: Any) -> np.ndarray:
    """Copy an array to the host as a NumPy array (a NumPy array is returned as is)."""
    if _is_cupy_array(array):
        return array.get()
    return np.asarray(array)


def to_device(array: Any, device: str) -> Any:
    """Return ``array`` on ``device`` (``"cpu"``, ``"gpu"`` or ``"gpu:N"``), copying only if needed."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return asnumpy(array)
    cupy = get_cupy(index)
    if index is None:
        return cupy.asarray(array)
    with cupy.cuda.Device(index):
        return cupy.asarray(array)


def synchronize(array_module: ModuleType) -> None:
    """Wait until queued GPU work is finished (nothing to wait for on the CPU)."""
    if array_module is not np:
        array_module.cuda.get_current_stream().synchronize()


def use_device(device: str) -> None:
    """Make ``device`` the current one for new arrays (selects the CUDA device for "gpu:N")."""
    kind, index = parse_device(device)
    if kind == "gpu":
        cupy = get_cupy(index)
        if index is not None:
            cupy.cuda.Device(index).use()
