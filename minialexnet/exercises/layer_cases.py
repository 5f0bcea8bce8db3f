"""Each layer exercise's cases and its own probes: the table ``LAYERS`` that ``grade_layers.grade_layer`` runs.

The cases are non-square and odd (strides 1-4, padding 0-2, batches 1-4, groups 1 and 2 for
Conv2d). The probes go where finite differences cannot: max-pool on exact ties and on windows
whose two largest entries differ by 1e-10, ReLU within 1e-9 of its kink and exactly at it, LRN's
defaults and its alpha (not divided by the size), softmax on logits of a few thousand; and the
hints for the usual slips (a conv kernel flipped, db averaged over the positions).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet import oracles
from minialexnet.exercises.grade_layers import EXACT_TOLERANCE, LayerExercise, Setting
from minialexnet.exercises.harness import FORWARD_TOLERANCE, StudentError, Watch, as_array, attribute, build, near
from minialexnet.gradcheck import DEFAULT_THRESHOLD, kink_free_input, relative_error
from minialexnet.layers import Layer


def _conv_factor_hint(key: str, c: float, sizes: dict[str, int]) -> str | None:
    if key == "b" and near(c, 1 / sizes["positions"]):
        return f"you averaged over N * OH * OW = {sizes['positions']} positions: db sums dout over them"
    if key == "b" and near(c, sizes["N"] / sizes["positions"]):
        return f"you averaged over OH * OW = {sizes['positions'] // sizes['N']} positions: db sums dout over them"
    return None


def _pool_backward_probe(module: ModuleType, watch: Watch, x: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MaxPool2d(3, 2) on ``x``: the student's dx, the exact one, and dout (positive, so sums cannot cancel)."""
    student = build("MaxPool2d(3, 2)", lambda: module.MaxPool2d(3, 2))
    out = oracles.maxpool(x, 3, 2)
    got = as_array(f"MaxPool2d.forward's output ({what})", watch.call("MaxPool2d.forward", student.forward, x.copy()), out.shape)
    if relative_error(got, out) > FORWARD_TOLERANCE:
        raise StudentError(f"MaxPool2d.forward is wrong on an input with {what}")
    dout = np.random.default_rng(11).standard_normal(out.shape) + 2.0
    dx = as_array(f"dx ({what})", watch.call("MaxPool2d.backward", student.backward, dout.copy(), in_backward=True), x.shape)
    return dx, oracles.maxpool_backward(x, dout, 3, 2), dout


def _maxpool_ties(module: ModuleType, watch: Watch) -> None:
    """Windows with tied maxima: one winner each, the first in row-major order, the total conserved; then near-ties."""
    rng = np.random.default_rng(7)
    x = np.concatenate([np.full((1, 1, 7, 9), 0.5), rng.integers(0, 3, size=(1, 1, 7, 9)).astype(np.float64)], axis=1)
    dx, expected, dout = _pool_backward_probe(module, watch, x, "tied maxima")
    if relative_error(dx, expected) >= DEFAULT_THRESHOLD:
        total, wanted = float(dx.sum()), float(dout.sum())
        if total > wanted * (1 + 1e-9):
            raise StudentError(
                f"with tied maxima the gradient went to every tied maximum (sum of dx {total:.4g}, of dout {wanted:.4g}): "
                "send each window's gradient to one maximum only, the first in row-major order"
            )
        if abs(total - wanted) > 1e-9 * abs(wanted):
            raise StudentError(
                f"the total gradient is not conserved on ties (sum of dx {total:.4g}, of dout {wanted:.4g}): "
                "each window gives all its gradient to one maximum"
            )
        if np.count_nonzero(dx) > np.count_nonzero(expected):
            raise StudentError(
                "with tied maxima the gradient was split among them: it goes to one maximum only, the first in row-major order"
            )
        raise StudentError(
            "with tied maxima the gradient went to another maximum: the first in row-major order (smallest row, then column) gets it, "
            "as in PyTorch"
        )
    near_ties = x + 1e-10 * rng.standard_normal(x.shape)  # the two largest of a window 1e-10 apart: a step of 1e-6 straddles them
    dx, expected, _ = _pool_backward_probe(module, watch, near_ties, "near-ties")
    error = relative_error(dx, expected)
    if error > EXACT_TOLERANCE:
        raise StudentError(
            f"on windows whose two largest entries differ by 1e-10, dx is off by {error:.1e}: the gradient goes to the exact maximum "
            "(finite differences straddle near-ties; route dout to the winner kept by forward)"
        )


def _relu_kinks(module: ModuleType, watch: Watch) -> None:
    """Inputs within 1e-9 of zero: the exact gradient is dout where x > 0; a finite difference straddling the kink gives half."""
    rng = np.random.default_rng(9)
    x = kink_free_input((2, 3, 4, 5), rng)
    x.reshape(-1)[::3] *= 1e-8  # a third of the inputs within 1e-9 of the kink, neither sign changed
    student = build("ReLU()", lambda: module.ReLU())
    as_array("ReLU.forward's output (inputs near 0)", watch.call("ReLU.forward", student.forward, x.copy(), train=True), x.shape)
    dout = rng.standard_normal(x.shape)
    dx = as_array("dx (inputs near 0)", watch.call("ReLU.backward", student.backward, dout.copy(), in_backward=True), x.shape)
    error = relative_error(dx, dout * (x > 0))
    if error > EXACT_TOLERANCE:
        raise StudentError(
            f"for inputs within 1e-9 of 0, dx is off by {error:.1e}: the exact gradient is dout where x > 0, else 0 "
            "(a finite difference there straddles the kink and gives about half of dout)"
        )
    x.reshape(-1)[::3] = 0.0  # exactly at the kink: the gradient is 0 there (x > 0), in the library, PyTorch and lesson 11
    watch.call("ReLU.forward", student.forward, x.copy(), train=True)
    dx = as_array("dx (inputs exactly 0)", watch.call("ReLU.backward", student.backward, dout.copy(), in_backward=True), x.shape)
    if not np.array_equal(dx, dout * (x > 0)):
        at_zero = x == 0
        passed = np.array_equal(dx[at_zero], dout[at_zero]) and np.array_equal(dx[~at_zero], (dout * (x > 0))[~at_zero])
        raise StudentError(
            "at x == 0 exactly dx must be 0: the rule is x > 0, not x >= 0 (the library's, PyTorch's and lesson 11's)"
            if passed
            else "for inputs exactly 0, dx differs from dout where x > 0, else 0"
        )


def _lrn_oracle(setting: Setting, x: np.ndarray, params: dict[str, np.ndarray], labels: Any) -> np.ndarray:
    return oracles.lrn(x, setting["size"], setting["alpha"], setting["beta"], setting["k"])


def _lrn_hint(out: np.ndarray, x: np.ndarray, setting: Setting, params: dict[str, np.ndarray] | None = None) -> str | None:
    """The usual LRN mistakes: PyTorch's alpha / size; for an even size, a window of size + 1 channels centred on c."""
    divided = _lrn_oracle({**setting, "alpha": setting["alpha"] / setting["size"]}, x, {}, None)
    if relative_error(out, divided) < FORWARD_TOLERANCE:
        return "you divided alpha by size (PyTorch's and Caffe's convention): the paper's alpha is used as it is"
    centred = _lrn_oracle({**setting, "size": setting["size"] + 1}, x, {}, None)  # [c - size//2, c + size//2]
    if setting["size"] % 2 == 0 and relative_error(out, centred) < FORWARD_TOLERANCE:
        return (
            f"your window is c - {setting['size'] // 2} .. c + {setting['size'] // 2}, {setting['size'] + 1} channels: for an "
            "even size it is c - size//2 .. c + (size - 1)//2, size channels (the library's and PyTorch's window)"
        )
    return None


PAPER_LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def _lrn_defaults(module: ModuleType, watch: Watch) -> None:
    """LocalResponseNorm() is the paper's: size 5, alpha 1e-4, beta 0.75, k 2."""
    x = np.random.default_rng(3).standard_normal((2, 7, 3, 3)) * 30
    student = build("LocalResponseNorm()", lambda: module.LocalResponseNorm())
    out = as_array("LocalResponseNorm().forward's output", watch.call("LocalResponseNorm.forward", student.forward, x.copy()), x.shape)
    if relative_error(out, _lrn_oracle(PAPER_LRN, x, {}, None)) > FORWARD_TOLERANCE:
        raise StudentError(
            _lrn_hint(out, x, PAPER_LRN)
            or "LocalResponseNorm() differs from the paper's: the defaults are size 5, alpha 1e-4, beta 0.75, k 2"
        )


def _softmax_overflow(module: ModuleType, watch: Watch) -> None:
    """Logits of a few thousand: exp overflows unless each row's maximum is subtracted."""
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((4, 5)) * 3000, rng.integers(0, 5, size=4)
    student = build("SoftmaxCrossEntropy()", lambda: module.SoftmaxCrossEntropy())
    loss = watch.call("SoftmaxCrossEntropy.forward", student.forward, logits.copy(), labels.copy())
    expected = float(oracles.softmax_cross_entropy(logits, labels))
    try:
        value = float(loss)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or abs(value - expected) > 1e-9 * abs(expected):
        raise StudentError(
            f"for logits of about 3000 forward gives {value} instead of {expected:.6g}: subtract each row's maximum before exp"
        )
    dlogits = watch.call("SoftmaxCrossEntropy.backward", student.backward, in_backward=True)
    as_array("dlogits for logits of about 3000", dlogits, logits.shape)


def _naive_conv(module: ModuleType, setting: Setting) -> Layer:
    """The student's two conv functions as a layer, so they are graded like one."""
    for name in ("conv_forward_naive", "conv_backward_naive"):
        attribute(module, name)

    class NaiveConv(Layer):
        def __init__(self) -> None:
            super().__init__()
            self.params = {"W": np.zeros(setting["W"]), "b": np.zeros(setting["W"][0])}

        def forward(self, x: np.ndarray, train: bool = True) -> Any:
            self.cache = x
            return module.conv_forward_naive(x, self.params["W"], self.params["b"], setting["stride"], setting["padding"])

        def backward(self, dout: np.ndarray) -> Any:
            result = module.conv_backward_naive(dout, self.cache, self.params["W"], setting["stride"], setting["padding"])
            if not isinstance(result, tuple) or len(result) != 3:
                raise StudentError(f"conv_backward_naive returned {type(result).__name__}: return the tuple (dx, dW, db)")
            dx, self.grads["W"], self.grads["b"] = result
            return dx

    return NaiveConv()


def _conv_oracle(setting: Setting, x: np.ndarray, params: dict[str, np.ndarray], labels: Any) -> np.ndarray:
    return oracles.conv(x, params["W"], params["b"], setting["stride"], setting["padding"], setting.get("groups", 1))


def _conv_flip_hint(out: np.ndarray, x: np.ndarray, setting: Setting, params: dict[str, np.ndarray]) -> str | None:
    """The usual slip of a signal-processing convolution: the kernel flipped."""
    flipped = _conv_oracle(setting, x, {**params, "W": params["W"][:, :, ::-1, ::-1]}, None)
    if relative_error(out, flipped) < FORWARD_TOLERANCE:
        return (
            "your kernel is flipped (a convolution in the signal-processing sense): the layer computes a cross-correlation, "
            "out[n, f, oh, ow] = b[f] + sum over c, i, j of W[f, c, i, j] x_padded[n, c, S oh + i, S ow + j], no flip"
        )
    return None


def _conv_shapes(setting: Setting, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    F, C, KH, KW = setting["W"]
    return {"W": (F, C // setting.get("groups", 1), KH, KW), "b": (F,)}


def _conv_describe(setting: Setting, shape: tuple[int, ...]) -> str:
    F, _, KH, KW = setting["W"]
    groups = f", groups {setting['groups']}" if "groups" in setting else ""
    return f"input {shape}, {F} filters of {KH}x{KW}, stride {setting['stride']}, padding {setting['padding']}{groups}"


def _conv_case(N: int, C: int, H: int, W: int, F: int, KH: int, KW: int, S: int, P: int) -> tuple[Setting, tuple[int, ...]]:
    """A case of the naive conv: W (F, C, KH, KW)."""
    return {"W": (F, C, KH, KW), "stride": S, "padding": P}, (N, C, H, W)


def _grouped_case(N: int, C: int, H: int, W: int, F: int, K: int, S: int, P: int, G: int) -> tuple[Setting, tuple[int, ...]]:
    """A case of the Conv2d layer: ``setting["W"]`` is (F, C, K, K) before grouping; the layer's W is (F, C / G, K, K)."""
    return {"W": (F, C, K, K), "stride": S, "padding": P, "groups": G}, (N, C, H, W)


def _pool_case(N: int, C: int, H: int, W: int, K: int, S: int) -> tuple[Setting, tuple[int, ...]]:
    return {"K": K, "S": S}, (N, C, H, W)


def _lrn_case(N: int, C: int, H: int, W: int, size: int, alpha: float) -> tuple[Setting, tuple[int, ...]]:
    return {"size": size, "alpha": alpha, "beta": 0.75, "k": 2.0}, (N, C, H, W)


LAYERS: dict[str, LayerExercise] = {
    "relu": LayerExercise(
        lambda m, s: attribute(m, "ReLU")(),
        lambda s, x, p, y: oracles.relu(x),
        (({}, (3, 2, 3, 4)), ({}, (1, 7)), ({}, (4, 3, 5, 2))),
        "ReLU",
        make_input=lambda rng, shape: kink_free_input(shape, rng),
        smooth=False,
        extra=_relu_kinks,
    ),
    "linear": LayerExercise(
        lambda m, s: attribute(m, "Linear")(s["in"], s["out"]),
        lambda s, x, p, y: oracles.linear(x, p["W"], p["b"]),
        (({"in": 5, "out": 4}, (3, 5)), ({"in": 7, "out": 2}, (1, 7)), ({"in": 3, "out": 6}, (4, 3))),
        "Linear",
        param_shapes=lambda s, shape: {"W": (s["out"], s["in"]), "b": (s["out"],)},
        describe=lambda s, shape: f"Linear({s['in']}, {s['out']}) on input {shape}",
    ),
    "softmax_cross_entropy": LayerExercise(
        lambda m, s: attribute(m, "SoftmaxCrossEntropy")(),
        lambda s, x, p, y: oracles.softmax_cross_entropy(x, y),
        (({}, (3, 6)), ({}, (1, 4)), ({}, (4, 10))),
        "SoftmaxCrossEntropy",
        make_input=lambda rng, shape: rng.standard_normal(shape) * 2,
        loss=True,
        label=lambda key: "dlogits",
        describe=lambda s, shape: f"logits {shape}",
        extra=_softmax_overflow,
    ),
    "conv_naive": LayerExercise(
        _naive_conv,
        _conv_oracle,
        (_conv_case(2, 2, 7, 5, 3, 3, 2, 2, 1), _conv_case(1, 3, 6, 9, 2, 2, 3, 1, 0), _conv_case(3, 1, 11, 8, 2, 4, 3, 3, 2)),
        "Conv2d",
        param_shapes=_conv_shapes,
        names=("conv_forward_naive", "conv_backward_naive"),
        forwards=("conv_forward_naive",),
        label=lambda key: key if key == "dx" else f"d{key}",
        factor_hint=_conv_factor_hint,
        describe=_conv_describe,
        forward_hint=_conv_flip_hint,
    ),
    "conv": LayerExercise(
        lambda m, s: attribute(m, "Conv2d")(s["W"][1], s["W"][0], s["W"][2], stride=s["stride"], padding=s["padding"], groups=s["groups"]),
        _conv_oracle,
        (
            _grouped_case(2, 3, 9, 7, 4, 3, 2, 1, 1),
            _grouped_case(1, 2, 8, 11, 3, 5, 1, 2, 1),
            _grouped_case(4, 1, 13, 10, 2, 4, 3, 0, 1),
            _grouped_case(2, 4, 7, 10, 6, 3, 2, 1, 2),
            _grouped_case(1, 4, 6, 9, 4, 2, 1, 0, 2),
        ),
        "Conv2d",
        param_shapes=_conv_shapes,
        factor_hint=_conv_factor_hint,
        describe=_conv_describe,
        forward_hint=_conv_flip_hint,
    ),
    "maxpool": LayerExercise(
        lambda m, s: attribute(m, "MaxPool2d")(s["K"], s["S"]),
        lambda s, x, p, y: oracles.maxpool(x, s["K"], s["S"]),
        (_pool_case(3, 2, 7, 9, 3, 2), _pool_case(1, 3, 8, 11, 2, 2), _pool_case(2, 1, 6, 5, 3, 1), _pool_case(1, 1, 28, 13, 3, 2)),
        "MaxPool2d",
        make_input=lambda rng, shape: kink_free_input(shape, rng),
        smooth=False,
        describe=lambda s, shape: f"MaxPool2d({s['K']}, {s['S']}) on input {shape}",
        extra=_maxpool_ties,
    ),
    "lrn": LayerExercise(  # a large alpha, so the neighbours count
        lambda m, s: attribute(m, "LocalResponseNorm")(size=s["size"], alpha=s["alpha"], beta=s["beta"], k=s["k"]),
        _lrn_oracle,
        (_lrn_case(3, 7, 3, 3, 5, 0.5), _lrn_case(2, 4, 2, 5, 3, 0.8), _lrn_case(1, 9, 1, 2, 7, 0.3), _lrn_case(2, 6, 2, 3, 4, 0.6)),
        "LocalResponseNorm",
        describe=lambda s, shape: f"LocalResponseNorm(size={s['size']}, alpha={s['alpha']}) on input {shape}",
        extra=_lrn_defaults,
        forward_hint=_lrn_hint,
    ),
}
