"""Reference solution: the library's Conv2d (Section 3.5), minialexnet/layers/conv.py, in float64 as the exercise's."""

import numpy as np

from minialexnet import layers


class Conv2d(layers.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, groups=groups, rng=rng, dtype=np.float64)
