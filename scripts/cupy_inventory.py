"""Write ``minialexnet/strict_device/cupy_inventory.json``: the names CuPy offers, which the strict device takes as its API.

CuPy imports without a GPU (only allocating fails), so its namespace can be listed anywhere.
Run this in a venv of its own with the pinned CuPy, never in the project's environment (there,
with no driver, ``doctor`` would report a failure and the GPU error messages would change):

    python -m venv /tmp/cupy-venv
    /tmp/cupy-venv/bin/pip install cupy-cuda12x==14.2.0 numpy==2.4.6
    /tmp/cupy-venv/bin/python scripts/cupy_inventory.py            # rewrites the file
    /tmp/cupy-venv/bin/python scripts/cupy_inventory.py --check    # exit status 1 when the file differs

Each namespace maps a public name to its kind: ``function``, ``ufunc``, ``class``, ``constant``,
``module``, or ``numpy function`` / ``numpy class`` where CuPy hands out NumPy's own object
(``cupy.float32 is numpy.float32``). For classes (``ndarray``, the ufunc, the random generators)
the kinds are ``method`` and ``attribute``. tests/test_strict_device_api.py compares this file with
CuPy wherever that CuPy version is importable.
"""

from __future__ import annotations
import __future__

import argparse
import inspect
import json
import sys
import types
from pathlib import Path
from typing import Any

PINNED = "14.2.0"
OUTPUT = Path(__file__).resolve().parents[1] / "minialexnet" / "strict_device" / "cupy_inventory.json"
MODULES = ("cupy", "cupy.fft", "cupy.linalg", "cupy.lib", "cupy.lib.stride_tricks", "cupy.random", "cupy.exceptions", "cupyx")
CLASSES = ("cupy.ndarray", "cupy.ufunc", "cupy.random.Generator", "cupy.random.RandomState")


def _kind(module: types.ModuleType, value: Any) -> str | None:
    """What a public name of ``module`` is; None for what is not its API (``annotations``, an imported module)."""
    if isinstance(value, __future__._Feature):
        return None
    if isinstance(value, types.ModuleType):
        return "module" if value.__name__.startswith(module.__name__ + ".") else None
    numpy_own = str(getattr(value, "__module__", "")).split(".")[0] == "numpy"
    if isinstance(value, type):
        return "numpy class" if numpy_own else "class"
    if type(value).__name__ == "ufunc":
        return "ufunc"
    if callable(value) and not hasattr(value, "__getitem__"):
        return "numpy function" if numpy_own else "function"
    return "constant"


def _namespace(module: types.ModuleType) -> dict[str, str]:
    names = {name: _kind(module, getattr(module, name)) for name in dir(module) if not name.startswith("_")}
    return {name: kind for name, kind in sorted(names.items()) if kind is not None}


def _members(cls: type) -> dict[str, str]:
    def kind(name: str) -> str:
        return "method" if callable(inspect.getattr_static(cls, name)) else "attribute"

    return {name: kind(name) for name in sorted(dir(cls)) if not name.startswith("_")}


def _resolve(dotted: str) -> Any:
    import importlib

    head, _, tail = dotted.rpartition(".")
    try:
        return importlib.import_module(dotted)
    except ImportError:
        return getattr(importlib.import_module(head), tail)


def inventory() -> dict[str, Any]:
    """The inventory of the CuPy importable here."""
    import cupy

    namespaces = {name: _namespace(_resolve(name)) for name in MODULES}
    for dotted in CLASSES:  # a class a module hands out lazily (cupy.random.Generator, through its __getattr__)
        place, _, name = dotted.rpartition(".")
        namespaces[place].setdefault(name, _kind(_resolve(place), _resolve(dotted)))
        namespaces[place] = dict(sorted(namespaces[place].items()))
    return {"cupy": cupy.__version__, **namespaces, **{name: _members(_resolve(name)) for name in CLASSES}}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in file instead of writing it")
    args = parser.parse_args(argv)
    import cupy

    if cupy.__version__ != PINNED:
        print(f"CuPy {cupy.__version__} is installed here; the inventory is taken from CuPy {PINNED}", file=sys.stderr)
        return 2
    text = render(inventory())
    if args.check:
        same = OUTPUT.read_text() == text
        print(f"{OUTPUT} {'matches' if same else 'differs from'} CuPy {PINNED}")
        return 0 if same else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
