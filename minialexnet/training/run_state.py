"""A training run's state: what it holds between its steps, and how it goes to and comes back from a checkpoint.

``save`` builds the checkpoint's ``RunMeta`` (the epoch, the position inside the next one, the
learning rate, the dropout and schedule states, the history, the plan) and writes it with the
weights and velocities; ``restore`` puts a checkpoint's state back into a freshly built run.
Neither ever writes weights that are not finite.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from minialexnet.data import Dataset
from minialexnet.data.transforms import Preprocess
from minialexnet.models import AlexNet, get_config
from minialexnet.multi import distributed
from minialexnet.multi.towers import Towers
from minialexnet.optim import SGD, CosineSchedule, ReduceOnPlateau, StepSchedule
from minialexnet.training.checkpoint import Checkpoint, RunMeta, save_checkpoint
from minialexnet.training.loop import EpochState, TrainingDivergedError, first_non_finite
from minialexnet.training.resume import PLAN


@dataclasses.dataclass
class TrainingRun:
    """Everything one training run holds, passed explicitly between the steps of ``run``."""

    args: argparse.Namespace
    out: Path
    world: Any  # the communicator of all ranks (ONE_PROCESS alone)
    dataset: Dataset
    val_images: Any
    val_labels: Any
    # made by build(), restored from a checkpoint by restore()
    model: AlexNet | None = None  # this rank's tower under --towers
    optimizer: SGD | None = None
    schedule: ReduceOnPlateau | StepSchedule | CosineSchedule | None = None
    preprocess: Preprocess | None = None
    towers: Towers | None = None
    parallel: Any = distributed.ONE_PROCESS  # this rank's share of each batch (DataParallel), or ONE_PROCESS
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    start_epoch: int = 0
    best_error: float = float("inf")
    best_epoch: int | None = None  # the epoch best.npz holds
    partial: EpochState | None = None
    num_params: int = 0  # of the whole network, whatever the towers hold
    show_curves: Callable[[Figure], None] | None = None  # handed the curves' figure after each epoch (plots.LiveCurves.show)

    @property
    def writes(self) -> bool:
        """Rank 0 (or the only process): it writes checkpoints, metrics and plots, and prints."""
        return self.world.rank == 0

    @property
    def progress(self) -> tuple[bool, int]:
        """(a bar?, a line every N batches) for this rank."""
        bar = (sys.stderr.isatty() if self.args.progress is None else self.args.progress) and self.writes
        return bar, self.args.progress_every if self.args.progress is not False and self.writes else 0


def lr_advice(lr: float, config: str) -> str:
    """A learning rate worth trying after divergence at ``lr``: a tenth of it, never above the config's default."""
    return f"try a lower learning rate (--lr {min(lr / 10, get_config(config).default_lr):g})"


def restore(run: TrainingRun, checkpoint: Checkpoint) -> None:
    """Load the checkpoint's weights, velocities, dropout and schedule states, history and mid-epoch position."""
    meta = checkpoint.meta
    checkpoint.load_into(run.model)
    run.preprocess = checkpoint.preprocess()
    checkpoint.load_velocities(run.optimizer, run.model)
    run.model.set_rng_state(meta.rng)
    if run.schedule is not None and meta.schedule and meta.options.get("schedule") == run.args.schedule:
        run.schedule.load_state_dict(meta.schedule)  # a schedule changed on resume starts afresh
    run.history, run.start_epoch, run.best_error, run.best_epoch = meta.history, meta.epoch, meta.best_val_error, meta.best_epoch
    if run.best_epoch is None:  # a file from before best_epoch was saved: the first epoch to reach the best error (improving is strict)
        run.best_epoch = next((row["epoch"] for row in run.history if row["val_top1_error"] == run.best_error), None)
    if meta.mid_epoch:
        run.partial = EpochState(**meta.mid_epoch)
    where = f"at batch {run.partial.step + 1} of epoch {run.partial.epoch}" if run.partial else f"after epoch {run.start_epoch}"
    if run.writes:
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
        advice = lr_advice(run.optimizer.lr, run.args.config)
        raise TrainingDivergedError(f"{bad} became non-finite in {when}; {run.out / names[0]} was not replaced; {advice}")
    args = run.args
    meta = RunMeta(
        epoch=epoch_done,
        mid_epoch=dataclasses.asdict(state) if state is not None else None,
        lr=run.optimizer.lr,
        rng=run.model.get_rng_state(),
        schedule=run.schedule.state_dict() if run.schedule is not None else None,
        history=run.history,
        best_val_error=run.best_error,
        best_epoch=run.best_epoch,
        class_names=run.dataset.class_names,
        image_shape=list(run.dataset.image_shape),
        data=args.data,
        seed=args.seed,
        options={key: getattr(args, key) for key in PLAN},
    )
    for name in names:
        save_checkpoint(run.out / name, whole, meta, velocity, run.preprocess)
    return whole
