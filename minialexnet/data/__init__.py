"""Datasets, preprocessing and batches.

Readers return a ``Dataset`` of uint8 images; ``Preprocess`` turns batches into network
inputs on a device; ``BatchLoader`` shuffles and batches. ``load_dataset(name)`` picks a
reader by name (``sample``, ``fashion-mnist``, ``cifar10:PATH``) or a folder path.
"""

from __future__ import annotations

from pathlib import Path

from minialexnet.data.cifar10 import load_cifar10
from minialexnet.data.dataset import Dataset
from minialexnet.data.fashion_mnist import load_fashion_mnist
from minialexnet.data.folder import load_image_folder
from minialexnet.data.idx import DataFileError, read_idx
from minialexnet.data.loader import BatchLoader
from minialexnet.data.sample import load_sample
from minialexnet.data.transforms import Preprocess

__all__ = [
    "BatchLoader",
    "DataFileError",
    "Dataset",
    "Preprocess",
    "load_cifar10",
    "load_dataset",
    "load_fashion_mnist",
    "load_image_folder",
    "load_sample",
    "read_idx",
]


def load_dataset(name: str, path: str | None = None) -> Dataset:
    """``sample`` (built in), ``fashion-mnist`` (searched, or at ``path``), ``cifar10``
    (at ``path``, or ``cifar10:PATH``), or any folder of class sub-folders."""
    if name == "sample":
        return load_sample()
    if name == "fashion-mnist":
        return load_fashion_mnist(path)
    if name == "cifar10" or name.startswith("cifar10:"):
        location = name.partition(":")[2] or path
        if not location:
            raise DataFileError("cifar10 needs its folder: --data cifar10:/path/to/cifar-10-batches-bin")
        return load_cifar10(location)
    if Path(name).is_dir():
        folder = Path(name)
        if any(folder.glob("*-idx3-ubyte*")):
            return load_fashion_mnist(folder)
        if (folder / "test_batch.bin").is_file() or (folder / "cifar-10-batches-bin").is_dir():
            return load_cifar10(folder)
        return load_image_folder(folder)
    if "/" in name or "\\" in name or Path(name).exists():  # meant as a path
        what = "is a file, not a folder" if Path(name).exists() else "does not exist"
        raise DataFileError(f"--data {name}: {what}; pass a folder of class sub-folders (or sample, fashion-mnist, cifar10:PATH)")
    raise DataFileError(f"unknown data {name!r}: use sample, fashion-mnist, cifar10:PATH or a folder of class sub-folders")
