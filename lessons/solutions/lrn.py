"""Reference solution: the library's LocalResponseNorm (Section 3.3), minialexnet/layers/lrn.py. Read that file."""

from minialexnet.layers import LocalResponseNorm

__all__ = ["LocalResponseNorm"]
