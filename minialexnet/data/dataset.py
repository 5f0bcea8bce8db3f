"""The in-memory dataset every reader returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Dataset:
    """Images as uint8 (N, C, H, W) in 0..255 and labels as int64 (N,), for train and test.

    ``class_names[label]`` names a class. The readers keep the raw 0..255 pixels: the
    paper trains on them minus the mean, and preprocessing (``transforms.Preprocess``)
    happens per batch on the model's device.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: list[str]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.ndim != 4 or images.dtype != np.uint8:
                raise ValueError(f"{self.name}: {split} images must be uint8 (N, C, H, W), got {images.dtype} {images.shape}")
            if labels.shape != (images.shape[0],):
                raise ValueError(f"{self.name}: {split} has {images.shape[0]} images but labels of shape {labels.shape}")
            if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
                raise ValueError(f"{self.name}: {split} labels must lie in [0, {len(self.class_names)})")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    def limit(self, count: int | None, seed: int = 0) -> Dataset:
        """A class-balanced-in-expectation random subset of ``count`` train and ``count // 5`` test images."""
        if count is None:
            return self
        rng = np.random.default_rng(seed)
        train = np.sort(rng.permutation(len(self.train_labels))[:count])
        test = np.sort(rng.permutation(len(self.test_labels))[: max(1, count // 5)])
        return Dataset(
            self.name, self.train_images[train], self.train_labels[train], self.test_images[test], self.test_labels[test], self.class_names
        )

    def split_validation(self, fraction: float, seed: int = 0) -> tuple[Dataset, tuple[np.ndarray, np.ndarray]]:
        """Hold out ``fraction`` of the training set; returns (smaller dataset, (images, labels))."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.train_labels))
        cut = round(len(order) * fraction)
        val, train = np.sort(order[:cut]), np.sort(order[cut:])
        smaller = Dataset(
            self.name, self.train_images[train], self.train_labels[train], self.test_images, self.test_labels, self.class_names
        )
        return smaller, (self.train_images[val], self.train_labels[val])
