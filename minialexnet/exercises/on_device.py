"""Running the student's code on the strict device, and the hint that says why it failed there.

The strict device (``minialexnet.strict_device``) is CuPy's API and rules without a GPU: code
written with ``xp`` runs there as it would on CuPy, and NumPy-only code fails with the cause
named (a NumPy function called on a device array, a function CuPy has not got, something CuPy
computes otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minialexnet import strict_device
from minialexnet.exercises.files import where
from minialexnet.exercises.harness import StudentError
from minialexnet.gradcheck import relative_error

XP_FIX = "write it with xp = get_array_module(x) (from minialexnet.backend) in place of np"
NUMPY_ON_DEVICE = ("was called on a device array", "Implicit conversion to a NumPy array", "Unsupported type", "cannot be used for fill")


def device_failure(what: str, error: Exception, fix: str = XP_FIX) -> StudentError:
    """The hint for code that failed on the strict device, by cause: a name CuPy has not got, NumPy called on (or mixed into)
    a device array, something CuPy would compute differently, or another error."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    line = where(error)
    if isinstance(error, strict_device.NotInCupyError):
        return StudentError(f"{what} cannot run on CuPy: {message}{line}")
    if isinstance(error, strict_device.NotPortableError):
        return StudentError(f"{what} would compute something else on CuPy: {message}{line}")
    if isinstance(error, (TypeError, ValueError)) and any(sign in message for sign in NUMPY_ON_DEVICE):
        advice = "" if "get_array_module" in message else f"; {fix}"
        return StudentError(f"{what} runs on NumPy only, not on CuPy: {message}{line}{advice}")
    return StudentError(f"{what} fails on the GPU (the strict device): {type(error).__name__}: {message}{line}")


def on_strict_device(what: str, function: Callable[..., Any], *host_args: np.ndarray) -> np.ndarray:
    """``function`` on the strict device with ``host_args`` moved there; the result back on the host, or a hint."""
    with strict_device.installed() as cupy:
        args = [cupy.asarray(value) for value in host_args]
        try:
            result = function(*args)
        except Exception as error:
            raise device_failure(what, error) from None
        if type(result).__module__.split(".")[0] != "cupy":
            raise StudentError(
                f"{what} returned a {type(result).__name__} for a CuPy input: compute with xp so the result stays on the GPU"
            )
        return cupy.asnumpy(result)


def device_note(
    run: Callable[[Any], list[np.ndarray]], expected: list[np.ndarray], what: str, tolerance: float = 1e-12, fix: str = XP_FIX
) -> str:
    """``run(cupy)`` on the strict device: code CuPy cannot run and results other than ``expected`` fail, naming the call and line."""
    with strict_device.installed() as cupy:
        try:
            with np.errstate(all="ignore"):
                got = run(cupy)
        except Exception as error:
            raise device_failure(what, error, fix) from None
    if any(relative_error(a, b) > tolerance for a, b in zip(got, expected, strict=True)):
        raise StudentError(f"{what} gives other results on the GPU (the strict device) than on NumPy")
    return "runs on NumPy and on the GPU (strict device)"
