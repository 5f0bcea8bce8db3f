"""Grading lesson 5's dropout: the statistics of its mask and backward through it.

One draw per unit (not per batch), the drop probability p (not the keep probability), the
scale 1 / (1 - p), a new mask every call, drawn from ``self.rng`` (the seed repeats it), the
identity at test time; and backward through forward's mask. On NumPy and on the strict device.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet import strict_device
from minialexnet.exercises.harness import StudentError, Watch, as_array, attribute, build, near
from minialexnet.exercises.on_device import device_note
from minialexnet.gradcheck import DEFAULT_THRESHOLD, kink_free_input, relative_error


def _dropout_on_the_gpu(module: ModuleType, p: float, x: np.ndarray, dout: np.ndarray) -> str:
    """Dropout on the strict device: the statistics of its mask, and backward using forward's mask."""

    def run(cupy: Any) -> list[np.ndarray]:
        layer = module.Dropout(p=p, seed=1)
        out = cupy.asnumpy(layer.forward(cupy.asarray(x), train=True))
        dx = cupy.asnumpy(layer.backward(cupy.asarray(dout)))
        return [dx, dout * out / x]

    fix = "draw the mask with xp, or copy a host draw to the device with xp.asarray"
    note = device_note(run, [np.zeros(1), np.zeros(1)], "Dropout", tolerance=np.inf, fix=fix)
    with strict_device.installed() as cupy:
        dx, expected = run(cupy)
    if relative_error(dx, expected) > 1e-12 or abs(float(np.mean(expected == 0)) - p) > 0.02:
        raise StudentError("Dropout on the GPU (the strict device) drops the wrong share of units, or backward uses another mask")
    return note


def grade_dropout(module: ModuleType, seed: int) -> tuple[float, str]:
    p = 0.3  # not 0.5, so that keep and drop probabilities differ
    watch = Watch(module)
    layer = build("Dropout(p=0.3, seed=0)", lambda: attribute(module, "Dropout")(p=p, seed=seed))
    x = kink_free_input((100, 100), np.random.default_rng(seed))  # no zeros: out / x is the mask
    given = x.copy()
    out = as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, given, train=True), x.shape)
    if not np.array_equal(given, x):
        raise StudentError("Dropout.forward changed x in place: compute a new array")
    mask = out / x
    kept = mask != 0
    dropped = 1.0 - float(kept.mean())
    scales = np.unique(np.round(mask[kept], 9))
    sigma = np.sqrt(p * (1 - p) / x.size)
    if np.all(kept == kept[0]):
        raise StudentError(
            "every example of the batch has the same mask (one draw of shape x.shape[1:], broadcast over the batch): "
            "draw one number per unit of x, self.rng.random(x.shape)"
        )
    if abs(dropped - p) > 6 * sigma:
        if abs(dropped - (1 - p)) < 6 * sigma:
            raise StudentError(f"you dropped {dropped:.0%} of the units for p = {p}: p is the probability of DROPPING a unit")
        raise StudentError(f"you dropped {dropped:.1%} of the units, expected p = {p:.0%}")
    if scales.size != 1:
        raise StudentError("Dropout.forward must multiply each unit by 0 or by one constant, 1 / (1 - p)")
    if near(scales[0], 1.0):
        raise StudentError(f"the kept units are not scaled: inverted dropout multiplies them by 1 / (1 - p) = {1 / (1 - p):.4g}")
    if not near(scales[0], 1 / (1 - p)):
        raise StudentError(f"the kept units are scaled by {scales[0]:.4g}, expected 1 / (1 - p) = {1 / (1 - p):.4g}")
    again = as_array("Dropout.forward's output", watch.call("Dropout.forward", layer.forward, x.copy(), train=True), x.shape)
    if np.array_equal(again != 0, kept):
        raise StudentError("the same units were dropped on two calls: draw a new mask in every forward")
    mask = again / x
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    given = dout.copy()
    dx = watch.call("Dropout.backward", layer.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise StudentError("Dropout.backward changed dout in place: dout belongs to the caller, compute a new array")
    dx = as_array("Dropout.backward's dx", dx, x.shape)
    error = relative_error(dx, dout * mask)
    if error > DEFAULT_THRESHOLD:
        if relative_error(dx, dout) < DEFAULT_THRESHOLD:
            raise StudentError("Dropout.backward ignores the mask: dx = dout * mask, the same mask as forward's")
        if relative_error(dx, dout * (mask != 0)) < DEFAULT_THRESHOLD:
            raise StudentError("Dropout.backward drops the right units but does not scale by 1 / (1 - p)")
        raise StudentError(f"Dropout.backward differs from dout * mask of the last forward (relative error {error:.1e})")
    test = watch.call("Dropout.forward", layer.forward, x.copy(), train=False)
    test = as_array("Dropout.forward's output with train=False", test, x.shape)
    if not np.allclose(test, x, rtol=0, atol=0):
        scaled = np.allclose(test, x * (1 - p))
        raise StudentError(
            "with train=False dropout is the identity" + (" (inverted dropout does not scale at test time)" if scaled else "")
        )
    test_dx = as_array(
        "Dropout.backward's dx after train=False", watch.call("Dropout.backward", layer.backward, dout.copy(), in_backward=True), x.shape
    )
    if not np.array_equal(test_dx, dout):
        raise StudentError("after a forward with train=False, backward is the identity: return dout (a copy) unchanged")
    first = build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    second = build("Dropout(p, seed=3)", lambda: module.Dropout(p=p, seed=3))
    one = watch.call("Dropout.forward", first.forward, x.copy(), train=True)
    two = watch.call("Dropout.forward", second.forward, x.copy(), train=True)
    if not np.array_equal(one, two):
        raise StudentError("two Dropout(seed=3) dropped different units: draw the mask with self.rng")
    return error, _dropout_on_the_gpu(module, p, x, dout)
