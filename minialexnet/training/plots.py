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

DPI = 100


def _save(figure: Figure, path: str | Path) -> Path:
    return write_atomically(path, lambda file: figure.savefig(file, format="png", dpi=DPI))


def plot_curves(history: list[dict[str, Any]], path: str | Path) -> Path:
    """Save the loss, top-1 error and top-5 error against epoch, for training and validation."""
    return _save(curves_figure(history), path)


def curves_figure(history: list[dict[str, Any]]) -> Figure:
    """The learning curves, three panels with whole-number epoch ticks: loss, top-1 error, top-5 error (top-5 is far
    below top-1, so on the top-1 axis its line would be a flat trace along the bottom)."""
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(14, 4))
    titles = ("cross-entropy loss", "top-1 error", "top-5 error")
    panels = zip(figure.subplots(1, 3), ("loss", "top1_error", "top5_error"), titles, strict=True)
    for axis, key, title in panels:
        for split, label in (("train", "train"), ("val", "validation")):
            axis.plot(epochs, [row[f"{split}_{key}"] for row in history], "o-", label=label)
        axis.set(xlabel="epoch", ylabel=title, title=title)
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


SCREEN_PIXELS_PER_WEIGHT = 8  # each kernel weight is drawn as an 8x8 block, so 11x11 kernels are readable


def plot_filters(weights: Any, path: str | Path, title: str = "conv1 kernels") -> Path:
    """Save the conv1 kernels as a picture grid, like Figure 3 of the paper (``filters_figure``)."""
    return _save(filters_figure(weights, title), path)


def filters_figure(weights: Any, title: str = "conv1 kernels") -> Figure:
    """The conv1 kernels (F, C, KH, KW) as a grid, their size in the title and, for grey kernels, the grey scale:
    each kernel is scaled to its own range (black its lowest weight, white its highest)."""
    F, C, KH, KW = asnumpy(weights).shape
    grid = filter_grid(weights)
    width = max(8.0, grid.shape[1] * SCREEN_PIXELS_PER_WEIGHT / DPI)
    figure = Figure(figsize=(width + (1.2 if C == 1 else 0.0), width * grid.shape[0] / grid.shape[1] + 0.8))
    axis = figure.subplots()
    shown = axis.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(f"{title}: {F} kernels of {KH}x{KW}x{C}, each scaled to its own range")
    if C == 1:
        bar = figure.colorbar(shown, ax=axis, fraction=0.04, ticks=[0.0, 1.0])
        bar.ax.set_yticklabels(["lowest", "highest"])
        bar.set_label("weight within its kernel")
    figure.tight_layout()
    return figure
