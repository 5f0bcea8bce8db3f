"""``cupy.cuda`` as the project uses it: one device (``gpu:0``), its memory, a stream with nothing queued, no NCCL."""

from __future__ import annotations

import types
from typing import Any

from minialexnet.strict_device.counters import pool
from minialexnet.strict_device.rules import not_modelled


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

    def synchronize(self) -> None:
        """Nothing is queued: every operation has already run."""

    def __enter__(self) -> Device:
        self._check()
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @property
    def mem_info(self) -> tuple[int, int]:
        total = 16 << 30
        return total - pool.used, total


class Stream:
    """The current stream: nothing is ever queued on it."""

    ptr = 0

    def synchronize(self) -> None:
        """Nothing is queued: every operation has already run."""


def submodule(name: str, **attributes: Any) -> types.ModuleType:
    """A module whose names are ``attributes``; any other name is one the strict device does not model."""
    module = types.ModuleType(name)
    module.__dict__.update(attributes)

    def missing(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise not_modelled(f"{name}.{attribute}")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def _device_properties(index: int) -> dict[str, Any]:
    Device(index)._check()
    return {"name": b"strict device (NumPy underneath)", "totalGlobalMem": Device().mem_info[1], "major": 9, "minor": 0}


runtime = submodule(
    "cupy.cuda.runtime",
    getDeviceCount=lambda: 1,
    getDeviceProperties=_device_properties,
    runtimeGetVersion=lambda: 12090,
    driverGetVersion=lambda: 12090,
)
nccl = submodule("cupy.cuda.nccl", available=False)
cuda = submodule("cupy.cuda", Device=Device, runtime=runtime, nccl=nccl, get_current_stream=Stream)
