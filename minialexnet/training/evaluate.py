"""Top-1 and top-5 error, as the paper reports them (Section 6), with 1 or 10 crops.

``python -m minialexnet.evaluate --checkpoint runs/x/best.npz --data sample [--eval-crops 10]``

The command refuses, in one ``error:`` line (exit code 2), a checkpoint it cannot read and
data whose channels or classes differ from the model's. ``--eval-crops 10`` on a model
trained on whole resized images (no ``--augment``) is allowed, with a one-line warning:
the ten crops are patches of an enlargement it never saw, so it scores lower, which is
worth seeing rather than forbidding. Without a terminal a progress line is printed every
``--progress-every`` batches.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, get_array_module
from minialexnet.data import DataFileError, Dataset, load_dataset
from minialexnet.data.transforms import Preprocess, crop_source_size
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP
from minialexnet.layers import Sequential, SoftmaxCrossEntropy
from minialexnet.threads import ThreadSettingError
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Parser, Progress, device_name, one_line_warnings, positive_int, select_device


def topk_correct(scores: Any, labels: Any, k: int) -> int:
    """How many rows of ``scores`` (N, K) have their label among the ``k`` highest scores."""
    xp = get_array_module(scores)
    k = min(k, scores.shape[1])
    top = xp.argsort(-scores, axis=1)[:, :k]
    return int((top == labels[:, None]).any(axis=1).sum())


def evaluate_model(
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    preprocess: Preprocess,
    device: str = "cpu",
    batch_size: int = 256,
    eval_crops: int = 1,
    progress: bool = False,
    progress_every: int = 0,
) -> dict[str, float]:
    """Loss, top-1 and top-5 error of ``model`` (in eval mode) on uint8 ``images``.

    With ``eval_crops=10`` the softmax outputs of the ten patches are averaged (Section 4.1)
    and the loss is the cross-entropy of that average. ``progress``: a bar; else a line
    every ``progress_every`` batches (0: none).
    """
    if eval_crops not in (1, 10):
        raise ValueError(f"eval_crops must be 1 or 10, got {eval_crops}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(labels) == 0:
        raise ValueError("no images to evaluate: the split is empty")
    loss_layer = SoftmaxCrossEntropy()
    total_loss, top1, top5 = 0.0, 0, 0
    bar = Progress(-(-len(labels) // batch_size), "evaluating", progress, progress_every)
    for step, start in enumerate(range(0, len(labels), batch_size), start=1):
        batch = images[start : start + batch_size]
        y = labels[start : start + batch_size]
        if eval_crops == 1:
            logits = model.forward(preprocess(batch, device, train=False), train=False)
            xp = get_array_module(logits)
            y_dev = xp.asarray(y)
            total_loss += loss_layer.forward(logits, y_dev) * len(y)
            scores = logits
        else:
            crops = preprocess.ten_crops(batch, device)
            probs = sum(loss_layer.predict_proba(model.forward(crop, train=False)) for crop in crops) / len(crops)
            xp = get_array_module(probs)
            y_dev = xp.asarray(y)
            total_loss += float(-xp.log(xp.maximum(probs[xp.arange(len(y)), y_dev], 1e-12)).sum())
            scores = probs
        top1 += topk_correct(scores, y_dev, 1)
        top5 += topk_correct(scores, y_dev, 5)
        bar.update(step)
    bar.close()
    count = len(labels)
    return {"loss": total_loss / count, "top1_error": 1 - top1 / count, "top5_error": 1 - top5 / count}


def check_fits(checkpoint: Checkpoint, dataset: Dataset) -> None:
    """Raise CheckpointError when the data's channels or classes differ from the model's (saying which)."""
    config = checkpoint.config
    channels = dataset.image_shape[0]
    if channels != config.in_channels:
        raise CheckpointError(
            f"{checkpoint.path}: the model takes {config.in_channels}-channel images but {dataset.name} has {channels}-channel ones; "
            f"evaluate it on data like its training data ({checkpoint.meta.data or 'unknown'!r})"
        )
    if dataset.num_classes != config.num_classes:
        raise CheckpointError(
            f"{checkpoint.path}: the model has {config.num_classes} classes but {dataset.name} has {dataset.num_classes}; "
            f"evaluate it on data like its training data ({checkpoint.meta.data or 'unknown'!r})"
        )


def ten_crop_warning(preprocess: Preprocess) -> str | None:
    """Why 10-crop testing will score lower, for a model trained on whole resized images (None otherwise)."""
    if preprocess.crop_from:
        return None
    s, S = preprocess.input_size, crop_source_size(preprocess.input_size)
    return (
        f"warning: this model was trained on whole images resized to {s}x{s} (no --augment or --eval-crops 10), so 10-crop "
        f"testing shows it {s}x{s} patches of a {S}x{S} enlargement it never saw and scores lower; train with --augment for it"
    )


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m minialexnet.evaluate", description="Top-1 and top-5 error of a checkpoint on a test split.")
    parser.add_argument("--checkpoint", required=True, help="a .npz written by minialexnet.train")
    parser.add_argument("--data", default="sample", help="sample, fashion-mnist, cifar10:PATH or a folder (default: sample)")
    parser.add_argument("--split", choices=("test", "train"), default="test", help="which split to evaluate (default: test)")
    parser.add_argument("--eval-crops", type=int, choices=(1, 10), default=1, help="1 centre crop, or the paper's 10 crops (default: 1)")
    parser.add_argument("--device", type=device_name, default="cpu", help="cpu, gpu or gpu:N (default: cpu)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto", help=ENGINE_HELP)
    parser.add_argument("--batch-size", type=positive_int, default=256, help="images per forward pass (default: 256)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, help="a progress bar (default: when stderr is a terminal)")
    parser.add_argument("--progress-every", type=int, default=20, metavar="N", help="without a bar, a line every N batches (default: 20)")
    args = parser.parse_args(argv)
    one_line_warnings()
    try:
        select_device(args.device, args.engine)
        checkpoint = Checkpoint(args.checkpoint)
        dataset = load_dataset(args.data)
        check_fits(checkpoint, dataset)
        model = checkpoint.build_model(args.device, args.engine)
        preprocess = checkpoint.preprocess()
    except (DeviceUnavailableError, CheckpointError, DataFileError, ThreadSettingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    warning = ten_crop_warning(preprocess) if args.eval_crops == 10 else None
    if warning:
        print(warning, file=sys.stderr)
    images, labels = (dataset.test_images, dataset.test_labels) if args.split == "test" else (dataset.train_images, dataset.train_labels)
    bar = sys.stderr.isatty() if args.progress is None else args.progress
    every = args.progress_every if args.progress is not False else 0
    result = evaluate_model(model, images, labels, preprocess, args.device, args.batch_size, args.eval_crops, bar, every)
    print(f"{args.checkpoint} on {dataset.name} {args.split} ({len(labels)} images, {args.eval_crops} crop(s)):")
    print(f"  top-1 error {result['top1_error']:.4f}  (accuracy {1 - result['top1_error']:.4f})")
    print(f"  top-5 error {result['top5_error']:.4f}")
    print(f"  loss        {result['loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
