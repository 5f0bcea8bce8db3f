"""Flatten the feature maps of conv5/pool5 into the vector fc6 reads. Paper: Figure 2.

Shapes: x (N, C, H, W) -> out (N, C * H * W), C-order, as PyTorch's ``flatten(1)``;
backward reshapes the gradient back.
"""

from __future__ import annotations

from typing import Any

from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input


class Flatten(Layer):
    """(N, ...) -> (N, product of the rest)."""

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        size = 1
        for dim in input_shape[1:]:
            size *= dim
        return (input_shape[0], size)

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x)
        if x.ndim < 2:
            raise ValueError(f"{self.name}: expected input of shape (N, ...) with at least 2 dimensions, got shape {tuple(x.shape)}")

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        return self._keep_for_backward(x.shape, x.reshape(x.shape[0], -1))

    def backward(self, dout: Any) -> Any:
        return dout.reshape(self._cache_for_backward(dout))
