"""The five most likely classes for any image Pillow can open.

``python -m minialexnet.predict --checkpoint runs/mini-sample/best.npz shirt.png boot.jpg``

Each image is converted to the model's channels (grey or RGB), its shorter side scaled to
the training images' size and the centre cut out, then preprocessed exactly as the
training images were. An image that cannot be read is named in an ``error:`` line; the
others are still predicted, and the exit code is 2.

Polarity (``--invert auto|yes|no``): Fashion-MNIST shows light clothes on black, while a
photo usually shows a dark object on a light background, which the model never saw. A
model trained on mostly dark images (mean pixel below ``DARK_TRAINING_MEAN``) gets, under
``auto``, each image whose border is brighter than its centre inverted (255 - x), and a
note saying so; ``yes`` inverts every image, ``no`` none.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, asnumpy
from minialexnet.data import DataFileError
from minialexnet.data.folder import load_image
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP
from minialexnet.fast.parallel import ThreadSettingError
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Parser, device_name, one_line_warnings, select_device

DARK_TRAINING_MEAN = 96.0  # of 255: Fashion-MNIST's mean pixel is 73, CIFAR-10's about 120
BORDER = 1 / 8  # the border: this fraction of the side on each edge; the centre: the middle half


def trained_on_dark(checkpoint: Checkpoint) -> bool:
    """Whether the training images were mostly dark (light objects on black), from the stored mean pixel."""
    return float(np.mean(checkpoint.preprocess_state["mean_values"])) < DARK_TRAINING_MEAN


def border_brighter_than_centre(image: np.ndarray) -> bool:
    """For a uint8 (C, s, s) image: is the mean of its border ring above the mean of its centre?"""
    size = image.shape[-1]
    edge, quarter = max(1, round(size * BORDER)), size // 4
    ring = np.ones(image.shape[-2:], dtype=bool)
    ring[edge:-edge, edge:-edge] = False
    centre = image[:, quarter : size - quarter, quarter : size - quarter]
    return float(image[:, ring].mean()) > float(centre.mean())


def image_shape(checkpoint: Checkpoint) -> tuple[int, int]:
    """(channels, side) of the images the checkpoint's model was trained on."""
    size = checkpoint.preprocess().input_size
    channels, height, _ = checkpoint.meta.get("image_shape", [checkpoint.config.in_channels, size, size])
    return channels, height


def predict_images(
    checkpoint: Checkpoint,
    paths: list[str | Path],
    device: str = "cpu",
    top: int = 5,
    invert: str = "no",
    engine: str = "auto",
) -> list[list[tuple[str, float]]]:
    """For each image file, the ``top`` (class name, probability) pairs, most likely first; ``invert`` as ``--invert``."""
    channels, side = image_shape(checkpoint)
    images = [load_image(path, side, channels) for path in paths]
    return predict_arrays(checkpoint, paths, images, device, top, invert, engine)


def predict_arrays(
    checkpoint: Checkpoint, paths: list[str | Path], images: list[np.ndarray], device: str, top: int, invert: str, engine: str = "auto"
) -> list[list[tuple[str, float]]]:
    """``predict_images`` on images already read (uint8 (C, s, s) each, from ``image_shape``); ``paths`` name them."""
    model = checkpoint.build_model(device, engine).eval()
    preprocess = checkpoint.preprocess()
    dark = invert == "auto" and trained_on_dark(checkpoint)
    images = list(images)
    for index, (path, image) in enumerate(zip(paths, images, strict=True)):
        if invert == "yes" or (dark and border_brighter_than_centre(image)):
            images[index] = 255 - image
            if invert == "auto":
                print(
                    f"note: {path}: its border is brighter than its centre, but the model was trained on light objects on dark: "
                    "inverted it (--invert no keeps it as it is)"
                )
    logits = model.forward(preprocess(np.stack(images), device, train=False), train=False)
    probabilities: Any = asnumpy(SoftmaxCrossEntropy().predict_proba(logits))
    names = checkpoint.class_names
    results = []
    for row in probabilities:
        order = np.argsort(-row)[: min(top, len(row))]
        results.append([(names[i], float(row[i])) for i in order])
    return results


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
    parser.add_argument("images", nargs="+", help="image files (any format Pillow reads)")
    args = parser.parse_args(argv)
    one_line_warnings()
    try:
        select_device(args.device)
        checkpoint = Checkpoint(args.checkpoint)
        channels, side = image_shape(checkpoint)  # a checkpoint that cannot prepare images fails before any image is read
    except (DeviceUnavailableError, CheckpointError, DataFileError, ThreadSettingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    readable, images, code = [], [], 0
    for path in args.images:
        try:
            images.append(load_image(path, side, channels))
            readable.append(path)
        except DataFileError as error:  # named, and the other images are still predicted
            print(f"error: {error}", file=sys.stderr)
            code = 2
    if not readable:
        return code
    try:
        results = predict_arrays(checkpoint, readable, images, args.device, 5, args.invert, args.engine)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, ranking in zip(readable, results, strict=True):
        print(path)
        for name, probability in ranking:
            print(f"  {probability:7.2%}  {name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
