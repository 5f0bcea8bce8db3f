"""The reference AlexNet layers: each forward and backward written once, against ``xp``.

The same code runs on NumPy and CuPy. The fast CPU engine (``minialexnet.fast``) holds a
twin of each, tested equal to it (docs/fast_engine.md).

===================  =====================  =============  ==============================
layer                paper                  reference      fast twin
===================  =====================  =============  ==============================
Conv2d (groups)      Section 3.5, Figure 2  conv.py        fast/conv.py, fast/winograd.py
ReLU                 Section 3.1            relu.py        fast/relu.py
LocalResponseNorm    Section 3.3            lrn.py         fast/lrn.py
MaxPool2d            Section 3.4            pool.py        fast/pool.py
Dropout              Section 4.2            dropout.py     fast/dropout.py
Linear               Section 3.5            linear.py      fast/linear.py
Flatten              Figure 2               flatten.py     (the reference)
SoftmaxCrossEntropy  Section 3.5            loss.py        (the reference)
Sequential                                  sequential.py  fast/sequential.py
===================  =====================  =============  ==============================
"""

from minialexnet.layers.base import Layer
from minialexnet.layers.conv import Conv2d
from minialexnet.layers.dropout import Dropout
from minialexnet.layers.flatten import Flatten
from minialexnet.layers.linear import Linear
from minialexnet.layers.loss import SoftmaxCrossEntropy
from minialexnet.layers.lrn import LocalResponseNorm
from minialexnet.layers.patches import col2im, conv_output_size, im2col
from minialexnet.layers.pool import MaxPool2d
from minialexnet.layers.relu import ReLU
from minialexnet.layers.sequential import Sequential

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
    "col2im",
    "conv_output_size",
    "im2col",
]
