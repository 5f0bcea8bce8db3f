"""``cupy.random``: CuPy's generators, whose seeded streams are not NumPy's.

CuPy draws with its own bit generators (XORWOW by default), so ``cupy.random.default_rng(0)``
gives other numbers than ``numpy.random.default_rng(0)``. The strict device draws with NumPy's
Philox, which equals neither NumPy's default_rng (PCG64) nor its legacy functions (MT19937):
no code can come to rely on one stream being the other's. A seed gives the same draws each time.
As in CuPy, draws are made on the device (no transfer, one launch each), the float
distributions take ``dtype``, and ``Generator`` has only CuPy's methods (no ``permutation``,
``choice`` or ``normal``: the legacy functions have them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minialexnet.strict_device import rules
from minialexnet.strict_device.array import operand, result
from minialexnet.strict_device.counters import record_launch
from minialexnet.strict_device.inventory import names, shared

TAKES_DTYPE = frozenset("random standard_normal standard_exponential standard_gamma integers".split())


def _stream(seed: Any) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(operand(seed)))


def _draw(name: str, sample: Callable[..., Any]) -> Callable[..., Any]:
    """A draw on the device: ``sample(*args, **kwargs)`` on the host stream, ``dtype`` applied as CuPy does."""

    def draw(*args: Any, dtype: Any = None, **kwargs: Any) -> Any:
        rules.check_dtype(dtype)
        record_launch(f"random.{name}")
        answer = sample(*operand(args), **({"dtype": dtype} if dtype is not None and name in TAKES_DTYPE else {}), **operand(kwargs))
        if dtype is not None and name not in TAKES_DTYPE:
            answer = np.asarray(answer).astype(dtype)
        return result(answer)

    draw.__name__ = draw.__qualname__ = name
    return draw


class Generator:
    """``cupy.random.Generator`` (``default_rng``): CuPy's methods only."""

    __module__ = "cupy.random"

    def __init__(self, seed: Any = None) -> None:
        self._stream = _stream(seed)
        for name in shared("cupy.random.Generator", np.random.Generator, "method"):
            setattr(self, name, _draw(name, getattr(self._stream, name)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(np.random.Generator, name):
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")
        raise rules.not_in_cupy(name, "random.Generator")


def default_rng(seed: Any = None) -> Generator:
    return Generator(seed)


def _legacy(stream: np.random.Generator) -> dict[str, Callable[..., Any]]:
    """CuPy's legacy names that NumPy's Generator calls otherwise."""
    return {
        "rand": lambda *size, dtype=float: stream.random(size or None, dtype),
        "randn": lambda *size, dtype=float: stream.standard_normal(size or None, dtype),
        "random_sample": lambda size=None, dtype=float: stream.random(size, dtype),
        "randint": lambda low, high=None, size=None, dtype=int: stream.integers(low, high, size, dtype),
        "random_integers": lambda low, high=None, size=None: stream.integers(
            1 if high is None else low, low if high is None else high, size, endpoint=True
        ),
        "tomaxint": lambda size=None: stream.integers(0, np.iinfo(np.int64).max, size),
    }


ALIASES = ("random", "ranf", "sample")  # module-level names of random_sample
DRAWS = sorted((set(names("cupy.random.RandomState", "method")) | set(names("cupy.random", "function"))) - {"seed", *ALIASES})


class RandomState:
    """``cupy.random.RandomState``: the legacy API, each method a draw on the device."""

    __module__ = "cupy.random"

    def __init__(self, seed: Any = None) -> None:
        self.seed(seed)

    def seed(self, seed: Any = None) -> None:
        stream = _stream(seed)
        legacy = _legacy(stream)
        for name in DRAWS:
            if name in legacy:
                setattr(self, name, _draw(name, legacy[name]))
            elif hasattr(stream, name):
                setattr(self, name, _draw(name, getattr(stream, name)))


_state = RandomState()


def seed(value: Any = None) -> None:
    _state.seed(value)


def _module_function(name: str) -> Callable[..., Any]:
    """``cupy.random.<name>``: the method of the current RandomState (``random``, ``ranf``, ``sample`` are ``random_sample``)."""
    method = "random_sample" if name in ALIASES else name

    def function(*args: Any, **kwargs: Any) -> Any:
        return getattr(_state, method)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    return function


OWN = {
    "Generator": Generator,
    "RandomState": RandomState,
    "default_rng": default_rng,
    "seed": seed,
}
ATTRIBUTES = {
    name: OWN.get(name) or _module_function(name)
    for name in shared("cupy.random", np.random, "function", "class")
    if name in OWN or name in ALIASES or name in _legacy(np.random.default_rng()) or hasattr(np.random.Generator, name)
}
