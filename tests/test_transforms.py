import numpy as np
import pytest
from reference import rel_err

from minialexnet.backend import asnumpy
from minialexnet.data.transforms import Preprocess, crop_and_flip, resize_bilinear, resize_matrix, ten_crop_offsets


def test_resize_matches_pytorch_bilinear_upsampling(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 28, 28))
    ours = resize_bilinear(x, 227)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(227, 227), mode="bilinear", align_corners=False).numpy()
    assert rel_err(ours, theirs) < 1e-12


def test_resize_rows_are_convex_weights():
    matrix = resize_matrix(227, 28)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-12)
    assert matrix.min() >= 0
    np.testing.assert_array_equal(resize_matrix(5, 5), np.eye(5))


def test_crop_and_flip_against_slicing(rng):
    x = rng.standard_normal((3, 2, 10, 10))
    tops, lefts, flips = np.array([0, 2, 5]), np.array([1, 0, 5]), np.array([False, True, True])
    out = crop_and_flip(x, tops, lefts, flips, 5)
    for n in range(3):
        patch = x[n, :, tops[n] : tops[n] + 5, lefts[n] : lefts[n] + 5]
        np.testing.assert_array_equal(out[n], patch[:, :, ::-1] if flips[n] else patch)


def test_ten_crop_offsets_are_corners_centre_and_mirrors():
    offsets = ten_crop_offsets(256, 227)
    assert offsets[:5] == [(0, 0, False), (0, 29, False), (29, 0, False), (29, 29, False), (14, 14, False)]
    assert [o[:2] for o in offsets[5:]] == [o[:2] for o in offsets[:5]] and all(o[2] for o in offsets[5:])


def make_images(rng, n=64, channels=3, size=12):
    base = rng.integers(0, 256, (n, channels, size, size)).astype(np.float64)
    base[:, 1] = 0.6 * base[:, 0] + 0.4 * base[:, 1]  # correlated channels, like RGB
    return base.clip(0, 255).astype(np.uint8)


def test_paper_preprocessing_is_0_255_minus_mean_pixel(rng):
    images = make_images(rng)
    pre = Preprocess(input_size=12).fit(images)
    out = pre(images)
    assert out.dtype == np.float32 and out.shape == images.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-3)
    assert 50 < out.std() < 128  # still the 0..255 scale
    unit = Preprocess(input_size=12, scale="unit").fit(images)(images)
    np.testing.assert_allclose(unit, out / 255, rtol=1e-5, atol=1e-6)
    standard = Preprocess(input_size=12, scale="standard").fit(images)(images)
    assert standard.std() == pytest.approx(1.0, rel=0.05)


def test_mean_image_subtraction(rng):
    images = make_images(rng)
    out = Preprocess(input_size=12, mean="image").fit(images)(images)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-3)


def test_pca_colour_noise_statistics(rng):
    images = make_images(rng, n=16)
    pre = Preprocess(input_size=12, pca_std=0.1).fit(images)
    covariance = np.cov(images.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64))
    eigvals = np.linalg.eigvalsh(covariance)
    np.testing.assert_allclose(pre.pca_eigvals, eigvals, rtol=1e-6)
    batch = np.repeat(images[:1], 4000, axis=0)
    clean = pre(batch)
    noisy = pre(batch, train=True, rng=np.random.default_rng(0))
    shift = asnumpy(noisy - clean)
    per_image = shift[:, :, 0, 0]
    np.testing.assert_allclose(shift, per_image[:, :, None, None] * np.ones((1, 1, 12, 12)), atol=1e-3)  # constant per image
    # the shift's covariance is sum_i (0.1^2 * lambda_i) p_i p_i^T = 0.01 * covariance
    np.testing.assert_allclose(np.cov(per_image.T), 0.01 * covariance, rtol=0.1, atol=3.0)  # 3 standard errors


def test_pca_on_grey_images_is_a_brightness_shift(rng):
    images = rng.integers(0, 256, (32, 1, 8, 8)).astype(np.uint8)
    pre = Preprocess(input_size=8, pca_std=0.1).fit(images)
    assert pre.pca_eigvecs.shape == (1, 1) and abs(pre.pca_eigvecs[0, 0]) == 1
    assert pre.pca_eigvals[0] == pytest.approx(images.astype(np.float64).var(ddof=1), rel=1e-6)
    shift = pre(np.repeat(images[:1], 3000, axis=0), train=True, rng=np.random.default_rng(1)) - pre(images[:1])
    assert shift[:, 0, 0, 0].std() == pytest.approx(0.1 * np.sqrt(pre.pca_eigvals[0]), rel=0.05)


def test_augmented_crops_flips_and_ten_crops_shapes(rng):
    images = rng.integers(0, 256, (8, 1, 28, 28)).astype(np.uint8)
    pre = Preprocess(input_size=28, crop_from=32, augment=True).fit(images)
    a = pre(images, train=True, rng=np.random.default_rng(0))
    b = pre(images, train=True, rng=np.random.default_rng(1))
    assert a.shape == (8, 1, 28, 28) and not np.array_equal(a, b)
    centre = pre(images, train=False)
    np.testing.assert_array_equal(centre, pre(images, train=False))
    crops = pre.ten_crops(images)
    assert len(crops) == 10 and all(c.shape == (8, 1, 28, 28) for c in crops)
    np.testing.assert_allclose(crops[5], crops[0][:, :, :, ::-1], rtol=1e-6)
    np.testing.assert_allclose(crops[4], centre, rtol=1e-6)


def test_flips_happen_about_half_the_time():
    images = np.tile(np.arange(8, dtype=np.uint8)[None, None, None, :] * 30, (2000, 1, 8, 1))
    pre = Preprocess(input_size=8, crop_from=8, augment=True).fit(images)
    out = pre(images, train=True, rng=np.random.default_rng(0))
    flipped = out[:, 0, 0, 0] > out[:, 0, 0, -1]
    assert 0.45 < flipped.mean() < 0.55


def test_upsampling_fashion_to_227(rng):
    images = rng.integers(0, 256, (4, 1, 28, 28)).astype(np.uint8)
    out = Preprocess(input_size=227).fit(images)(images)
    assert out.shape == (4, 1, 227, 227) and out.dtype == np.float32


def test_bad_settings_and_unfitted_use():
    with pytest.raises(ValueError, match="unknown scale"):
        Preprocess(input_size=8, scale="zscore")
    with pytest.raises(ValueError, match="crop_from"):
        Preprocess(input_size=8, crop_from=4)
    with pytest.raises(ValueError, match=r"fit\(train_images\) must run"):
        Preprocess(input_size=8)(np.zeros((1, 1, 8, 8), np.uint8))
