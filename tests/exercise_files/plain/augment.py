"""An honest augmentation: a loop over the images, slices, np.linalg.eigh."""

import numpy as np

from minialexnet.backend import get_array_module


def crop_and_flip(x, tops, lefts, flips, size):
    patches = []
    for n in range(x.shape[0]):
        patch = x[n, :, int(tops[n]) : int(tops[n]) + size, int(lefts[n]) : int(lefts[n]) + size]
        patches.append(patch[:, :, ::-1] if flips[n] else patch)
    return get_array_module(x).stack(patches)


def ten_crop_offsets(full, size):
    far, centre = full - size, (full - size) // 2
    corners = [(0, 0), (0, far), (far, 0), (far, far), (centre, centre)]
    return [(top, left, flip) for flip in (False, True) for top, left in corners]


def rgb_pca(images):
    pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3)
    centred = pixels - pixels.mean(axis=0)
    return np.linalg.eigh(centred.T @ centred / len(pixels))
