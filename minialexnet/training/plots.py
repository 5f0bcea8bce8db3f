"""Pictures of a run: learning curves and the conv1 kernels (the paper's Figure 3).

Figures are made with ``matplotlib.figure.Figure`` directly, not through pyplot, so saving
them works without a display and never changes the backend of a notebook that imports this.
They are written atomically (``files.write_atomically``), like the checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from minialexnet.backend import asnumpy
from minialexnet.training.files import write_atomically


def _save(figure: Figure, path: str | Path) -> Path:
    return write_atomically(path, lambda file: figure.savefig(file, format="png", dpi=100))


def plot_curves(history: list[dict[str, Any]], path: str | Path) -> Path:
    """Save the loss and top-1 error against epoch, for training and validation."""
    return _save(curves_figure(history), path)


def curves_figure(history: list[dict[str, Any]]) -> Figure:
    """The learning curves: loss and top-1/top-5 error against epoch (whole-number ticks)."""
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4))
    loss_axis, error_axis = figure.subplots(1, 2)
    loss_axis.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    loss_axis.plot(epochs, [row["val_loss"] for row in history], "o-", label="validation")
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    error_axis.plot(epochs, [row["train_top1_error"] for row in history], "o-", label="train top-1")
    error_axis.plot(epochs, [row["val_top1_error"] for row in history], "o-", label="validation top-1")
    error_axis.plot(epochs, [row["val_top5_error"] for row in history], "o--", label="validation top-5")
    error_axis.set(xlabel="epoch", ylabel="error rate", title="error")
    for axis in (loss_axis, error_axis):
        axis.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)  # room for whole-number ticks, even for one epoch
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # epochs are whole numbers
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def filter_grid(weights: Any, columns: int = 16, pad: int = 1) -> np.ndarray:
    """conv1 kernels (F, C, KH, KW) as one image (rows x columns tiles), each kernel scaled to 0..1."""
    w = asnumpy(weights).astype(np.float64)
    F, C, KH, KW = w.shape
    low = w.reshape(F, -1).min(axis=1)[:, None, None, None]
    high = w.reshape(F, -1).max(axis=1)[:, None, None, None]
    w = (w - low) / np.maximum(high - low, 1e-12)
    rows = -(-F // columns)
    grid = np.ones((rows * (KH + pad) + pad, columns * (KW + pad) + pad, C))
    for f in range(F):
        r, c = divmod(f, columns)
        grid[pad + r * (KH + pad) : pad + r * (KH + pad) + KH, pad + c * (KW + pad) : pad + c * (KW + pad) + KW] = w[f].transpose(1, 2, 0)
    return grid[:, :, 0] if C == 1 else grid


def plot_filters(weights: Any, path: str | Path, title: str = "conv1 kernels") -> Path:
    """Save the conv1 kernels as a picture grid, like Figure 3 of the paper."""
    grid = filter_grid(weights)
    figure = Figure(figsize=(8, 8 * grid.shape[0] / grid.shape[1] + 0.5))
    axis = figure.subplots()
    axis.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path)
