"""Exercise (lesson 9): the paper's data augmentation (Section 4.1), written against xp.

crop_and_flip(x, tops, lefts, flips, size): x (N, C, S, S) -> (N, C, size, size), image n's
patch x[n, :, tops[n] : tops[n] + size, lefts[n] : lefts[n] + size], mirrored left to right
where flips[n]. tops, lefts, flips are NumPy arrays of N numbers; x may be on the GPU: index
it with slices or with xp arrays, never with NumPy arrays.

ten_crop_offsets(full, size): the (top, left, flipped) of the ten test patches: the four
corners and the centre (top = left = (full - size) // 2), each once plain and once mirrored.

rgb_pca(images): images (N, 3, H, W) -> (eigenvalues (3,), eigenvectors (3, 3), one per
COLUMN) of the 3x3 covariance of the RGB values, one sample per pixel of every image.

Check it:  ``exercises.check("augment")``
"""

import numpy as np

from minialexnet.backend import get_array_module


def crop_and_flip(x, tops, lefts, flips, size):
    xp = get_array_module(x)
    # ---- your code ----
    raise NotImplementedError("write crop_and_flip")
    # ---- end of your code ----


def ten_crop_offsets(full, size):
    # ---- your code ----
    raise NotImplementedError("write ten_crop_offsets")
    # ---- end of your code ----


def rgb_pca(images):
    # ---- your code ----
    raise NotImplementedError("write rgb_pca")
    # ---- end of your code ----
