import csv
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minialexnet import evaluate, predict, train
from minialexnet.checkpoint import Checkpoint
from minialexnet.data import load_sample

QUICK = ["--limit", "600", "--batch-size", "64", "--seed", "1"]


def read_metrics(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_short_run_on_the_sample_lowers_the_loss_and_writes_outputs(tmp_path):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--limit", "1000", "--epochs", "3", "--out", str(out)]) == 0
    for name in ("metrics.csv", "last.npz", "best.npz", "curves.png", "filters.png"):
        assert (out / name).is_file(), name
    rows = read_metrics(out / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0] - 0.3
    assert float(rows[-1]["val_top1_error"]) < 0.6  # chance is 0.9
    assert Checkpoint(out / "last.npz").meta["epoch"] == 3


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    assert train.main([*QUICK, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    assert train.main([*QUICK, "--epochs", "1", "--out", str(tmp_path / "resumed")]) == 0
    assert (
        train.main([*QUICK, "--epochs", "2", "--out", str(tmp_path / "resumed"), "--resume", str(tmp_path / "resumed" / "last.npz")]) == 0
    )
    straight, resumed = read_metrics(tmp_path / "straight" / "metrics.csv"), read_metrics(tmp_path / "resumed" / "metrics.csv")
    for a, b in zip(straight, resumed, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    final_a, final_b = Checkpoint(tmp_path / "straight" / "last.npz"), Checkpoint(tmp_path / "resumed" / "last.npz")
    for key, value in final_a.params.items():
        np.testing.assert_array_equal(final_b.params[key], value)


def test_conv_algorithm_option_trains_the_same_network(tmp_path):
    """--conv im2col and the default (Winograd for conv2-5) differ only by float32 rounding
    (which ten SGD steps amplify to about 1e-3 of the loss)."""
    for conv in ("auto", "im2col"):
        assert train.main([*QUICK, "--epochs", "1", "--conv", conv, "--out", str(tmp_path / conv)]) == 0
    auto, im2col = (read_metrics(tmp_path / conv / "metrics.csv")[0] for conv in ("auto", "im2col"))
    assert float(auto["train_loss"]) == pytest.approx(float(im2col["train_loss"]), rel=1e-2)


def test_nan_loss_stops_with_advice_and_keeps_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "1", "--out", str(out)]) == 0
    good = (out / "last.npz").read_bytes()
    original_step = train.SGD.step

    def poisoned_step(self, params, grads):
        original_step(self, params, grads)
        params["fc8.b"][...] = np.nan

    monkeypatch.setattr(train.SGD, "step", poisoned_step)
    assert train.main([*QUICK, "--epochs", "2", "--out", str(out), "--resume", str(out / "last.npz")]) == 1
    message = capsys.readouterr().err
    assert "the loss became nan at epoch 2, step 2" in message and "lower learning rate" in message
    assert (out / "last.npz").read_bytes() == good


def test_ctrl_c_saves_last_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    original = train.train_epoch

    def interrupted(model, loss_layer, optimizer, loader, epoch, epochs, progress, parallel=None):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(model, loss_layer, optimizer, loader, epoch, epochs, progress, parallel)

    monkeypatch.setattr(train, "train_epoch", interrupted)
    assert train.main([*QUICK, "--epochs", "3", "--out", str(out)]) == 130
    assert Checkpoint(out / "last.npz").meta["epoch"] == 1


def test_gpu_request_without_gpu_exits_2_with_one_line(tmp_path):
    code = "import sys; sys.modules['cupy'] = None; from minialexnet.train import main; sys.exit(main(['--device', 'gpu']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "minialexnet[gpu]" in result.stderr


def test_resume_from_another_config_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "1", "--out", str(out)]) == 0
    assert train.main(["--config", "fashion", "--limit", "10", "--out", str(tmp_path / "x"), "--resume", str(out / "last.npz")]) == 2
    assert "parameter conv1.W has shape (24, 1, 5, 5) in the checkpoint but (96, 1, 11, 11)" in capsys.readouterr().err


def test_evaluate_and_predict_commands(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert evaluate.main(["--checkpoint", str(out / "best.npz"), "--data", "sample"]) == 0
    text = capsys.readouterr().out
    assert "top-1 error" in text and "top-5 error" in text
    sample = load_sample()
    image_path = tmp_path / "trouser.png"
    Image.fromarray(sample.test_images[np.flatnonzero(sample.test_labels == 1)[0], 0]).resize((100, 120)).save(image_path)
    assert predict.main(["--checkpoint", str(out / "best.npz"), str(image_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(image_path) and len(lines) == 6
    assert all("%" in line for line in lines[1:])


def test_ten_crop_evaluation_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "1", "--augment", "--eval-crops", "10", "--out", str(out)]) == 0
    assert evaluate.main(["--checkpoint", str(out / "last.npz"), "--eval-crops", "10"]) == 0
    assert "10 crop(s)" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--data", "nowhere-data"], ["--data", "cifar10"]])
def test_bad_data_is_one_line_exit_2(argv, tmp_path, capsys):
    assert train.main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
