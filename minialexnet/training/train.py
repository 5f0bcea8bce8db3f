"""Train AlexNet: ``python -m minialexnet.train`` (or the ``minialexnet-train`` script).

With no options it trains the ``mini`` config on the built-in Fashion-MNIST sample on the
CPU. The paper's recipe on a GPU (Section 5; Fashion-MNIST upsampled to 227x227)::

    python -m minialexnet.train --device gpu --config fashion --data fashion-mnist \\
        --epochs 10 --batch-size 128 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --init paper

Each epoch shows a progress bar on a terminal (else a line every ``--progress-every``
batches), then one line of metrics. The output folder receives ``metrics.csv``,
``last.npz``, ``best.npz``, ``curves.png`` and ``filters.png``, each written atomically.

Nothing is lost, nothing is silent (docs/reliability.md has the whole list):

- Output folders. A new run never writes into a folder that already holds a run (any of
  ``last.npz``, ``best.npz``, ``metrics.csv``) unless ``--overwrite`` is given. Given
  ``--out`` such a folder is refused, naming the two ways out (``--overwrite`` or
  ``--resume DIR/last.npz``). Without ``--out`` the run picks a fresh folder,
  ``runs/<config>-<data>``, else ``runs/<config>-<data>-2``, ``-3``, ... and says which:
  the default should never fail and never destroy. A resumed run continues in its
  checkpoint's folder unless ``--out`` says otherwise. The folder is claimed at start-up
  (``files.FolderClaim``: ``.minialexnet-run.lock``, created atomically, held until the run
  ends), so of two runs started together the second goes to the next ``-N`` folder, or with
  ``--out`` is refused; a claim left by a killed run is recognised and replaced. Temporary
  files a killed save left there are removed, and a run that fails at start-up leaves no
  empty folder.
- Broken weights. A non-finite loss or gradient stops the run (exit code 1) with advice,
  and the parameters are checked before every save, so neither checkpoint ever holds
  non-finite weights; an epoch whose validation loss is not finite or absurd (over ten
  times chance, ln K) is never saved as ``best.npz``. Options that cannot train
  (``--lr`` <= 0 or NaN, ``--epochs`` < 1, ...) are refused at the start.
- The two checkpoints. An improving epoch writes ``best.npz`` first, then ``last.npz``: a
  kill between the two leaves ``last.npz`` on the epoch before, and the resume redoes the
  improving epoch, so ``best.npz`` always ends on the true best.
- Resume. Options given explicitly win over the checkpoint's (``--lr``, ``--momentum``,
  ``--weight-decay``, ``--schedule``, ``--patience``, ``--step-size``), each change printed
  on one line; options that fix the data or the numerics (``FIXED_ON_RESUME``) are refused
  when they differ from the checkpoint's. That is why every option's parser default is
  None: None means "not given".
- Signals. The first Ctrl-C (SIGINT), SIGTERM (a cluster's preemption) or SIGHUP (a closed
  terminal) lets the current batch finish, then saves ``last.npz`` with the step within the
  epoch (meta ``mid_epoch``: epoch, batches done, the running train-metric sums) beside the
  velocities and the dropout generators' states; ``--resume`` continues that epoch at the
  next batch, and the loader's batches are pure functions of (seed, epoch, batch), so the
  result is bit for bit the uninterrupted run's on the CPU. A mid-epoch state never goes to
  ``best.npz``. A second signal quits at once, saving nothing.
- Many processes (distributed.py, towers.py): ``mpiexec -n K python -m minialexnet.train
  --distributed ...`` trains data-parallel (``--batch-size`` stays the global batch), and
  ``mpiexec -n 2 python -m minialexnet.train --towers 2 --config paper-2gpu ...`` runs the
  paper's two towers on two ranks; rank 0 alone reads (or downloads) the data first,
  prints and writes. A signal that reaches any rank stops every rank after the same batch
  (one tiny allreduce a step carries each rank's signal) and rank 0 saves once. A rank
  whose share of a batch is empty (fewer images than ranks) adds a zero gradient.

Exit codes (``main``):

- 0: done; 1: training diverged (advice on the learning rate in the message);
- 2: bad options, data, checkpoint or device, or an output folder another live run holds;
- 3: an output file could not be written (a full disk, lost permissions), the message naming
  it; the files written before are intact;
- 128 + N: stopped by signal N after saving ``last.npz`` (130 Ctrl-C, 143 SIGTERM, 129
  SIGHUP); a second signal quits at once with 130, saving nothing (under MPI it ends the
  whole job: the other ranks could not follow).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from minialexnet.backend import DeviceUnavailableError, get_array_module, use_device
from minialexnet.data import BatchLoader, DataFileError, Dataset, load_dataset
from minialexnet.data.transforms import Preprocess, crop_source_size
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP, EngineError, engine_module, optimizer_class
from minialexnet.models import CONFIGS, CONV_ALGORITHMS, INIT_SCHEMES, AlexNet, alexnet, get_config
from minialexnet.multi import distributed
from minialexnet.multi.towers import Towers
from minialexnet.optim import SGD, ReduceOnPlateau, StepSchedule
from minialexnet.threads import ThreadSettingError
from minialexnet.training.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from minialexnet.training.cli import (
    Parser,
    Progress,
    UsageError,
    check_start,
    device_name,
    fraction,
    non_negative_float,
    non_negative_int,
    one_line_warnings,
    positive_float,
    positive_int,
)
from minialexnet.training.evaluate import evaluate_model, topk_correct
from minialexnet.training.files import (
    FolderClaim,
    FolderTakenError,
    exit_code_for_write,
    remove_stale_temporaries,
    write_atomically,
)
from minialexnet.training.plots import plot_curves, plot_filters

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
# What an option means when it is not given; lr, init and scale default to the config's.
DEFAULTS: dict[str, Any] = {
    "device": "cpu",
    "config": "mini",
    "conv": "auto",
    "data": "sample",
    "epochs": 8,
    "batch_size": 128,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "schedule": "plateau",
    "patience": 2,
    "step_size": 10,
    "seed": 0,
    "augment": False,
    "eval_crops": 1,
    "mean": "pixel",
    "val_fraction": 0.0,
    "progress_every": 20,
    "overwrite": False,
    "distributed": False,
    "towers": 1,
}
# Options that fix the data, the batches, the numerics or what "validation error" means (so which epoch is best and
# when the plateau schedule acts): a resumed run must keep them.
FIXED_ON_RESUME = ("config", "data", "limit", "val_fraction", "batch_size", "seed", "init", "augment", "scale", "mean", "eval_crops")
# Options a resumed run may change; each change is printed.
TUNABLE_ON_RESUME = ("epochs", "lr", "momentum", "weight_decay", "schedule", "patience", "step_size")
# The run's plan: every option above, stored in each checkpoint (meta "options") so that a resume follows it.
PLAN = (*FIXED_ON_RESUME, *TUNABLE_ON_RESUME)
RUN_FILES = ("last.npz", "best.npz", "metrics.csv")
OUTPUT_FILES = (*RUN_FILES, "curves.png", "filters.png")
ABSURD_LOSS_FACTOR = 10.0  # a validation loss over 10 x ln(K) (chance) is a blown-up model, never the best


class TrainingDivergedError(RuntimeError):
    """The loss, a gradient or a parameter became NaN or infinite."""


@dataclasses.dataclass
class EpochState:
    """Where training stands inside an epoch: what a mid-epoch checkpoint records (meta ``mid_epoch``)."""

    epoch: int
    step: int = 0  # batches done
    seen: int = 0  # images done
    loss_sum: float = 0.0
    top1: int = 0
    top5: int = 0
    seconds: float = 0.0


def build_parser() -> Parser:
    """The options; every default is None ("not given", see the module docstring), the help says what it means."""
    parser = Parser(
        prog="python -m minialexnet.train",
        description="Train AlexNet (Krizhevsky et al. 2012) with the paper's recipe. With no options: "
        "the 'mini' config on the built-in Fashion-MNIST sample, on the CPU.",
    )
    add, D = parser.add_argument, DEFAULTS
    add("--device", type=device_name, help=f"cpu, gpu or gpu:N (default: {D['device']})")
    add("--config", choices=sorted(CONFIGS), help=f"network size, see minialexnet.models (default: {D['config']})")
    add("--engine", choices=ENGINE_CHOICES, default="auto", help=ENGINE_HELP)
    add(
        "--conv",
        choices=CONV_ALGORITHMS,
        help="convolution algorithm: auto (Winograd for conv2-5, im2col for conv1), im2col, or winograd wherever the stride is 1 "
        f"(default: {D['conv']})",
    )
    add(
        "--data",
        help=f"sample (built in), fashion-mnist (searched or downloaded), cifar10:PATH or a folder of class folders (default: {D['data']})",
    )
    add("--epochs", type=positive_int, help=f"total number of epochs; a resumed run continues up to this number (default: {D['epochs']})")
    add("--batch-size", type=positive_int, help=f"images per SGD step (default: {D['batch_size']}, as in the paper)")
    add("--lr", type=positive_float, help="initial learning rate (default: the config's; the paper: 0.01, mini: 0.02)")
    add("--momentum", type=fraction, help=f"SGD momentum (default: {D['momentum']}, as in the paper)")
    add(
        "--weight-decay",
        type=non_negative_float,
        help=f"weight decay inside the velocity update (default: {D['weight_decay']:g}, as in the paper)",
    )
    add(
        "--init",
        choices=INIT_SCHEMES,
        help="weight initialisation (default: the config's; paper: N(0, 0.01), biases 1 in conv2/4/5, fc6, fc7)",
    )
    add(
        "--schedule",
        choices=("plateau", "step", "none"),
        help=f"plateau: divide lr by 10 when validation error stops improving, as in the paper (default: {D['schedule']})",
    )
    add(
        "--patience",
        type=positive_int,
        help=f"epochs without improvement before the plateau schedule divides lr by 10 (default: {D['patience']})",
    )
    add("--step-size", type=positive_int, help=f"epochs between divisions for the step schedule (default: {D['step_size']})")
    add("--seed", type=non_negative_int, help=f"seeds initialisation, shuffling, augmentation and dropout (default: {D['seed']})")
    add("--out", help="output folder (default: a fresh runs/<config>-<data>[-N]; a resumed run: its checkpoint's folder)")
    add("--overwrite", action="store_true", default=None, help="let a new run replace the run already in --out")
    add("--resume", metavar="CKPT", help="continue from a checkpoint (e.g. runs/x/last.npz), mid-epoch if it was saved by Ctrl-C")
    add("--augment", action=argparse.BooleanOptionalAction, help="random crops, flips and PCA colour noise, Section 4.1 (default: off)")
    add(
        "--eval-crops",
        type=int,
        choices=(1, 10),
        help=f"evaluate with the centre crop or the paper's 10 crops (default: {D['eval_crops']})",
    )
    add(
        "--scale",
        choices=("paper", "unit", "standard"),
        help="paper: 0..255 minus the mean; unit: (x - mean)/255; standard: (x - mean)/std "
        "(default: the config's; paper, or standard for mini)",
    )
    add("--mean", choices=("pixel", "image"), help=f"subtract the mean pixel or the mean image of the training set (default: {D['mean']})")
    add(
        "--val-fraction",
        type=fraction,
        help=f"hold out this fraction of the training set for validation; 0 validates on the test split (default: {D['val_fraction']:g})",
    )
    add("--limit", type=positive_int, metavar="N", help="use N training images (and N/5 test images), for quick runs (default: all)")
    add(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bars; --no-progress: no bar, no lines (default: a bar on a terminal)",
    )
    add(
        "--progress-every",
        type=non_negative_int,
        metavar="N",
        help=f"without a bar, print a progress line every N batches; 0: never (default: {D['progress_every']})",
    )
    add(
        "--distributed",
        action="store_true",
        default=None,
        help="data-parallel SGD over the ranks of an MPI job (mpiexec -n K python -m minialexnet.train --distributed); "
        "--batch-size stays the global batch",
    )
    add(
        "--towers",
        type=int,
        choices=(1, 2),
        help="2: the paper's two towers (Section 3.2) on two ranks, with --config paper-2gpu (mpiexec -n 2; "
        f"with --distributed, 2 x K ranks) (default: {D['towers']})",
    )
    return parser


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every option not given (None) replaced by its meaning; lr, init and scale by the config's."""
    options = {**vars(args), **{key: value for key, value in DEFAULTS.items() if getattr(args, key, None) is None}}
    config = get_config(options["config"])
    for key, value in (("lr", config.default_lr), ("init", config.default_init), ("scale", config.default_scale)):
        if options.get(key) is None:
            options[key] = value
    return argparse.Namespace(**options)


class RunCompleteError(Exception):
    """A resume asked for no more epochs than the checkpoint has done: nothing to train (exit 0, the message said)."""


def resume_options(args: argparse.Namespace, checkpoint: Checkpoint) -> argparse.Namespace:
    """The options of a resumed run: the checkpoint's plan, overridden by those given explicitly (each change printed).

    Raises UsageError for an option in ``FIXED_ON_RESUME`` given with another value than the checkpoint's, or for
    ``--epochs`` below the epochs done; RunCompleteError when the plan's (or the given) epochs are all done. A
    checkpoint written before the plan was stored (format 1) resumes with the defaults for what it lacks, and a note.
    """
    for key in ("epoch", "lr", "rng", "history", "best_val_error"):
        if key not in checkpoint.meta:
            raise CheckpointError(f"{checkpoint.path}: cannot resume from it (its meta has no {key!r}); start a new run instead")
    saved = {"config": checkpoint.config.name, **{key: checkpoint.meta[key] for key in ("data", "seed") if key in checkpoint.meta}}
    saved.update(checkpoint.meta.get("options", {}))
    saved["lr"] = checkpoint.meta["lr"]  # the rate reached, after the schedule's divisions
    given = {key: value for key, value in vars(args).items() if value is not None}
    missing = [key for key in PLAN if key not in saved]
    if missing:
        print(
            f"note: {checkpoint.path} was written before checkpoints stored the whole plan; "
            + ", ".join(f"--{key.replace('_', '-')} {given.get(key, DEFAULTS.get(key))}" for key in missing if key in DEFAULTS)
            + " (given or the default)",
            file=sys.stderr,
        )
    for key in FIXED_ON_RESUME:
        if key in given and key in saved and given[key] != saved[key]:
            option = "--" + key.replace("_", "-")
            raise UsageError(
                f"{option} {given[key]} differs from the checkpoint's {saved[key]} ({checkpoint.path}), and it cannot change "
                f"on resume; drop {option}, or start a new run without --resume"
            )
    known = {key: value for key, value in saved.items() if key in PLAN}
    resumed = with_defaults(argparse.Namespace(**{**vars(args), **known, **given}))
    done = checkpoint.meta["epoch"]
    if "epochs" in given and resumed.epochs < done:
        raise UsageError(
            f"--epochs {resumed.epochs} is fewer than the {done} epochs {checkpoint.path} has done; give --epochs above {done} to "
            "train further, or evaluate the checkpoint as it is"
        )
    if resumed.epochs <= done:
        planned = f"{done} of {done} epochs" if resumed.epochs == done else f"{done} epochs, --epochs is {resumed.epochs}"
        raise RunCompleteError(f"{checkpoint.path}: the run is complete ({planned}); give --epochs above {done} to train further")
    for key in TUNABLE_ON_RESUME:
        if key in given and key in saved and given[key] != saved[key]:
            print(f"--{key.replace('_', '-')} {given[key]} overrides the checkpoint's {saved[key]}", file=sys.stderr)
    return resumed


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


def holds_run(folder: Path) -> list[str]:
    """The run files (last.npz, best.npz, metrics.csv) already in ``folder``."""
    return [name for name in RUN_FILES if (folder / name).is_file()]


def position(checkpoint: Checkpoint) -> tuple[int, int]:
    """(epochs done, batches done in the next epoch) of a training checkpoint."""
    return checkpoint.meta["epoch"], (checkpoint.meta.get("mid_epoch") or {}).get("step", 0)


def further_on(out: Path, checkpoint: Checkpoint) -> Checkpoint | None:
    """``out/last.npz`` when it is another file than ``checkpoint`` and further on (a resume of an earlier
    ``best.npz`` there would overwrite it and its metrics.csv rows), else None. Judged by the epochs and batches in
    their meta, not by file times; a last.npz that cannot be read is no run's progress to lose."""
    last = out / "last.npz"
    if not last.is_file() or last.resolve() == checkpoint.path.resolve():
        return None
    try:
        theirs = Checkpoint(last)
        return theirs if position(theirs) > position(checkpoint) else None
    except (CheckpointError, KeyError, TypeError, AttributeError):
        return None


def claim_out(args: argparse.Namespace, resumed: Checkpoint | None, writes: bool) -> tuple[Path, FolderClaim | None]:
    """The output folder, claimed for this run (``writes``: rank 0; the other ranks claim nothing).

    Never another run's folder unless --overwrite, never one a live run holds, never a resume that would rewind a
    folder whose last.npz is further on (see the module docstring).
    """
    resumed_from = resumed.path if resumed is not None else None
    if args.out is not None and not args.out.strip():
        raise UsageError("--out is empty; name the folder for the run's files (e.g. --out runs/first)")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file, not a folder; name a folder for the run's files")
    if args.out is not None or resumed_from is not None:
        out = Path(args.out) if args.out is not None else resumed_from.parent
        continuing = resumed_from is not None and out.resolve() == resumed_from.resolve().parent
        claim = prepare_out(out, replace=bool(args.overwrite) and not continuing) if writes else None
        existing = holds_run(out)  # checked under the claim: no other run can start writing there now
        ahead = further_on(out, resumed) if continuing and not args.overwrite else None
        if (existing and not args.overwrite and not continuing) or ahead is not None:
            if claim is not None:
                claim.release()
            if ahead is not None:
                epochs, steps = position(ahead)
                where = f"epoch {epochs}" + (f", batch {steps} of epoch {epochs + 1}" if steps else "")
                raise UsageError(
                    f"{ahead.path} is further on ({where}) than {resumed_from} (epoch {position(resumed)[0]}): resuming here would "
                    f"overwrite it and its metrics; branch into a new folder with --out NEW, continue with --resume {ahead.path}, "
                    "or pass --overwrite to rewind this folder"
                )
            raise UsageError(
                f"{out} already holds a run ({', '.join(existing)}); pass --overwrite to replace it, "
                f"or --resume {out / 'last.npz'} to continue it"
            )
        return out, claim
    base = Path("runs") / f"{args.config}-{Path(args.data).name}"
    out, number = base, 2
    while True:
        try:
            claim = prepare_out(out, replace=False) if writes else None
        except FolderTakenError:  # a run started at the same time holds it
            claim = None
        else:
            if not holds_run(out):
                break
            if claim is not None:
                claim.release()
        out, number = base.with_name(f"{base.name}-{number}"), number + 1
    if out != base:
        print(f"{base} holds another run: writing this one to {out} (--out chooses the folder)", file=sys.stderr)
    return out, claim


def prepare_out(out: Path, replace: bool) -> FolderClaim:
    """Claim ``out`` (creating it), prove it writable and remove temporary files left by a killed run; with
    ``replace`` remove the previous run's files. Raises FolderTakenError when a live run holds it."""
    claim = FolderClaim(out)
    try:
        claim.acquire()
        if claim.replaced:
            print(f"{out}: the run that held it ({claim.replaced}) is gone; this run takes the folder over", file=sys.stderr)
        for name in OUTPUT_FILES:
            if (out / name).is_dir():
                raise UsageError(f"{out / name} is a folder, so the run could not save it there; remove it or choose another --out")
        write_atomically(out / ".minialexnet-write-test", lambda file: file.write(b"ok")).unlink()
        stale = remove_stale_temporaries(out, OUTPUT_FILES)
        if stale:
            print(f"{out}: removed {len(stale)} temporary file(s) left by an interrupted save ({stale[0].name}, ...)", file=sys.stderr)
        if replace:
            for name in OUTPUT_FILES:
                (out / name).unlink(missing_ok=True)
    except OSError as error:
        claim.release()
        if exit_code_for_write(error, started=False) == 3:  # the storage failed: a full disk, a quota (exit 3)
            raise OSError(error.errno, error.strerror, error.filename or str(out)) from None
        raise UsageError(
            f"--out {out}: cannot write there ({error.strerror or error}); choose a folder you can write to with --out"
        ) from None
    except BaseException:
        claim.release()
        raise
    return claim


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    for row in history:
        writer.writerow({key: row[key] for key in METRIC_FIELDS})
    write_atomically(path, lambda file: file.write(text.getvalue().encode()))


def first_non_finite(arrays: dict[str, Any]) -> str | None:
    """The name of the first array holding a NaN or an infinity, else None.

    Cheap enough for every step: one sum per array and one transfer to the host in all (a
    NaN or an infinity anywhere makes the total non-finite); the names are searched only
    when it is.
    """
    if not arrays:
        return None
    if math.isfinite(float(sum(get_array_module(a).sum(a) for a in arrays.values()))):
        return None
    return next(name for name, a in arrays.items() if not bool(get_array_module(a).isfinite(a).all()))


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))


class StopRequest:
    """Ctrl-C (SIGINT), SIGTERM or SIGHUP while training: the first asks to stop after the current batch (``signum``
    records which), a second one quits at once (KeyboardInterrupt, nothing saved).

    Installed only in the main thread (signals cannot be caught elsewhere).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.signum = 0  # the signal received by this process
        self.stopping = 0  # the signal all ranks agreed to stop on
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if self.enabled and threading.current_thread() is threading.main_thread():
            self.previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\n{name}: stopping after this batch to save last.npz (a second signal quits without saving)", file=sys.stderr, flush=True)

    def agree(self, comm: Any) -> int:
        """Set and return ``stopping``, the signal that stops every rank at this step (0: none): one tiny allreduce of
        each signal's count (``comm`` None: this process alone). Every rank gets the same answer, so all stop after
        the same batch."""
        if comm is None:
            self.stopping = self.signum
        else:
            counts = comm.sum_values(*(float(self.signum == signum) for signum in STOP_SIGNALS))
            self.stopping = next((signum for signum, count in zip(STOP_SIGNALS, counts, strict=True) if count > 0), 0)
        return self.stopping

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)


class StoppedBySignalError(Exception):
    """Training stopped on a signal after saving last.npz; ``code`` is the exit code, 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


def lr_advice(lr: float, config: str) -> str:
    """A learning rate worth trying after divergence at ``lr``: a tenth of it, never above the config's default."""
    return f"try a lower learning rate (--lr {min(lr / 10, get_config(config).default_lr):g})"


@dataclasses.dataclass
class TrainingRun:
    """Everything one training run holds, passed explicitly between the steps of ``run``."""

    args: argparse.Namespace
    out: Path
    writes: bool  # rank 0 (or the only process): writes checkpoints, metrics and plots
    world: Any  # the communicator of all ranks, or None for one process
    dataset: Dataset
    val_images: Any
    val_labels: Any
    # made by build(), restored from a checkpoint by restore()
    model: AlexNet | None = None  # this rank's tower under --towers
    optimizer: SGD | None = None
    schedule: ReduceOnPlateau | StepSchedule | None = None
    preprocess: Preprocess | None = None
    towers: Towers | None = None
    parallel: distributed.DataParallel | None = None
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    start_epoch: int = 0
    best_error: float = float("inf")
    partial: EpochState | None = None
    num_params: int = 0  # of the whole network, whatever the towers hold

    @property
    def progress(self) -> tuple[bool, int]:
        """(a bar?, a line every N batches) for this rank."""
        bar = (sys.stderr.isatty() if self.args.progress is None else self.args.progress) and self.writes
        return bar, self.args.progress_every if self.args.progress is not False and self.writes else 0


def train_epoch(
    model, loss_layer, optimizer, loader, state: EpochState, progress: Progress, stop: StopRequest, parallel=None, world=None, config="mini"
) -> bool:
    """Train on the batches of ``state.epoch`` from batch ``state.step`` on, updating ``state`` (dropout on).

    Returns True at the end of the epoch, False when a signal asked to stop (``stop.stopping`` says which,
    ``state`` where); ``config`` names the config whose learning rate the divergence advice caps at.
    ``parallel`` (distributed.DataParallel): this rank trains on its share of each batch, the
    gradients are summed over the ranks before the update, and ``state`` counts this rank's share;
    a rank whose share is empty (a last batch smaller than the ranks) adds a zero gradient.
    ``world``: the communicator on which all ranks agree after each batch whether to stop.
    """
    model.train()
    advice = lr_advice(optimizer.lr, config)
    started = time.perf_counter() - state.seconds
    for x, y in loader.epoch(state.epoch, start=state.step):
        step = state.step + 1
        global_count = len(y)
        if parallel is not None:
            x, y = parallel.local_batch(x, y)
        n = len(y)
        if n:
            logits = model.forward(x, train=True)
            loss = loss_layer.forward(logits, y)
            if not math.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss} at epoch {state.epoch}, step {step}; {advice}")
            model.backward(loss_layer.backward())
        else:
            parallel.skip_empty_share()
        if parallel is not None:  # first, so that every rank sees the same gradients and stops together
            parallel.allreduce_gradients(n, global_count)
        bad = first_non_finite(model.grads)
        if bad is not None:
            raise TrainingDivergedError(f"the gradient of {bad} became non-finite at epoch {state.epoch}, step {step}; {advice}")
        optimizer.step(model.params, model.grads)
        state.step, state.seen = step, state.seen + n
        if n:
            state.loss_sum += loss * n
            state.top1 += topk_correct(logits, y, 1)
            state.top5 += topk_correct(logits, y, 5)
        state.seconds = time.perf_counter() - started
        shown = max(state.seen, 1)
        progress.update(
            step, loss=f"{state.loss_sum / shown:.3f}", acc=f"{state.top1 / shown:.3f}", img_s=f"{state.seen / state.seconds:.0f}"
        )
        if stop.agree(world):
            return False
    return True


def start(args: argparse.Namespace, checkpoint: Checkpoint | None) -> tuple[TrainingRun, FolderClaim | None]:
    """Check the device, join the MPI job, claim the output folder and load the data; returns the run and its claim."""
    check_start(args.device, args.engine)  # before an MPI job is joined: no device is made current yet
    world = None
    if args.distributed or args.towers > 1:
        world, args.device = distributed.setup(args.device)  # this rank's device; ranks other than 0 stop printing
    writes = world is None or world.rank == 0
    out, claim = claim_out(args, checkpoint, writes)
    try:
        use_device(args.device)
        if world is not None and world.rank != 0:
            world.barrier()  # rank 0 alone downloads a missing dataset; the others read it after
        dataset = load_dataset(args.data)
        if dataset.num_classes < 2:  # judged by the dataset's classes (a folder's class folders), not a --limit subset
            raise DataFileError(
                f"{dataset.name}: one class ({', '.join(dataset.class_names)}): a classifier needs two or more (for a folder "
                "dataset, one sub-folder per class)"
            )
        dataset = dataset.limit(args.limit, args.seed)
        if world is not None and world.rank == 0:
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
    return TrainingRun(args, out, writes, world, dataset, val_images, val_labels), claim


def build(run: TrainingRun, checkpoint: Checkpoint | None) -> None:
    """The network, optimizer, schedule and preprocessing, restored from ``checkpoint`` when given; then the towers
    and the data-parallel wrapper."""
    args = run.args
    run.model = alexnet(
        args.config,
        num_classes=run.dataset.num_classes,
        in_channels=run.dataset.image_shape[0],
        init=args.init,
        seed=args.seed,
        engine=args.engine,
        conv=args.conv,
        device=args.device,
    ).to(args.device)
    run.num_params = run.model.num_params
    run.optimizer = optimizer_class(args.engine, args.device)(args.lr, args.momentum, args.weight_decay)
    run.schedule = {"plateau": ReduceOnPlateau(args.patience), "step": StepSchedule(args.step_size), "none": None}[args.schedule]
    if checkpoint is not None:
        restore(run, checkpoint)
    else:
        run.preprocess = make_preprocess(run.model, run.dataset, args)
    comm = run.world
    if args.towers > 1:  # from here on, model is this rank's tower and comm joins the ranks that hold the same tower
        run.towers = Towers(comm, args.towers, run.model, run.optimizer)
        run.model, comm = run.towers.tower, run.towers.data_comm
        if comm.size > 1 and not args.distributed:
            ranks = args.towers * comm.size
            raise distributed.DistributedError(f"--towers {args.towers} on {ranks} ranks: add --distributed, or launch {args.towers} ranks")
    run.parallel = distributed.DataParallel(comm, run.model) if args.distributed else None


def restore(run: TrainingRun, checkpoint: Checkpoint) -> None:
    """Load the checkpoint's weights, velocities, dropout and schedule states, history and mid-epoch position."""
    checkpoint.load_into(run.model)
    run.preprocess = checkpoint.preprocess()
    checkpoint.load_velocities(run.optimizer, run.model)
    run.model.set_rng_state(checkpoint.meta["rng"])
    saved_schedule = checkpoint.meta.get("options", {}).get("schedule")  # None before options were recorded: start afresh
    if run.schedule is not None and checkpoint.meta.get("schedule") and saved_schedule == run.args.schedule:
        run.schedule.load_state_dict(checkpoint.meta["schedule"])
    run.history = checkpoint.meta["history"]
    run.start_epoch, run.best_error = checkpoint.meta["epoch"], checkpoint.meta["best_val_error"]
    if checkpoint.meta.get("mid_epoch"):
        run.partial = EpochState(**checkpoint.meta["mid_epoch"])
    where = f"at batch {run.partial.step + 1} of epoch {run.partial.epoch}" if run.partial else f"after epoch {run.start_epoch}"
    print(f"resuming from {checkpoint.path} {where}", file=sys.stderr)


def save(run: TrainingRun, names: tuple[str, ...], epoch_done: int, state: EpochState | None = None) -> AlexNet:
    """Write the checkpoints ``names``, in that order (one gather and one check for all); returns the whole network
    (the towers joined; every rank takes part).

    An improving epoch writes best.npz before last.npz: a kill between the two leaves last.npz on the
    epoch before, whose resume redoes the improving epoch and writes both again.
    """
    whole, velocity = run.towers.whole() if run.towers is not None else (run.model, run.optimizer.velocity)
    if not run.writes:
        return whole
    bad = first_non_finite(whole.params) or first_non_finite(velocity)  # the same names: two checks
    if bad is not None:  # never replace a checkpoint by broken weights
        when = f"batch {state.step} of epoch {state.epoch}" if state is not None else f"epoch {epoch_done}"
        raise TrainingDivergedError(
            f"{bad} became non-finite in {when}; {run.out / names[0]} was not replaced; {lr_advice(run.optimizer.lr, run.args.config)}"
        )
    args = run.args
    meta = {
        "epoch": epoch_done,
        "mid_epoch": dataclasses.asdict(state) if state is not None else None,
        "lr": run.optimizer.lr,
        "rng": run.model.get_rng_state(),
        "schedule": run.schedule.state_dict() if run.schedule is not None else None,
        "history": run.history,
        "best_val_error": run.best_error,
        "class_names": run.dataset.class_names,
        "image_shape": list(run.dataset.image_shape),
        "data": args.data,
        "seed": args.seed,
        "options": {key: getattr(args, key) for key in PLAN},
    }
    for name in names:
        save_checkpoint(run.out / name, whole, meta, velocity, run.preprocess)
    return whole


def finish_epoch(run: TrainingRun, epoch: int, state: EpochState, lr: float) -> None:
    """Validate after ``epoch``, record and print its metrics, step the schedule, save, write metrics and plots."""
    args, bar_on, every = run.args, *run.progress
    started = time.perf_counter()
    if run.parallel is not None:  # the epoch's metrics over all ranks' shares
        state.seen, state.loss_sum, state.top1, state.top5 = run.parallel.sum_values(state.seen, state.loss_sum, state.top1, state.top5)
    evaluate = run.parallel.evaluate if run.parallel is not None else evaluate_model
    evaluated = (run.model, run.val_images, run.val_labels, run.preprocess, args.device)
    val = evaluate(*evaluated, eval_crops=args.eval_crops, progress=bar_on, progress_every=every)
    row = {
        "epoch": epoch,
        "train_loss": state.loss_sum / state.seen,
        "train_top1_error": 1 - state.top1 / state.seen,
        "train_top5_error": 1 - state.top5 / state.seen,
        "val_loss": val["loss"],
        "val_top1_error": val["top1_error"],
        "val_top5_error": val["top5_error"],
        "lr": lr,
        "seconds": state.seconds + time.perf_counter() - started,
    }
    run.history.append(row)
    if run.schedule is not None:
        run.schedule.step(run.optimizer, val["top1_error"])
    print(
        f"epoch {epoch:>3}/{args.epochs}  train loss {row['train_loss']:.4f}  top-1 err {row['train_top1_error']:.4f}  "
        f"top-5 err {row['train_top5_error']:.4f} | val top-1 err {row['val_top1_error']:.4f}  top-5 err "
        f"{row['val_top5_error']:.4f} | lr {lr:.0e} | {row['seconds']:.1f} s",
        flush=True,
    )
    sane = math.isfinite(val["loss"]) and val["loss"] < ABSURD_LOSS_FACTOR * math.log(run.dataset.num_classes)
    if not sane:
        print(
            f"warning: validation loss {val['loss']:.4g} is not a working model's: epoch {epoch} is not saved as best.npz",
            file=sys.stderr,
            flush=True,
        )
    improved = sane and val["top1_error"] < run.best_error
    if improved:
        run.best_error = val["top1_error"]
    whole = save(run, ("best.npz", "last.npz") if improved else ("last.npz",), epoch)
    if run.writes:
        write_metrics(run.out / "metrics.csv", run.history)
        plot_curves(run.history, run.out / "curves.png")
        plot_filters(whole["conv1"].params["W"], run.out / "filters.png", f"conv1 kernels after epoch {epoch}")


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
                finished = train_epoch(run.model, loss_layer, run.optimizer, loader, state, bar, stop, run.parallel, run.world, args.config)
            finally:
                bar.close()
            if not finished:
                save(run, ("last.npz",), epoch - 1, state)
                print(
                    f"\ninterrupted at batch {state.step} of epoch {epoch}: saved {last}; continue with --resume {last}",
                    file=sys.stderr,
                    flush=True,
                )
                raise StoppedBySignalError(stop.stopping)
            finish_epoch(run, epoch, state, lr)
            if stop.agree(run.world):  # a signal during validation or the saves
                print(f"\ninterrupted after epoch {epoch}: {last} holds it; continue with --resume {last}", file=sys.stderr, flush=True)
                raise StoppedBySignalError(stop.stopping)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train as ``args`` says (a ``build_parser()`` namespace); returns the final metrics. Raises on bad input (see ``main``).

    The steps: the options (restored from ``--resume``), ``start`` (device, ranks, output folder, data),
    ``build`` (network, optimizer; ``restore`` from the checkpoint), ``train_epochs`` (``train_epoch`` then
    ``finish_epoch`` for each epoch, which calls ``save``), and the report.
    """
    checkpoint = Checkpoint(args.resume) if args.resume else None
    args = resume_options(args, checkpoint) if checkpoint else with_defaults(args)
    state, claim = start(args, checkpoint)
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
    if state.history:
        accuracy, top5 = 1 - state.history[-1]["val_top1_error"], 1 - state.history[-1]["val_top5_error"]
        print(f"done: validation top-1 accuracy {accuracy:.4f}, top-5 accuracy {top5:.4f}; outputs in {state.out}")
    return {"out": state.out, "history": state.history, "model": state.model, "preprocess": state.preprocess}


STOP_CODES = tuple(128 + signum for signum in STOP_SIGNALS)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, and return the exit code (listed in the module docstring)."""
    args = build_parser().parse_args(argv)
    one_line_warnings()
    if args.distributed or (args.towers or 1) > 1:  # a rank that fails ends the whole job (no rank left waiting)
        return distributed.end_job_on_failure(distributed.MPICommunicator, lambda: run_and_report(args), agreed=STOP_CODES)
    return run_and_report(args)


def run_and_report(args: argparse.Namespace) -> int:
    """``run(args)``, its errors printed as one line each; returns the exit code."""
    try:
        run(args)
    except (
        DeviceUnavailableError,
        EngineError,
        DataFileError,
        CheckpointError,
        ThreadSettingError,
        UsageError,
        FolderTakenError,
        distributed.DistributedError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"error: training diverged: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a folder made read-only mid-run: the files already there are intact
        where = error.filename or "an output file"
        print(
            f"error: cannot write {where} ({error.strerror or error}); the files written before it are intact: free some space "
            "(or fix the permissions) and run again, with --resume from the run's last.npz if it has one",
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
