"""Numerical gradient checking: proof that every backward pass is right.

Run ``python -m minialexnet.gradcheck [--device cpu|gpu] [--engine reference|fast]`` to check
every layer of an engine and a small network made of all of them; it prints a table and exits non-zero on any failure.

How a gradient is checked
-------------------------
For a layer with output y = f(x), backward(dout) must return the gradient of the scalar
<f(x), dout> = sum(f(x) * dout). ``dout`` is random, so a backward that ignores it fails.
The numerical gradient of that scalar is the central difference, in float64::

    d/dx_i  ~  (<f(x + eps e_i), dout> - <f(x - eps e_i), dout>) / (2 eps)

whose error is O(eps**2) from truncation plus O(1e-16 / eps) from rounding; eps = 1e-6
balances them. Every tensor (dx and each parameter gradient) is compared with::

    relative error = max_i |analytic_i - numeric_i| / max(max_i |analytic_i|, max_i |numeric_i|)

the largest disagreement measured against the tensor's largest gradient (an element-wise
ratio would blow up on gradients that are zero up to rounding). A tensor passes when the
error is below ``threshold`` (1e-7 by default; a correct float64 backward gives about
1e-9 or less, a wrong one 1e-2 or more).

Big tensors are checked on a random sample of coordinates (``num_samples``). A whole
network is checked with the directional derivative: for a random direction v,
<grad, v> must equal (F(x + eps v) - F(x - eps v)) / (2 eps), two forward passes per tensor.

Kinks
-----
ReLU (at 0) and max-pooling (on ties) are not differentiable everywhere; a finite
difference that straddles a kink measures nonsense. The checker guards against it twice:
``kink_free_input`` draws inputs whose values are all at least ``gap`` from zero and from
each other (a random permutation of evenly spaced values), and every perturbed forward pass
compares the layer's ``kink_state()`` (ReLU masks, pool winners) with the unperturbed one.
A layer check that crossed a kink is reported as such; a network check redraws its input.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, asnumpy, get_array_module, to_device
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP, engine_module, resolve
from minialexnet.layers import Layer, Sequential, SoftmaxCrossEntropy
from minialexnet.training.cli import check_start

DEFAULT_EPS = 1e-6
DEFAULT_THRESHOLD = 1e-7
FULL_CHECK_LIMIT = 4096  # tensors up to this many elements are checked coordinate by coordinate


class KinkError(RuntimeError):
    """A finite difference crossed a kink (a ReLU sign change or a max-pool winner change)."""


def relative_error(analytic: Any, numeric: Any) -> float:
    """``max |a - n| / max(max |a|, max |n|)``; 0.0 when both are exactly zero."""
    a = asnumpy(analytic).astype(np.float64).ravel()
    n = asnumpy(numeric).astype(np.float64).ravel()
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.abs(a - n).max() / scale)


def sample_indices(size: int, count: int | None, rng: np.random.Generator) -> np.ndarray:
    """Flat indices to check: all of them, or ``count`` distinct random ones."""
    if count is None or count >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=count, replace=False))


def _same_kinks(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return all(_same_kinks(p, q) for p, q in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    xp = get_array_module(a)
    return bool(xp.array_equal(a, b))


def _copy_kinks(state: Any) -> Any:
    if isinstance(state, list):
        return [_copy_kinks(s) for s in state]
    return None if state is None else state.copy()


def numerical_gradient(
    f: Callable[[Any], Any],
    x: Any,
    dout: Any,
    eps: float = DEFAULT_EPS,
    indices: np.ndarray | None = None,
    guard: Callable[[], None] | None = None,
) -> Any:
    """Central-difference gradient of <f(x), dout> with respect to ``x``.

    ``x`` is perturbed in place, one coordinate at a time, and restored, so ``f`` may also
    read it through a closure (a layer's parameter). ``x`` should be float64.
    ``indices``: flat coordinates to evaluate (sampled mode); the result then has one value
    per index. Without it the full gradient, shaped like ``x``, is returned.
    ``guard`` is called after every evaluation (the checker passes a kink detector).
    """
    xp = get_array_module(x)
    if not x.flags.c_contiguous:
        raise ValueError("numerical_gradient needs a C-contiguous x (it perturbs x in place); pass x.copy()")
    flat = x.reshape(-1)
    points = np.arange(x.size) if indices is None else np.asarray(indices)
    values = np.empty(points.size, dtype=np.float64)
    for position, index in enumerate(points.tolist()):
        original = flat[index].copy()
        flat[index] = original + eps
        plus = float(xp.sum(f(x) * dout))
        if guard is not None:
            guard()
        flat[index] = original - eps
        minus = float(xp.sum(f(x) * dout))
        if guard is not None:
            guard()
        flat[index] = original
        values[position] = (plus - minus) / (2 * eps)
    return values.reshape(x.shape) if indices is None else values


def kink_free_input(shape: tuple[int, ...], rng: np.random.Generator, gap: float = 1e-2, scale: float = 1.0) -> np.ndarray:
    """float64 values, all distinct, at least ``gap`` apart and at least gap/2 from zero.

    A random permutation of evenly spaced values; ``scale`` sets their largest magnitude
    (at least ``gap * size / 2``).
    """
    size = int(np.prod(shape))
    step = max(gap, 2.0 * scale / max(size, 1))
    values = (np.arange(size) - (size - 1) / 2.0) * step
    if size % 2 == 1:
        values[values >= 0] += step / 2  # odd counts would put one value at exactly 0
    return rng.permutation(values).reshape(shape)


@dataclass
class TensorCheck:
    """One compared tensor: which layer, which tensor, how many coordinates, the error."""

    layer: str
    tensor: str
    checked: int
    error: float
    threshold: float
    note: str = ""

    @property
    def passed(self) -> bool:
        return not self.note and self.error < self.threshold


@dataclass
class Report:
    """The rows of a gradient check; ``passed`` is True when every row passed."""

    rows: list[TensorCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def extend(self, other: Report) -> None:
        self.rows.extend(other.rows)

    def table(self) -> str:
        header = ("layer", "tensor", "checked", "rel. error", "threshold", "result")
        lines = [
            (
                row.layer,
                row.tensor,
                str(row.checked),
                f"{row.error:.2e}",
                f"{row.threshold:.0e}",
                "pass" if row.passed else f"FAIL {row.note}".strip(),
            )
            for row in self.rows
        ]
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line) for line in lines]
        return "\n".join(out)


def _rng_replayer(layer: Layer) -> Callable[[], None]:
    """A function that puts the layer's random generator back where it was now."""
    if not hasattr(layer, "get_rng_state"):
        return lambda: None
    state = copy.deepcopy(layer.get_rng_state())
    return lambda: layer.set_rng_state(copy.deepcopy(state))


def check_layer(
    layer: Layer,
    x: Any,
    labels: Any = None,
    *,
    eps: float = DEFAULT_EPS,
    threshold: float = DEFAULT_THRESHOLD,
    num_samples: int | None = None,
    seed: int = 0,
    train: bool = True,
) -> Report:
    """Compare ``layer``'s dx and parameter gradients with central differences, in float64.

    A float64 copy of the layer is checked (the argument is left untouched); ``x`` is cast
    to float64 on its own device. ``labels``: for a loss layer, ``forward(x, labels)``.
    Tensors larger than 4096 elements are sampled at ``num_samples`` coordinates (200 if
    not given); pass ``num_samples`` to sample smaller ones too.
    Returns a Report with one row per tensor (dx first, then the parameters).
    """
    rng = np.random.default_rng(seed)
    layer = copy.deepcopy(layer).astype(np.float64)
    x = x.astype(np.float64).copy()
    xp = get_array_module(x)
    replay_rng = _rng_replayer(layer)

    def run(_: Any = None) -> Any:
        replay_rng()
        if labels is not None:
            return xp.asarray(layer.forward(x, labels), dtype=np.float64)
        return layer.forward(x, train=train)

    out = run()
    reference_kinks = _copy_kinks(layer.kink_state())
    crossings = []

    def guard() -> None:
        if not _same_kinks(reference_kinks, layer.kink_state()):
            crossings.append(1)

    dout = xp.asarray(rng.standard_normal(out.shape))
    dx = layer.backward(dout)
    analytic = {} if dx is None else {"dx": dx}
    analytic.update({key: value.copy() for key, value in layer.grads.items()})
    targets = {"dx": x, **layer.params}
    report = Report()
    for name, grad in analytic.items():
        target = targets[name]
        count = num_samples if num_samples is not None else (None if target.size <= FULL_CHECK_LIMIT else 200)
        indices = sample_indices(target.size, count, rng)
        crossings.clear()
        numeric = numerical_gradient(run, target, dout, eps, indices, guard)
        chosen = asnumpy(grad).reshape(-1)[indices]
        note = f"(crossed a kink {len(crossings)}x: redraw x away from kinks)" if crossings else ""
        report.rows.append(TensorCheck(layer.name, name, len(indices), relative_error(chosen, numeric), threshold, note))
    return report


def check_network(
    model: Sequential,
    x: Any,
    labels: Any,
    *,
    loss: Layer | None = None,
    eps: float = DEFAULT_EPS,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    tries: int = 5,
    name: str = "network",
) -> Report:
    """Directional check of a whole model plus loss: one random direction per tensor.

    For the input and every parameter T, with v random: <dL/dT, v> against
    (L(T + eps v) - L(T - eps v)) / (2 eps). If a perturbation changes a ReLU mask or a
    pool winner, the input is redrawn (``tries`` times) with a little noise.
    """
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(model).astype(np.float64)
    loss = SoftmaxCrossEntropy() if loss is None else loss
    xp = get_array_module(x)
    replay_rng = _rng_replayer(model)
    x = x.astype(np.float64).copy()
    for _ in range(tries):
        report, crossed = _directional(model, loss, x, labels, eps, threshold, rng, replay_rng, name)
        if not crossed:
            return report
        x = x + xp.asarray(rng.standard_normal(x.shape)) * 1e-3 * float(xp.abs(x).max())
    report.rows.append(TensorCheck(name, "(input)", 0, float("nan"), threshold, f"(every input tried crossed a kink; {tries} tries)"))
    return report


def _directional(model, loss, x, labels, eps, threshold, rng, replay_rng, name) -> tuple[Report, bool]:
    xp = get_array_module(x)

    def objective() -> float:
        replay_rng()
        return loss.forward(model.forward(x, train=True), labels)

    objective()
    reference_kinks = _copy_kinks(model.kink_state())
    dx = model.backward(loss.backward())
    analytic = {"input.dx": dx} if dx is not None else {}
    analytic.update({key: value.copy() for key, value in model.grads.items()})
    params = model.params
    targets = {"input.dx": x, **params}
    report, crossed = Report(), False
    for key, grad in analytic.items():
        target = targets[key]
        direction = xp.asarray(rng.standard_normal(target.shape))
        original = target.copy()
        target += eps * direction
        plus = objective()
        crossed |= not _same_kinks(reference_kinks, model.kink_state())
        target[...] = original - eps * direction
        minus = objective()
        crossed |= not _same_kinks(reference_kinks, model.kink_state())
        target[...] = original
        numeric = (plus - minus) / (2 * eps)
        exact = float(xp.sum(grad * direction))
        layer_name, _, tensor = key.rpartition(".")
        report.rows.append(
            TensorCheck(
                f"{name}:{layer_name}", "d" + tensor if tensor != "dx" else "dx", target.size, relative_error(exact, numeric), threshold
            )
        )
    return report, crossed


def demo_network(seed: int = 0, in_channels: int = 3, size: int = 23, classes: int = 5, engine: str = "fast") -> Sequential:
    """A tiny AlexNet-shaped network using every layer of ``engine``: conv/ReLU/LRN/pool twice (groups 1
    and 2; on the fast engine the second conv by Winograd, as AlexNet's conv2), flatten, fc/ReLU/dropout, fc.
    Input (N, in_channels, 23, 23)."""
    rng = np.random.default_rng(seed)
    layers = engine_module(engine)
    Conv2d, ReLU, LocalResponseNorm, MaxPool2d = layers.Conv2d, layers.ReLU, layers.LocalResponseNorm, layers.MaxPool2d
    Flatten, Linear, Dropout = layers.Flatten, layers.Linear, layers.Dropout
    conv2 = _winograd(layers, 4, 6, 3, padding=1, groups=2, rng=rng)
    return layers.Sequential(
        ("conv1", Conv2d(in_channels, 4, 5, stride=2, padding=1, rng=rng, need_input_grad=True)),
        ("relu1", ReLU()),
        ("norm1", LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0)),
        ("pool1", MaxPool2d(3, 2)),
        ("conv2", conv2),
        ("relu2", ReLU()),
        ("norm2", LocalResponseNorm(5, alpha=0.1, beta=0.75, k=2.0)),
        ("pool2", MaxPool2d(2, 1)),
        ("flatten", Flatten()),
        ("fc1", Linear(6 * 4 * 4, 8, rng=rng)),
        ("relu3", ReLU()),
        ("drop", Dropout(0.5, seed=seed)),
        ("fc2", Linear(8, classes, rng=rng)),
    )


def _winograd(layers: Any, *args: Any, **kwargs: Any) -> Layer:
    """A WinogradConv2d of the engine ``layers`` if it has one, else its Conv2d (the same constructor)."""
    return getattr(layers, "WinogradConv2d", layers.Conv2d)(*args, **kwargs)


def check_all(device: str = "cpu", seed: int = 0, engine: str = "auto") -> Report:
    """Every layer of ``engine`` (auto: the device's default, engines.py) on small odd-sized inputs, then ``demo_network``."""
    rng = np.random.default_rng(seed)
    layers = engine_module(engine, device)
    Conv2d, ReLU, LocalResponseNorm, MaxPool2d = layers.Conv2d, layers.ReLU, layers.LocalResponseNorm, layers.MaxPool2d
    Flatten, Linear, Dropout, SoftmaxCrossEntropy = layers.Flatten, layers.Linear, layers.Dropout, layers.SoftmaxCrossEntropy

    def on_device(array: np.ndarray) -> Any:
        return to_device(array, device)

    def layer_on_device(layer: Layer, name: str) -> Layer:
        layer.name = name
        return layer.to(device)

    cases = [
        (Conv2d(3, 4, 3, stride=2, padding=1, rng=rng), "Conv2d", rng.standard_normal((2, 3, 7, 6))),
        (Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(0, 1), groups=2, rng=rng), "Conv2d(groups=2)", rng.standard_normal((2, 4, 5, 7))),
        (_winograd(layers, 3, 4, 5, padding=2, rng=rng), "Conv2d 5x5 pad 2 (fast: Winograd F(4,5))", rng.standard_normal((2, 3, 7, 6))),
        (
            _winograd(layers, 4, 6, 3, padding=1, groups=2, rng=rng),
            "Conv2d 3x3 groups 2 (fast: Winograd F(2,3))",
            rng.standard_normal((2, 4, 5, 5)),
        ),
        (ReLU(), "ReLU", kink_free_input((2, 3, 4, 5), rng)),
        (LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0), "LRN(paper)", rng.standard_normal((2, 7, 3, 4)) * 30),
        (LocalResponseNorm(5, alpha=0.5, beta=0.75, k=2.0), "LRN(alpha=0.5)", rng.standard_normal((2, 7, 3, 4))),
        (LocalResponseNorm(4, alpha=0.5, beta=0.6, k=1.0), "LRN(size=4)", rng.standard_normal((2, 6, 3, 3))),
        (MaxPool2d(3, 2), "MaxPool2d", kink_free_input((2, 3, 9, 7), rng)),
        (Dropout(0.5, seed=seed), "Dropout", rng.standard_normal((4, 10))),
        (Linear(7, 5, rng=rng), "Linear", rng.standard_normal((3, 7))),
        (Flatten(), "Flatten", rng.standard_normal((2, 3, 2, 2))),
    ]
    report = Report()
    for layer, name, x in cases:
        report.extend(check_layer(layer_on_device(layer, name), on_device(x), seed=seed))
    logits = rng.standard_normal((4, 6)) * 3
    labels = on_device(rng.integers(0, 6, size=4))
    report.extend(check_layer(layer_on_device(SoftmaxCrossEntropy(), "SoftmaxCrossEntropy"), on_device(logits), labels, seed=seed))
    model = demo_network(seed, engine=resolve(engine, device)).to(device)
    x = on_device(rng.standard_normal((3, 3, 23, 23)))
    report.extend(check_network(model, x, on_device(rng.integers(0, 5, size=3)), seed=seed))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minialexnet.gradcheck", description="Check every layer's backward pass against central differences (float64)."
    )
    parser.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N (default: cpu)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto", help=ENGINE_HELP)
    parser.add_argument("--seed", type=int, default=0, help="seed for inputs, directions and upstream gradients")
    args = parser.parse_args(argv)
    try:
        check_start(args.device, args.engine)  # the device, the engine on it, the thread setting
    except (DeviceUnavailableError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = check_all(args.device, args.seed, args.engine)
    print(f"gradient check of the {resolve(args.engine, args.device)} engine on {args.device}, float64, eps={DEFAULT_EPS:g}")
    print(report.table())
    failed = sum(not row.passed for row in report.rows)
    print(f"\n{len(report.rows) - failed} passed, {failed} failed")
    return 0 if report.passed else 1


if __name__ == "__main__":
    from minialexnet.commands import guarded

    sys.exit(guarded(main))
