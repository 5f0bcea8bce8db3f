"""Reference solution: the library's ReduceOnPlateau (Section 5), minialexnet/optim.py. Read that file."""

from minialexnet.optim import ReduceOnPlateau

__all__ = ["ReduceOnPlateau"]
