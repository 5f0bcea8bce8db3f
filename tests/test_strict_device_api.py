"""The strict device's API is CuPy's: every name it offers runs once, answering as CuPy does; every name CuPy lacks fails.

The inventory (minialexnet/strict_device/cupy_inventory.json) is read here with ``json`` itself,
and compared with CuPy wherever the pinned CuPy is importable. Each offered function, ufunc and
ndarray method is called once on small device arrays (``RECIPES``, ``METHODS``): its answer must
be what NumPy computes from the same host arrays, in CuPy's form (device arrays, 0-d device
arrays where NumPy gives a scalar, host values where CuPy gives them: ``HOST_VALUED``), and the
same call with NumPy arrays must be refused (functions that read host data count a transfer).
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from minialexnet import strict_device

ROOT = Path(__file__).resolve().parents[1]
PINNED = "14.2.0"
INVENTORY = json.loads((ROOT / "minialexnet" / "strict_device" / "cupy_inventory.json").read_text())
cupy = strict_device.cupy

# What CuPy answers with host values (its documentation; NumPy's own functions, which CuPy re-exports, are host-valued too).
HOST_VALUED = set(
    "ndim shape size result_type can_cast common_type min_scalar_type isscalar iscomplexobj isrealobj isfortran shares_memory "
    "may_share_memory base_repr binary_repr format_float_positional format_float_scientific array_repr array_str array2string "
    "save savez savez_compressed savetxt".split()
) | {name for name, kind in INVENTORY["cupy"].items() if kind == "numpy function"}
READS_HOST = set("array asarray asanyarray ascontiguousarray asfortranarray asarray_chkfinite require frombuffer fromfile".split()) | set(
    "fromiter fromstring loadtxt genfromtxt load".split()
)
UNINITIALISED = {"empty", "empty_like"}
VIEWS = set(  # CuPy returns views here: no kernel runs
    "empty empty_like reshape ravel squeeze swapaxes transpose atleast_1d atleast_2d atleast_3d broadcast_arrays broadcast_to "
    "expand_dims matrix_transpose moveaxis permute_dims real imag rollaxis as_strided sliding_window_view".split()
)


def host_arrays(path: Path) -> dict[str, object]:
    """The recipes' arguments, on the host: floats in (0.1, 0.9) (every function's domain), small ints, a mask, an SPD matrix."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0.1, 0.9, (2, 3))
    root = rng.standard_normal((3, 3))
    return {
        "a": a,
        "b": b,
        "v": rng.uniform(0.1, 0.9, 5),
        "w": np.sort(rng.uniform(0.1, 0.9, 5)),
        "t": rng.uniform(0.1, 0.9, (2, 3, 4)),
        "z": a + 1j * b,
        "i": rng.integers(1, 6, (2, 3)),
        "j": np.array([0, 2, 1]),
        "k": np.array([[0, 1, 1], [1, 0, 0]]),
        "jj": np.array([[2, 0], [1, 1]]),
        "m": a > 0.5,
        "c": np.array([True, False, True]),
        "u": np.array([3, 255, 16], dtype=np.uint8),
        "s": root @ root.T + 3 * np.eye(3),
        "s3": rng.uniform(0.1, 0.9, 3),
        "one": np.array([0.25]),
    }


def prepare_files(path: Path) -> None:
    """The files the reading functions read."""
    np.savetxt(path / "data.txt", np.arange(6.0).reshape(2, 3))
    np.save(path / "data.npy", np.arange(6.0))
    np.arange(4.0).tofile(path / "data.bin")


# expression -> the names it is the recipe of; ``f`` is the function under test, ``xp`` its module
RECIPES = {
    "f(a)": (
        "abs absolute acos arccos asin arcsin atan arctan asinh arcsinh atanh arctanh cbrt ceil conj conjugate cos cosh deg2rad "
        "degrees exp exp2 expm1 fabs floor isfinite isinf isnan log log10 log1p log2 negative positive rad2deg radians reciprocal "
        "rint sign signbit sin sinh sqrt square tan tanh trunc fix i0 sinc frexp modf logical_not isneginf isposinf "
        "all any amax amin max min mean median nanmax nanmin nanmean nanmedian nansum nanprod nanstd nanvar sum prod std var "
        "argmax argmin nanargmax nanargmin cumsum cumprod nancumsum nancumprod ptp count_nonzero sort argsort diff flatnonzero "
        "nonzero argwhere ravel transpose squeeze flip fliplr flipud rot90 copy around round real imag angle iscomplex isreal "
        "iscomplexobj isrealobj isfortran ndim shape size isscalar nan_to_num real_if_close unique unique_values unique_counts "
        "unique_inverse unique_all atleast_1d atleast_2d atleast_3d diagonal trace diag tril triu average gradient unwrap "
        "ascontiguousarray asfortranarray asarray array asanyarray asarray_chkfinite require array_repr array_str array2string "
        "min_scalar_type common_type matrix_transpose corrcoef cov trapezoid histogramdd ediff1d"
    ),
    "f(a + 1)": "acosh arccosh",
    "f(a, b)": (
        "add subtract multiply divide true_divide floor_divide mod remainder fmod power pow float_power arctan2 atan2 hypot "
        "copysign nextafter logaddexp logaddexp2 maximum minimum fmax fmin equal not_equal greater greater_equal less less_equal "
        "logical_and logical_or logical_xor heaviside divmod allclose isclose array_equal array_equiv vdot inner outer kron cross "
        "append intersect1d union1d setdiff1d setxor1d isin result_type shares_memory may_share_memory broadcast_arrays"
    ),
    "f(a, b.T)": "dot matmul",
    "f(a, i)": "ldexp",
    "f(i, i)": "gcd lcm bitwise_and bitwise_or bitwise_xor left_shift right_shift bitwise_left_shift bitwise_right_shift",
    "f(i)": "invert bitwise_not bitwise_invert bitwise_count",
    "f(j)": "bincount",
    "f(a, axis=0)": "cumulative_sum cumulative_prod",
    "f(v, w)": "meshgrid",
    "(f(a, b), a)": "copyto",
    "f(v)": "trim_zeros sort_complex vander poly roots fft ifft rfft ihfft hfft irfft diagflat",
    "f(v, v)": "correlate convolve polyadd polysub polymul histogram2d",
    "f(v, a)": "polyval",
    "f(v, w, 1)": "polyfit",
    "f(v, 2)": "partition argpartition",
    "f(w, a)": "searchsorted",
    "f(a, w)": "digitize",
    "f(a, w, v)": "interp",
    "f(v, bins=3)": "histogram",
    "f(a, 0.5)": "quantile",
    "f(a, 50)": "percentile",
    "f(a, 0.2, 0.8)": "clip",
    "f(a, np.float32)": "astype",
    "f(a, 2.0)": "full_like",
    "f(a)[0]": "empty_like zeros_like ones_like",
    "f(a, (3, 2))": "reshape",
    "f(a, (3, 3))": "resize",
    "f(a, 0)": "expand_dims",
    "f(a, 0, 1)": "moveaxis swapaxes",
    "f(a, 1)": "rollaxis roll pad tile repeat",
    "f(a, (1, 0))": "permute_dims",
    "f(a, (4, 2, 3))": "broadcast_to",
    "f([a, b])": "concatenate concat stack vstack hstack dstack column_stack row_stack",
    "f(a, 3, axis=1)": "split array_split",
    "f(a, 3)": "hsplit",
    "f(a, 2)": "vsplit",
    "f(t, 2)": "dsplit",
    "f(a, 1, axis=1)": "delete",
    "f(a, j)": "take",
    "f(a, jj, axis=1)": "take_along_axis",
    "f(m, a, b)": "where",
    "f([m], [a])": "select",
    "f(k, [a, b])": "choose",
    "f(c, a, axis=1)": "compress",
    "f(m, a)": "extract",
    "f(s)": (
        "diag_indices_from tril_indices_from triu_indices_from cholesky cond det eig eigh eigvals eigvalsh inv matrix_rank pinv qr "
        "slogdet svd norm fft2 ifft2 fftn ifftn rfft2 irfft2 rfftn irfftn fftshift ifftshift"
    ),
    "f(s, s3)": "solve lstsq tensorsolve",
    "f(s, 2)": "matrix_power",
    "f(s, ind=1)": "tensorinv",
    "f(a, b, axes=([1], [1]))": "tensordot",
    "f('ij,ij->i', a, b)": "einsum",
    "f((v, w))": "lexsort",
    "f(j, (2, 3))": "unravel_index",
    "f((j, j), (3, 3))": "ravel_multi_index",
    "f(j, j)": "ix_",
    "f(m)": "packbits",
    "f(u)": "unpackbits",
    "(f(a, j, 1.0), a)": "put",
    "(f(a, jj, 1.0, axis=1), a)": "put_along_axis",
    "(f(a, m, b), a)": "putmask",
    "(f(a, m, v), a)": "place",
    "(f(s, 0.0), s)": "fill_diagonal",
    "f(lambda x: x * 2, 1, a)": "apply_along_axis",
    "f(lambda x, axis: x.sum(axis=axis, keepdims=True), a, [0])": "apply_over_axes",
    "f(v, [v > 0.5], [lambda x: x * 2, 0.0])": "piecewise",
    "f(v, shape=(2, 2), strides=(8, 8))": "as_strided",
    "f(v, 3)": "sliding_window_view",
    # no array arguments: nothing to refuse
    "f(5)": "arange eye identity tri bartlett blackman hamming hanning diag_indices tril_indices triu_indices base_repr binary_repr",
    "f(8)": "fftfreq rfftfreq",
    "f(5, 2.0)": "kaiser",
    "f((2, 3))": "zeros ones empty indices",
    "f((2, 3), 7.0)": "full",
    "f(0.0, 1.0, 5)": "linspace logspace",
    "f(3, xp.triu)": "mask_indices",
    "f(lambda r, c: r + 2 * c, (2, 3))": "fromfunction",
    "f(1.5)": "format_float_positional format_float_scientific",
    "f(np.float32, np.float64)": "can_cast",
    "f(b'0123456789abcdef', dtype=np.float64)": "frombuffer",
    "f('1 2 3', sep=' ')": "fromstring",
    "f(range(4), dtype=np.float64)": "fromiter",
    "f(str(path / 'data.txt'))": "loadtxt genfromtxt",
    "f(str(path / 'data.npy'))": "load",
    "f(str(path / 'data.bin'))": "fromfile",
    "f(str(path / 'out.npy'), a)": "save",
    "f(str(path / 'out.txt'), a)": "savetxt",
    "f(str(path / 'out.npz'), a=a)": "savez savez_compressed",
    "f('d')": "typename",
    "f(np.float32, np.floating)": "issubdtype isdtype",
    "f(a.shape, b.shape)": "broadcast_shapes promote_types",
    "f('ff')": "mintypecode",
    "f(v)[0] * 0": "iterable",
    "f()": "get_printoptions",
    "type(f()).__name__": "printoptions",
    "f(precision=8)": "set_printoptions",
}
NO_ARRAYS = list(RECIPES)[list(RECIPES).index("f(5)") :]
EXCEPTIONS = {  # recipes that do not fit the table: the ones NumPy computes with other arguments
    "promote_types": "f(np.float32, np.float64)",
    "isdtype": "f(np.float32, 'real floating')",
    "iterable": "f(a)",
}
RECIPE_OF = {name: recipe for recipe, names in RECIPES.items() for name in names.split()} | EXCEPTIONS
NUMPY_PLACES = {"cupy": np, "cupy.linalg": np.linalg, "cupy.fft": np.fft, "cupy.lib.stride_tricks": np.lib.stride_tricks}
STANDIN_PLACES = {"cupy": cupy, "cupy.linalg": cupy.linalg, "cupy.fft": cupy.fft, "cupy.lib.stride_tricks": cupy.lib.stride_tricks}


def offered(module: object, name: str) -> bool:
    try:
        getattr(module, name)
    except (AttributeError, NotImplementedError):
        return False
    return True


FUNCTIONS = [
    (place, name)
    for place in NUMPY_PLACES
    for name, kind in INVENTORY[place].items()
    if kind in ("function", "ufunc", "numpy function") and hasattr(NUMPY_PLACES[place], name) and offered(STANDIN_PLACES[place], name)
]


def evaluate(expression: str, function: object, xp: object, arrays: dict[str, object], path: Path) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expression, {"np": np, "xp": xp, "path": path, "f": function, **arrays})


def assert_cupy_form(got: object, expected: object, host: bool, what: str) -> None:
    """``got`` is ``expected`` as CuPy gives it: device arrays for arrays and scalars (unless ``host``), the same structure."""
    if isinstance(expected, (tuple, list)) and not host:
        assert isinstance(got, (tuple, list)) and len(got) == len(expected), (what, got)
        for one, other in zip(got, expected, strict=True):
            assert_cupy_form(one, other, host, what)
    elif host or expected is None or isinstance(expected, (str, bytes, np.dtype, type)):
        assert not isinstance(got, strict_device.ndarray), (what, got)
        assert got == expected if not isinstance(expected, np.ndarray) else np.array_equal(got, expected), (what, got, expected)
    else:
        assert isinstance(got, strict_device.ndarray), (what, type(got))
        host_value = got.get()
        expected = np.asarray(expected)
        assert host_value.shape == expected.shape and host_value.dtype == expected.dtype, (what, host_value, expected)
        if what not in UNINITIALISED:
            np.testing.assert_array_equal(host_value, expected, err_msg=what)


@pytest.fixture
def files(tmp_path):
    prepare_files(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("place", "name"), FUNCTIONS, ids=[f"{p}.{n}" for p, n in FUNCTIONS])
def test_every_offered_function_runs_once_as_cupy_answers_and_refuses_numpy_arrays(place, name, files):
    assert name in RECIPE_OF, f"{place}.{name} has no recipe"
    recipe = RECIPE_OF[name]
    expected = evaluate(recipe, getattr(NUMPY_PLACES[place], name), np, host_arrays(files), files)
    device = {key: cupy.asarray(value) for key, value in host_arrays(files).items()}
    with strict_device.installed(), strict_device.counting() as transfers, strict_device.counting_launches() as launches:
        got = evaluate(recipe, getattr(STANDIN_PLACES[place], name), cupy, device, files)
    assert_cupy_form(got, expected, name in HOST_VALUED, name)
    if name in VIEWS:
        assert launches.count() == 0, launches.log
    elif name not in HOST_VALUED | READS_HOST:
        assert launches.count() >= 1, launches.log
    reads_device = name in ("array_repr", "array_str", "array2string", "save", "savez", "savez_compressed", "savetxt")
    reads_host = name in READS_HOST and recipe in NO_ARRAYS  # a file, bytes or a Python sequence
    assert transfers.count("d2h") == reads_device and transfers.count("h2d") == reads_host, transfers.log
    if recipe in NO_ARRAYS or name in EXCEPTIONS:
        return
    with strict_device.installed(), strict_device.counting() as transfers:
        if name in READS_HOST:
            assert_cupy_form(evaluate(recipe, getattr(cupy, name), cupy, host_arrays(files), files), expected, False, name)
            assert transfers.count("h2d") == 1
        else:
            with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
                evaluate(recipe, getattr(STANDIN_PLACES[place], name), cupy, host_arrays(files), files)


METHODS = {
    "all": "a.all()",
    "any": "m.any(axis=0)",
    "argmax": "a.argmax()",
    "argmin": "a.argmin(axis=1)",
    "argpartition": "v.argpartition(2)",
    "argsort": "a.argsort()",
    "astype": "a.astype(np.float32)",
    "byteswap": "a.byteswap()",
    "choose": "k.choose([a, b])",
    "clip": "a.clip(0.2, 0.8)",
    "compress": "a.compress(c, axis=1)",
    "conj": "z.conj()",
    "conjugate": "z.conjugate()",
    "copy": "a.copy()",
    "cumprod": "a.cumprod()",
    "cumsum": "a.cumsum(axis=1)",
    "diagonal": "s.diagonal()",
    "dot": "a.dot(b.T)",
    "fill": "(a.fill(2.0), a)",
    "flatten": "a.flatten()",
    "max": "a.max(axis=0)",
    "mean": "a.mean()",
    "min": "a.min()",
    "nonzero": "m.nonzero()",
    "partition": "(v.partition(2), v)",
    "prod": "a.prod(axis=1)",
    "put": "(a.put(j, 1.0), a)",
    "ravel": "a.ravel()",
    "repeat": "a.repeat(2)",
    "reshape": "a.reshape(3, 2)",
    "round": "a.round(1)",
    "searchsorted": "w.searchsorted(0.5)",
    "sort": "(a.sort(), a)",
    "squeeze": "a[None].squeeze()",
    "std": "a.std()",
    "sum": "a.sum(axis=0)",
    "swapaxes": "a.swapaxes(0, 1)",
    "take": "a.take(j)",
    "trace": "s.trace()",
    "transpose": "a.transpose()",
    "var": "a.var()",
    "view": "a.view(np.int64)",
    "T": "a.T",
    "mT": "a.mT",
    "base": "a.T.base",
    "flat": "a.flat[2]",
    "real": "z.real",
    "imag": "z.imag",
}
HOST_METHODS = {  # host values, as in CuPy; the ones that read the data are transfers
    "item": ("one.item()", 1),
    "tolist": ("a.tolist()", 1),
    "tobytes": ("a.tobytes()", 1),
    "dtype": ("a.dtype", 0),
    "shape": ("a.shape", 0),
    "ndim": ("a.ndim", 0),
    "size": ("a.size", 0),
    "itemsize": ("a.itemsize", 0),
    "nbytes": ("a.nbytes", 0),
    "strides": ("a.strides", 0),
    "flags": ("a.flags.c_contiguous", 0),
}
SHARED_METHODS = sorted(name for name in INVENTORY["cupy.ndarray"] if hasattr(np.ndarray, name))


@pytest.mark.parametrize("name", SHARED_METHODS)
def test_every_ndarray_method_and_attribute_both_have_runs_once_as_cupy_answers(name, files):
    if name in ("data",):  # CuPy's MemoryPointer: not modelled
        with pytest.raises(strict_device.NotModelledError):
            cupy.zeros(2).data  # noqa: B018
        return
    if name in ("dump", "dumps", "tofile", "device"):
        special_method(name, files)
        return
    expression, reads = HOST_METHODS.get(name, (METHODS.get(name), 0))
    assert expression is not None, f"ndarray.{name} has no recipe"
    expected = evaluate(expression, None, np, host_arrays(files), files)
    device = {key: cupy.asarray(value) for key, value in host_arrays(files).items()}
    with strict_device.counting() as transfers:
        got = evaluate(expression, None, cupy, device, files)
    assert_cupy_form(got, expected, name in HOST_METHODS, name)
    assert transfers.count("d2h") == reads and transfers.count("h2d") == 0, transfers.log


def special_method(name: str, path: Path) -> None:
    """Pickling (a copy to the host and back), writing to a file, and the device attribute."""
    a = cupy.asarray(np.arange(6.0).reshape(2, 3))
    with strict_device.counting() as transfers:
        if name == "dumps":
            back = pickle.loads(a.dumps())
        elif name == "dump":
            a.dump(str(path / "a.pkl"))
            back = pickle.loads((path / "a.pkl").read_bytes())
        elif name == "tofile":
            a.tofile(str(path / "a.bin"))
            back = cupy.asarray(np.fromfile(path / "a.bin").reshape(2, 3))
        else:
            assert a.device.id == 0 and cupy.cuda.Device(0).id == a.device.id
            return
    assert isinstance(back, strict_device.ndarray) and np.array_equal(back.get(), np.arange(6.0).reshape(2, 3))
    assert transfers.count("d2h") >= 1 and transfers.count("h2d") >= 1


def test_cupys_own_ndarray_methods_get_set_and_scatter():
    a = cupy.zeros(4)
    with strict_device.counting() as transfers:
        a.set(np.array([1.0, 2.0, 3.0, 4.0]))
        index = cupy.asarray(np.array([0, 0, 3]))
        a.scatter_add(index, 1.0)
        a.scatter_max(index, 2.5)
        a.scatter_min(index, 0.5)
        host = a.get()
    np.testing.assert_array_equal(host, [0.5, 2.0, 3.0, 0.5])
    assert transfers.sizes("h2d") == [32, 24] and transfers.sizes("d2h") == [32]
    for name in ("cstruct", "mdspan", "reduced_view", "toDlpack", "ptp"):  # CuPy's own (ptp: NumPy 1.x's): not NumPy code
        with pytest.raises(strict_device.NotInNumpyError, match=f"cupy.ndarray.{name} exists in CuPy 14.2.0 but not in the installed"):
            getattr(a, name)


@pytest.mark.parametrize(
    "name, kind", [(n, k) for n, k in INVENTORY["cupy"].items() if k in ("numpy class", "constant") and offered(cupy, n)]
)
def test_classes_and_constants_are_numpys_own_as_in_cupy(name, kind):
    value = getattr(cupy, name)
    if name in ("r_", "c_", "mgrid", "ogrid"):
        got, expected = value[0:3, 1:4], getattr(np, name)[0:3, 1:4]
        assert_cupy_form(got, expected, False, name)
    elif name == "newaxis":
        assert value is None
    else:
        assert value is getattr(np, name) or (kind == "constant" and np.array_equal(value, getattr(np, name), equal_nan=True))


def test_coverage_of_the_functions_and_methods_cupy_and_numpy_share():
    functions = [n for n, k in INVENTORY["cupy"].items() if k in ("function", "ufunc", "numpy function") and hasattr(np, n)]
    methods = [n for n in INVENTORY["cupy.ndarray"] if hasattr(np.ndarray, n)]
    function_share = sum(offered(cupy, n) for n in functions) / len(functions)
    a = cupy.zeros((2, 3))
    method_share = sum(offered(a, n) for n in methods) / len(methods)
    print(f"\noffered: {function_share:.1%} of {len(functions)} functions, {method_share:.1%} of {len(methods)} ndarray names")
    assert function_share >= 0.95 and method_share >= 0.95


NUMPY_ONLY = sorted(n for n in dir(np) if not n.startswith("_") and n not in INVENTORY["cupy"])
NUMPY_ONLY_METHODS = sorted(n for n in dir(np.ndarray) if not n.startswith("_") and n not in INVENTORY["cupy.ndarray"])


def test_no_name_cupy_lacks_works_and_no_message_says_to_edit_the_library():
    assert {"insert", "block", "geomspace", "nanpercentile", "spacing", "unstack", "vecdot"} <= set(NUMPY_ONLY)
    assert {"resize", "ctypes"} <= set(NUMPY_ONLY_METHODS)
    a = cupy.zeros(3)
    places = [(cupy, NUMPY_ONLY, "cupy."), (a, NUMPY_ONLY_METHODS, "cupy.ndarray.")]
    places.append((cupy.random, [n for n in dir(np.random) if not n.startswith("_") and n not in INVENTORY["cupy.random"]], "cupy.random."))
    places.append((cupy.random.default_rng(0), ["permutation", "choice", "normal", "shuffle"], "cupy.random.Generator."))
    for owner, missing, prefix in places:
        for name in missing:
            with pytest.raises(strict_device.NotInCupyError) as error:
                getattr(owner, name)
            assert f"CuPy has no {prefix}{name}" in str(error.value), str(error.value)
            assert "strict_device" not in str(error.value) and "minialexnet" not in str(error.value)
    with pytest.raises(strict_device.NotInCupyError, match="use xp.concatenate of the pieces"):
        cupy.insert  # noqa: B018
    assert len(NUMPY_ONLY) > 40


RANDOM = sorted(
    n for n in vars(cupy.random) if not n.startswith("_") and n not in ("Generator", "RandomState", "shuffle")
)  # shuffle: below


@pytest.mark.parametrize("name", RANDOM)
def test_every_random_function_draws_on_the_device_and_not_numpys_stream(name):
    legacy = np.random.RandomState(0)
    arguments = RANDOM_ARGUMENTS.get(name, ())
    if name in ("seed", "default_rng"):
        cupy.random.seed(3)
        first = cupy.random.rand(4).get()
        assert np.array_equal(cupy.random.RandomState(3).rand(4).get(), first)
        np.random.seed(3)
        assert not np.allclose(first, np.random.rand(4))
        drawn = cupy.random.default_rng(3).random(4)
        assert isinstance(drawn, strict_device.ndarray) and not np.array_equal(drawn.get(), np.random.default_rng(3).random(4))
        return
    function = getattr(cupy.random, name)
    cupy.random.seed(1)
    with strict_device.counting() as transfers:
        first = function(*arguments)
    cupy.random.seed(1)
    again = function(*arguments)
    expected = getattr(legacy, {"random": "random_sample", "ranf": "random_sample", "sample": "random_sample"}.get(name, name))(*arguments)
    if name == "bytes":
        assert isinstance(first, bytes) and first == again and len(first) == len(expected)
        return
    assert isinstance(first, strict_device.ndarray) and transfers.count("h2d") == 0, name
    assert first.shape == np.shape(expected) and first.dtype == np.asarray(expected).dtype, (name, first.dtype, expected)
    np.testing.assert_array_equal(first.get(), again.get())
    if name not in ("shuffle", "permutation", "choice", "multinomial", "hypergeometric", "binomial", "geometric"):
        assert not np.array_equal(first.get(), expected), f"{name}: the seeded draw equals NumPy's"


RANDOM_ARGUMENTS = {
    "rand": (2, 3),
    "randn": (2, 3),
    "random": ((2, 3),),
    "random_sample": ((2, 3),),
    "ranf": ((2, 3),),
    "sample": ((2, 3),),
    "randint": (0, 100, (2, 3)),
    "random_integers": (1, 100, (2, 3)),
    "choice": (10, 4),
    "permutation": (6,),
    "beta": (2.0, 3.0, 4),
    "binomial": (10, 0.5, 4),
    "chisquare": (2.0, 4),
    "dirichlet": ([1.0, 2.0], 3),
    "exponential": (1.0, 4),
    "f": (2.0, 3.0, 4),
    "gamma": (2.0, 1.0, 4),
    "geometric": (0.5, 4),
    "gumbel": (0.0, 1.0, 4),
    "hypergeometric": (5, 5, 3, 4),
    "laplace": (0.0, 1.0, 4),
    "logistic": (0.0, 1.0, 4),
    "lognormal": (0.0, 1.0, 4),
    "logseries": (0.5, 4),
    "multinomial": (5, [0.5, 0.5], 3),
    "multivariate_normal": ([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], 3),
    "negative_binomial": (3, 0.5, 4),
    "noncentral_chisquare": (2.0, 1.0, 4),
    "noncentral_f": (2.0, 3.0, 1.0, 4),
    "normal": (0.0, 1.0, 4),
    "pareto": (2.0, 4),
    "poisson": (3.0, 4),
    "power": (2.0, 4),
    "rayleigh": (1.0, 4),
    "standard_cauchy": (4,),
    "standard_exponential": (4,),
    "standard_gamma": (2.0, 4),
    "standard_normal": (4,),
    "standard_t": (3.0, 4),
    "triangular": (0.0, 0.5, 1.0, 4),
    "uniform": (0.0, 1.0, 4),
    "vonmises": (0.0, 1.0, 4),
    "wald": (1.0, 1.0, 4),
    "weibull": (2.0, 4),
    "zipf": (2.0, 4),
    "bytes": (8,),
}


def test_shuffle_permutes_in_place_and_the_generator_takes_dtype_as_cupy_does():
    x = cupy.arange(10)
    cupy.random.shuffle(x)
    assert sorted(x.get().tolist()) == list(range(10)) and x.get().tolist() != list(range(10))
    rng = cupy.random.default_rng(5)
    draws = {name: getattr(rng, name) for name in INVENTORY["cupy.random.Generator"]}
    assert draws["random"](3, dtype=np.float32).dtype == np.float32 and cupy.random.rand(3, dtype=np.float32).dtype == np.float32
    assert cupy.random.uniform(0, 1, 3, dtype=np.float32).dtype == np.float32
    assert draws["integers"](0, 5, 4).get().max() < 5 and draws["standard_normal"](2).shape == (2,)
    first, second = cupy.random.default_rng(5).random(4).get(), cupy.random.default_rng(5).random(4).get()
    assert np.array_equal(first, second) and not np.array_equal(first, np.random.default_rng(5).random(4))


def test_the_inventory_is_the_pinned_cupys():
    """scripts/cupy_inventory.py, run against the CuPy importable here, writes exactly the checked-in file."""
    found = {}
    for distribution in ("cupy-cuda12x", "cupy-cuda13x", "cupy"):
        try:
            found[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    if PINNED not in found.values() or importlib.util.find_spec("cupy") is None:
        pytest.skip(f"CuPy {PINNED} is not importable here (found: {found or 'none'}); scripts/cupy_inventory.py --check runs it in a venv")
    spec = importlib.util.spec_from_file_location("cupy_inventory", ROOT / "scripts" / "cupy_inventory.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.render(script.inventory()) == (ROOT / "minialexnet" / "strict_device" / "cupy_inventory.json").read_text()
