"""Fashion-MNIST (Zalando, MIT licence): 60,000 + 10,000 grey 28x28 images, 10 classes.

Where the files are looked for, in order:

1. the directory the user names (``--data /path`` or ``load_fashion_mnist(path)``);
2. ``$MINIALEXNET_DATA`` (the files themselves, or a ``fashion-mnist`` folder in it); set
   to a path that is not a folder it is an error, never silently skipped;
3. ``/usr/share/datasets/fashion-mnist`` (Debian's package ``dataset-fashion-mnist``);
4. the user cache ``~/.cache/minialexnet/fashion-mnist``;
5. else they are downloaded from the dataset's official address into that cache, and
   each file's decompressed bytes are checked against its SHA-256.

Files may be gzipped or not (``train-images-idx3-ubyte`` or ``...ubyte.gz``).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from minialexnet.data.dataset import Dataset
from minialexnet.data.idx import DataFileError, parse_idx, read_bytes

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the decompressed files (the same bytes whatever the compression).
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
TRAIN_SIZE, TEST_SIZE = 60000, 10000
OFFICIAL_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minialexnet" / "fashion-mnist"


def _file_in(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def _complete(directory: Path) -> bool:
    return all(_file_in(directory, stem) is not None for stem in FILES.values())


def candidate_dirs(path: str | Path | None = None) -> list[Path]:
    """The directories searched, in order (see the module docstring)."""
    dirs: list[Path] = []
    if path is not None:
        dirs.append(Path(path))
    env = os.environ.get("MINIALEXNET_DATA")
    if env:
        if not Path(env).is_dir():
            raise DataFileError(f"MINIALEXNET_DATA={env} is not a folder; point it at the folder that holds Fashion-MNIST, or unset it")
        dirs += [Path(env), Path(env) / "fashion-mnist"]
    return [*dirs, DEBIAN_DIR, cache_dir()]


def find_fashion_mnist(path: str | Path | None = None) -> Path | None:
    """The first directory holding all four files, or None."""
    if path is not None:
        missing = [stem for stem in FILES.values() if _file_in(Path(path), stem) is None]
        if missing:
            raise DataFileError(f"{path}: no Fashion-MNIST here; missing {', '.join(missing)} (.gz or plain)")
        return Path(path)
    for directory in candidate_dirs(path):
        if _complete(directory):
            return directory
    return None


def download_fashion_mnist(
    target: str | Path | None = None,
    base_url: str = OFFICIAL_URL,
    checksums: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four files into ``target`` (the user cache by default), checking SHA-256.

    A file whose decompressed bytes do not match is deleted and reported by name.
    """
    target = Path(target) if target is not None else cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    checksums = SHA256 if checksums is None else checksums
    for stem in FILES.values():
        if _file_in(target, stem) is not None:
            continue
        url = base_url.rstrip("/") + "/" + stem + ".gz"
        destination = target / (stem + ".gz")
        partial = destination.with_suffix(".gz.part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                partial.write_bytes(response.read())
        except (urllib.error.URLError, OSError) as error:
            partial.unlink(missing_ok=True)
            files = ", ".join(f"{name}.gz" for name in FILES.values())
            raise DataFileError(
                f"{url}: download failed ({error}); download the four files {files} from {base_url} by hand into one folder "
                "and pass it with --data"
            ) from None
        digest = hashlib.sha256(read_bytes(partial)).hexdigest()
        if digest != checksums[stem]:
            partial.unlink(missing_ok=True)
            raise DataFileError(f"{url}: checksum mismatch for {stem} (SHA-256 {digest}, expected {checksums[stem]}); the file was deleted")
        partial.replace(destination)
    return target


def _read_split(directory: Path, images_stem: str, labels_stem: str) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = _file_in(directory, images_stem), _file_in(directory, labels_stem)
    images = parse_idx(read_bytes(images_path), str(images_path))
    labels = parse_idx(read_bytes(labels_path), str(labels_path))
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataFileError(f"{images_path}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataFileError(f"{labels_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataFileError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataFileError(f"{labels_path}: label {int(labels.max())} is outside 0..{len(CLASS_NAMES) - 1}")
    return images[:, None, :, :], labels.astype(np.int64)


def load_fashion_mnist(path: str | Path | None = None, download: bool = True) -> Dataset:
    """Fashion-MNIST as a Dataset of uint8 (N, 1, 28, 28) images; see the module docstring for the search."""
    directory = find_fashion_mnist(path)
    if directory is None:
        if not download:
            searched = ", ".join(str(d) for d in candidate_dirs(path))
            raise DataFileError(f"Fashion-MNIST not found (searched {searched}); pass its folder with --data or allow the download")
        directory = download_fashion_mnist()
    train_images, train_labels = _read_split(directory, FILES["train_images"], FILES["train_labels"])
    test_images, test_labels = _read_split(directory, FILES["test_images"], FILES["test_labels"])
    if (len(train_labels), len(test_labels)) == (TEST_SIZE, TRAIN_SIZE):  # the known sizes, the wrong way round
        raise DataFileError(
            f"{directory}: the training files hold {len(train_labels)} images and the test files {len(test_labels)}, but "
            f"Fashion-MNIST has {TRAIN_SIZE} training and {TEST_SIZE} test images: the {FILES['train_images']} and "
            f"{FILES['test_images']} files (and their labels) look swapped; rename them"
        )
    return Dataset("fashion-mnist", train_images, train_labels, test_images, test_labels, list(CLASS_NAMES))
