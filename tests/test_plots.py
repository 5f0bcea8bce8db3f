import numpy as np

from minialexnet.training.plots import curves_figure, plot_curves, plot_filters


def history(epochs):
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.1 / e,
            "train_top1_error": 0.5 / e,
            "val_top1_error": 0.6 / e,
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
