"""The built-in sample: a class-balanced subset of Fashion-MNIST shipped inside the package.

6,000 training images (600 per class) and 1,000 test images (100 per class), chosen with a
fixed seed from the official train and test splits; about 3 MB compressed. It lets
``python -m minialexnet.train`` run offline on a fresh machine. Rebuild it with
``python -m minialexnet.data.sample /path/to/fashion-mnist``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from minialexnet.data.dataset import Dataset
from minialexnet.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

SAMPLE_PATH = Path(__file__).with_name("sample") / "fashion_mnist_sample.npz"
TRAIN_PER_CLASS, TEST_PER_CLASS = 600, 100


def _balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picks = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in range(len(CLASS_NAMES))]
    return rng.permutation(np.concatenate(picks))


def build_sample(source: str | Path, target: Path = SAMPLE_PATH, seed: int = 2012) -> Path:
    """Write the sample from a full Fashion-MNIST folder."""
    full = load_fashion_mnist(source, download=False)
    rng = np.random.default_rng(seed)
    train = _balanced(full.train_labels, TRAIN_PER_CLASS, rng)
    test = _balanced(full.test_labels, TEST_PER_CLASS, rng)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        target,
        train_images=full.train_images[train, 0],
        train_labels=full.train_labels[train].astype(np.uint8),
        test_images=full.test_images[test, 0],
        test_labels=full.test_labels[test].astype(np.uint8),
    )
    return target


def load_sample() -> Dataset:
    """The built-in Fashion-MNIST sample as a Dataset of uint8 (N, 1, 28, 28) images."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as data:
        return Dataset(
            "sample",
            data["train_images"][:, None],
            data["train_labels"].astype(np.int64),
            data["test_images"][:, None],
            data["test_labels"].astype(np.int64),
            list(CLASS_NAMES),
        )


if __name__ == "__main__":
    print(build_sample(sys.argv[1]))
