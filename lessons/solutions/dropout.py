"""Reference solution: the library's Dropout (Section 4.2), minialexnet/layers/dropout.py. Read that file.

Its mask comes from a counter hash of (seed, call, image index), integer arithmetic that runs
the same on NumPy and CuPy; a mask drawn with ``self.rng`` (NumPy's generator) passes too.
"""

from minialexnet.layers import Dropout

__all__ = ["Dropout"]
