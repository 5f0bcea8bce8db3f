"""The GPU engine: the reference layers with numba-cuda kernels between cuBLAS products.

``--engine cuda`` builds AlexNet from these classes (same names and constructors as
minialexnet/layers, which they subclass); ``--engine auto`` does not pick it (it runs the
reference engine on a GPU until a GPU run has shown this one equal and faster: docs/gpu.md),
and ``available()`` says whether it can run here. The kernels (kernels.py), each beside the
reference it replaces:

=====================  ======================================  ================================================
kernel                 replaces (reference)                    fuses
=====================  ======================================  ================================================
im2col                 conv.im2col                             the KH KW strided copies, padding, one pass
col2im                 conv.col2im                             the KH KW slice-adds, as a gather (no atomics)
bias_activation        Conv2d/Linear epilogue + ReLU.forward   layout (F, N P) -> (N, F, P), bias, ReLU
output_grad            ReLU.backward + Conv2d/Linear layout    ReLU mask, layout (N, F, P) -> (F, N P)
relu_forward/backward  ReLU (not after a product)              -
lrn_forward            LocalResponseNorm.forward               squares, window sum, denominator, power, divide
lrn_backward           LocalResponseNorm.backward              both terms of the gradient, one pass
maxpool_forward        MaxPool2d.forward                       KH KW window maxima, winner index
maxpool_backward       MaxPool2d.backward                      routing through the winners, as a gather
dropout_forward        Dropout.forward                         the counter hash (same mask as the CPU), product
softmax_cross_entropy  SoftmaxCrossEntropy forward + backward  max, logsumexp, loss, gradient of each row
sgd_update             optim.SGD.step                          weight decay, momentum, update
=====================  ======================================  ================================================

The products (convolutions by groups, fc layers, their gradients) stay in cuBLAS through
``xp.matmul``. Proven without a GPU: tests/test_cuda_sim.py runs every kernel in numba's
simulator against the reference layers, tests/test_cuda_ptx.py compiles each for sm_90.
"""

from __future__ import annotations

from minialexnet.cuda.layers import (
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    fuse,
)
from minialexnet.cuda.optim import SGD

prepare_network = fuse  # the engine hook models.alexnet calls (engines.py)


def available() -> bool:
    """True when numba-cuda imports and sees a real CUDA GPU (not its simulator), and CuPy has one too."""
    from minialexnet.backend import gpu_available

    try:
        from numba import config, cuda
    except ImportError:
        return False
    return not config.ENABLE_CUDASIM and gpu_available() and cuda.is_available()


__all__ = [
    "SGD",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Linear",
    "LocalResponseNorm",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "SoftmaxCrossEntropy",
    "available",
    "fuse",
    "prepare_network",
]
