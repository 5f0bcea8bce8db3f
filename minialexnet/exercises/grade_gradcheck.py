"""Grading lesson 3's gradient checker, held to the lesson's bound of 1e-7.

The student's ``numerical_gradient`` against an exact derivative on a curved probe, and the
student's ``check_layer`` on correct layers (it must pass them), on layers with planted bugs
(it must catch each, one a backward that ignores dout) and on a ReLU input next to its kink
(it must report the crossing).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.harness import StudentError, Watch, as_array, attribute, near
from minialexnet.gradcheck import DEFAULT_THRESHOLD
from minialexnet.layers import Layer, Linear, LocalResponseNorm, ReLU


class Tanh(Layer):
    """A smooth layer with no parameters."""

    def forward(self, x: Any, train: bool = True) -> Any:
        self.cache = np.tanh(x)
        return self.cache

    def backward(self, dout: Any) -> Any:
        return dout * (1 - self.cache**2)


class _TwiceW(Linear):
    """A planted bug: dW doubled."""

    def backward(self, dout: Any) -> Any:
        dx = super().backward(dout)
        self.grads["W"] = 2 * self.grads["W"]
        return dx


class _LeakyBackward(ReLU):
    """A planted bug: the backward lets every gradient through."""

    def backward(self, dout: Any) -> Any:
        super().backward(dout)
        return dout.copy()


class _ShortLRN(LocalResponseNorm):
    """A planted bug: the backward forgets how a[j] enlarges its neighbours' denominators (alpha is large, so that shows)."""

    def forward(self, a: Any, train: bool = True) -> Any:
        self.kept = a
        return super().forward(a, train)

    def backward(self, dout: Any) -> Any:
        super().backward(dout)
        D = self.k + self.alpha * np.stack([(self.kept[:, max(0, c - 2) : c + 3] ** 2).sum(axis=1) for c in range(self.kept.shape[1])], 1)
        return dout * D**-self.beta


class _LazyScale(Layer):
    """A planted bug (lesson 3's): out = 3 x, and a backward that ignores dout (right only when dout is all ones)."""

    def forward(self, x: Any, train: bool = True) -> Any:
        return 3 * x

    def backward(self, dout: Any) -> Any:
        return np.full(dout.shape, 3.0)


IGNORES_DOUT = "Scale by 3 whose backward ignores dout"


def _subjects(rng: np.random.Generator) -> dict[str, tuple[Layer, np.ndarray, str | None]]:
    """name -> (layer, input, the tensor with a planted bug or None)."""
    away = np.sign(rng.standard_normal((3, 8))) * rng.uniform(0.1, 1.0, (3, 8))  # no input near ReLU's kink
    return {
        "Linear(6, 4)": (Linear(6, 4, rng=rng, dtype=np.float64), rng.standard_normal((3, 6)), None),
        "Tanh": (Tanh(), rng.standard_normal((2, 5)), None),
        "ReLU": (ReLU(), away, None),
        "LocalResponseNorm(alpha=0.5)": (LocalResponseNorm(5, alpha=0.5), rng.standard_normal((2, 6, 2, 3)), None),
        "Linear(6, 4) with dW doubled": (_TwiceW(6, 4, rng=rng, dtype=np.float64), rng.standard_normal((3, 6)), "W"),
        "ReLU that lets every gradient through": (_LeakyBackward(), away, "dx"),
        "LocalResponseNorm without its neighbour term": (_ShortLRN(5, alpha=0.5), rng.standard_normal((2, 6, 2, 3)), "dx"),
        IGNORES_DOUT: (_LazyScale(), rng.standard_normal((3, 4)), "dx"),
    }


def _report(what: str, value: Any, layer: Layer) -> dict[str, tuple[float, bool]]:
    tensors = ["dx", *layer.params]
    if not isinstance(value, dict) or sorted(value) != sorted(tensors):
        raise StudentError(
            f"check_layer({what}) returned {type(value).__name__} {sorted(value) if isinstance(value, dict) else ''}: "
            f"return a dict {{tensor: (relative error, crossed a kink)}} for {tensors}"
        )
    try:
        return {key: (float(value[key][0]), bool(value[key][1])) for key in tensors}
    except (TypeError, ValueError, IndexError, KeyError):
        raise StudentError(f"check_layer({what}) must map each tensor to a pair (relative error, crossed a kink)") from None


CURVATURE = 20.0  # the probe cos(20 t) / 20: central differences are off by about 1e-10, one-sided ones by about 1e-5


def grade_gradcheck(module: ModuleType, seed: int) -> float:
    """The student's checker, held to the lesson's bound (``DEFAULT_THRESHOLD``, 1e-7) on a probe and on correct layers."""
    rng = np.random.default_rng(seed)
    numerical_gradient, check_layer = attribute(module, "numerical_gradient"), attribute(module, "check_layer")
    watch = Watch(module, library=("minialexnet.gradcheck",))
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    given = x.copy()

    def probe(t: np.ndarray) -> np.ndarray:
        return np.cos(CURVATURE * t) / CURVATURE

    numeric = as_array("numerical_gradient", watch.call("numerical_gradient", numerical_gradient, probe, given, dout), x.shape)
    if not np.array_equal(given, x):
        raise StudentError("numerical_gradient left x changed: put every coordinate back after perturbing it")
    exact = -dout * np.sin(CURVATURE * x)
    error = float(np.abs(numeric - exact).max() / np.abs(exact).max())
    ratio = float(np.sum(numeric * exact) / np.sum(exact * exact))
    if near(ratio, 2.0) or near(ratio, 0.5):
        raise StudentError(f"numerical_gradient is {ratio:g} times the derivative: central differences divide by 2 eps")
    if error > DEFAULT_THRESHOLD:
        eps = 1e-6
        one_sided = dout * (probe(x + eps) - probe(x)) / eps
        if float(np.abs(numeric - one_sided).max() / np.abs(exact).max()) < error / 10:
            raise StudentError(
                f"numerical_gradient of sum(cos(20 x) / 20 * dout) is off by {error:.1e}, above the lesson's bound of "
                f"{DEFAULT_THRESHOLD:g}: one-sided differences (f(x + eps) - f(x)) / eps are off by O(eps) where f curves; "
                "central ones, (f(x + eps) - f(x - eps)) / (2 eps), by O(eps^2)"
            )
        raise StudentError(
            f"numerical_gradient of sum(cos(20 x) / 20 * dout) is off by {error:.1e} (the bound is {DEFAULT_THRESHOLD:g}): "
            "(f(x + eps) - f(x - eps)) / (2 eps), weighted by dout"
        )
    worst = error
    for name, (layer, inputs, bug) in _subjects(rng).items():
        report = _report(name, watch.call("check_layer", check_layer, layer, inputs.copy()), layer)
        for tensor, (relative, kink) in report.items():
            if kink:
                raise StudentError(f"check_layer({name}) reports a kink crossing in {tensor}, but every input is at least 0.1 from a kink")
            if tensor == bug and not relative > 1e-3:
                advice = ": with dout = ones a backward that ignores dout looks right; draw dout at random" if name == IGNORES_DOUT else ""
                raise StudentError(
                    f"check_layer({name}) gives {tensor} a relative error of {relative:.1e}: that layer's {tensor} is wrong, "
                    f"catch it{advice}"
                )
            if tensor != bug and not relative < DEFAULT_THRESHOLD:
                raise StudentError(
                    f"check_layer({name}) gives the correct {tensor} a relative error of {relative:.1e}, above the lesson's bound "
                    f"of {DEFAULT_THRESHOLD:g}: central differences in float64 (one-sided ones are off by O(eps)), compared as "
                    "|a - n| to the larger of |a|, |n|"
                )
            worst = max(worst, relative if tensor != bug else 0.0)
    near_kink = rng.standard_normal((2, 5))
    near_kink[0, 0] = 3e-7  # within eps = 1e-6 of ReLU's kink
    report = _report("ReLU near its kink", watch.call("check_layer", check_layer, ReLU(), near_kink.copy()), ReLU())
    if not report["dx"][1]:
        raise StudentError(
            "check_layer(ReLU) on an input 3e-7 from 0 did not report a kink crossing: compare the one-sided differences "
            "(f(x + eps) - f(x)) / eps and (f(x) - f(x - eps)) / eps; when they disagree, the step crossed a kink"
        )
    return worst
