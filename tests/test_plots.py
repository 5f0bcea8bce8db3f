import numpy as np

from minialexnet.training.plots import curves_figure, filters_figure, plot_curves, plot_filters


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
        train, val = (line.get_ydata() for line in axis.get_lines())
        np.testing.assert_allclose(train, [row[f"train_{key}"] for row in rows])
        np.testing.assert_allclose(val, [row[f"val_{key}"] for row in rows])
    high = top5.get_ylim()[1]
    assert high < 0.2  # the axis spans the top-5 values (at most 0.1), not the top-1 range up to 0.6


def test_filters_picture_is_large_titled_with_the_kernel_size_and_explains_the_grey_scale(tmp_path):
    from PIL import Image

    plot_filters(np.random.default_rng(0).standard_normal((96, 1, 11, 11)), tmp_path / "grey.png", "conv1 kernels after epoch 3")
    with Image.open(tmp_path / "grey.png") as image:
        assert image.size[0] >= 16 * 12 * 8  # 16 kernels of 11 (+1 gap) a row, 8 screen pixels a weight
    grey = filters_figure(np.random.default_rng(1).standard_normal((96, 1, 11, 11)), "conv1")
    assert grey.axes[0].get_title() == "conv1: 96 kernels of 11x11x1, each scaled to its own range"
    assert [axis.get_ylabel() for axis in grey.axes[1:]] == ["weight within its kernel"]  # the grey scale's bar
    colour = filters_figure(np.random.default_rng(1).standard_normal((6, 3, 5, 7)), "conv1")
    assert colour.axes[0].get_title() == "conv1: 6 kernels of 5x7x3, each scaled to its own range" and len(colour.axes) == 1
