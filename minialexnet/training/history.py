"""The run's record: one row of metrics per epoch, printed as a line, kept in ``metrics.csv`` and drawn in ``curves.png``.

Each row holds the epoch's mean training loss and top-1/top-5 errors (over the batches as
they were trained, dropout on), the validation figures after it, the learning rate it ran
at and its seconds (training and validation). The whole history also travels in every
checkpoint (``RunMeta.history``), so a resumed run's ``metrics.csv`` is complete.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from minialexnet.training.files import write_atomically

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


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    """The line train prints for an epoch (stdout: a result)."""
    return (
        f"epoch {row['epoch']:>3}/{epochs}  train loss {row['train_loss']:.4f}  top-1 err {row['train_top1_error']:.4f}  "
        f"top-5 err {row['train_top5_error']:.4f} | val top-1 err {row['val_top1_error']:.4f}  top-5 err "
        f"{row['val_top5_error']:.4f} | lr {row['lr']:.0e} | {row['seconds']:.1f} s"
    )


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    """``history`` as a CSV file with the columns ``METRIC_FIELDS``, written atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    for row in history:
        writer.writerow({key: row[key] for key in METRIC_FIELDS})
    write_atomically(path, lambda file: file.write(text.getvalue().encode()))
