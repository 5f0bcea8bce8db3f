"""The AlexNet layers, each with an explicit forward and backward pass.

| layer               | paper                 | module    |
|---------------------|-----------------------|-----------|
| Conv2d (groups)     | Section 3.5, Figure 2 | conv.py   |
| WinogradConv2d      | (Lavin & Gray 2016)   | winograd.py|
| ReLU                | Section 3.1           | relu.py   |
| LocalResponseNorm   | Section 3.3           | lrn.py    |
| MaxPool2d           | Section 3.4           | pool.py   |
| Dropout             | Section 4.2           | dropout.py|
| Linear              | Section 3.5           | linear.py |
| Flatten             | Figure 2              | flatten.py|
| SoftmaxCrossEntropy | Section 3.5           | loss.py   |
"""

from minialexnet.layers.base import Layer
from minialexnet.layers.conv import Conv2d, col2im, conv_output_size, im2col
from minialexnet.layers.dropout import Dropout
from minialexnet.layers.flatten import Flatten
from minialexnet.layers.linear import Linear
from minialexnet.layers.loss import SoftmaxCrossEntropy
from minialexnet.layers.lrn import LocalResponseNorm, channel_window_sum
from minialexnet.layers.pool import MaxPool2d
from minialexnet.layers.relu import ReLU
from minialexnet.layers.sequential import Sequential
from minialexnet.layers.winograd import WinogradConv2d, winograd_matrices

__all__ = [
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
    "winograd_matrices",
]
