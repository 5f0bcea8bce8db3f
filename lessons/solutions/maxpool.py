"""Reference solution: the library's MaxPool2d (Section 3.4), minialexnet/layers/pool.py. Read that file."""

from minialexnet.layers import MaxPool2d

__all__ = ["MaxPool2d"]
