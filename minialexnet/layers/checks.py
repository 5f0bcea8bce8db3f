"""The one-line errors for a layer built or called wrongly, raised before any arithmetic.

Each names the layer and says what to do. They look at attributes only (shape, dtype,
device, type), never at the values, so they cost nothing next to the pass they guard.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


def check_input(layer: Any, x: Any, rank: int | None = None, channels: int | None = None, layout: str = "") -> None:
    """ValueError naming ``layer`` unless ``x`` is a non-empty floating-point array of ``rank``
    dimensions (any rank when None) with ``channels`` channels (any when None)."""
    if not hasattr(x, "ndim") or not hasattr(x, "dtype"):
        got = type(x).__name__
        raise ValueError(f"{layer.name}: expected a NumPy or CuPy array, got {got}; convert it, e.g. numpy.asarray(x, numpy.float32)")
    if x.dtype.kind != "f":
        raise ValueError(f"{layer.name}: input has dtype {x.dtype}, layers compute in floats; cast the input: x.astype(numpy.float32)")
    expected = layout or f"{rank} dimensions"
    if rank is not None and x.ndim != rank:
        raise ValueError(f"{layer.name}: expected input of shape {expected}, got shape {tuple(x.shape)}")
    if x.ndim and x.shape[0] == 0:
        raise ValueError(f"{layer.name}: got an empty batch (shape {tuple(x.shape)}); pass at least one example")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer.name}: expected {channels} input channels, shape {expected}, got shape {tuple(x.shape)}")


def check_params_like(layer: Any, x: Any) -> None:
    """ValueError when the input's dtype or device differs from ``layer``'s parameters'."""
    for key, value in layer.params.items():
        if value.dtype != x.dtype:
            raise ValueError(
                f"{layer.name}: input dtype {x.dtype} differs from parameter {key} dtype {value.dtype}; "
                f"cast the input (x.astype(numpy.{value.dtype})), or the layer with .astype(numpy.{x.dtype})"
            )
        if get_array_module(value) is not get_array_module(x):
            raise ValueError(
                f"{layer.name}: input and parameter {key} are on different devices; call .to(device) on the layer or move the input"
            )


def check_conv_arguments(
    in_channels: Any, out_channels: Any, groups: Any, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> None:
    """ValueError for a Conv2d that cannot be built: channel counts, groups, window sizes."""
    for value, what in ((in_channels, "in_channels"), (out_channels, "out_channels"), (groups, "groups")):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Conv2d: {what} must be a positive int, got {value!r}")
    if min(kernel_size) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(
            "Conv2d: kernel_size and stride must be >= 1 and padding >= 0, "
            f"got kernel_size={kernel_size}, stride={stride}, padding={padding}"
        )
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible by groups ({groups})"
        )


def check_layer_name(taken: dict[str, Any], name: str, layer: Any) -> None:
    """ValueError for an item Sequential cannot hold: not a Layer, or a name used twice or holding a dot."""
    if not isinstance(layer, Layer):
        raise ValueError(f"Sequential: item {name!r} is a {type(layer).__name__}, not a Layer")
    if name in taken:
        raise ValueError(f"Sequential: the name {name!r} is used twice")
    if "." in name:
        raise ValueError(f"Sequential: layer names may not contain '.', got {name!r}")


def check_replacement(params: dict[str, Any], full_name: str, value: Any) -> None:
    """ValueError unless ``full_name`` ("conv1.W") is one of ``params`` and ``value`` has its shape."""
    if full_name not in params:
        raise ValueError(f"unknown parameter {full_name!r}; this model has {sorted(params)}")
    if tuple(value.shape) != tuple(params[full_name].shape):
        raise ValueError(f"parameter {full_name}: expected shape {tuple(params[full_name].shape)}, got {tuple(value.shape)}")
