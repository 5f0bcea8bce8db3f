"""minialexnet: AlexNet (Krizhevsky, Sutskever, Hinton, 2012) from scratch, on NumPy or CuPy."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["DeviceUnavailableError", "__version__", "asnumpy", "get_array_module", "to_device"]


def __getattr__(name: str) -> Any:
    """The backend's names, imported when first used: ``python -m minialexnet.<tool>`` imports this package before
    the tool's guard against Ctrl-C (``commands.py``) is in place, so it must not load NumPy itself."""
    if name in __all__:
        from minialexnet import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'minialexnet' has no attribute {name!r}")
