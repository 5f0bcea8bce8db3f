"""minialexnet.layers.patches: the reference im2col/col2im against explicit patch loops, on non-square shapes."""

import itertools

import numpy as np
import pytest

from minialexnet.backend import asnumpy, to_device
from minialexnet.layers.patches import as_pair, col2im, im2col

CASES = [
    # (N, C, H, W), (KH, KW), (SH, SW), (PH, PW)
    ((2, 3, 7, 6), (3, 3), (2, 2), (1, 1)),
    ((1, 2, 5, 9), (2, 4), (1, 3), (0, 2)),
    ((3, 1, 11, 13), (11, 11), (4, 4), (0, 0)),
    ((2, 4, 6, 5), (1, 1), (1, 1), (0, 0)),
]


def patch_entries(shape, kernel, stride, padding):
    """Every (col row, col column, n, c, padded row, padded column): where each col entry is read from."""
    (N, C, H, W), (KH, KW), (SH, SW), (PH, PW) = shape, kernel, stride, padding
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    for c, i, j, n, oh, ow in itertools.product(range(C), range(KH), range(KW), range(N), range(OH), range(OW)):
        yield (c * KH + i) * KW + j, (n * OH + oh) * OW + ow, n, c, oh * SH + i, ow * SW + j


def padded_zeros(shape, padding):
    N, C, H, W = shape
    return np.zeros((N, C, H + 2 * padding[0], W + 2 * padding[1]))


@pytest.mark.parametrize("shape,kernel,stride,padding", CASES)
def test_im2col_gathers_each_patch(shape, kernel, stride, padding, rng, device):
    x = rng.standard_normal(shape)
    padded = padded_zeros(shape, padding)
    padded[:, :, padding[0] : padding[0] + shape[2], padding[1] : padding[1] + shape[3]] = x
    col = asnumpy(im2col(to_device(x, device), *kernel, stride, padding))
    entries = list(patch_entries(shape, kernel, stride, padding))
    assert col.shape == (max(e[0] for e in entries) + 1, max(e[1] for e in entries) + 1)
    for row, column, n, c, h, w in entries:
        assert col[row, column] == padded[n, c, h, w]


@pytest.mark.parametrize("shape,kernel,stride,padding", CASES)
def test_col2im_adds_each_patch_back(shape, kernel, stride, padding, rng, device):
    col = rng.standard_normal(im2col(np.zeros(shape), *kernel, stride, padding).shape)
    padded = padded_zeros(shape, padding)
    for row, column, n, c, h, w in patch_entries(shape, kernel, stride, padding):
        padded[n, c, h, w] += col[row, column]  # each entry goes back to the pixel it was read from
    expected = padded[:, :, padding[0] : padding[0] + shape[2], padding[1] : padding[1] + shape[3]]
    dx = col2im(to_device(col, device), shape, *kernel, stride, padding)
    assert dx.shape == shape
    np.testing.assert_allclose(asnumpy(dx), expected, rtol=1e-13, atol=1e-13)


def test_an_int_means_the_same_size_both_ways(rng):
    x = rng.standard_normal((2, 3, 8, 7))
    assert np.array_equal(im2col(x, 3, 3, 2, 1), im2col(x, 3, 3, (2, 2), (1, 1)))
    assert as_pair(3, "stride") == (3, 3) and as_pair((2, 1), "stride") == (2, 1)
    for bad in ((1, 2, 3), 1.5, "2"):
        with pytest.raises(ValueError, match="stride must be an int or a pair of ints"):
            as_pair(bad, "stride")


def test_a_window_larger_than_the_padded_input_is_refused():
    with pytest.raises(ValueError, match="window of size 5 does not fit an input of size 3 with padding 0"):
        im2col(np.zeros((1, 1, 3, 8)), 5, 2)
