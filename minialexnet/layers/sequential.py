"""A chain of named layers: forward left to right, backward right to left.

Parameters are addressed as ``"<layer>.<param>"`` (``"conv1.W"``, ``"fc8.b"``), the same
names the checkpoints and the optimizer use. Fast twin: ``minialexnet/fast/sequential.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from minialexnet.layers.base import Layer


class Sequential(Layer):
    """Sequential(("conv1", Conv2d(...)), ("relu1", ReLU()), ...) or Sequential(layer, layer, ...).

    Unnamed layers are called by their position ("0", "1", ...). ``train()``/``eval()``
    set the mode used when ``forward`` is called without ``train``.
    """

    def __init__(self, *layers: Layer | tuple[str, Layer]) -> None:
        # Layer.__init__ is not called: params and grads are views of the children's
        self.name = "Sequential"
        self.cache = None
        self.layers: dict[str, Layer] = {}
        for position, item in enumerate(layers):
            name, layer = item if isinstance(item, tuple) else (str(position), item)
            if not isinstance(layer, Layer):
                raise ValueError(f"Sequential: item {name!r} is a {type(layer).__name__}, not a Layer")
            if name in self.layers:
                raise ValueError(f"Sequential: the name {name!r} is used twice")
            if "." in name:
                raise ValueError(f"Sequential: layer names may not contain '.', got {name!r}")
            layer.name = name
            self.layers[name] = layer
        self.training = True

    def __repr__(self) -> str:
        body = "\n".join(f"  ({name}): {layer!r}" for name, layer in self.layers.items())
        return f"Sequential(\n{body}\n)"

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
        for full_name, value in params.items():
            layer_name, _, key = full_name.partition(".")
            layer = self.layers.get(layer_name)
            if layer is None or key not in layer.params:
                raise ValueError(f"unknown parameter {full_name!r}; this model has {sorted(self.params)}")
            if tuple(value.shape) != tuple(layer.params[key].shape):
                raise ValueError(f"parameter {full_name}: expected shape {tuple(layer.params[key].shape)}, got {tuple(value.shape)}")
            layer.params[key] = value

    def train(self) -> Sequential:
        self.training = True
        return self

    def eval(self) -> Sequential:
        self.training = False
        return self

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
