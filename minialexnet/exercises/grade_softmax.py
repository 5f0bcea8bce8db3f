"""Grading lesson 1's softmax, written against ``xp``.

Several shapes (logits near 1000 too) against the formula, the input left unchanged, the
dtype kept; then once more on the strict device, where NumPy-only code is answered with the
call that would fail on CuPy.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from minialexnet.exercises.harness import FORWARD_TOLERANCE, StudentError, Watch, as_array, attribute
from minialexnet.exercises.on_device import on_strict_device


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def grade_softmax(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    softmax = attribute(module, "softmax")
    watch = Watch(module)
    worst = 0.0
    for shape, scale in (((4, 7), 3.0), ((1, 3), 1.0), ((5, 10), 1000.0)):
        z = rng.standard_normal(shape) * scale
        given = z.copy()
        out = as_array(f"softmax of a {shape} array", watch.call("softmax", softmax, given), shape)
        if not np.array_equal(given, z):
            raise StudentError("softmax changed its input in place: compute a new array")
        error = float(np.abs(out - _softmax(z)).max())
        if error > FORWARD_TOLERANCE:
            hint = ": subtract each row's maximum before exp" if scale > 100 else ""
            raise StudentError(f"softmax of a {shape} array with logits of about {scale:g} is off by {error:.1e}{hint}")
        device = on_strict_device("softmax", softmax, z)
        worst = max(worst, error, float(np.abs(device - out).max()))
    single = softmax(rng.standard_normal((3, 4)).astype(np.float32))
    if getattr(single, "dtype", None) != np.float32:
        raise StudentError(f"softmax of float32 logits returned {getattr(single, 'dtype', type(single).__name__)}: keep the input's dtype")
    return worst
