"""Pictures of a run: learning curves, drawn after each epoch and in place while a notebook trains, and the conv1
kernels (the paper's Figure 3).

``curves.png`` is titled with the run's folder name and its recipe (``run_title``), and marks
the epoch ``best.npz`` holds and every division of the learning rate; ``filters.png`` says
whose kernels it shows (train.py draws ``best.npz``'s). ``LiveCurves`` shows the same
figure in a Jupyter notebook, one picture redrawn after every epoch, as d2l's
``ProgressBoard`` does.

Figures are made with ``matplotlib.figure.Figure`` directly, not through pyplot, so saving
them works without a display and never changes the backend of a notebook that imports this.
They are written atomically (``files.write_atomically``), like the checkpoints.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from minialexnet.backend import asnumpy
from minialexnet.training.files import write_atomically

DPI = 100
# (metric, y-axis label): one panel each. Top-5 error has its own panel: it is far below top-1, so on the top-1
# axis its line would be a flat trace along the bottom.
PANELS = (
    ("loss", "cross-entropy loss (nats per image)"),
    ("top1_error", "top-1 error (images misclassified)"),
    ("top5_error", "top-5 error (images misclassified)"),
)
TRAIN_STYLE = {"color": "tab:blue", "marker": "o"}
VALIDATION_STYLE = {"color": "tab:orange", "marker": "o"}
BEST_STYLE = {"color": "tab:green", "marker": "*", "markersize": 16, "linestyle": "none", "zorder": 3}
LR_STYLE = {"color": "0.35", "linestyle": ":", "linewidth": 1.5}


def _write_png(figure: Figure, file: BinaryIO, title: str = "") -> None:
    figure.savefig(file, format="png", dpi=DPI, metadata={"Title": " - ".join(title.splitlines())} if title else None)


def _save(figure: Figure, path: str | Path, title: str) -> Path:
    """Write ``figure`` to ``path`` atomically, with ``title`` (on one line) as the PNG's Title, which image viewers show."""
    return write_atomically(path, lambda file: _write_png(figure, file, title))


def run_title(name: str, args: argparse.Namespace, history: list[dict[str, Any]] | None = None) -> str:
    """The curves' title for a run of ``python -m minialexnet.train``: its folder's name, then its recipe (``args``
    with the defaults filled in; the initial lr is the first epoch's in ``history``, as a resumed run's ``args.lr`` is
    the rate it resumed at)."""

    def epochs(count: int) -> str:
        return f"{count} epoch{'s' if count != 1 else ''}"

    schedule = {
        "plateau": f"lr / 10 after {epochs(args.patience)} without improvement",
        "step": f"lr / 10 every {epochs(args.step_size)}",
        "cosine": f"cosine decay to 0 over {epochs(args.epochs)}",
        "none": "constant lr",
    }[args.schedule]
    images = f", {args.limit:,} training images" if args.limit else ""
    lr = history[0]["lr"] if history else args.lr
    recipe = (
        f"config {args.config} on {args.data}{images}, batch {args.batch_size}, initial lr {lr:g}, momentum {args.momentum:g}, "
        f"weight decay {args.weight_decay:g}, {schedule}, init {args.init}, dropout {args.dropout:g}, "
        f"augment {'on' if args.augment else 'off'}, seed {args.seed}"
    )
    return f"run {name}\n{recipe}"


def validation_label(args: argparse.Namespace) -> str:
    """What the validation curves are measured on: the test split (``--val-fraction 0``) or a held-out share."""
    return "validation (the test split)" if args.val_fraction == 0 else f"validation ({args.val_fraction:.0%} of the training set)"


DROP_FACTOR = 5  # the plateau and step schedules divide by 10; the cosine schedule never lowers the lr 4-fold in one epoch


def lr_drops(history: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(epoch, its lr) for every epoch whose ``lr`` is the epoch before's divided by ``DROP_FACTOR`` or more: where the
    plateau or step schedule divided it (or a resume lowered it that far). A cosine schedule's gradual decay is
    named in ``run_title``, not marked."""
    rows = [row for row in history if "lr" in row]
    return [(row["epoch"], row["lr"]) for before, row in itertools.pairwise(rows) if row["lr"] * DROP_FACTOR <= before["lr"]]


def plot_curves(
    history: list[dict[str, Any]], path: str | Path, title: str = "", best_epoch: int | None = None, validation: str = "validation"
) -> Figure:
    """Save ``curves_figure(history, title, best_epoch, validation)`` as a PNG at ``path`` (``title`` its Title too);
    returns the figure."""
    figure = curves_figure(history, title, best_epoch, validation)
    _save(figure, path, title)
    return figure


def curves_figure(history: list[dict[str, Any]], title: str = "", best_epoch: int | None = None, validation: str = "validation") -> Figure:
    """The learning curves against the epoch, one panel per metric of ``PANELS`` that ``history`` holds.

    ``history`` is train's rows (``history.METRIC_FIELDS``) or any rows with an ``epoch`` and some of
    ``train_loss``, ``val_loss``, ``train_top1_error``, ``val_top1_error``, ``train_top5_error``,
    ``val_top5_error`` and ``lr`` (lesson 7's loop has a training loss and a test error alone).
    ``validation`` names the validation curves in the legend. A green star marks ``best_epoch``
    on every validation curve (the epoch ``best.npz`` holds), and a dotted line before an
    epoch marks each drop of ``lr`` (``lr_drops``), with the new value. ``title`` heads the figure; its
    lines are wrapped to the figure's width.
    """
    epochs = [row["epoch"] for row in history]
    drawn = [(key, label) for key, label in PANELS if any(f"{split}_{key}" in row for row in history for split in ("train", "val"))]
    drawn = drawn or list(PANELS)
    figure = Figure(figsize=(4.6 * len(drawn), 4.2))
    axes = figure.subplots(1, len(drawn), squeeze=False)[0]
    drops = lr_drops(history)
    for axis, (key, label) in zip(axes, drawn, strict=True):
        for split, name, style in (("train", "train", TRAIN_STYLE), ("val", validation, VALIDATION_STYLE)):
            points = [(row["epoch"], row[f"{split}_{key}"]) for row in history if f"{split}_{key}" in row]
            if points:
                axis.plot(*zip(*points, strict=True), label=name, **style)
        best = [row[f"val_{key}"] for row in history if row["epoch"] == best_epoch and f"val_{key}" in row]
        if best:
            axis.plot([best_epoch], best, label=f"best.npz (epoch {best_epoch})", **BEST_STYLE)
        for number, (epoch, lr) in enumerate(drops):  # the line between the last epoch at the old rate and the first at the new
            axis.axvline(epoch - 0.5, label="learning rate divided", **LR_STYLE)
            # every other label a line higher, so that two drops a few epochs apart do not overlap
            axis.annotate(
                f"lr {lr:g}",
                (epoch - 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2 + 9 * (number % 2)),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color=LR_STYLE["color"],
            )
        if "error" in key:
            axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))  # the errors are fractions: ticks read 45%
        axis.set(xlabel="epoch", ylabel=label)
        axis.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)  # room for whole-number ticks, even for one epoch
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # epochs are whole numbers
        axis.grid(alpha=0.3)
    handles = {line.get_label(): line for axis in axes for line in axis.get_lines()}  # one legend entry per label, for all panels
    figure.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), frameon=False)
    if title:
        width = int(figure.get_figwidth() * 11)  # 11-point text: about 12 characters to an inch, and a margin
        figure.suptitle("\n".join(wrap_at_commas(line, width) for line in title.splitlines()), fontsize=11)
    figure.tight_layout(rect=(0, 0.07, 1, 1))  # the bottom 7% holds the legend
    return figure


def wrap_at_commas(line: str, width: int) -> str:
    """``line`` broken after its commas into lines of at most ``width`` characters where it can be (a recipe's items,
    "batch 128", "seed 0", are never split)."""
    lines: list[str] = []
    for item in line.split(", "):
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += f", {item}"
        else:
            lines[-1:] = [f"{lines[-1]},", item] if lines else [item]
    return "\n".join(lines)


def marks(figure: Figure, label: str) -> list[Line2D]:
    """The lines of ``figure`` labelled ``label`` (a curve, the best epoch's star, an lr drop), in every panel."""
    return [line for axis in figure.axes for line in axis.get_lines() if line.get_label() == label]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached), where a display can be updated in place."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has always imported it already
    return ipython is not None and getattr(ipython.get_ipython(), "kernel", None) is not None


class LiveCurves:
    """Learning curves shown while training runs: one picture in the notebook, redrawn after every epoch (as d2l's
    ``ProgressBoard`` does), not a new one per epoch.

    Pass ``show`` a figure after each epoch (``curves_figure(history)``, or hand ``show`` to
    ``train.run(args, show_curves=...)``, which passes it the figure of ``curves.png``). The
    first call displays the picture with a display id (``IPython.display.display(...,
    display_id=True)``); later calls update that same output. Outside a notebook (a script,
    a terminal, ``python -m minialexnet.train``) it shows nothing: the run's ``curves.png``
    is the record there.
    """

    def __init__(self) -> None:
        self.handle: Any = None  # the notebook output being updated, once shown

    def show(self, figure: Figure) -> None:
        """Show ``figure`` in place of the one shown before (nothing outside a notebook)."""
        if not in_notebook():
            return
        from IPython.display import Image, display

        png = io.BytesIO()
        _write_png(figure, png)
        picture = Image(data=png.getvalue(), format="png")
        if self.handle is None:
            self.handle = display(picture, display_id=True)
        else:
            self.handle.update(picture)


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
    """Save the conv1 kernels as a picture grid, like Figure 3 of the paper (``filters_figure``; ``title`` is the PNG's
    Title too)."""
    return _save(filters_figure(weights, title), path, title)


def filters_figure(weights: Any, title: str = "conv1 kernels") -> Figure:
    """The conv1 kernels (F, C, KH, KW) as a grid, ``title`` above their count and size and, for grey kernels, the grey
    scale: each kernel is scaled to its own range (black its lowest weight, white its highest).

    The grid is drawn at ``SCREEN_PIXELS_PER_WEIGHT`` pixels a weight, and the figure is sized
    around it in inches (the title above, the grey scale below), so no space is left empty.
    """
    F, C, KH, KW = asnumpy(weights).shape
    grid = filter_grid(weights)
    grid_width, grid_height = (size * SCREEN_PIXELS_PER_WEIGHT / DPI for size in (grid.shape[1], grid.shape[0]))
    margin, top = 0.2, 0.7  # inches: around the picture, and above it for the title's two lines
    bottom = 0.95 if C == 1 else margin  # room for the grey scale and its label
    width, height = max(grid_width, 6.0) + 2 * margin, grid_height + top + bottom  # at least 6 inches: the title's width
    figure = Figure(figsize=(width, height))
    axis = figure.add_axes(((width - grid_width) / 2 / width, bottom / height, grid_width / width, grid_height / height))
    shown = axis.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(f"{title}\n{F} kernels of {KH}x{KW}x{C}, each scaled to its own range", fontsize=11)
    if C == 1:  # the grey scale, under the grid: its label fits whatever the grid's height
        bar_width = 2.4
        cax = figure.add_axes(((width - bar_width) / 2 / width, (bottom - 0.35) / height, bar_width / width, 0.15 / height))
        scale = figure.colorbar(shown, cax=cax, orientation="horizontal", ticks=[0.0, 1.0])
        scale.ax.set_xticklabels(["lowest", "highest"])
        scale.set_label("weight within its kernel")
    return figure
