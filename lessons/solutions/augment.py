"""Reference solution: the library's crop_and_flip and ten_crop_offsets (minialexnet/data/transforms.py), and the colour PCA
that Preprocess.fit computes there, as a function.
"""

import numpy as np

from minialexnet.data.transforms import crop_and_flip, ten_crop_offsets

__all__ = ["crop_and_flip", "rgb_pca", "ten_crop_offsets"]


def rgb_pca(images):
    pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3)
    return np.linalg.eigh(np.cov(pixels, rowvar=False))
