"""An honest augmentation with xp.flip and xp.stack; the colour PCA with np.cov (the grader hands it host images)."""

import numpy as np

from minialexnet.backend import get_array_module


def crop_and_flip(x, tops, lefts, flips, size):
    xp = get_array_module(x)
    patches = [x[n, :, int(t) : int(t) + size, int(le) : int(le) + size] for n, (t, le) in enumerate(zip(tops, lefts, strict=True))]
    return xp.stack([xp.flip(patch, axis=2) if flip else patch for patch, flip in zip(patches, flips, strict=True)])


def ten_crop_offsets(full, size):
    far, centre = full - size, (full - size) // 2
    return [(top, left, flip) for flip in (False, True) for top, left in ((0, 0), (0, far), (far, 0), (far, far), (centre, centre))]


def rgb_pca(images):
    values, vectors = np.linalg.eigh(np.cov(images.transpose(0, 2, 3, 1).reshape(-1, 3), rowvar=False))
    return values, vectors
