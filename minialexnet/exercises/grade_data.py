"""Grading the exercises on images and features: lessons 9 and 10, on NumPy and on the strict device.

- ``augment`` (lesson 9): crops and flips against plain slicing, the ten test patches, the
  eigenpairs of the RGB covariance (Section 4.1).
- ``neighbours`` (lesson 10): the k nearest rows by Euclidean distance (Figure 4, right).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from minialexnet.exercises.harness import StudentError, Watch, as_array, attribute
from minialexnet.exercises.on_device import on_strict_device

# ---------------------------------------------------------------- lesson 9: crops, flips, the ten test patches, the colour PCA


def _crops(x: np.ndarray, tops: np.ndarray, lefts: np.ndarray, flips: np.ndarray, size: int) -> np.ndarray:
    out = np.stack([x[n, :, top : top + size, left : left + size] for n, (top, left) in enumerate(zip(tops, lefts, strict=True))])
    return np.stack([patch[:, :, ::-1] if flip else patch for patch, flip in zip(out, flips, strict=True)])


def grade_augment(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    crop_and_flip, ten_crop_offsets, rgb_pca = (attribute(module, name) for name in ("crop_and_flip", "ten_crop_offsets", "rgb_pca"))
    watch = Watch(module)
    for N, C, S, size in ((5, 3, 11, 7), (2, 1, 9, 9), (3, 2, 8, 3)):
        x = rng.standard_normal((N, C, S, S))
        tops, lefts, flips = rng.integers(0, S - size + 1, N), rng.integers(0, S - size + 1, N), rng.integers(0, 2, N).astype(bool)
        setting = f"[images {x.shape}, patches {size}x{size}, tops {tops.tolist()}, lefts {lefts.tolist()}, flips {flips.tolist()}]"
        got = watch.call("crop_and_flip", crop_and_flip, x.copy(), tops.copy(), lefts.copy(), flips.copy(), size)
        got = as_array(f"crop_and_flip's result {setting}", got, (N, C, size, size))
        expected = _crops(x, tops, lefts, flips, size)
        if not np.array_equal(got, expected):
            unflipped = _crops(x, tops, lefts, ~flips, size)
            swapped = _crops(x, lefts, tops, flips, size) if S - size + 1 > 0 else None
            if np.array_equal(got, unflipped):
                raise StudentError(f"crop_and_flip mirrors the wrong patches: flips[n] True means mirrored left to right {setting}")
            if swapped is not None and np.array_equal(got, swapped):
                raise StudentError(f"crop_and_flip swapped tops and lefts: tops are rows (height), lefts columns (width) {setting}")
            raise StudentError(
                f"crop_and_flip differs from x[n, :, top : top + size, left : left + size] (mirrored where flips[n]) {setting}"
            )
        on_gpu = on_strict_device("crop_and_flip", lambda x, s=size, t=tops, le=lefts, f=flips: crop_and_flip(x, t, le, f, s), x)
        if not np.array_equal(on_gpu, expected):
            raise StudentError(f"crop_and_flip gives other patches on the GPU (the strict device) {setting}")
    for full, size in ((256, 227), (32, 28), (9, 4)):
        far, centre = full - size, (full - size) // 2
        expected_offsets = {
            (top, left, flip) for flip in (False, True) for top, left in ((0, 0), (0, far), (far, 0), (far, far), (centre, centre))
        }
        offsets = watch.call("ten_crop_offsets", ten_crop_offsets, full, size)
        try:
            got_offsets = [(int(top), int(left), bool(flip)) for top, left, flip in offsets]
        except (TypeError, ValueError):
            raise StudentError("ten_crop_offsets must return a list of (top, left, flipped) triples") from None
        if len(got_offsets) != 10 or set(got_offsets) != expected_offsets:
            raise StudentError(
                f"ten_crop_offsets({full}, {size}) gave {sorted(got_offsets)}: the four corners and the centre "
                f"(top = left = (full - size) // 2 = {centre}), each also flipped"
            )
    images = rng.standard_normal((4, 3, 32, 32)) * np.array([1.0, 2.0, 0.5])[None, :, None, None] + rng.standard_normal((4, 1, 32, 32))
    result = watch.call("rgb_pca", rgb_pca, images.copy())
    if not isinstance(result, tuple) or len(result) != 2:
        raise StudentError("rgb_pca must return (eigenvalues (3,), eigenvectors (3, 3) as columns)")
    values, vectors = (
        as_array("rgb_pca's eigenvalues", np.asarray(result[0], dtype=np.float64), (3,)),
        np.asarray(result[1], dtype=np.float64),
    )
    vectors = as_array("rgb_pca's eigenvectors", vectors, (3, 3))
    pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3)
    covariance = np.cov(pixels, rowvar=False)
    if not np.allclose(vectors.T @ vectors, np.eye(3), atol=1e-9):
        raise StudentError("rgb_pca's eigenvectors are not orthonormal columns (np.linalg.eigh gives them as columns)")
    residual = float(np.abs(covariance @ vectors - vectors * values).max() / np.abs(covariance).max())
    if residual > 1e-3:  # ddof 0 and 1 differ by 1 / (N H W) here; both are fine
        if np.abs(covariance @ vectors.T - vectors.T * values).max() < 1e-3 * np.abs(covariance).max():
            raise StudentError("rgb_pca's eigenvectors are rows: return them as columns (p_i = vectors[:, i])")
        raise StudentError(
            f"rgb_pca's pairs are not eigenpairs of the 3x3 covariance of the pixels' RGB values (relative residual {residual:.1e}): "
            "one sample per pixel, images.transpose(0, 2, 3, 1).reshape(-1, 3)"
        )
    return residual


# ---------------------------------------------------------------- lesson 10: nearest neighbours in fc7 space


def grade_neighbours(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    nearest = attribute(module, "nearest")
    watch = Watch(module)
    for Q, R, D, k in ((3, 20, 8, 5), (1, 7, 3, 7), (4, 50, 16, 1)):
        query, reference = rng.standard_normal((Q, D)), rng.standard_normal((R, D)) * rng.uniform(0.5, 2.0, D)
        expected = np.argsort(((query[:, None, :] - reference[None]) ** 2).sum(axis=2), axis=1)[:, :k]
        got = np.asarray(watch.call("nearest", nearest, query.copy(), reference.copy(), k))
        if got.shape != (Q, k):
            raise StudentError(f"nearest returned shape {got.shape}, expected (queries, k) = {(Q, k)}")
        if not np.array_equal(got, expected):
            if np.array_equal(got, expected[:, ::-1]):
                raise StudentError("nearest lists the neighbours farthest first: nearest first")
            farthest = np.argsort(-((query[:, None, :] - reference[None]) ** 2).sum(axis=2), axis=1)[:, :k]
            if np.array_equal(got, farthest):
                raise StudentError("nearest returned the farthest rows: sort the distances ascending")
            raise StudentError(
                f"nearest differs from the k rows of reference closest in Euclidean distance [{Q} queries, {R} references, k = {k}]"
            )
        on_gpu = on_strict_device("nearest", lambda q, r, k=k: nearest(q, r, k), query, reference)
        if not np.array_equal(on_gpu, expected):
            raise StudentError("nearest gives other neighbours on the GPU (the strict device)")
    return float("nan")
