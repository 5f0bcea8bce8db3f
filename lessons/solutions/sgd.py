"""Reference solution: the library's SGD with momentum and weight decay (Section 5), minialexnet/optim.py. Read that file."""

from minialexnet.optim import SGD

__all__ = ["SGD"]
