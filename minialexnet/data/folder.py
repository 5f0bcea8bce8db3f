"""An image-folder dataset: one sub-folder per class, images in any format Pillow reads.

Each image is prepared as in the paper (Section 2): converted to RGB, its shorter side
rescaled to 256, then the central 256x256 patch cut out. Everything is loaded into memory
as uint8 (N, 3, 256, 256), which suits course-sized folders (1,000 images take 200 MB);
ImageNet itself would need a streaming reader.

``root/train/<class>/...`` and ``root/test/<class>/...`` (or ``val``) give the two splits;
a root with class folders directly is split into train and test by ``test_fraction``.
Unreadable images (not images, damaged, or decompression bombs: more pixels than twice
Pillow's ``Image.MAX_IMAGE_PIXELS``) are skipped and named in one warning; a class folder
that is empty, or whose images are all unreadable, and an empty dataset are errors.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from minialexnet.data.dataset import Dataset
from minialexnet.data.idx import DataFileError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


SHOWN_SKIPPED = 5  # the warning names this many skipped files, then says how many more


# Pillow's modes with more than 8 bits a sample, and the value each one's white has
WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


def to_8_bit(image: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit, or float) greyscale image as 8-bit "L", scaled by its own range: its type's white becomes
    255 (Pillow's own conversion clips every value above 255 instead). A 32-bit "I" image whose values exceed
    65535 is scaled by its largest value."""
    if image.mode not in WIDE_MODES:
        return image
    values = np.asarray(image, dtype=np.float64)
    white = max(WIDE_MODES[image.mode], float(values.max()) if image.mode == "I" else 0.0)
    return Image.fromarray(np.clip(np.rint(values * (255.0 / white)), 0, 255).astype(np.uint8), "L")


def load_image(path: str | Path, size: int = 256, channels: int = 3) -> np.ndarray:
    """One image -> uint8 (channels, size, size): shorter side to ``size``, centre crop.

    Raises DataFileError naming the file when Pillow cannot read it; a decompression bomb
    is refused from its header, before any pixel is decoded. The EXIF orientation tag (a
    phone's sideways photo) is applied first. A 16-bit greyscale image is scaled to 8 bits
    by its range (``to_8_bit``), not clipped.
    """
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)  # a phone photo stored sideways, with its EXIF orientation tag
            image = to_8_bit(image).convert("RGB" if channels == 3 else "L")
            width, height = image.size
            scale = size / min(width, height)
            new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
            image = image.resize(new_size, Image.BILINEAR)
            left, top = (new_size[0] - size) // 2, (new_size[1] - size) // 2
            image = image.crop((left, top, left + size, top + size))
            array = np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as error:
        raise DataFileError(f"{path}: refused as a possible decompression bomb ({error})") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataFileError(f"{path}: cannot read the image ({error})") from None
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _named(paths: list[Path]) -> str:
    names = ", ".join(str(path) for path in paths[:SHOWN_SKIPPED])
    return names + (f" and {len(paths) - SHOWN_SKIPPED} more" if len(paths) > SHOWN_SKIPPED else "")


def _read_classes(root: Path, class_names: list[str] | None, size: int) -> tuple[np.ndarray, np.ndarray, list[str], list[Path]]:
    names = class_names or sorted(p.name for p in root.iterdir() if p.is_dir())
    if not names:
        raise DataFileError(f"{root}: no class folders (expected one sub-folder per class)")
    images, labels, skipped = [], [], []
    for label, name in enumerate(names):
        files = sorted(p for p in (root / name).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if (root / name).is_dir() else []
        if not files:
            raise DataFileError(f"{root / name}: class folder is empty or missing (no image files)")
        read = 0
        for path in files:
            try:
                images.append(load_image(path, size))
            except DataFileError:
                skipped.append(path)
                continue
            labels.append(label)
            read += 1
        if not read:
            raise DataFileError(f"{root / name}: none of its {len(files)} image files can be read ({_named(files)}); fix or remove them")
    return (
        np.stack(images) if images else np.zeros((0, 3, size, size), np.uint8),
        np.asarray(labels, dtype=np.int64),
        names,
        skipped,
    )


def load_image_folder(root: str | Path, size: int = 256, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Read ``root`` (see the module docstring) into a Dataset of uint8 (N, 3, size, size)."""
    root = Path(root)
    if not root.is_dir():
        raise DataFileError(f"{root}: not a folder")
    test_dir = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        train_images, train_labels, names, skipped = _read_classes(root / "train", None, size)
        test_images, test_labels, _, skipped_test = _read_classes(test_dir, names, size)
        skipped += skipped_test
    else:
        images, labels, names, skipped = _read_classes(root, None, size)
        order = np.random.default_rng(seed).permutation(len(labels))
        cut = round(len(order) * test_fraction)
        test, train = np.sort(order[:cut]), np.sort(order[cut:])
        train_images, train_labels, test_images, test_labels = images[train], labels[train], images[test], labels[test]
    if skipped:
        warnings.warn(f"{root}: skipped {len(skipped)} unreadable image(s): {_named(skipped)}", stacklevel=2)
    if len(train_labels) == 0:
        raise DataFileError(f"{root}: no readable training images")
    return Dataset(root.name or "images", train_images, train_labels, test_images, test_labels, names)
