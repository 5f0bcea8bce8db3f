"""How the fast engine computes a convolution, chosen from the layer's geometry alone.

The configs (models.py) describe the network; ``network_conv`` builds each of its
convolutions here from the reference constructor's arguments and the input size the layer
will see. Three choices, all invisible in the results (tests/test_engines.py):

- **algorithm**: Winograd's minimal filtering (winograd.py) for a stride-1 convolution
  whose products sum over at least ``WINOGRAD_MIN_CHANNELS`` input channels per group;
  im2col (conv.py) otherwise. Winograd's products sum over C/G only, and its transforms
  cost memory passes that im2col does not have: a first layer on one to three channels
  keeps im2col, and a stride-4 conv1 cannot use it. ``conv="im2col"`` asks for im2col
  everywhere, ``conv="winograd"`` for Winograd in every stride-1 convolution.
- **recompute_columns**: an im2col convolution whose output has more than
  ``LARGE_OUTPUT`` numbers per image rebuilds its column matrix in backward instead of
  keeping it. Those are the layers with the largest columns (at 227x227 conv1's and
  conv2's, 4.4 and 7.0 MB per image in float32).
- **batch_last_output**: the other convolutions store their outputs batch-last
  (layout.py), and the ReLU, LRN and max-pool after them keep that layout. On outputs as
  large as the 227x227 configs' conv1 and conv2 (55x55 and 27x27 maps), LRN and max-pool
  were measured slower batch-last (docs/fast_engine.md).

What that gives for the four configs (tests/test_choices.py pins it)::

    layer   paper, paper-2gpu, fashion (227x227)        mini (28x28)
    conv1   im2col, columns rebuilt, row-major         im2col, batch-last
    conv2   Winograd F(4x4, 5x5), row-major            Winograd F(4x4, 5x5), batch-last
    conv3-5 Winograd F(2x2, 3x3), batch-last           Winograd F(2x2, 3x3), batch-last
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minialexnet.fast.conv import Conv2d
from minialexnet.fast.winograd import WinogradConv2d
from minialexnet.layers.patches import as_pair, conv_output_size

CONV_ALGORITHMS = ("auto", "im2col", "winograd")  # the engine's ``conv`` option
WINOGRAD_MIN_CHANNELS = 16  # input channels per group, at least, for Winograd under "auto"
LARGE_OUTPUT = 1 << 17  # numbers per image (512 KiB in float32) above which an output is large


@dataclass(frozen=True)
class ConvChoice:
    """How one convolution is computed: ``algorithm`` "im2col" or "winograd", and its memory choices."""

    algorithm: str
    recompute_columns: bool
    batch_last_output: bool


def choose_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int],
    padding: int | tuple[int, int],
    groups: int,
    input_size: int | tuple[int, int],
    conv: str = "auto",
) -> ConvChoice:
    """The choices (module docstring) for a convolution with these arguments on inputs of ``input_size`` (H, W)."""
    if conv not in CONV_ALGORITHMS:
        raise ValueError(f"unknown conv_algorithm {conv!r}; choose one of {', '.join(CONV_ALGORITHMS)}")
    (KH, KW), (SH, SW), (PH, PW) = as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride"), as_pair(padding, "padding")
    H, W = as_pair(input_size, "input_size")
    stride_one = SH == SW == 1
    winograd = {"auto": stride_one and in_channels // groups >= WINOGRAD_MIN_CHANNELS, "im2col": False, "winograd": stride_one}[conv]
    large = out_channels * conv_output_size(H, KH, SH, PH) * conv_output_size(W, KW, SW, PW) > LARGE_OUTPUT
    return ConvChoice("winograd" if winograd else "im2col", recompute_columns=large, batch_last_output=not large)


def network_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
    *,
    input_size: int | tuple[int, int],
    conv: str = "auto",
    **kwargs: Any,
) -> Conv2d:
    """The fast convolution for the reference constructor's arguments and inputs of ``input_size`` (``choose_conv``).

    ``conv``: auto, im2col or winograd. ``kwargs`` (need_input_grad, rng, dtype) go to the layer.
    """
    choice = choose_conv(in_channels, out_channels, kernel_size, stride, padding, groups, input_size, conv)
    arguments = (in_channels, out_channels, kernel_size, stride, padding, groups)
    if choice.algorithm == "winograd":
        return WinogradConv2d(*arguments, batch_last_output=choice.batch_last_output, **kwargs)
    return Conv2d(*arguments, keep_columns=not choice.recompute_columns, batch_last_output=choice.batch_last_output, **kwargs)
