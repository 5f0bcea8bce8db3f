"""How the fast engine computes each convolution of an AlexNet (the configs describe the network only).

For each config (models.py) three choices, all invisible in the results:

- ``winograd``: convolutions computed by Winograd's minimal filtering (winograd.py), unless
  the caller asks for ``conv="im2col"``; conv1 never (stride 4 in the paper).
- ``recompute_columns``: convolutions that rebuild their column matrix in backward instead
  of keeping it (at 227x227 conv1's and conv2's are the largest, 4.4 and 7.0 MB per image).
- ``batch_last_outputs``: convolutions that store their output batch-last (layout.py); the
  ReLU, LRN and pool after them keep that layout. At 227x227 only conv3 to conv5 gain; mini
  is fastest with all five (docs/fast_engine.md).
"""

from __future__ import annotations

from typing import Any

from minialexnet.fast.conv import Conv2d
from minialexnet.fast.winograd import WinogradConv2d

CONV_ALGORITHMS = ("auto", "im2col", "winograd")
_ALL = ("conv1", "conv2", "conv3", "conv4", "conv5")
_LARGE = {"winograd": _ALL[1:], "recompute_columns": ("conv1", "conv2"), "batch_last_outputs": ("conv3", "conv4", "conv5")}
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "paper": _LARGE,
    "paper-2gpu": _LARGE,
    "fashion": _LARGE,
    "mini": {"winograd": _ALL[1:], "recompute_columns": (), "batch_last_outputs": _ALL},
}


def network_conv(
    name: str,
    config_name: str,
    conv: str,
    in_channels: int,
    out_channels: int,
    kernel: int,
    stride: int,
    padding: int,
    groups: int,
    **kwargs: Any,
) -> Conv2d:
    """The fast convolution ``name`` of AlexNet config ``config_name``; ``conv``: auto, im2col or winograd.

    ``kwargs`` (need_input_grad, dtype) go to the layer. Unknown configs get the 227x227 choices.
    """
    choice = CHOICES.get(config_name, _LARGE)
    kwargs["batch_last_output"] = name in choice["batch_last_outputs"]
    if {"auto": name in choice["winograd"], "im2col": False, "winograd": stride == 1}[conv]:
        return WinogradConv2d(in_channels, out_channels, kernel, stride, padding, groups, **kwargs)
    keep = name not in choice["recompute_columns"]
    return Conv2d(in_channels, out_channels, kernel, stride, padding, groups, keep_columns=keep, **kwargs)
