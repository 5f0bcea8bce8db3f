"""Grading lesson 6's ``Sequential``, the chain rule as a class.

Probe layers record the order of the calls, the gradient each one is handed and the train
flag; the network's dx and its grads (named "<layer>.<key>") are checked against their formulas.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.harness import BATCH, FORWARD_TOLERANCE, StudentError, Watch, as_array, attribute, build
from minialexnet.gradcheck import DEFAULT_THRESHOLD, numerical_gradient, relative_error
from minialexnet.layers import Layer


class _Probe(Layer):
    """A grader's layer that logs its calls: "scale" (x * w), "tanh", or "shift" (x + b)."""

    def __init__(self, kind: str, size: int, log: list[tuple[str, str, Any]], rng: np.random.Generator) -> None:
        super().__init__()
        self.kind, self.log = kind, log
        self.params = {"scale": {"w": rng.standard_normal(size)}, "tanh": {}, "shift": {"b": rng.standard_normal(size)}}[kind]
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x: Any, train: bool = True) -> Any:
        self.log.append(("forward", self.kind, train))
        self.cache = x
        if self.kind == "scale":
            return x * self.params["w"]
        return np.tanh(x) if self.kind == "tanh" else x + self.params["b"]

    def backward(self, dout: Any) -> Any:
        self.log.append(("backward", self.kind, np.array(dout, copy=True)))
        x = self.cache
        if self.kind == "scale":
            self.grads["w"] = (dout * x).sum(axis=0)
            return dout * self.params["w"]
        if self.kind == "tanh":
            return dout * (1 - np.tanh(x) ** 2)
        self.grads["b"] = dout.sum(axis=0)
        return dout.copy()


def grade_sequential(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    log: list[tuple[str, str, Any]] = []
    kinds = ("scale", "tanh", "shift")
    probes = [_Probe(kind, 4, log, rng) for kind in kinds]
    model = build("Sequential(...)", lambda: attribute(module, "Sequential")(*zip(kinds, probes, strict=True)))
    watch = Watch(module)
    x = rng.standard_normal((BATCH, 4))
    w, b = probes[0].params["w"], probes[2].params["b"]
    expected = np.tanh(x * w) + b
    for train in (True, False):
        log.clear()
        out = watch.call("Sequential.forward", model.forward, x.copy(), train=train)
        order = [kind for call, kind, _ in log if call == "forward"]
        if order != list(kinds):
            raise StudentError(f"forward called the layers {order}: go through the list once, first to last ({list(kinds)})")
        if any(flag is not train for _, _, flag in log):
            raise StudentError(f"forward(x, train={train}) must pass train={train} on to every layer (dropout depends on it)")
        out = as_array("Sequential.forward's output", out, expected.shape)
        if relative_error(out, expected) > FORWARD_TOLERANCE:
            raise StudentError("Sequential.forward does not return the last layer's output")
    watch.call("Sequential.forward", model.forward, x.copy(), train=True)
    log.clear()
    dout = rng.standard_normal(expected.shape)
    given = dout.copy()
    dx = watch.call("Sequential.backward", model.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise StudentError("Sequential.backward changed dout in place: dout belongs to the caller")
    if any(call == "forward" for call, _, _ in log):
        raise StudentError("Sequential.backward called a layer's forward: backward only goes back, through each layer's backward")
    order = [kind for _, kind, _ in log]
    if order != list(reversed(kinds)):
        raise StudentError(f"backward called the layers {order}: each once, in reverse order ({list(reversed(kinds))})")
    upstream = {kind: received for _, kind, received in log}
    dtanh = dout * (1 - np.tanh(x * w) ** 2)
    for kind, wanted in (("tanh", dout), ("scale", dtanh)):
        if relative_error(upstream[kind], wanted) > FORWARD_TOLERANCE:
            after = kinds[kinds.index(kind) + 1]
            raise StudentError(
                f"layer {kind!r} got the wrong dout: pass each layer the gradient returned by the layer after it ({after!r})"
            )
    dx = as_array("Sequential.backward's dx", dx, x.shape)
    numeric = numerical_gradient(lambda _: np.tanh(x * w) + b, x, dout)
    error = relative_error(dx, numeric)
    if error > DEFAULT_THRESHOLD:
        raise StudentError(f"Sequential.backward must return the first layer's dx (relative error {error:.1e})")
    grads = getattr(model, "grads", {})
    if sorted(grads) != ["scale.w", "shift.b"]:
        raise StudentError(f'Sequential.grads has {sorted(grads)}: expected "<layer>.<key>" names ["scale.w", "shift.b"]')
    return max(error, relative_error(grads["shift.b"], dout.sum(axis=0)))
