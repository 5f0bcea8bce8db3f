"""The fast CPU engine: a twin of each reference layer (``minialexnet.layers``), tested equal to it.

Threads on every core (parallel.py), batch-last layouts (layout.py), Winograd's minimal
filtering (winograd.py), conv1's stride phases, reused named buffers (base.py). The
design and its measurements: docs/fast_engine.md.

``network_conv`` is the engine's own choice, for each convolution of an AlexNet, of the
algorithm, the column memory and the output layout, made from the layer's geometry
(choices.py); ``share_buffers`` gives a network's layers one set of reused buffers
(``models.alexnet`` calls both, through the engine contract in engines.py). ``SGD`` is the
update on every core (optim.py).
"""

from minialexnet.fast.choices import CONV_ALGORITHMS, network_conv
from minialexnet.fast.conv import Conv2d, col2im, im2col
from minialexnet.fast.dropout import Dropout
from minialexnet.fast.linear import Linear
from minialexnet.fast.lrn import LocalResponseNorm, channel_window_sum
from minialexnet.fast.optim import SGD
from minialexnet.fast.pool import MaxPool2d
from minialexnet.fast.relu import ReLU
from minialexnet.fast.sequential import Sequential, share_buffers
from minialexnet.fast.winograd import WinogradConv2d, winograd_matrices
from minialexnet.layers import Flatten, Layer, SoftmaxCrossEntropy, conv_output_size

prepare_network = share_buffers  # the engine hook models.alexnet calls (engines.py)

__all__ = [
    "CONV_ALGORITHMS",
    "SGD",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Layer",
    "Linear",
    "LocalResponseNorm",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "SoftmaxCrossEntropy",
    "WinogradConv2d",
    "channel_window_sum",
    "col2im",
    "conv_output_size",
    "im2col",
    "network_conv",
    "prepare_network",
    "share_buffers",
    "winograd_matrices",
]
