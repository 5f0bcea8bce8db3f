"""CuPy's names (``cupy_inventory.json``, written by scripts/cupy_inventory.py from CuPy itself), and which of them the
strict device offers: those the installed NumPy has too, since NumPy does the arithmetic underneath."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

INVENTORY_FILE = Path(__file__).resolve().parent / "cupy_inventory.json"
INVENTORY: dict[str, dict[str, str]] = {
    key: value for key, value in json.loads(INVENTORY_FILE.read_text()).items() if isinstance(value, dict)
}


def names(namespace: str, *kinds: str) -> list[str]:
    """The names of ``namespace`` ("cupy", "cupy.linalg", "cupy.ndarray", ...) of the given kinds (all kinds if none)."""
    return [name for name, kind in INVENTORY[namespace].items() if not kinds or kind in kinds]


def numpy_has(numpy_namespace: object, name: str) -> bool:
    """Whether the installed NumPy has ``name`` (without the warnings NumPy gives for names it retired)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return hasattr(numpy_namespace, name)
        except Exception:  # NumPy raises AttributeError subclasses with advice for removed aliases
            return False


def shared(namespace: str, numpy_namespace: ModuleType | type, *kinds: str) -> list[str]:
    """The names of ``namespace`` that the installed NumPy has too."""
    return [name for name in names(namespace, *kinds) if numpy_has(numpy_namespace, name)]
