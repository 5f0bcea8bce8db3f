"""Reference solution: the library's Sequential (the chain rule), minialexnet/layers/sequential.py. Read that file."""

from minialexnet.layers import Sequential

__all__ = ["Sequential"]
