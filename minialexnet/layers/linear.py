"""Fully connected layer (fc6, fc7, fc8). Paper: Section 3.5. Fast twin: ``minialexnet/fast/linear.py``.

Notation: N batch size, I in_features, O out_features.

Shapes::

    x    (N, I)
    W    (O, I)      PyTorch's layout
    b    (O,)
    out  (N, O)      out = x W^T + b

Backward: dx = dout W (N, I); dW = dout^T x (O, I); db = sum of dout over the batch (O,).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input, check_params_like


class Linear(Layer):
    """out = x W^T + b. Shapes: x (N, I) -> out (N, O). Default init: He normal."""

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        super().__init__()
        for value, what in ((in_features, "in_features"), (out_features, "out_features")):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {what} must be a positive int, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng() if rng is None else rng
        self.params = {
            "W": (rng.standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features)).astype(dtype),
            "b": np.zeros(out_features, dtype=dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], self.out_features)

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x, 2, self.in_features, f"(N, {self.in_features})")
        check_params_like(self, x)

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        return self._keep_for_backward(x, x @ self.params["W"].T + self.params["b"])

    def backward(self, dout: Any) -> Any:
        x = self._cache_for_backward(dout)
        self.grads["W"] = dout.T @ x
        self.grads["b"] = dout.sum(axis=0)
        self.cache = None
        return dout @ self.params["W"]
