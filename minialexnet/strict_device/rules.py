"""Where CuPy and NumPy part ways, and what the strict device therefore refuses, each time with the reason.

Three kinds of refusal, told apart by their class (the course's grader names them differently):
- ``NotInCupyError``: NumPy has the name, CuPy 14 has not (``xp.insert``): such code cannot run
  on a GPU; the message names an ``xp`` alternative where there is one.
- a NumPy function called on a device array (``numpy_on_device``): the course asks for ``xp``.
- ``NotPortableError``: both have it, but CuPy silently computes something else (an index out
  of bounds wraps around, a repeated index assigns in an undefined order, a float-to-int cast of
  a negative or infinite value gives another integer).
``NotModelledError`` is the stand-in's own limit: CuPy has it, the strict device does not model it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CUPY_VERSION = "14.2.0"  # the CuPy whose names the strict device offers (cupy_inventory.json)
IMPLICIT_CONVERSION = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."

ALTERNATIVES = {  # what to write instead of a NumPy name CuPy lacks
    "insert": "xp.concatenate of the pieces before and after",
    "block": "xp.concatenate, xp.hstack or xp.vstack",
    "geomspace": "xp.logspace(xp.log10(start), xp.log10(stop), num)",
    "nanpercentile": "xp.percentile of the finite entries",
    "nanquantile": "xp.quantile of the finite entries",
    "histogram_bin_edges": "xp.histogram(...)[1]",
    "spacing": "xp.nextafter(x, xp.inf) - x",
    "unstack": "tuple(x[i] for i in range(len(x))), or xp.split",
    "vecdot": "xp.sum(a * b, axis=-1)",
    "vecmat": "xp.matmul",
    "matvec": "xp.matmul",
    "einsum_path": "xp.einsum itself",
    "frompyfunc": "an xp expression",
    "resize": "xp.resize(a, shape), a new array",
    "ctypes": "a.data.ptr, the device pointer",
    "to_device": "xp.asarray(a) or a.get()",
    "errstate": "numpy.errstate around host code (CuPy does not report floating-point errors)",
    "permutation": "xp.random.permutation(n) (the legacy functions), or xp.argsort(rng.random(n))",
    "shuffle": "x[xp.random.permutation(len(x))]",
    "choice": "xp.random.choice (the legacy functions)",
    "normal": "loc + scale * rng.standard_normal(size)",
}
NON_NUMERIC = "CuPy arrays hold numbers and booleans only: no object, string, bytes or datetime arrays"


class NotModelledError(NotImplementedError):
    """CuPy has it, the strict device does not model it: such code is checked on a real GPU only."""


class NotInCupyError(AttributeError):
    """NumPy has the name, CuPy has not: code that uses it cannot run on a GPU."""


class NotInNumpyError(AttributeError):
    """CuPy has the name, the installed NumPy has not (a NumPy 1.x name, or CuPy's own): such code does not run on NumPy."""


class NotPortableError(ValueError):
    """NumPy and CuPy would both run this and compute different things: the code is not portable."""


def not_in_cupy(name: str, owner: str = "") -> NotInCupyError:
    """``owner``: "" for the cupy module, else e.g. "ndarray" or "random.Generator"."""
    where = f"cupy.{owner}.{name}" if owner else f"cupy.{name}"
    alternative = ALTERNATIVES.get(name)
    return NotInCupyError(
        f"CuPy has no {where} (the strict device offers CuPy {CUPY_VERSION}'s names): code that uses it cannot run on a GPU"
        + (f"; use {alternative}" if alternative else "")
    )


def not_in_numpy(name: str, owner: str = "") -> NotInNumpyError:
    where = f"{owner}.{name}" if owner else name
    return NotInNumpyError(
        f"cupy.{where} exists in CuPy {CUPY_VERSION} but not in the installed NumPy {np.__version__}: code that uses it "
        "does not run on NumPy, so the strict device does not offer it"
    )


def not_modelled(what: str) -> NotModelledError:
    return NotModelledError(f"the strict device (CuPy's rules without a GPU) does not model {what}; code that uses it needs a real GPU")


def numpy_on_device(name: str, has_cupy_twin: bool) -> TypeError:
    """A NumPy function or ufunc was given a device array."""
    instead = f"call xp.{name} with xp = get_array_module(...)" if has_cupy_twin else str(not_in_cupy(name))
    return TypeError(
        f"strict device: numpy.{name} was called on a device array; {instead} (or asnumpy() first, if the host is meant). "
        "CuPy 14 hands many NumPy functions to its own through __array_function__, but not all, and what it does with the "
        "others differs between versions: the course writes xp so that the code says which device computes"
    )


def check_dtype(dtype: Any) -> None:
    """CuPy has no arrays of objects, strings or dates."""
    if dtype is not None and np.dtype(dtype).kind in "OSUVMm":
        raise TypeError(f"dtype {np.dtype(dtype)}: {NON_NUMERIC}")


def check_cast(values: np.ndarray, dtype: Any) -> None:
    """A float-to-integer cast of NaN, infinities or values out of the integer's range: C leaves it undefined, and NumPy
    (on the CPU) and CuPy (on the GPU) give different integers."""
    target = np.dtype(dtype)
    if values.dtype.kind not in "fc" or target.kind not in "iu" or values.size == 0:
        return
    real = values.real
    finite = np.isfinite(real)
    limits = np.iinfo(target)
    whole = np.trunc(np.where(finite, real, 0))
    bad = ~finite | (whole < limits.min) | (whole > limits.max)
    if np.any(bad):
        examples = ", ".join(str(v) for v in np.unique(real[bad])[:3])
        raise NotPortableError(
            f"casting {values.dtype} to {target}: {int(bad.sum())} value(s) ({examples}) are NaN, infinite or outside "
            f"{target}'s range {limits.min}..{limits.max}; C leaves that cast undefined, and NumPy and CuPy give different "
            "integers (a negative value cast to an unsigned type, for one). Clip (xp.clip) or mask those values first"
        )


def _parts(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def integer_index_arrays(shape: tuple[int, ...], key: Any) -> list[tuple[int, np.ndarray]]:
    """The integer index arrays of a (host) index key, each with the axis it indexes."""
    parts = _parts(key)

    def width(part: Any) -> int:
        if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_)):
            return 0
        return part.ndim if isinstance(part, np.ndarray) and part.dtype == bool else 1

    axis, found = 0, []
    for part in parts:
        if part is Ellipsis:
            axis += len(shape) - sum(width(p) for p in parts)
            continue
        if isinstance(part, np.ndarray) and part.dtype.kind in "iu":
            found.append((axis, part))
        axis += width(part)
    return found


def check_index(shape: tuple[int, ...], key: Any) -> None:
    """Integer array indices out of bounds: NumPy raises IndexError, CuPy wraps them around and reads another element."""
    for axis, index in integer_index_arrays(shape, key):
        if axis >= len(shape):
            continue  # NumPy's own IndexError names it
        size = shape[axis]
        outside = (index < -size) | (index >= size)
        if np.any(outside):
            raise NotPortableError(
                f"index {int(index[outside].flat[0])} is out of bounds for axis {axis} with size {size}: NumPy raises "
                f"IndexError, CuPy wraps it around (index mod {size}) and silently uses another element; keep indices in range"
            )


def check_scatter(shape: tuple[int, ...], key: Any, value: Any) -> None:
    """Assigning an array through integer index arrays that repeat a position: CuPy stores one of the values in an undefined
    order (NumPy the last); ``a[idx] += v`` adds once per position on both, not once per repetition."""
    if not integer_index_arrays(shape, key) or np.size(value) <= 1:
        return
    positions = np.arange(int(np.prod(shape))).reshape(shape)[key]
    if np.unique(positions).size < positions.size:
        raise NotPortableError(
            "assignment through an index array that repeats a position (a[idx] = v or a[idx] += v with a value twice in "
            "idx): CuPy stores one of the values in an undefined order, NumPy the last, and neither adds them up; to add "
            "every repetition use cupyx.scatter_add(a, idx, v) or xp.add.at(a, idx, v)"
        )
