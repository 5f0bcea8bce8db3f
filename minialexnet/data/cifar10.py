"""CIFAR-10 from its binary distribution (``cifar-10-batches-bin``), never from pickles.

Each record is 3,073 bytes: one label byte (0..9), then 1,024 red, 1,024 green and 1,024
blue bytes of a 32x32 image in row-major order. Training: ``data_batch_1.bin`` ..
``data_batch_5.bin``; test: ``test_batch.bin``; class names: ``batches.meta.txt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minialexnet.data.dataset import Dataset
from minialexnet.data.idx import DataFileError

RECORD = 1 + 3 * 32 * 32
DEFAULT_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file -> (uint8 images (N, 3, 32, 32), int64 labels (N,))."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({error.strerror or error})") from None
    if raw.size == 0 or raw.size % RECORD:
        raise DataFileError(f"{path}: size {raw.size} bytes is not a whole number of {RECORD}-byte CIFAR-10 records (truncated?)")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataFileError(f"{path}: label {int(labels.max())} is outside 0..9 (not a CIFAR-10 batch?)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def load_cifar10(path: str | Path) -> Dataset:
    """CIFAR-10 from a ``cifar-10-batches-bin`` folder (or the folder above it)."""
    directory = Path(path)
    if not (directory / "test_batch.bin").is_file() and (directory / "cifar-10-batches-bin").is_dir():
        directory = directory / "cifar-10-batches-bin"
    train_files = [directory / f"data_batch_{i}.bin" for i in range(1, 6)]
    missing = [p.name for p in [*train_files, directory / "test_batch.bin"] if not p.is_file()]
    if missing:
        raise DataFileError(f"{directory}: not a cifar-10-batches-bin folder; missing {', '.join(missing)}")
    parts = [read_cifar_batch(p) for p in train_files]
    test_images, test_labels = read_cifar_batch(directory / "test_batch.bin")
    meta = directory / "batches.meta.txt"
    names = [line.strip() for line in meta.read_text().splitlines() if line.strip()] if meta.is_file() else list(DEFAULT_NAMES)
    return Dataset(
        "cifar10",
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        test_images,
        test_labels,
        names,
    )
