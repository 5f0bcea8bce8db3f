"""The resume rules: a resumed run follows the plan its checkpoint stored, and never rewinds a run.

The plan (``PLAN``: the data, the batches, the numerics, what validation means, the
schedule and the epochs) is stored in every checkpoint. ``resume_options`` rebuilds a run's
options from it: options that fix the data or the numerics (``FIXED_ON_RESUME``) are refused
when given with another value, the others (``TUNABLE_ON_RESUME``) win and are printed, and a
resume with no more epochs to train says the run is complete. ``further_on`` finds the
``last.npz`` a resume of an earlier ``best.npz`` would overwrite (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import UsageError
from minialexnet.training.options import option_flag, with_defaults

# Options that fix the data, the batches, the numerics or what "validation error" means (so which epoch is best and
# when the plateau schedule acts): a resumed run must keep them.
FIXED_ON_RESUME = (
    "config",
    "data",
    "limit",
    "val_fraction",
    "batch_size",
    "seed",
    "init",
    "augment",
    "dropout",
    "scale",
    "mean",
    "eval_crops",
)
# Options a resumed run may change; each change is printed.
TUNABLE_ON_RESUME = ("epochs", "lr", "momentum", "weight_decay", "schedule", "patience", "step_size")
# The run's plan: every option above, stored in each checkpoint (meta "options") so that a resume follows it.
PLAN = (*FIXED_ON_RESUME, *TUNABLE_ON_RESUME)


class RunCompleteError(Exception):
    """A resume asked for no more epochs than the checkpoint has done: nothing to train (exit 0, the message said)."""


def resume_options(args: argparse.Namespace, checkpoint: Checkpoint) -> argparse.Namespace:
    """The options of a resumed run: the checkpoint's plan, overridden by those given explicitly (each change printed).

    Raises UsageError for an option in ``FIXED_ON_RESUME`` given with another value than the checkpoint's, or for
    ``--epochs`` below the epochs done; RunCompleteError when the plan's (or the given) epochs are all done. A
    checkpoint written before the plan was stored (format 1) resumes with the defaults for what it lacks, and a note.
    """
    meta = checkpoint.meta
    for key in ("lr", "rng", "history", "best_val_error"):
        if getattr(meta, key) is None:
            raise CheckpointError(f"{checkpoint.path}: cannot resume from it (its meta has no {key!r}); start a new run instead")
    saved = {"config": checkpoint.config.name, **{key: getattr(meta, key) for key in ("data", "seed") if getattr(meta, key) is not None}}
    saved.update(meta.options)
    saved["lr"] = meta.lr  # the rate reached, after the schedule's divisions
    given = {key: value for key, value in vars(args).items() if value is not None}
    for key in FIXED_ON_RESUME:
        if key in given and key in saved and given[key] != saved[key]:
            option = option_flag(key)
            raise UsageError(
                f"{option} {given[key]} differs from the checkpoint's {saved[key]} ({checkpoint.path}), and it cannot change "
                f"on resume; drop {option}, or start a new run without --resume"
            )
    known = {key: value for key, value in saved.items() if key in PLAN}
    resumed = with_defaults(argparse.Namespace(**{**vars(args), **known, **given}))
    missing = [key for key in PLAN if key not in saved]
    if missing:
        print(
            f"note: {checkpoint.path} was written before checkpoints stored the whole plan; "
            + ", ".join(f"{option_flag(key)} {getattr(resumed, key)}" for key in missing)
            + " (given or the default)",
            file=sys.stderr,
        )
    done = meta.epoch
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
            print(f"{option_flag(key)} {given[key]} overrides the checkpoint's {saved[key]}", file=sys.stderr)
    return resumed


def position(checkpoint: Checkpoint) -> tuple[int, int]:
    """(epochs done, batches done in the next epoch) of a training checkpoint."""
    return checkpoint.meta.epoch, (checkpoint.meta.mid_epoch or {}).get("step", 0)


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
