"""The engines: which module computes the layers. Checkpoints do not depend on the engine.

An engine is a module exposing the layer classes under the reference names (Conv2d, ReLU,
LocalResponseNorm, MaxPool2d, Dropout, Linear, Flatten, SoftmaxCrossEntropy, Sequential)
with the reference constructors and the ``Layer`` contract. It may also expose
``network_conv(name, config_name, conv, ...)`` to choose how each AlexNet convolution is
computed, ``prepare_network(network)``, called once a network is built
(``minialexnet.fast`` gives it one set of reused buffers, ``minialexnet.cuda`` fuses each
ReLU into the product before it), and its own ``SGD`` with the reference's constructor and
update (``minialexnet.cuda``: one kernel a parameter).

=========  ==================  =================================================
engine     module              what it is
=========  ==================  =================================================
reference  minialexnet.layers  the plain layers, NumPy or CuPy (the one to read)
fast       minialexnet.fast    threads, batch-last layouts, Winograd (CPU)
cuda       minialexnet.cuda    numba-cuda kernels between cuBLAS products (GPU)
=========  ==================  =================================================

``auto`` is ``fast`` on the CPU; on a GPU it is ``cuda`` when numba-cuda imports and sees
the GPU, else ``reference`` (with a one-line warning saying why). Adding an engine is one
entry in ``ENGINES`` (and, for a device it should serve by default, one in ``resolve``).
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from types import ModuleType

ENGINES: dict[str, str] = {
    "reference": "minialexnet.layers",
    "fast": "minialexnet.fast",
    "cuda": "minialexnet.cuda",
}
ENGINE_CHOICES = ("auto", *ENGINES)
ENGINE_HELP = "auto (fast on a CPU; on a GPU cuda when numba-cuda is installed, else reference), reference, fast, cuda (GPU only)"


def resolve(engine: str, device: str = "cpu") -> str:
    """The engine's name, with ``auto`` replaced by the default for ``device`` ("cpu", "gpu", "gpu:N")."""
    if engine not in ENGINE_CHOICES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    if engine == "cuda" and device == "cpu":
        raise ValueError("the cuda engine runs on a GPU: add --device gpu, or choose --engine fast (or reference) on the CPU")
    if engine != "auto":
        return engine
    if device == "cpu":
        return "fast"
    from minialexnet import cuda

    if cuda.available():
        return "cuda"
    installed = importlib.util.find_spec("numba") is not None
    why = "numba-cuda sees no CUDA GPU here" if installed else "numba-cuda is not installed (pip install numba-cuda)"
    warnings.warn(f"--engine auto on {device}: {why}, so the reference engine runs", stacklevel=2)
    return "reference"


def engine_module(engine: str, device: str = "cpu") -> ModuleType:
    """The module holding the layers of ``engine`` (``auto`` resolved for ``device``)."""
    return importlib.import_module(ENGINES[resolve(engine, device)])


def optimizer_class(engine: str, device: str = "cpu") -> type:
    """The SGD class of ``engine``: its module's own when it brings one, else ``minialexnet.optim.SGD``."""
    from minialexnet.optim import SGD

    return getattr(engine_module(engine, device), "SGD", SGD)
