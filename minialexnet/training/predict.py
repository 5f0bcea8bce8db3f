"""The five most likely classes for any image Pillow can open.

``python -m minialexnet.predict --checkpoint runs/mini-sample/best.npz shirt.png boot.jpg``

Each image is turned upright by its EXIF orientation (a phone's sideways photo), converted
to the model's channels (grey or RGB), its shorter side scaled to the training images'
size and the centre cut out, then preprocessed exactly as the training images were. The
images go through the network ``--batch-size`` at a time, and each batch's results are
printed as soon as they are known, so memory stays flat however many images are named. An
image that cannot be read is named in an ``error:`` line; the others are still predicted,
and the exit code is 2. Results go to stdout; notes and errors to stderr.

Polarity (``--invert auto|yes|no``): Fashion-MNIST shows light clothes on black, while a
photo usually shows a dark object on a light background, which the model never saw. A
model trained on mostly dark images (mean pixel below ``DARK_TRAINING_MEAN``) gets, under
``auto``, each image on a light background inverted (255 - x), with a note saying so: its
border's mean is at least ``LIGHT_BORDER`` and above its centre's. No genuine Fashion-MNIST
image meets that: the brightest border of the 70,000 has a mean of 166 (of 255); a photo on
a white or light-grey background is above 200. ``yes`` inverts every image, ``no`` none.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, asnumpy
from minialexnet.data import DataFileError
from minialexnet.data.folder import load_image
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.threads import ThreadSettingError
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Parser, device_name, one_line_warnings, positive_int, select_device

DARK_TRAINING_MEAN = 96.0  # of 255: Fashion-MNIST's mean pixel is 73, CIFAR-10's about 120
LIGHT_BORDER = 192.0  # of 255: a border this bright is a light background (Fashion-MNIST's brightest: 166)
BORDER = 1 / 8  # the border: this fraction of the side on each edge; the centre: the middle half
BATCH_SIZE = 32  # images a forward pass: memory flat in the number of images (a 227x227 model: about 0.5 GB)

Ranking = list[tuple[str, float]]


def trained_on_dark(checkpoint: Checkpoint) -> bool:
    """Whether the training images were mostly dark (light objects on black), from the stored mean pixel."""
    return float(np.mean(checkpoint.preprocess_state["mean_values"])) < DARK_TRAINING_MEAN


def border_and_centre(image: np.ndarray) -> tuple[float, float]:
    """For a uint8 (C, s, s) image: the mean of its border ring and the mean of its centre (the middle half)."""
    size = image.shape[-1]
    edge, quarter = max(1, round(size * BORDER)), size // 4
    ring = np.ones(image.shape[-2:], dtype=bool)
    ring[edge:-edge, edge:-edge] = False
    centre = image[:, quarter : size - quarter, quarter : size - quarter]
    return float(image[:, ring].mean()), float(centre.mean())


def on_light_background(image: np.ndarray) -> bool:
    """Whether a uint8 (C, s, s) image shows a darker object on a light background (module docstring)."""
    border, centre = border_and_centre(image)
    return border >= LIGHT_BORDER and border > centre


def image_shape(checkpoint: Checkpoint) -> tuple[int, int]:
    """(channels, side) of the images the checkpoint's model was trained on."""
    size = checkpoint.preprocess().input_size
    channels, height, _ = checkpoint.meta.image_shape or [checkpoint.config.in_channels, size, size]
    return channels, height


def predict_batches(
    checkpoint: Checkpoint,
    paths: list[str | Path],
    device: str = "cpu",
    top: int = 5,
    invert: str = "no",
    engine: str = "auto",
    batch_size: int = BATCH_SIZE,
    unreadable: Callable[[DataFileError], None] | None = None,
) -> Iterator[tuple[str | Path, Ranking]]:
    """(path, its ``top`` (class name, probability) pairs, most likely first) for each image, ``batch_size`` images a
    forward pass, each batch read only when the one before is done. ``invert`` as ``--invert``. An unreadable image
    raises DataFileError, or, given ``unreadable``, is handed to it and skipped."""
    model = checkpoint.build_model(device, engine).eval()
    preprocess, names = checkpoint.preprocess(), checkpoint.class_names
    channels, side = image_shape(checkpoint)
    dark = invert == "auto" and trained_on_dark(checkpoint)
    for start in range(0, len(paths), batch_size):
        read, images = [], []
        for path in paths[start : start + batch_size]:
            try:
                image = load_image(path, side, channels)
            except DataFileError as error:
                if unreadable is None:
                    raise
                unreadable(error)
                continue
            if invert == "yes" or (dark and on_light_background(image)):
                image = 255 - image
                if invert == "auto":
                    print(
                        f"note: {path}: a light background, but the model was trained on light objects on dark: inverted it "
                        "(--invert no keeps it as it is)",
                        file=sys.stderr,
                    )
            read.append(path)
            images.append(image)
        if not images:
            continue
        logits = model.forward(preprocess(np.stack(images), device, train=False), train=False)
        probabilities: Any = asnumpy(SoftmaxCrossEntropy().predict_proba(logits))
        for path, row in zip(read, probabilities, strict=True):
            order = np.argsort(-row)[: min(top, len(row))]
            yield path, [(names[i], float(row[i])) for i in order]


def predict_images(
    checkpoint: Checkpoint,
    paths: list[str | Path],
    device: str = "cpu",
    top: int = 5,
    invert: str = "no",
    engine: str = "auto",
) -> list[Ranking]:
    """For each image file, the ``top`` (class name, probability) pairs, most likely first (``predict_batches``)."""
    return [ranking for _, ranking in predict_batches(checkpoint, paths, device, top, invert, engine)]


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m minialexnet.predict", description="Top-5 classes with probabilities for each image.")
    parser.add_argument("--checkpoint", required=True, help="a .npz written by minialexnet.train")
    parser.add_argument("--device", type=device_name, default="cpu", help="cpu, gpu or gpu:N (default: cpu)")
    parser.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert the images (255 - x); auto: those whose border is brighter than their centre, for a model trained "
        "on light objects on dark such as Fashion-MNIST (default: auto)",
    )
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto", help=ENGINE_HELP)
    parser.add_argument(
        "--batch-size", type=positive_int, default=BATCH_SIZE, help=f"images a forward pass; memory grows with it (default: {BATCH_SIZE})"
    )
    parser.add_argument("images", nargs="+", help="image files (any format Pillow reads)")
    args = parser.parse_args(argv)
    one_line_warnings()
    try:
        select_device(args.device, args.engine)
        checkpoint = Checkpoint(args.checkpoint)
        image_shape(checkpoint)  # a checkpoint that cannot prepare images fails before any image is read
    except (DeviceUnavailableError, CheckpointError, DataFileError, ThreadSettingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = []

    def unreadable(error: DataFileError) -> None:  # named at once; the other images are still predicted
        print(f"error: {error}", file=sys.stderr, flush=True)
        failed.append(error)

    try:
        for path, ranking in predict_batches(
            checkpoint, args.images, args.device, 5, args.invert, args.engine, args.batch_size, unreadable
        ):
            print(path)
            for name, probability in ranking:
                print(f"  {probability:7.2%}  {name}")
            sys.stdout.flush()
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
