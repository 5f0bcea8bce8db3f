"""The engines: which module computes the layers. Checkpoints do not depend on the engine.

An engine is a module exposing the layer classes under the reference names (Conv2d, ReLU,
LocalResponseNorm, MaxPool2d, Dropout, Linear, Flatten, SoftmaxCrossEntropy, Sequential)
with the reference constructors and the ``Layer`` contract. It may also expose
``network_conv(name, config_name, conv, ...)`` to choose how each AlexNet convolution is
computed and ``share_buffers(network)`` to give a network one set of reused buffers
(``minialexnet.fast`` does both).

| engine    | module             | what it is                                            |
|-----------|--------------------|-------------------------------------------------------|
| reference | minialexnet.layers | the plain layers, NumPy or CuPy (the one to read)     |
| fast      | minialexnet.fast   | threads, batch-last layouts, Winograd (CPU)           |

``auto`` is ``fast`` on the CPU and ``reference`` on a GPU. Adding an engine is one entry in
``ENGINES`` (and, for a device it should serve by default, one in ``auto``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

ENGINES: dict[str, str] = {
    "reference": "minialexnet.layers",
    "fast": "minialexnet.fast",
}
ENGINE_CHOICES = ("auto", *ENGINES)


def resolve(engine: str, device: str = "cpu") -> str:
    """The engine's name, with ``auto`` replaced by the default for ``device`` ("cpu", "gpu", "gpu:N")."""
    if engine not in ENGINE_CHOICES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    if engine == "auto":
        return "fast" if device == "cpu" else "reference"
    return engine


def engine_module(engine: str, device: str = "cpu") -> ModuleType:
    """The module holding the layers of ``engine`` (``auto`` resolved for ``device``)."""
    return importlib.import_module(ENGINES[resolve(engine, device)])
