"""Reference solution: the library's ReLU (Section 3.1), minialexnet/layers/relu.py. Read that file."""

from minialexnet.layers import ReLU

__all__ = ["ReLU"]
