"""Train AlexNet: ``python -m minialexnet.train`` (or the ``minialexnet-train`` script).

With no options it trains the ``mini`` config on the built-in Fashion-MNIST sample on the
CPU. The paper's recipe on a GPU (Section 5; Fashion-MNIST upsampled to 227x227)::

    python -m minialexnet.train --device gpu --config fashion --data fashion-mnist \\
        --epochs 10 --batch-size 128 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --init paper

A run is ``start`` (the device, the MPI job, the output folder, the data), ``build`` (the
network, optimizer and schedule, or ``restore`` them from ``--resume``), then for each epoch
``loop.train_epoch`` and ``finish_epoch`` (validate, print, ``save``, write the metrics and
plots). The jobs around it each have a module: the options (``options.py``), the resume
rules (``resume.py``), the output folder and its claim (``run_folder.py``), the stop signals
(``signals.py``), the epoch loop (``loop.py``), the metrics (``history.py``), the checkpoint
(``checkpoint.py``), many processes (``multi/``). What a run guarantees (nothing lost,
nothing silent) and every exit code: docs/reliability.md.

Exit codes (``main``): 0 done (or nothing left to train); 1 training diverged; 2 bad options,
data, checkpoint or device, or an output folder another live run holds; 3 an output file
could not be written (the message names it; the files written before are intact); 128 + N
stopped by signal N after saving ``last.npz`` (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from minialexnet.backend import DeviceUnavailableError, use_device
from minialexnet.data import BatchLoader, DataFileError, Dataset, load_dataset
from minialexnet.data.transforms import Preprocess, crop_source_size
from minialexnet.engines import EngineError, engine_module, optimizer_class
from minialexnet.models import AlexNet, alexnet
from minialexnet.multi import distributed
from minialexnet.multi.towers import Towers
from minialexnet.optim import CosineSchedule, ReduceOnPlateau, StepSchedule
from minialexnet.threads import ThreadSettingError
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Progress, UsageError, check_start, one_line_warnings
from minialexnet.training.evaluate import evaluate_model
from minialexnet.training.files import FolderClaim, FolderTakenError
from minialexnet.training.history import epoch_line, write_metrics
from minialexnet.training.loop import EpochState, TrainingDivergedError, train_epoch
from minialexnet.training.options import build_parser, with_defaults
from minialexnet.training.plots import plot_curves, plot_filters, run_title, validation_label
from minialexnet.training.resume import RunCompleteError, resume_options
from minialexnet.training.run_folder import claim_out
from minialexnet.training.run_state import TrainingRun, lr_advice, restore, save
from minialexnet.training.signals import STOP_CODES, StoppedBySignalError, StopRequest

__all__ = ["EpochState", "StopRequest", "build_parser", "main", "make_preprocess", "run", "train_epoch", "with_defaults"]
ABSURD_LOSS_FACTOR = 10.0  # a validation loss over 10 x ln(K) (chance) is a blown-up model, never the best


def make_preprocess(model: AlexNet, dataset: Dataset, args: argparse.Namespace) -> Preprocess:
    """The preprocessing ``args`` asks for, fitted to the training images (mean, std, colour PCA)."""
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


def make_schedule(args: argparse.Namespace) -> ReduceOnPlateau | StepSchedule | CosineSchedule | None:
    """The learning-rate schedule ``--schedule`` names (optim.py)."""
    schedules = {"plateau": lambda: ReduceOnPlateau(args.patience), "step": lambda: StepSchedule(args.step_size)}
    schedules.update(cosine=lambda: CosineSchedule(args.epochs, args.lr), none=lambda: None)
    return schedules[args.schedule]()


def start(args: argparse.Namespace, checkpoint: Checkpoint | None) -> tuple[TrainingRun, FolderClaim | None]:
    """Check the device, join the MPI job, claim the output folder and load the data; returns the run and its claim."""
    check_start(args.device, args.engine)  # before an MPI job is joined: no device is made current yet
    world = distributed.ONE_PROCESS
    if args.distributed or args.towers > 1:
        world, args.device = distributed.setup(args.device)  # this rank's device; ranks other than 0 stop printing
    out, claim = claim_out(args, checkpoint, writes=world.rank == 0)
    try:
        use_device(args.device)
        if world.rank != 0:
            world.barrier()  # rank 0 alone downloads a missing dataset; the others read it after
        dataset = load_dataset(args.data)
        if dataset.num_classes < 2:  # judged by the dataset's classes (a folder's class folders), not a --limit subset
            raise DataFileError(
                f"{dataset.name}: one class ({', '.join(dataset.class_names)}): a classifier needs two or more (for a folder "
                "dataset, one sub-folder per class)"
            )
        dataset = dataset.limit(args.limit, args.seed)
        if world.rank == 0 and world.size > 1:
            world.barrier()
        val_images, val_labels = dataset.test_images, dataset.test_labels
        if args.val_fraction > 0:
            dataset, (val_images, val_labels) = dataset.split_validation(args.val_fraction, args.seed)
        if len(val_labels) == 0 or len(dataset.train_labels) == 0:
            raise DataFileError(
                f"{dataset.name}: {len(dataset.train_labels)} training and {len(val_labels)} validation images: both need at least "
                "one; use more images (--limit) or another --val-fraction"
            )
    except BaseException:
        if claim is not None:
            claim.release()
        raise
    return TrainingRun(args, out, world, dataset, val_images, val_labels), claim


def build(run: TrainingRun, checkpoint: Checkpoint | None) -> None:
    """The network, optimizer, schedule and preprocessing, restored from ``checkpoint`` when given; then the towers
    and the data-parallel wrapper."""
    args, dataset = run.args, run.dataset
    shape = {"init": args.init, "seed": args.seed, "dropout": args.dropout, "engine": args.engine, "conv": args.conv, "device": args.device}
    run.model = alexnet(args.config, dataset.num_classes, dataset.image_shape[0], **shape).to(args.device)
    run.num_params = run.model.num_params
    run.optimizer = optimizer_class(args.engine, args.device)(args.lr, args.momentum, args.weight_decay)
    run.schedule = make_schedule(args)
    if checkpoint is not None:
        restore(run, checkpoint)
    else:
        run.preprocess = make_preprocess(run.model, dataset, args)
    comm = run.world
    if args.towers > 1:  # from here on, model is this rank's tower and comm joins the ranks that hold the same tower
        run.towers = Towers(comm, args.towers, run.model, run.optimizer)
        run.model, comm = run.towers.tower, run.towers.data_comm
        if comm.size > 1 and not args.distributed:
            ranks = args.towers * comm.size
            raise distributed.DistributedError(f"--towers {args.towers} on {ranks} ranks: add --distributed, or launch {args.towers} ranks")
    if args.distributed:
        run.parallel = distributed.DataParallel(comm, run.model)


def finish_epoch(run: TrainingRun, epoch: int, state: EpochState, lr: float) -> None:
    """Validate after ``epoch``, record and print its metrics, step the schedule, save, write metrics and plots."""
    args, bar_on, every = run.args, *run.progress
    started = time.perf_counter()
    seen, loss_sum, top1, top5 = run.parallel.sum_values(state.seen, state.loss_sum, state.top1, state.top5)  # over all ranks
    evaluated = (run.model, run.val_images, run.val_labels, run.preprocess, args.device)
    val = run.parallel.evaluate(evaluate_model, *evaluated, eval_crops=args.eval_crops, progress=bar_on, progress_every=every)
    row = {
        "epoch": epoch,
        "train_loss": loss_sum / seen,
        "train_top1_error": 1 - top1 / seen,
        "train_top5_error": 1 - top5 / seen,
        "val_loss": val["loss"],
        "val_top1_error": val["top1_error"],
        "val_top5_error": val["top5_error"],
        "lr": lr,
        "seconds": state.seconds + time.perf_counter() - started,
    }
    run.history.append(row)
    if run.schedule is not None:
        run.schedule.step(run.optimizer, val["top1_error"])
    print(epoch_line(row, args.epochs), flush=True)
    sane = math.isfinite(val["loss"]) and val["loss"] < ABSURD_LOSS_FACTOR * math.log(run.dataset.num_classes)
    if not sane:
        warning = f"validation loss {val['loss']:.4g} is not a working model's: epoch {epoch} is not saved as best.npz"
        print(f"warning: {warning}", file=sys.stderr)
    improved = sane and val["top1_error"] < run.best_error
    if improved:
        run.best_error, run.best_epoch = val["top1_error"], epoch
    whole = save(run, ("best.npz", "last.npz") if improved else ("last.npz",), epoch)
    if run.writes:
        write_metrics(run.out / "metrics.csv", run.history)
        title = run_title(run.out.name, args, run.history)
        curves = plot_curves(run.history, run.out / "curves.png", title, run.best_epoch, validation_label(args))
        if improved:  # filters.png shows the kernels of best.npz, the network that evaluate and predict are pointed at
            plot_filters(whole["conv1"].params["W"], run.out / "filters.png", f"conv1 kernels of best.npz (epoch {epoch})")
        if run.show_curves is not None:
            run.show_curves(curves)


def train_epochs(run: TrainingRun) -> None:
    """Train from where the run stands to ``--epochs``; raises StoppedBySignalError after saving when a signal asked to stop."""
    args, (bar_on, every) = run.args, run.progress
    train = run.dataset
    loader = BatchLoader(train.train_images, train.train_labels, run.preprocess, args.batch_size, seed=args.seed, device=args.device)
    loss_layer = engine_module(args.engine, args.device).SoftmaxCrossEntropy()
    last = run.out / "last.npz"
    with StopRequest() as stop:
        for epoch in range(run.start_epoch + 1, args.epochs + 1):
            state = run.partial if run.partial is not None and run.partial.epoch == epoch else EpochState(epoch)
            lr = run.optimizer.lr
            bar = Progress(len(loader), f"epoch {epoch}/{args.epochs}", bar_on, every, initial=state.step)
            try:
                finished = train_epoch(run.model, loss_layer, run.optimizer, loader, state, bar, stop, run.parallel, run.world)
            except TrainingDivergedError as error:
                raise TrainingDivergedError(f"{error}; {lr_advice(lr, args.config)}") from None
            finally:
                bar.close()
            if not finished:
                save(run, ("last.npz",), epoch - 1, state)
                where = f"at batch {state.step} of epoch {epoch}: saved {last}"
            else:
                finish_epoch(run, epoch, state, lr)
                where = f"after epoch {epoch}: {last} holds it"
            if not finished or stop.agree(run.world):  # a signal during an epoch, or during validation and the saves
                if run.writes:
                    print(f"\ninterrupted {where}; continue with --resume {last}", file=sys.stderr, flush=True)
                raise StoppedBySignalError(stop.stopping)


def run(args: argparse.Namespace, show_curves: Callable[[Figure], None] | None = None) -> dict[str, Any]:
    """Train as ``args`` says (a ``build_parser()`` namespace); returns the final metrics. Raises on bad input (see ``main``).

    ``show_curves``, when given, is handed the figure of ``curves.png`` after every epoch (in a notebook:
    ``plots.LiveCurves().show``, which redraws it in place while the run goes on)."""
    checkpoint = Checkpoint(args.resume) if args.resume else None
    args = resume_options(args, checkpoint) if checkpoint else with_defaults(args)
    state, claim = start(args, checkpoint)
    state.show_curves = show_curves
    try:
        build(state, checkpoint)
        print(
            f"training '{args.config}' ({state.num_params:,} parameters) on {state.dataset.name}: {len(state.dataset.train_labels)} "
            f"train, {len(state.val_labels)} validation images, device {args.device}, output {state.out}",
            flush=True,
        )
        train_epochs(state)
    finally:
        if claim is not None:
            claim.release()
    result = {"out": state.out, "history": state.history, "model": state.model, "preprocess": state.preprocess}
    if state.history:
        accuracy, top5 = 1 - state.history[-1]["val_top1_error"], 1 - state.history[-1]["val_top5_error"]
        print(f"done: validation top-1 accuracy {accuracy:.4f}, top-5 accuracy {top5:.4f}; outputs in {state.out}")
    if state.history and args.val_fraction > 0:  # the test split, unseen until now: evaluated once, at the end
        dataset, shown = state.dataset, state.progress
        evaluated = (state.model, dataset.test_images, dataset.test_labels, state.preprocess, args.device)
        result["test"] = state.parallel.evaluate(evaluate_model, *evaluated, eval_crops=args.eval_crops, progress=shown[0])
        print(f"test: top-1 accuracy {1 - result['test']['top1_error']:.4f} on the {len(dataset.test_labels)} test images (last epoch)")
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, and return the exit code (listed in the module docstring)."""
    args = build_parser().parse_args(argv)
    one_line_warnings()
    if args.distributed or (args.towers or 1) > 1:  # a rank that fails ends the whole job (no rank left waiting)
        return distributed.end_job_on_failure(distributed.MPICommunicator, lambda: run_and_report(args), agreed=STOP_CODES)
    return run_and_report(args)


USAGE_ERRORS = (DeviceUnavailableError, EngineError, DataFileError, CheckpointError, ThreadSettingError, UsageError, FolderTakenError)


def run_and_report(args: argparse.Namespace) -> int:
    """``run(args)``, its errors printed as one line each; returns the exit code."""
    try:
        run(args)
    except (*USAGE_ERRORS, distributed.DistributedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"error: training diverged: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a folder made read-only mid-run: the files already there are intact
        print(
            f"error: cannot write {error.filename or 'an output file'} ({error.strerror or error}); the files written before it are "
            "intact: free some space (or fix the permissions) and run again, with --resume from the run's last.npz if it has one",
            file=sys.stderr,
        )
        return 3
    except RunCompleteError as complete:
        print(complete)
        return 0
    except StoppedBySignalError as stopped:
        return stopped.code
    except KeyboardInterrupt:  # a second signal
        if args.distributed or (args.towers or 1) > 1:
            raise  # on one rank only: the others cannot follow it, so the whole job ends (end_job_on_failure)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
