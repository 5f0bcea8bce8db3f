"""Preprocessing and augmentation, as in the paper (Sections 2 and 4.1), run per batch on the
model's device through ``xp``.

Notation::

    N, C        batch size, channels (3 for RGB, 1 for grey)
    h, w        stored image size (28 for Fashion-MNIST, 256 for the paper's ImageNet)
    S           the size images are resized to before cropping (256 for 227 crops)
    s           the network's input size (227 in the paper, 28 for ``mini``)

The pipeline of one batch, uint8 (N, C, h, w) -> float32 (N, C, s, s)::

    to float -> PCA colour noise (training) -> subtract the mean -> scale
             -> bilinear resize to S (or straight to s without crops)
             -> random s x s crop + horizontal flip (training) | centre crop | 10 crops

- The paper's input is the raw 0..255 pixel minus the mean (Section 2); ``scale="paper"``
  keeps that scale. The N(0, 0.01) initialisation depends on it: with inputs in 0..1 the
  signal fades before fc8 and the net stays at chance (see lesson 8).
- PCA colour noise (Section 4.1): with p_i, lambda_i the eigenvectors and eigenvalues of the
  training set's C x C covariance of pixel values, each training image gets
  sum_i alpha_i sqrt(lambda_i) p_i added to every pixel, alpha_i ~ N(0, 0.1) drawn once
  per image. The paper writes lambda_i; sqrt(lambda_i), the standard deviation along p_i,
  is the unit-consistent reading (the noise is then in pixel units whatever the pixel
  scale) and is what common reimplementations use. For grey images (C = 1) the only
  eigenvector is 1 and the noise is a random brightness shift of 0.1 standard deviations.
- Ten-crop testing (Section 4.1): the four corner and the centre s x s patches of the
  S x S image and their mirrors; the network's softmax outputs are averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minialexnet.backend import get_array_module, to_device
from minialexnet.data.idx import DataFileError

SCALES = ("paper", "unit", "standard")
MEANS = ("pixel", "image")


def resize_matrix(size_out: int, size_in: int) -> np.ndarray:
    """The (size_out, size_in) matrix of bilinear interpolation with half-pixel centres.

    Matches PIL and PyTorch's ``interpolate(mode="bilinear", align_corners=False)`` when
    enlarging. Resizing an image is then A_h @ image @ A_w^T.
    """
    source = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    source = np.clip(source, 0, size_in - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    weight = source - low
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    matrix[rows, low] = 1 - weight
    matrix[rows, high] += weight  # each row appears once per statement, so += is safe
    return matrix


def resize_bilinear(x: Any, size: int, matrices: tuple[Any, Any] | None = None) -> Any:
    """Bilinear resize of a float batch (N, C, h, w) -> (N, C, size, size) by two matrix products.

    ``matrices``: the (size, h) and (size, w) ``resize_matrix`` already on x's device (``Preprocess``
    keeps them there); made here and copied to the device otherwise.
    """
    xp = get_array_module(x)
    _, _, h, w = x.shape
    if (h, w) == (size, size):
        return x
    rows, cols = matrices or (xp.asarray(resize_matrix(size, n).astype(x.dtype)) for n in (h, w))
    return rows @ x @ cols.T


def crop_and_flip(x: Any, tops: np.ndarray, lefts: np.ndarray, flips: np.ndarray, size: int) -> Any:
    """Cut a size x size patch at (tops[n], lefts[n]) from each image, mirrored where flips[n].

    One vectorised gather for the whole batch: x (N, C, S, S) -> (N, C, size, size). The index
    is built on x's device from the 3N numbers (one small copy to a GPU), not sent whole.
    """
    xp = get_array_module(x)
    N, C = x.shape[:2]
    tops, lefts, flips = xp.asarray(np.stack([tops, lefts, flips]).astype(np.int32))
    offsets = xp.arange(size, dtype=np.int32)
    rows = tops[:, None] + offsets
    cols = xp.where(flips[:, None] != 0, lefts[:, None] + size - 1 - offsets, lefts[:, None] + offsets)
    index = (xp.arange(N)[:, None, None, None], xp.arange(C)[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :])
    return x[index]


def crop_source_size(input_size: int) -> int:
    """The size S to crop from, in the paper's proportion 256 : 227 (28 -> 32, 227 -> 256)."""
    return round(input_size * 256 / 227)


def ten_crop_offsets(full: int, size: int) -> list[tuple[int, int, bool]]:
    """(top, left, flipped) of the paper's ten test patches: 4 corners, centre, and mirrors."""
    far, centre = full - size, (full - size) // 2
    corners = [(0, 0), (0, far), (far, 0), (far, far), (centre, centre)]
    return [(top, left, flip) for flip in (False, True) for top, left in corners]


@dataclass
class Preprocess:
    """Fitted on the training images; turns uint8 batches into network inputs on a device.

    ``input_size`` s, ``crop_from`` S (0: resize straight to s and never crop), ``scale``
    in {paper, unit, standard}, ``mean`` in {pixel, image}, ``pca_std`` the alpha standard
    deviation (0.1 in the paper; 0 disables), ``augment`` random crops and flips.
    """

    input_size: int
    crop_from: int = 0
    scale: str = "paper"
    mean: str = "pixel"
    augment: bool = False
    pca_std: float = 0.0
    mean_values: np.ndarray | None = None
    std_value: float = 1.0
    pca_eigvals: np.ndarray | None = None
    pca_eigvecs: np.ndarray | None = None
    _device_cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown scale {self.scale!r}; choose one of {', '.join(SCALES)}")
        if self.mean not in MEANS:
            raise ValueError(f"unknown mean {self.mean!r}; choose one of {', '.join(MEANS)}")
        if self.crop_from and self.crop_from < self.input_size:
            raise ValueError(f"crop_from ({self.crop_from}) must be at least input_size ({self.input_size})")

    def fit(self, images: np.ndarray, max_pixels: int = 2_000_000, seed: int = 0) -> Preprocess:
        """Mean (pixel or image), global std and the colour PCA of uint8 (N, C, h, w) images."""
        pixels = images.astype(np.float64)
        self.mean_values = pixels.mean(axis=(0, 2, 3)) if self.mean == "pixel" else pixels.mean(axis=0)
        self.std_value = float(pixels.std())
        if self.std_value == 0:
            raise DataFileError(
                f"all {len(images)} training images hold one value ({pixels.flat[0]:g} in every pixel): there is nothing to learn "
                "from; check the data (are the images blank?)"
            )
        C = images.shape[1]
        flat = images.transpose(1, 0, 2, 3).reshape(C, -1)
        if flat.shape[1] > max_pixels:
            flat = flat[:, np.random.default_rng(seed).choice(flat.shape[1], max_pixels, replace=False)]
        covariance = np.atleast_2d(np.cov(flat.astype(np.float64)))
        eigvals, eigvecs = np.linalg.eigh(covariance)
        self.pca_eigvals, self.pca_eigvecs = np.clip(eigvals, 0, None), eigvecs
        self._device_cache = {}
        return self

    def state(self) -> dict[str, np.ndarray]:
        """Arrays and settings to store in a checkpoint."""
        if self.mean_values is None:
            raise ValueError("Preprocess.fit() must run before its state is saved")
        return {
            "mean_values": np.asarray(self.mean_values, dtype=np.float64),
            "std_value": np.asarray(self.std_value),
            "pca_eigvals": np.asarray(self.pca_eigvals),
            "pca_eigvecs": np.asarray(self.pca_eigvecs),
        }

    def settings(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "crop_from": self.crop_from,
            "scale": self.scale,
            "mean": self.mean,
            "augment": self.augment,
            "pca_std": self.pca_std,
        }

    @classmethod
    def from_state(cls, settings: dict[str, Any], state: dict[str, np.ndarray]) -> Preprocess:
        return cls(
            **settings,
            mean_values=state["mean_values"],
            std_value=float(state["std_value"]),
            pca_eigvals=state["pca_eigvals"],
            pca_eigvecs=state["pca_eigvecs"],
        )

    def _mean_on(self, device: str) -> Any:
        """The mean, shaped to broadcast over a batch, kept on each device it was asked for."""
        if device not in self._device_cache:
            mean = self.mean_values.astype(np.float32)
            mean = mean[None, :, None, None] if self.mean == "pixel" else mean[None]
            self._device_cache[device] = to_device(mean, device)
        return self._device_cache[device]

    def _resize(self, x: Any, size: int, device: str) -> Any:
        """``resize_bilinear`` with the interpolation matrices kept on each device, as the mean is."""
        key = (device, size, x.shape[2:])
        if key not in self._device_cache and x.shape[2:] != (size, size):
            self._device_cache[key] = tuple(to_device(resize_matrix(size, n).astype(np.float32), device) for n in x.shape[2:])
        return resize_bilinear(x, size, self._device_cache.get(key))

    def _normalise(self, batch: np.ndarray, device: str, train: bool, rng: np.random.Generator | None) -> Any:
        if self.mean_values is None:
            raise ValueError("Preprocess.fit(train_images) must run before batches are transformed")
        x = to_device(batch, device)
        xp = get_array_module(x)
        x = x.astype(np.float32)
        if train and self.pca_std > 0:
            alphas = rng.normal(0.0, self.pca_std, size=(batch.shape[0], batch.shape[1]))
            shift = (alphas * np.sqrt(self.pca_eigvals)) @ self.pca_eigvecs.T  # (N, C)
            x += xp.asarray(shift.astype(np.float32))[:, :, None, None]
        x -= self._mean_on(device)
        if self.scale == "unit":
            x *= np.float32(1 / 255)
        elif self.scale == "standard":
            x *= np.float32(1 / self.std_value)
        return x

    def __call__(self, batch: np.ndarray, device: str = "cpu", train: bool = False, rng: np.random.Generator | None = None) -> Any:
        """uint8 (N, C, h, w) -> float32 (N, C, s, s) on ``device``; random choices from ``rng``."""
        x = self._normalise(batch, device, train, rng)
        s = self.input_size
        if not self.crop_from:
            return self._resize(x, s, device)
        x = self._resize(x, self.crop_from, device)
        N, far = x.shape[0], self.crop_from - s
        if train and self.augment:
            tops, lefts = rng.integers(0, far + 1, size=N), rng.integers(0, far + 1, size=N)
            return crop_and_flip(x, tops, lefts, rng.random(N) < 0.5, s)
        centre = np.full(N, far // 2)
        return crop_and_flip(x, centre, centre, np.zeros(N, bool), s)

    def ten_crops(self, batch: np.ndarray, device: str = "cpu") -> list[Any]:
        """The paper's ten test patches of each image: a list of 10 float32 (N, C, s, s) batches."""
        x = self._normalise(batch, device, False, None)
        full = self.crop_from or crop_source_size(self.input_size)
        x = self._resize(x, full, device)
        N = x.shape[0]
        return [
            crop_and_flip(x, np.full(N, top), np.full(N, left), np.full(N, flip), self.input_size)
            for top, left, flip in ten_crop_offsets(full, self.input_size)
        ]
