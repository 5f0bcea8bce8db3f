import sys

import numpy as np
import pytest
from PIL import Image

from minialexnet.optim import SGD, CosineSchedule
from minialexnet.training.options import build_parser, with_defaults
from minialexnet.training.plots import (
    LiveCurves,
    curves_figure,
    filters_figure,
    lr_drops,
    marks,
    plot_curves,
    plot_filters,
    run_title,
    validation_label,
)


def history(epochs):
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.1 / e,
            "train_top1_error": 0.5 / e,
            "val_top1_error": 0.6 / e,
            "train_top5_error": 0.05 / e,
            "val_top5_error": 0.1 / e,
        }
        for e in range(1, epochs + 1)
    ]


def test_curves_have_whole_number_epoch_ticks():
    for epochs in (1, 2, 3, 7):
        for axis in curves_figure(history(epochs)).axes:
            ticks = axis.get_xticks()
            assert len(ticks) > 0 and np.array_equal(ticks, np.round(ticks)), (epochs, ticks)


def test_plots_are_written_whole_and_leave_no_temporary_files(tmp_path):
    plot_curves(history(3), tmp_path / "curves.png")
    plot_filters(np.random.default_rng(0).standard_normal((8, 1, 5, 5)), tmp_path / "filters.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "filters.png"]
    for name in ("curves.png", "filters.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_top5_error_has_its_own_panel_and_axis():
    rows = history(4)
    loss, top1, top5 = curves_figure(rows).axes
    for axis, key in ((loss, "loss"), (top1, "top1_error"), (top5, "top5_error")):
        train, val = (line.get_ydata() for line in axis.get_lines())  # no best epoch and no lr column: nothing else drawn
        np.testing.assert_allclose(train, [row[f"train_{key}"] for row in rows])
        np.testing.assert_allclose(val, [row[f"val_{key}"] for row in rows])
    high = top5.get_ylim()[1]
    assert high < 0.2  # the axis spans the top-5 values (at most 0.1), not the top-1 range up to 0.6


def test_filters_picture_is_large_titled_with_the_kernel_size_and_explains_the_grey_scale(tmp_path):
    title = "conv1 kernels of best.npz (epoch 3)"
    plot_filters(np.random.default_rng(0).standard_normal((96, 1, 11, 11)), tmp_path / "grey.png", title)
    with Image.open(tmp_path / "grey.png") as image:
        assert image.size[0] >= 16 * 12 * 8  # 16 kernels of 11 (+1 gap) a row, 8 screen pixels a weight
        assert image.text["Title"] == title  # which checkpoint's kernels, in the file's metadata as on the picture
    grey = filters_figure(np.random.default_rng(1).standard_normal((96, 1, 11, 11)), title)
    assert grey.axes[0].get_title() == f"{title}\n96 kernels of 11x11x1, each scaled to its own range"
    assert [axis.get_xlabel() for axis in grey.axes[1:]] == ["weight within its kernel"]  # the grey scale's bar
    colour = filters_figure(np.random.default_rng(1).standard_normal((6, 3, 5, 7)), "conv1")
    assert colour.axes[0].get_title() == "conv1\n6 kernels of 5x7x3, each scaled to its own range" and len(colour.axes) == 1


def test_filters_picture_leaves_no_empty_band_beside_a_short_grid():
    """mini's 24 kernels of 5x5 make a grid 13 weights high: the picture is sized around it, not stretched to 8 inches
    wide with the grid shrunk into a corner."""
    figure = filters_figure(np.random.default_rng(0).standard_normal((24, 1, 5, 5)), "conv1")
    grid = figure.axes[0].get_position()
    assert abs((grid.x0 + grid.x1) / 2 - 0.5) < 1e-9  # centred
    width, height = figure.get_size_inches()
    assert abs(grid.width * width - 97 * 8 / 100) < 1e-9 and abs(grid.height * height - 13 * 8 / 100) < 1e-9


def with_lr(rows, lrs):
    return [{**row, "lr": lr} for row, lr in zip(rows, lrs, strict=True)]


def test_curves_title_names_the_run_and_its_recipe(tmp_path):
    args = with_defaults(build_parser().parse_args(["--limit", "1000", "--schedule", "step", "--step-size", "2", "--lr", "0.03"]))
    title = run_title("mini-sample-2", args)
    assert title.splitlines() == [
        "run mini-sample-2",
        "config mini on sample, 1,000 training images, batch 128, initial lr 0.03, momentum 0.9, weight decay 0.0005, "
        "lr / 10 every 2 epochs, init he, dropout 0.5, augment off, seed 0",
    ]
    figure = plot_curves(history(3), tmp_path / "curves.png", title)
    assert [text.get_text().replace("\n", " ") for text in figure.texts] == [title.replace("\n", " ")]  # wrapped, not cut
    with Image.open(tmp_path / "curves.png") as image:
        assert image.text["Title"] == " - ".join(title.splitlines())
    plateau = with_defaults(build_parser().parse_args(["--val-fraction", "0.1"]))
    assert "lr / 10 after 2 epochs without improvement" in run_title("x", plateau)
    cosine = with_defaults(build_parser().parse_args(["--schedule", "cosine", "--epochs", "5"]))
    assert "cosine decay to 0 over 5 epochs" in run_title("x", cosine)
    assert validation_label(args) == "validation (the test split)"
    assert validation_label(plateau) == "validation (10% of the training set)"


def test_curves_mark_the_best_epoch_on_every_validation_curve():
    rows = history(4)
    figure = curves_figure(rows, best_epoch=2, validation="validation (the test split)")
    stars = marks(figure, "best.npz (epoch 2)")
    assert len(stars) == 3  # loss, top-1 and top-5 panels
    for star, key in zip(stars, ("val_loss", "val_top1_error", "val_top5_error"), strict=True):
        assert list(star.get_xdata()) == [2] and list(star.get_ydata()) == [rows[1][key]]
    assert len(marks(figure, "validation (the test split)")) == 3
    legend = [text.get_text() for text in figure.legends[0].get_texts()]  # one legend for the figure, each entry once
    assert legend == ["train", "validation (the test split)", "best.npz (epoch 2)"]
    assert marks(curves_figure(rows), "best.npz (epoch 2)") == []


def test_curves_mark_each_learning_rate_drop_between_its_epochs():
    rows = with_lr(history(6), [0.02, 0.02, 0.002, 0.002, 0.002, 0.0002])
    assert lr_drops(rows) == [(3, 0.002), (6, 0.0002)]
    figure = curves_figure(rows)
    lines = marks(figure, "learning rate divided")
    assert sorted(line.get_xdata()[0] for line in lines) == [2.5] * 3 + [5.5] * 3  # between the epochs, in every panel
    for axis in figure.axes:
        assert [text.get_text() for text in axis.texts] == ["lr 0.002", "lr 0.0002"]
    assert marks(curves_figure(with_lr(history(3), [0.01] * 3)), "learning rate divided") == []


@pytest.mark.parametrize("epochs", [2, 3, 8, 90])
def test_a_cosine_schedule_decays_without_drops_to_mark(epochs):
    """Every epoch of a cosine run is lower than the one before, but by less than a division: no marks."""
    optimizer, schedule, lrs = SGD(lr=0.02), CosineSchedule(epochs, 0.02), []
    for _ in range(epochs):
        lrs.append(optimizer.lr)
        schedule.step(optimizer, 0.5)
    assert lrs[-1] < lrs[0] / 10 or epochs < 8
    assert lr_drops(with_lr(history(epochs), lrs)) == []
    assert lr_drops(with_lr(history(3), [0.02, 0.01, 0.0015])) == [(3, 0.0015)]  # halved: not marked; 6.7-fold: marked


def test_curves_draw_the_metrics_a_history_has():
    """Lesson 7's loop records a training loss and a test error: two panels, one curve each."""
    rows = [{"epoch": e, "train_loss": 1 / e, "val_top1_error": 0.5 / e} for e in (1, 2, 3)]
    figure = curves_figure(rows, "sanity check 3", validation="test")
    assert [axis.get_ylabel() for axis in figure.axes] == ["cross-entropy loss (nats per image)", "top-1 error (images misclassified)"]
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["train"]
    assert [line.get_label() for line in figure.axes[1].get_lines()] == ["test"]


def test_live_curves_show_nothing_outside_a_notebook(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    live = LiveCurves()
    live.show(curves_figure(history(2)))
    assert live.handle is None


def test_live_curves_display_once_then_update_the_same_output(monkeypatch):
    """In a kernel the first figure is displayed with a display id and every later one replaces it."""
    display_module = pytest.importorskip("IPython.display")
    import IPython

    calls = []

    class Handle:
        def update(self, picture):
            calls.append(("update", picture.data[:8]))

    def display(picture, display_id):
        calls.append(("display", picture.data[:8]))
        return Handle()

    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    monkeypatch.setattr(display_module, "display", display)
    live = LiveCurves()
    for epochs in (1, 2, 3):
        live.show(curves_figure(history(epochs)))
    assert calls == [("display", b"\x89PNG\r\n\x1a\n"), ("update", b"\x89PNG\r\n\x1a\n"), ("update", b"\x89PNG\r\n\x1a\n")]
