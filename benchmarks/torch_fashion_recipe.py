"""The same training recipe in PyTorch, for timing and accuracy comparisons with minialexnet.train.

    python benchmarks/torch_fashion_recipe.py --device gpu --config fashion --data fashion-mnist \\
        --epochs 10 --batch-size 128 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --init paper [--tf32]

It takes minialexnet.train's options and shares everything but the network arithmetic with
it: the dataset, the preprocessing and batches (minialexnet's ``Preprocess`` and
``BatchLoader``, on the same device), the initial weights (copied from minialexnet's
``alexnet()`` with the same seed), the learning-rate schedule, and the paper's update
``v <- m v - wd lr w - lr g; w <- w + v`` (written out here; ``torch.optim.SGD`` puts lr
outside the velocity, which differs once the schedule changes lr). Only the dropout masks
differ (PyTorch's generator). On a GPU the batches pass from CuPy to PyTorch by DLPack,
without a copy.

Prints one line per epoch and a summary; ``--json FILE`` keeps the figures.
"""

from __future__ import annotations

import json
import sys
import time
from types import SimpleNamespace
from typing import Any

import numpy as np


def _to_torch(array: Any, torch: Any, device: str) -> Any:
    if isinstance(array, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)
    return torch.from_dlpack(array)  # a CuPy array on the GPU


def _evaluate(model: Any, images: np.ndarray, labels: np.ndarray, preprocess: Any, args: Any, torch: Any, device: str) -> float:
    """Top-1 error on ``images`` with the centre crop (minialexnet.evaluate's default)."""
    model.eval()
    wrong = 0
    with torch.no_grad():
        for start in range(0, len(labels), 256):
            x = _to_torch(preprocess(images[start : start + 256], args.device, train=False), torch, device)
            predicted = model(x).argmax(dim=1).cpu().numpy()
            wrong += int(np.sum(predicted != labels[start : start + 256]))
    return wrong / len(labels)


def main(argv: list[str] | None = None) -> int:
    import torch

    from minialexnet.data import BatchLoader, load_dataset
    from minialexnet.models import alexnet
    from minialexnet.tools.interop import to_torch
    from minialexnet.training.train import build_parser, make_preprocess, make_schedule, with_defaults

    parser = build_parser()
    parser.prog = "python benchmarks/torch_fashion_recipe.py"
    parser.add_argument("--tf32", action="store_true", help="allow TF32 in PyTorch's matrix products and convolutions")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the figures as JSON")
    args = with_defaults(parser.parse_args(argv))  # the trainer's parser leaves unset options None
    device = "cuda" if args.device.startswith("gpu") else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        print("error: --device gpu needs a CUDA build of PyTorch and a GPU", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.manual_seed(args.seed)

    started = time.perf_counter()
    dataset = load_dataset(args.data).limit(args.limit, args.seed)
    shape = {"num_classes": dataset.num_classes, "in_channels": dataset.image_shape[0], "dropout": args.dropout}
    ours = alexnet(args.config, **shape, init=args.init, seed=args.seed)
    model = to_torch(ours, device)
    preprocess = make_preprocess(ours, dataset, args)
    loader = BatchLoader(dataset.train_images, dataset.train_labels, preprocess, args.batch_size, seed=args.seed, device=args.device)
    lr = args.lr or ours.config.default_lr
    schedule = make_schedule(args)
    velocities = [torch.zeros_like(p) for p in model.parameters()]
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        loss_sum, seen = 0.0, 0
        for x, y in loader.epoch(epoch):
            x, y = _to_torch(x, torch, device), _to_torch(y, torch, device).long()
            for p in model.parameters():
                p.grad = None
            loss = loss_fn(model(x), y)
            loss.backward()
            with torch.no_grad():  # the paper's update, Section 5
                for p, v in zip(model.parameters(), velocities, strict=True):
                    v.mul_(args.momentum).add_(p, alpha=-args.weight_decay * lr).add_(p.grad, alpha=-lr)
                    p.add_(v)
            loss_sum += float(loss.detach()) * len(y)
            seen += len(y)
        val_error = _evaluate(model, dataset.test_images, dataset.test_labels, preprocess, args, torch, device)
        if device == "cuda":
            torch.cuda.synchronize()
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "val_top1_error": val_error,
            "lr": lr,
            "seconds": time.perf_counter() - epoch_started,
        }
        history.append(row)
        print(
            f"epoch {epoch:>3}/{args.epochs}  train loss {row['train_loss']:.4f} | val top-1 err {val_error:.4f} | "
            f"lr {lr:.0e} | {row['seconds']:.1f} s",
            flush=True,
        )
        if schedule is not None:
            lr = schedule.step(SimpleNamespace(lr=lr), val_error)  # the schedules read and set .lr
    wall = time.perf_counter() - started
    accuracy = 1 - history[-1]["val_top1_error"]
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    tf32 = "on" if args.tf32 else "off"
    print(f"done: PyTorch {torch.__version__} on {name} (TF32 {tf32}): test accuracy {accuracy:.4f}, wall {wall:.1f} s")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(
                {"framework": "pytorch", "device": name, "tf32": args.tf32, "accuracy": accuracy, "wall_s": wall, "history": history}, file
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
