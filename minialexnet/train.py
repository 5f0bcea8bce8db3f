"""Train AlexNet: ``python -m minialexnet.train`` (or the ``minialexnet-train`` script).

With no options it trains the ``mini`` config on the built-in Fashion-MNIST sample on the
CPU. The paper's recipe on a GPU (Section 5; Fashion-MNIST upsampled to 227x227)::

    python -m minialexnet.train --device gpu --config fashion --data fashion-mnist \\
        --epochs 10 --batch-size 128 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --init paper

Each epoch shows a progress bar, then one line of metrics. ``--out`` receives
``metrics.csv``, ``last.npz``, ``best.npz``, ``curves.png`` and ``filters.png``.
Ctrl-C saves ``last.npz`` (resume with ``--resume OUT/last.npz``); a NaN loss stops the run
and keeps the last good checkpoint.

Many processes (distributed.py, towers.py): ``mpiexec -n K python -m minialexnet.train
--distributed ...`` trains data-parallel (``--batch-size`` stays the global batch), and
``mpiexec -n 2 python -m minialexnet.train --towers 2 --config paper-2gpu ...`` runs the
paper's two towers on two ranks; rank 0 alone prints and writes.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from minialexnet import distributed
from minialexnet.backend import DeviceUnavailableError, check_device, use_device
from minialexnet.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from minialexnet.data import BatchLoader, DataFileError, Dataset, load_dataset
from minialexnet.data.transforms import Preprocess, crop_source_size
from minialexnet.evaluate import evaluate_model, topk_correct
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import CONFIGS, CONV_ALGORITHMS, INIT_SCHEMES, AlexNet, alexnet
from minialexnet.optim import SGD, ReduceOnPlateau, StepSchedule
from minialexnet.parallel import ThreadSettingError, get_num_threads
from minialexnet.plots import plot_curves, plot_filters
from minialexnet.towers import Towers

METRIC_FIELDS = [
    "epoch",
    "train_loss",
    "train_top1_error",
    "train_top5_error",
    "val_loss",
    "val_top1_error",
    "val_top5_error",
    "lr",
    "seconds",
]


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minialexnet.train",
        description="Train AlexNet (Krizhevsky et al. 2012) with the paper's recipe. With no options: "
        "the 'mini' config on the built-in Fashion-MNIST sample, on the CPU.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--device", default="cpu", help="cpu, gpu or gpu:N")
    add("--config", default="mini", choices=sorted(CONFIGS), help="network size (see minialexnet.models)")
    add(
        "--conv",
        default="auto",
        choices=CONV_ALGORITHMS,
        help="convolution algorithm: auto (Winograd for conv2-5, im2col for conv1), im2col, or winograd wherever the stride is 1",
    )
    add(
        "--data",
        default="sample",
        help="sample (built in), fashion-mnist (searched or downloaded), cifar10:PATH, or a folder of class sub-folders",
    )
    add("--epochs", type=int, default=8, help="total number of epochs (a resumed run continues up to this number)")
    add("--batch-size", type=int, default=128, help="images per SGD step (the paper: 128)")
    add("--lr", type=float, default=None, help="initial learning rate; default: the config's (the paper: 0.01; mini: 0.02)")
    add("--momentum", type=float, default=0.9, help="SGD momentum (the paper: 0.9)")
    add("--weight-decay", type=float, default=5e-4, help="weight decay inside the velocity update (the paper: 0.0005)")
    add(
        "--init",
        default=None,
        choices=INIT_SCHEMES,
        help="weight initialisation; default: the config's (paper: N(0, 0.01), biases 1 in conv2/4/5, fc6, fc7)",
    )
    add(
        "--schedule",
        default="plateau",
        choices=("plateau", "step", "none"),
        help="plateau: divide lr by 10 when validation error stops improving (the paper)",
    )
    add("--patience", type=int, default=2, help="epochs without improvement before the plateau schedule divides lr by 10")
    add("--step-size", type=int, default=10, help="epochs between divisions for the step schedule")
    add("--seed", type=int, default=0, help="seeds initialisation, shuffling, augmentation and dropout")
    add("--out", default=None, help="output folder (default: runs/<config>-<data>)")
    add("--resume", default=None, metavar="CKPT", help="continue from a checkpoint (e.g. runs/x/last.npz) with the next epoch")
    add("--augment", action=argparse.BooleanOptionalAction, default=False, help="random crops, flips and PCA colour noise (Section 4.1)")
    add("--eval-crops", type=int, choices=(1, 10), default=1, help="evaluate with the centre crop or the paper's 10 crops")
    add(
        "--scale",
        default=None,
        choices=("paper", "unit", "standard"),
        help="paper: 0..255 minus the mean; unit: (x - mean)/255; standard: (x - mean)/std; "
        "default: the config's (paper, or standard for mini)",
    )
    add("--mean", default="pixel", choices=("pixel", "image"), help="subtract the mean pixel or the mean image of the training set")
    add(
        "--val-fraction",
        type=float,
        default=0.0,
        help="hold out this fraction of the training set for validation; 0 validates on the test split",
    )
    add("--limit", type=int, default=None, metavar="N", help="use N training images (and N/5 test images), for quick runs")
    add("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bars (default: when the output is a terminal)")
    add(
        "--distributed",
        action="store_true",
        help="data-parallel SGD over the ranks of an MPI job (mpiexec -n K python -m minialexnet.train --distributed); "
        "--batch-size stays the global batch",
    )
    add(
        "--towers",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: the paper's two towers (Section 3.2) on two ranks, with --config paper-2gpu (mpiexec -n 2; "
        "with --distributed, 2 x K ranks)",
    )
    return parser


def make_preprocess(model: AlexNet, dataset: Dataset, args: argparse.Namespace) -> Preprocess:
    size = model.config.input_size
    crops = args.augment or args.eval_crops == 10
    return Preprocess(
        input_size=size,
        crop_from=crop_source_size(size) if crops else 0,
        scale=args.scale or model.config.default_scale,
        mean=args.mean,
        augment=args.augment,
        pca_std=0.1 if args.augment else 0.0,
    ).fit(dataset.train_images, seed=args.seed)


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        for row in history:
            writer.writerow({key: row[key] for key in METRIC_FIELDS})


def train_epoch(model, loss_layer, optimizer, loader, epoch, epochs, progress, parallel=None) -> dict[str, float]:
    """One pass over the training set; returns its loss and top-1/top-5 error (dropout on).

    ``parallel`` (distributed.DataParallel): this rank trains on its share of each batch
    and the gradients are summed over the ranks before the update.
    """
    model.train()
    total, loss_sum, top1, top5, started = 0, 0.0, 0, 0, time.perf_counter()
    bar = tqdm(
        loader.epoch(epoch),
        total=len(loader),
        desc=f"epoch {epoch}/{epochs}",
        unit="batch",
        leave=False,
        disable=not progress,
        file=sys.stderr,
    )
    for step, (x, y) in enumerate(bar, start=1):
        global_count = len(y)
        if parallel is not None:
            x, y = parallel.local_batch(x, y)
        logits = model.forward(x, train=True)
        loss = loss_layer.forward(logits, y)
        if not math.isfinite(loss):
            bar.close()
            raise TrainingDivergedError(
                f"the loss became {loss} at epoch {epoch}, step {step}; try a lower learning rate (--lr {optimizer.lr / 10:g})"
            )
        model.backward(loss_layer.backward())
        if parallel is not None:
            parallel.allreduce_gradients(len(y), global_count)
        optimizer.step(model.params, model.grads)
        n = len(y)
        total += n
        loss_sum += loss * n
        top1 += topk_correct(logits, y, 1)
        top5 += topk_correct(logits, y, 5)
        bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{top1 / total:.3f}", img_s=f"{total / (time.perf_counter() - started):.0f}")
    if parallel is not None:
        total, loss_sum, top1, top5 = parallel.sum_values(total, loss_sum, top1, top5)
    return {"train_loss": loss_sum / total, "train_top1_error": 1 - top1 / total, "train_top5_error": 1 - top5 / total}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train as ``args`` says; returns the final metrics. Raises on bad input (see ``main``)."""
    check_device(args.device)
    get_num_threads()  # a bad thread setting is reported here, not mid-run
    comm = None
    if args.distributed or args.towers > 1:
        comm, args.device = distributed.setup(args.device)  # this rank's device; ranks other than 0 stop printing
    use_device(args.device)
    dataset = load_dataset(args.data).limit(args.limit, args.seed)
    val_images, val_labels = dataset.test_images, dataset.test_labels
    if args.val_fraction > 0:
        dataset, (val_images, val_labels) = dataset.split_validation(args.val_fraction, args.seed)
    model = alexnet(
        args.config,
        num_classes=dataset.num_classes,
        in_channels=dataset.image_shape[0],
        init=args.init,
        seed=args.seed,
        conv_algorithm=args.conv,
    ).to(args.device)
    preprocess = make_preprocess(model, dataset, args)
    optimizer = SGD(args.lr or model.config.default_lr, args.momentum, args.weight_decay)
    schedule = {"plateau": ReduceOnPlateau(args.patience), "step": StepSchedule(args.step_size), "none": None}[args.schedule]
    out = Path(args.out or f"runs/{args.config}-{Path(args.data).name}")
    out.mkdir(parents=True, exist_ok=True)
    history: list[dict[str, Any]] = []
    start_epoch, best_error = 0, float("inf")
    if args.resume:
        checkpoint = Checkpoint(args.resume)
        checkpoint.load_into(model)
        optimizer.load_state_dict(checkpoint.velocities, model.params)
        optimizer.lr = checkpoint.meta["lr"]
        model.set_rng_state(checkpoint.meta["rng"])
        if schedule is not None and checkpoint.meta.get("schedule"):
            schedule.load_state_dict(checkpoint.meta["schedule"])
        history = checkpoint.meta["history"]
        start_epoch, best_error = checkpoint.meta["epoch"], checkpoint.meta["best_val_error"]
        print(f"resuming from {args.resume} after epoch {start_epoch}")
    writes = comm is None or comm.rank == 0  # rank 0 alone writes checkpoints, metrics and plots
    towers = None
    if args.towers > 1:  # from here on, model is this rank's tower and comm joins the ranks that hold the same tower
        towers = Towers(comm, args.towers, model, optimizer)
        model, comm = towers.tower, towers.data_comm
        if comm.size > 1 and not args.distributed:
            ranks = args.towers * comm.size
            raise distributed.DistributedError(f"--towers {args.towers} on {ranks} ranks: add --distributed, or launch {args.towers} ranks")
    parallel = distributed.DataParallel(comm, model) if args.distributed else None
    evaluate = parallel.evaluate if parallel is not None else evaluate_model
    progress = (sys.stderr.isatty() if args.progress is None else args.progress) and writes
    train_loader = BatchLoader(dataset.train_images, dataset.train_labels, preprocess, args.batch_size, seed=args.seed, device=args.device)
    loss_layer = SoftmaxCrossEntropy()
    print(
        f"training '{args.config}' ({model.num_params:,} parameters) on {dataset.name}: {len(dataset.train_labels)} train, "
        f"{len(val_labels)} validation images, device {args.device}, output {out}"
    )

    def meta(epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "lr": optimizer.lr,
            "rng": model.get_rng_state(),
            "schedule": schedule.state_dict() if schedule is not None else None,
            "history": history,
            "best_val_error": best_error,
            "class_names": dataset.class_names,
            "image_shape": list(dataset.image_shape),
            "data": args.data,
            "seed": args.seed,
        }

    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, args.epochs + 1):
            started = time.perf_counter()
            lr = optimizer.lr
            row = train_epoch(model, loss_layer, optimizer, train_loader, epoch, args.epochs, progress, parallel)
            val = evaluate(model, val_images, val_labels, preprocess, args.device, eval_crops=args.eval_crops)
            row.update(epoch=epoch, val_loss=val["loss"], val_top1_error=val["top1_error"], val_top5_error=val["top5_error"], lr=lr)
            row["seconds"] = time.perf_counter() - started
            history.append(row)
            if schedule is not None:
                schedule.step(optimizer, val["top1_error"])
            print(
                f"epoch {epoch:>3}/{args.epochs}  train loss {row['train_loss']:.4f}  top-1 err {row['train_top1_error']:.4f}  "
                f"top-5 err {row['train_top5_error']:.4f} | val top-1 err {row['val_top1_error']:.4f}  top-5 err "
                f"{row['val_top5_error']:.4f} | lr {lr:.0e} | {row['seconds']:.1f} s",
                flush=True,
            )
            improved = val["top1_error"] < best_error
            best_error = min(best_error, val["top1_error"])
            whole, velocity = towers.whole() if towers is not None else (model, optimizer.velocity)
            if not writes:
                continue
            save_checkpoint(out / "last.npz", whole, meta(epoch), velocity, preprocess)
            if improved:
                save_checkpoint(out / "best.npz", whole, meta(epoch), velocity, preprocess)
            write_metrics(out / "metrics.csv", history)
            plot_curves(history, out / "curves.png")
            plot_filters(whole["conv1"].params["W"], out / "filters.png", f"conv1 kernels after epoch {epoch}")
    except KeyboardInterrupt:
        # the weights are mid-epoch; the counter says the last completed epoch, so a resume repeats this one
        if writes and towers is None:  # the towers' halves cannot be joined while the other ranks stop
            save_checkpoint(out / "last.npz", model, meta(epoch - 1), optimizer.velocity, preprocess)
            print(f"\ninterrupted during epoch {epoch}: saved {out / 'last.npz'}; continue with --resume {out / 'last.npz'}")
        raise
    if history:
        accuracy, top5 = 1 - history[-1]["val_top1_error"], 1 - history[-1]["val_top5_error"]
        print(f"done: validation top-1 accuracy {accuracy:.4f}, top-5 accuracy {top5:.4f}; outputs in {out}")
    return {"out": out, "history": history, "model": model, "preprocess": preprocess}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.distributed or args.towers > 1:  # a rank that fails ends the whole job (no rank left waiting)
        return distributed.end_job_on_failure(distributed.MPICommunicator, lambda: run_and_report(args))
    return run_and_report(args)


def run_and_report(args: argparse.Namespace) -> int:
    """``run(args)``, its errors printed as one line each; returns the exit code."""
    try:
        run(args)
    except (DeviceUnavailableError, DataFileError, CheckpointError, ThreadSettingError, distributed.DistributedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"error: training diverged: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
