"""AlexNet, as in Figure 2 and Section 3.5 of the paper, in four sizes.

The layer sequence is always the paper's::

    conv1 relu1 norm1 pool1   conv2 relu2 norm2 pool2   conv3 relu3   conv4 relu4
    conv5 relu5 pool5   flatten   fc6 relu6 drop6   fc7 relu7 drop7   fc8

Configs (``alexnet(name)``):

==========  =========  =======  ===========================  =========  ==========
name        input      classes  conv channels                fc         params
==========  =========  =======  ===========================  =========  ==========
paper       3x227x227  1000     96 256 384 384 256           4096 4096  62,378,344
paper-2gpu  3x227x227  1000     same, groups=2 in conv2/4/5  4096 4096  60,965,224
                                and in norm1/norm2
fashion     1x227x227  10       96 256 384 384 256           4096 4096  58,299,082
mini        1x28x28    10       24 48 64 64 64               512 512    530,410
==========  =========  =======  ===========================  =========  ==========

``paper-2gpu`` is the paper's two-GPU network (Section 3.2, Figure 2) on one device:
conv2, conv4 and conv5 see only the kernel maps of their own GPU (``groups=2``), and so
do the response normalisations (norm1 and norm2 with ``groups=2``: each GPU normalised
its own 48 or 128 maps, so no window crosses the two halves). ``towers.py`` runs each
half on its own rank and gives the same numbers.

``mini`` keeps every idea (five convs, LRN after the first two, overlapping 3x3/2 pools,
dropout on fc6 and fc7, three fc layers) at a size a 2-core CPU trains on Fashion-MNIST
in minutes (one training step of 128 images takes about 0.17 s on two cores). Its shapes:
1x28x28 -conv1 5x5 pad 2-> 24x28x28 -pool-> 24x13x13 -conv2 5x5 pad 2-> 48x13x13 -pool->
48x6x6 -conv3/4/5 3x3 pad 1-> 64x6x6 -pool-> 64x2x2 -> 256 -> 512 -> 512 -> 10.

``mini`` trains with He initialisation on standardised inputs by default: the paper's
fixed N(0, 0.01) multiplies a signal by about 0.01 * sqrt(fan_in / 2) per layer, 0.3 to 0.7
for the paper's wide layers but only 0.1 to 0.2 for mini's narrow ones, so with that
initialisation mini's logits start out almost constant and it learns too slowly for a
CPU course. (``--init paper --scale paper`` reproduces the paper's choice on it.) Its
default learning rate is 0.02 rather than the paper's 0.01: with He initialisation the
small network converges faster at it (measured: 0.825 against 0.801 test accuracy after
the default 8 epochs on the built-in sample).

Engines (``engines.py``): ``alexnet(..., engine=...)`` builds the same network from the
reference layers (``minialexnet.layers``, the default on a GPU), from their fast twins
(``minialexnet.fast``, the default on the CPU) or from the GPU engine's (``minialexnet.cuda``,
by name only). An engine may choose how each convolution is computed (the fast engine:
Winograd or im2col, columns rebuilt in backward, batch-last outputs, by the layer's
geometry; ``conv="im2col"`` or ``"winograd"`` overrides its algorithm), and ``summary()``
shows the algorithm of each; the parameters, and the results up to float rounding, are the
same on every engine.

Initialisation schemes (``initialize``), always drawn on the host from a seeded NumPy
generator, so the same seed gives the same parameters on the CPU and on a GPU:

- ``paper`` (Section 5): weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and the
  fully connected hidden layers fc6 and fc7, 0 elsewhere. (The paper says "hidden": fc8's
  bias starts at 0. A constant bias on every logit would not change the softmax anyway.)
- ``he``: weights N(0, 2 / fan_in), biases 0.
- ``xavier``: weights N(0, 2 / (fan_in + fan_out)), biases 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from minialexnet.engines import CONV_ALGORITHMS, engine_module
from minialexnet.layers import Conv2d, Layer, Linear, Sequential

__all__ = ["CONFIGS", "CONV_ALGORITHMS", "INIT_SCHEMES", "AlexNet", "AlexNetConfig", "ConvSpec", "alexnet", "get_config", "initialize"]

INIT_SCHEMES = ("paper", "he", "xavier")
PAPER_BIAS_ONE = ("conv2", "conv4", "conv5", "fc6", "fc7")


@dataclass(frozen=True)
class ConvSpec:
    out_channels: int
    kernel: int
    stride: int
    padding: int
    groups: int = 1


@dataclass(frozen=True)
class AlexNetConfig:
    """Everything that fixes an AlexNet's shape."""

    name: str
    in_channels: int
    input_size: int
    num_classes: int
    convs: tuple[ConvSpec, ConvSpec, ConvSpec, ConvSpec, ConvSpec]
    fc: tuple[int, int]
    default_init: str = "paper"
    default_scale: str = "paper"
    default_lr: float = 0.01
    # blocks of channels that norm1 and norm2 normalise separately (2 in paper-2gpu: one per GPU)
    lrn_groups: int = 1


def _paper_convs(groups: int) -> tuple[ConvSpec, ...]:
    return (
        ConvSpec(96, 11, 4, 0),
        ConvSpec(256, 5, 1, 2, groups),
        ConvSpec(384, 3, 1, 1),
        ConvSpec(384, 3, 1, 1, groups),
        ConvSpec(256, 3, 1, 1, groups),
    )


CONFIGS: dict[str, AlexNetConfig] = {
    "paper": AlexNetConfig("paper", 3, 227, 1000, _paper_convs(1), (4096, 4096)),
    "paper-2gpu": AlexNetConfig("paper-2gpu", 3, 227, 1000, _paper_convs(2), (4096, 4096), lrn_groups=2),
    "fashion": AlexNetConfig("fashion", 1, 227, 10, _paper_convs(1), (4096, 4096)),
    "mini": AlexNetConfig(
        "mini",
        1,
        28,
        10,
        (ConvSpec(24, 5, 1, 2), ConvSpec(48, 5, 1, 2), ConvSpec(64, 3, 1, 1), ConvSpec(64, 3, 1, 1), ConvSpec(64, 3, 1, 1)),
        (512, 512),
        default_init="he",
        default_scale="standard",
        default_lr=0.02,
    ),
}


class AlexNet(Sequential):
    """A Sequential that knows its config: ``input_shape``, ``summary()``."""

    def __init__(self, config: AlexNetConfig, *layers: tuple[str, Any]) -> None:
        super().__init__(*layers)
        self.config = config

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.config.in_channels, self.config.input_size, self.config.input_size)

    def forward(self, x: Any, train: bool | None = None) -> Any:
        """The network's output for x (N, C, S, S); an input of another size is refused naming the size expected."""
        shape = tuple(getattr(x, "shape", ())[1:])
        if hasattr(x, "shape") and shape != self.input_shape:
            C, S, _ = self.input_shape
            raise ValueError(
                f"AlexNet '{self.config.name}' expects inputs of shape (N, {C}, {S}, {S}), got {tuple(x.shape)}; "
                f"resize the images to {S}x{S} (minialexnet.data.Preprocess does) or pick a config of that size"
            )
        return super().forward(x, train)

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per layer: name, output shape (per image), parameters, multiply-adds (per image), and for a
        convolution the algorithm that computes it (its engine's choice)."""
        rows, shape = [], (1, *self.input_shape)
        for name, layer in self.layers.items():
            out_shape = layer.output_shape(shape)
            params = sum(int(np.prod(value.shape)) for value in layer.params.values())
            algorithm = ""
            if isinstance(layer, Conv2d):
                _, F, OH, OW = out_shape
                KH, KW = layer.kernel_size
                macs = F * OH * OW * (layer.in_channels // layer.groups) * KH * KW
                algorithm = layer.algorithm
            elif isinstance(layer, Linear):
                macs = layer.in_features * layer.out_features
            else:
                macs = 0
            rows.append(
                {"name": name, "layer": layer, "output_shape": out_shape[1:], "params": params, "macs": macs, "algorithm": algorithm}
            )
            shape = out_shape
        return rows

    @property
    def num_params(self) -> int:
        return sum(row["params"] for row in self.layer_table())

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass of one image."""
        return sum(row["macs"] for row in self.layer_table())

    def summary(self) -> str:
        """A table of layers, output shapes, parameters, multiply-adds and the convolutions' algorithms, with totals."""
        rows = self.layer_table()
        lines = [f"AlexNet config '{self.config.name}': input {'x'.join(map(str, self.input_shape))}, {self.config.num_classes} classes"]
        lines.append(f"{'layer':<8} {'type':<42} {'output':>14} {'params':>12} {'mult-adds':>15}  algorithm")
        for row in rows:
            shape = "x".join(map(str, row["output_shape"]))
            line = f"{row['name']:<8} {row['layer']!r:<42.42} {shape:>14} {row['params']:>12,} {row['macs']:>15,}  {row['algorithm']}"
            lines.append(line.rstrip())
        lines.append(f"{'total':<8} {'':<42} {'':>14} {self.num_params:>12,} {self.macs:>15,}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def get_config(name: str) -> AlexNetConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[name]


def alexnet(
    config: str | AlexNetConfig = "paper",
    num_classes: int | None = None,
    in_channels: int | None = None,
    *,
    init: str | None = None,
    seed: int = 0,
    dropout: float = 0.5,
    dtype: Any = np.float32,
    engine: str = "auto",
    conv: str = "auto",
    device: str = "cpu",
) -> AlexNet:
    """Build AlexNet from a named config, optionally with another class or channel count.

    ``init`` is one of ``paper``, ``he``, ``xavier`` (default: the config's, ``paper``).
    The same ``seed`` gives the same parameters and dropout masks on every device.
    ``engine``: ``auto`` (``fast`` on the CPU, ``reference`` on a GPU; ``device`` says which
    the model is meant for), ``reference``, ``fast`` or ``cuda`` (a GPU only; engines.py). ``conv``, the
    fast engine's option (fast/choices.py, which checks it): ``auto`` (its choice by each
    layer's geometry), ``im2col`` (every convolution by im2col) or ``winograd`` (every
    stride-1 convolution by Winograd); the other engines have no such choice. The
    parameters, and the results up to float rounding, are the same on every engine.
    """
    layers = engine_module(engine, device)
    make_conv = getattr(layers, "network_conv", None)
    spec = get_config(config) if isinstance(config, str) else config
    for value, what in ((num_classes, "num_classes"), (in_channels, "in_channels")):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"alexnet: {what} must be a whole number >= 1 (or None for the config's), got {value!r}")
    if num_classes is not None or in_channels is not None:
        spec = dataclasses.replace(
            spec,
            in_channels=spec.in_channels if in_channels is None else int(in_channels),
            num_classes=spec.num_classes if num_classes is None else int(num_classes),
        )
    c1, c2, c3, c4, c5 = spec.convs

    def convolution(c: ConvSpec, shape: tuple[int, ...], **kwargs: Any) -> Layer:
        """The convolution ``c`` on inputs of ``shape``, built by the engine's own ``network_conv`` when it has one."""
        arguments = (shape[1], c.out_channels, c.kernel, c.stride, c.padding, c.groups)
        if make_conv is None:
            return layers.Conv2d(*arguments, dtype=dtype, **kwargs)
        return make_conv(*arguments, input_size=shape[2:], conv=conv, dtype=dtype, **kwargs)

    def lrn() -> Layer:
        return layers.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0, groups=spec.lrn_groups)

    plan = [
        ("conv1", c1),
        ("relu1", layers.ReLU()),
        ("norm1", lrn()),
        ("pool1", layers.MaxPool2d(3, 2)),
        ("conv2", c2),
        ("relu2", layers.ReLU()),
        ("norm2", lrn()),
        ("pool2", layers.MaxPool2d(3, 2)),
        ("conv3", c3),
        ("relu3", layers.ReLU()),
        ("conv4", c4),
        ("relu4", layers.ReLU()),
        ("conv5", c5),
        ("relu5", layers.ReLU()),
        ("pool5", layers.MaxPool2d(3, 2)),
        ("flatten", layers.Flatten()),
    ]
    features: list[tuple[str, Layer]] = []
    shape: tuple[int, ...] = (1, spec.in_channels, spec.input_size, spec.input_size)  # what the next layer sees
    for name, item in plan:
        # conv1's input is the data: it needs no input gradient
        layer = convolution(item, shape, need_input_grad=name != "conv1") if isinstance(item, ConvSpec) else item
        features.append((name, layer))
        shape = layer.output_shape(shape)
    flat = shape[1]
    model = AlexNet(
        spec,
        *features,
        ("fc6", layers.Linear(flat, spec.fc[0], dtype=dtype)),
        ("relu6", layers.ReLU()),
        ("drop6", layers.Dropout(dropout, seed=seed + 6)),
        ("fc7", layers.Linear(spec.fc[0], spec.fc[1], dtype=dtype)),
        ("relu7", layers.ReLU()),
        ("drop7", layers.Dropout(dropout, seed=seed + 7)),
        ("fc8", layers.Linear(spec.fc[1], spec.num_classes, dtype=dtype)),
    )
    if hasattr(layers, "prepare_network"):
        layers.prepare_network(model)
    initialize(model, init or spec.default_init, seed)
    return model


def initialize(model: Sequential, scheme: str = "paper", seed: int = 0) -> None:
    """Re-draw every parameter of ``model`` with ``scheme`` from ``numpy.random.default_rng(seed)``.

    Parameters are drawn on the host in float64 and cast to each parameter's dtype, then
    moved to the parameter's device.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    from minialexnet.backend import device_of, to_device

    rng = np.random.default_rng(seed)
    for name, layer in model:
        if "W" not in layer.params:
            continue
        weight = layer.params["W"]
        shape = tuple(weight.shape)
        receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        std = {"paper": 0.01, "he": np.sqrt(2.0 / fan_in), "xavier": np.sqrt(2.0 / (fan_in + fan_out))}[scheme]
        bias = 1.0 if scheme == "paper" and name in PAPER_BIAS_ONE else 0.0
        device = device_of(weight)
        layer.params["W"] = to_device((rng.standard_normal(shape) * std).astype(weight.dtype), device)
        layer.params["b"] = to_device(np.full(layer.params["b"].shape, bias, dtype=weight.dtype), device)
