"""The five most likely classes for any image Pillow can open.

``python -m minialexnet.predict --checkpoint runs/mini-sample/best.npz shirt.png boot.jpg``

Each image is converted to the model's channels (grey or RGB), its shorter side scaled to
the training images' size and the centre cut out, then preprocessed exactly as the
training images were. (Fashion-MNIST shows light clothes on black; a photo of a dark shirt
on white is far from anything the model saw.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, asnumpy, check_device, use_device
from minialexnet.data import DataFileError
from minialexnet.data.folder import load_image
from minialexnet.engines import ENGINE_CHOICES
from minialexnet.fast.parallel import ThreadSettingError, get_num_threads
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Parser, device_name, one_line_warnings


def predict_images(
    checkpoint: Checkpoint, paths: list[str | Path], device: str = "cpu", top: int = 5, engine: str = "auto"
) -> list[list[tuple[str, float]]]:
    """For each image, the ``top`` (class name, probability) pairs, most likely first."""
    model = checkpoint.build_model(device, engine).eval()
    preprocess = checkpoint.preprocess()
    channels, height, _ = checkpoint.meta.get("image_shape", [checkpoint.config.in_channels, preprocess.input_size, preprocess.input_size])
    batch = np.stack([load_image(path, size=height, channels=channels) for path in paths])
    logits = model.forward(preprocess(batch, device, train=False), train=False)
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
        "--engine", choices=ENGINE_CHOICES, default="auto", help="auto (fast on a CPU, reference on a GPU), reference, fast"
    )
    parser.add_argument("images", nargs="+", help="image files (any format Pillow reads)")
    args = parser.parse_args(argv)
    one_line_warnings()
    try:
        check_device(args.device)
        get_num_threads()  # a bad thread setting is reported here, not mid-run
        use_device(args.device)
        results = predict_images(Checkpoint(args.checkpoint), args.images, args.device, engine=args.engine)
    except (DeviceUnavailableError, CheckpointError, DataFileError, ThreadSettingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, ranking in zip(args.images, results, strict=True):
        print(path)
        for name, probability in ranking:
            print(f"  {probability:7.2%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
