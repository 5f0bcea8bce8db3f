"""Reference solution: the library's Linear (Section 3.5), minialexnet/layers/linear.py, in float64 as the exercise's."""

import numpy as np

from minialexnet import layers


class Linear(layers.Linear):
    def __init__(self, in_features, out_features, rng=None):
        super().__init__(in_features, out_features, rng=rng, dtype=np.float64)
