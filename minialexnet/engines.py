"""The engines: which module computes the layers. Checkpoints do not depend on the engine.

An engine is a module exposing the layer classes under the reference names (Conv2d, ReLU,
LocalResponseNorm, MaxPool2d, Dropout, Linear, Flatten, SoftmaxCrossEntropy, Sequential)
with the reference constructors and the ``Layer`` contract. It may also expose
``network_conv(*conv2d_arguments, input_size, conv, **kwargs)`` to choose how each AlexNet
convolution is computed (``minialexnet.fast``: by the layer's geometry, and its ``conv``
option, whose values are ``CONV_ALGORITHMS``), ``prepare_network(network)``, called once a
network is built (``minialexnet.fast`` gives it one set of reused buffers,
``minialexnet.cuda`` fuses each ReLU into the product before it), and its own ``SGD`` with
the reference's constructor and update (``minialexnet.fast``: slices on every core;
``minialexnet.cuda``: one kernel a parameter).

=========  ==================  =================================================
engine     module              what it is
=========  ==================  =================================================
reference  minialexnet.layers  the plain layers, NumPy or CuPy (the one to read)
fast       minialexnet.fast    threads, batch-last layouts, Winograd (CPU)
cuda       minialexnet.cuda    numba-cuda kernels between cuBLAS products (GPU)
=========  ==================  =================================================

``auto`` is ``fast`` on the CPU and ``reference`` on a GPU: on a GPU, what runs first is what
has been proven. The reference engine uses only CuPy's well-tested operations; the cuda
engine's numba kernels have been proven in numba's simulator and compiled for sm_90, but no
GPU run has yet shown them equal to the reference and faster (their launch overhead, tens of
microseconds each through numba's dispatcher, and their stream handling are unmeasured), so
``--engine cuda`` is asked for by name. ``python -m minialexnet.doctor`` runs one small step of
each engine on a GPU against the CPU reference. Adding an engine is one entry in ``ENGINES``
(and, for a device it should serve by default, one in ``resolve``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from minialexnet.fast.choices import CONV_ALGORITHMS  # the fast engine's ``conv`` option, for the command-line tools

__all__ = [
    "CONV_ALGORITHMS",
    "ENGINES",
    "ENGINE_CHOICES",
    "ENGINE_HELP",
    "EngineError",
    "check_engine",
    "engine_module",
    "optimizer_class",
    "resolve",
]

ENGINES: dict[str, str] = {
    "reference": "minialexnet.layers",
    "fast": "minialexnet.fast",
    "cuda": "minialexnet.cuda",
}
ENGINE_CHOICES = ("auto", *ENGINES)
ENGINE_HELP = "auto (fast on a CPU, reference on a GPU), reference, fast, cuda (GPU only, asked for by name: docs/gpu.md)"


class EngineError(ValueError):
    """An engine that does not exist, or cannot run on the device asked for; the message says what to choose."""


def check_engine(engine: str, device: str = "cpu") -> None:
    """Raise EngineError for an unknown engine or one the device cannot run (the tools call this at start-up)."""
    if engine not in ENGINE_CHOICES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    if engine == "cuda" and device == "cpu":
        raise EngineError("the cuda engine runs on a GPU: add --device gpu, or choose --engine fast (or reference) on the CPU")


def resolve(engine: str, device: str = "cpu") -> str:
    """The engine's name, with ``auto`` replaced by the default for ``device`` ("cpu", "gpu", "gpu:N")."""
    check_engine(engine, device)
    if engine != "auto":
        return engine
    return "fast" if device == "cpu" else "reference"


def engine_module(engine: str, device: str = "cpu") -> ModuleType:
    """The module holding the layers of ``engine`` (``auto`` resolved for ``device``)."""
    return importlib.import_module(ENGINES[resolve(engine, device)])


def optimizer_class(engine: str, device: str = "cpu") -> type:
    """The SGD class of ``engine``: its module's own when it brings one, else ``minialexnet.optim.SGD``."""
    from minialexnet.optim import SGD

    return getattr(engine_module(engine, device), "SGD", SGD)
