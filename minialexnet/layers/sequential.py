"""A chain of named layers: forward left to right, backward right to left.

Parameters are addressed as ``"<layer>.<param>"`` (``"conv1.W"``, ``"fc8.b"``), the same
names the checkpoints and the optimizer use. Unnamed layers are called by their position
("0", "1", ...). ``train()``/``eval()`` set the mode ``forward`` uses when not given
``train``. Fast twin: ``minialexnet/fast/sequential.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_layer_name, check_replacement


class Sequential(Layer):
    """Sequential(("conv1", Conv2d(...)), ("relu1", ReLU()), ...) or Sequential(layer, layer, ...)."""

    def __init__(self, *layers: Layer | tuple[str, Layer]) -> None:
        # Layer.__init__ is not called: params and grads are views of the children's
        self.name = "Sequential"
        self.cache = None
        self.layers: dict[str, Layer] = {}
        for position, item in enumerate(layers):
            name, layer = item if isinstance(item, tuple) else (str(position), item)
            check_layer_name(self.layers, name, layer)
            layer.name = name
            self.layers[name] = layer
        self.training = True

    def __repr__(self) -> str:
        return "Sequential(\n" + "".join(f"  ({name}): {layer!r}\n" for name, layer in self.layers.items()) + ")"

    def __getitem__(self, name: str) -> Layer:
        return self.layers[name]

    def __iter__(self) -> Iterator[tuple[str, Layer]]:
        return iter(self.layers.items())

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def params(self) -> dict[str, Any]:  # type: ignore[override]
        return {f"{name}.{key}": value for name, layer in self.layers.items() for key, value in layer.params.items()}

    @property
    def grads(self) -> dict[str, Any]:  # type: ignore[override]
        return {f"{name}.{key}": value for name, layer in self.layers.items() for key, value in layer.grads.items()}

    def set_params(self, params: dict[str, Any]) -> None:
        """Replace parameters by name (``"conv1.W"``). Shapes must match."""
        current = self.params
        for full_name, value in params.items():
            check_replacement(current, full_name, value)
            layer_name, _, key = full_name.partition(".")
            self.layers[layer_name].params[key] = value

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        return self

    def eval(self) -> Sequential:
        return self.train(False)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self.layers.values():
            input_shape = layer.output_shape(input_shape)
        return tuple(input_shape)

    def forward(self, x: Any, train: bool | None = None) -> Any:
        train = self.training if train is None else train
        for layer in self.layers.values():
            x = layer.forward(x, train=train)
        return x

    def backward(self, dout: Any) -> Any:
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
            if dout is None:
                break
        return dout

    def to(self, device: str) -> Sequential:
        for layer in self.layers.values():
            layer.to(device)
        return self

    def astype(self, dtype: Any) -> Sequential:
        for layer in self.layers.values():
            layer.astype(dtype)
        return self

    def zero_grads(self) -> None:
        for layer in self.layers.values():
            layer.zero_grads()

    def kink_state(self) -> Any:
        return [layer.kink_state() for layer in self.layers.values()]

    def get_rng_state(self) -> dict:
        return {name: layer.get_rng_state() for name, layer in self.layers.items() if hasattr(layer, "get_rng_state")}

    def set_rng_state(self, state: dict) -> None:
        for name, layer_state in state.items():
            self.layers[name].set_rng_state(layer_state)
