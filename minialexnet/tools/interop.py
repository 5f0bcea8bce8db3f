"""PyTorch interop: the same network as a ``torch.nn.Module``, and state_dicts both ways.

PyTorch is never a dependency of minialexnet: ``torch`` is imported inside the functions
below, which say what to install when it is missing.

Names and layouts. The PyTorch twin is the natural ``nn.Sequential`` of minialexnet's own
layer order, each module named as the minialexnet layer it copies (``conv1``, ``relu1``,
``norm1``, ``pool1``, ..., ``drop7``, ``fc8``), so its state_dict keys are::

    minialexnet   conv1.W       conv1.b     ...   fc8.W        fc8.b
    PyTorch       conv1.weight  conv1.bias  ...   fc8.weight   fc8.bias

The layouts are the same in both: convolution weights (F, C/G, KH, KW), linear weights
(out_features, in_features), biases (F,). (torchvision's ``alexnet`` is another network:
64-192-384-256-256 channels, no LRN, dropout before fc6 and fc7, keys ``features.0.weight``;
its weights do not fit these models.)

What the translation has to know:

=======================================  ==============================================
minialexnet                              PyTorch
=======================================  ==============================================
Conv2d, WinogradConv2d (groups=G)        nn.Conv2d(groups=G): same parameters; Winograd
                                         is only another algorithm for the same sum
LocalResponseNorm(n, alpha, beta, k)     nn.LocalResponseNorm(n, alpha=n * alpha, ...):
                                         PyTorch divides alpha by n, the paper does not
LocalResponseNorm(..., groups=2)         GroupedLRN: that LRN on each half of the maps
MaxPool2d, ReLU, Flatten, Linear         nn.MaxPool2d, nn.ReLU, nn.Flatten, nn.Linear
Dropout(p), p = probability of dropping  nn.Dropout(p), the same meaning
=======================================  ==============================================

A batch-last layer output (``layers/layout.py``) holds the same values in another memory
order; only parameters cross over here, and they are plain C-ordered arrays.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from minialexnet.backend import asnumpy, device_of, to_device
from minialexnet.layers import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU
from minialexnet.models import AlexNet, alexnet

TORCH_PARAM_NAMES = {"W": "weight", "b": "bias"}


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("minialexnet.interop needs PyTorch, which minialexnet does not install: pip install torch==2.13.0") from None
    return torch


def torch_name(name: str) -> str:
    """PyTorch's state_dict key for a minialexnet parameter name: ``conv1.W`` -> ``conv1.weight``."""
    layer, _, key = name.partition(".")
    return f"{layer}.{TORCH_PARAM_NAMES[key]}"


@functools.cache
def _grouped_lrn_class() -> type:
    """A PyTorch module class: its LRN on each of ``groups`` equal blocks of channels (made once, when torch is there)."""
    torch = _torch()
    from torch import nn

    class GroupedLRN(nn.Module):
        """paper-2gpu's norm1 and norm2: each GPU normalises its own half of the maps (Section 3.2)."""

        def __init__(self, lrn: Any, groups: int) -> None:
            super().__init__()
            self.lrn, self.groups = lrn, groups

        def forward(self, x: Any) -> Any:
            return torch.cat([self.lrn(part) for part in x.chunk(self.groups, dim=1)], dim=1)

    return GroupedLRN


def _torch_module(layer: Any) -> Any:
    """An empty PyTorch module computing what ``layer`` computes (parameters not yet copied)."""
    from torch import nn

    if isinstance(layer, Conv2d):  # WinogradConv2d too
        return nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding, groups=layer.groups)
    if isinstance(layer, Linear):
        return nn.Linear(layer.in_features, layer.out_features)
    if isinstance(layer, LocalResponseNorm):
        lrn = nn.LocalResponseNorm(layer.size, alpha=layer.size * layer.alpha, beta=layer.beta, k=layer.k)
        return _grouped_lrn_class()(lrn, layer.groups) if layer.groups > 1 else lrn
    if isinstance(layer, MaxPool2d):
        return nn.MaxPool2d(layer.kernel_size, layer.stride)
    if isinstance(layer, ReLU):
        return nn.ReLU()
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p)
    if isinstance(layer, Flatten):
        return nn.Flatten()
    raise ValueError(f"{layer.name}: no PyTorch equivalent for {type(layer).__name__}; to_torch knows AlexNet's layers only")


def to_torch(model: AlexNet, device: str = "cpu") -> Any:
    """The same network as a ``torch.nn.Sequential`` with a copy of ``model``'s parameters.

    Modules are named as ``model``'s layers (module docstring); the dtype is the model's
    (float32 or float64); ``device`` is PyTorch's ("cpu", "cuda"). The module is in
    training mode, as a new PyTorch module is: call ``.eval()`` for inference.
    """
    torch = _torch()
    from torch import nn

    # built on the "meta" device (shapes, no memory): PyTorch's own random initialisation of
    # every weight would only be overwritten, and takes seconds for the paper's 62M
    with torch.device("meta"):
        twin = nn.Sequential(OrderedDict((name, _torch_module(layer)) for name, layer in model))
    twin = twin.to_empty(device=device).to(_torch_dtype(model))
    twin.load_state_dict(state_dict(model))
    return twin


def _torch_dtype(model: AlexNet) -> Any:
    torch = _torch()
    return torch.float64 if next(iter(model.params.values())).dtype == np.float64 else torch.float32


def state_dict(model: AlexNet) -> dict[str, Any]:
    """``model``'s parameters under PyTorch's names, as CPU tensors (copies), in layer order.

    ``to_torch(model).load_state_dict(state_dict(model))`` fits, and so does any
    ``nn.Sequential`` built with the same layer names.
    """
    torch = _torch()
    return {torch_name(name): torch.from_numpy(np.array(asnumpy(value), order="C")) for name, value in model.params.items()}


def _as_numpy(value: Any) -> np.ndarray:
    """A state_dict entry (a torch tensor, or anything NumPy reads) as a NumPy array."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def load_state_dict(model: AlexNet, state: Mapping[str, Any]) -> None:
    """Copy a PyTorch-named state_dict (tensors or arrays) into ``model``, on its device and in its dtype.

    Every key must be there and none may be extra; each shape must be the parameter's.
    The first problem found is raised as a ValueError that names the parameters and shapes.
    """
    names = {torch_name(name): name for name in model.params}
    missing = [key for key in names if key not in state]
    unexpected = [key for key in state if key not in names]
    if missing or unexpected:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(unexpected)}"] if unexpected else [])
        raise ValueError(
            f"state_dict does not fit config '{model.config.name}': {'; '.join(problems)} "
            "(keys are named after minialexnet's layers, e.g. conv1.weight; see minialexnet.tools.interop)"
        )
    current = model.params
    arrays = {}
    for key, name in names.items():
        array = _as_numpy(state[key])
        if tuple(array.shape) != tuple(current[name].shape):
            raise ValueError(
                f"state_dict entry {key} has shape {tuple(array.shape)} but the model's {name} has shape {tuple(current[name].shape)}; "
                f"the weights were made for another config than '{model.config.name}': build a model of theirs "
                "(from_state_dict(state, config=...))"
            )
        arrays[name] = to_device(array.astype(current[name].dtype, copy=True), device_of(current[name]))
    model.set_params(arrays)


def from_state_dict(state: Mapping[str, Any] | Any, config: str, **alexnet_options: Any) -> AlexNet:
    """A new minialexnet model of ``config`` holding the weights of a PyTorch module or state_dict.

    ``state``: an ``nn.Module`` (its ``state_dict()`` is read) or a state_dict. The input
    channels, the number of classes and the dtype are taken from the weights (conv1's and
    fc8's shapes); ``alexnet_options`` go to ``alexnet()`` (e.g. ``conv``).
    """
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    for key in ("conv1.weight", "fc8.weight"):
        if key not in state:
            raise ValueError(f"state_dict has no {key}: not an AlexNet named after minialexnet's layers (see minialexnet.tools.interop)")
    conv1, fc8 = _as_numpy(state["conv1.weight"]), _as_numpy(state["fc8.weight"])
    options = {"num_classes": fc8.shape[0], "in_channels": conv1.shape[1], "dtype": conv1.dtype, **alexnet_options}
    model = alexnet(config, **options)
    load_state_dict(model, state)
    return model
