"""The commands on the "gpu" device: a real CUDA device where there is one, the strict device elsewhere (conftest.py).

Each test checks a GPU result against the CPU's: train two epochs, save there and load on the
CPU, evaluate with ten crops, predict; check every gradient; run the benchmark once.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from reference import assert_same_top1

from minialexnet import gradcheck
from minialexnet.backend import asnumpy, device_of
from minialexnet.data import load_sample
from minialexnet.tools import bench
from minialexnet.training import evaluate, predict, train
from minialexnet.training.checkpoint import Checkpoint

pytestmark = pytest.mark.parametrize("device", [pytest.param("gpu", marks=pytest.mark.gpu)], indirect=True)
TWO_EPOCHS = ["--limit", "100", "--batch-size", "50", "--epochs", "2", "--seed", "3", "--augment", "--eval-crops", "10"]


def test_train_save_evaluate_and_predict_on_the_gpu_as_on_the_cpu(device, tmp_path, capsys):
    """Two epochs (augmentation, 10-crop validation) on both devices; the GPU's checkpoint, loaded on the CPU, predicts the same."""
    runs = {
        where: train.run(
            train.build_parser().parse_args([*TWO_EPOCHS, "--device", where, "--engine", "reference", "--out", str(tmp_path / where)])
        )
        for where in ("cpu", device)
    }
    assert device_of(runs[device]["model"].params["conv1.W"]) == "gpu:0"
    for gpu_row, cpu_row in zip(runs[device]["history"], runs["cpu"]["history"], strict=True):
        # four steps: the devices' rounding moves the losses by far less than this; the validation error, a count of
        # 20 images, is not compared (a near tie that rounding flips moves it by 0.05)
        for key in ("train_loss", "val_loss"):
            assert gpu_row[key] == pytest.approx(cpu_row[key], rel=1e-3), key
    saved = tmp_path / device / "last.npz"

    sample = load_sample()
    images = sample.test_images[:32]
    model, preprocess = runs[device]["model"], runs[device]["preprocess"]
    on_gpu = asnumpy(model.forward(preprocess(images, device), train=False))
    restored = Checkpoint(saved)
    on_cpu = restored.build_model("cpu").forward(restored.preprocess()(images, "cpu"), train=False)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-4, atol=1e-4)
    assert_same_top1(on_cpu, on_gpu, margin=1e-4)

    results = {
        where: evaluate.evaluate_model(net, sample.test_images[:100], sample.test_labels[:100], pre, where, eval_crops=10)
        for where, net, pre in ((device, model, preprocess), ("cpu", restored.build_model("cpu"), restored.preprocess()))
    }
    for error in ("top1_error", "top5_error"):  # equal on the strict device; a real GPU's rounding may flip a near tie
        assert abs(results[device][error] - results["cpu"][error]) <= 0.02
    assert results[device]["loss"] == pytest.approx(results["cpu"]["loss"], rel=1e-4)
    capsys.readouterr()
    assert evaluate.main(["--checkpoint", str(saved), "--device", device]) == 0
    assert "top-1 error" in capsys.readouterr().out

    image = tmp_path / "boot.png"
    Image.fromarray(sample.test_images[0, 0]).resize((90, 70)).save(image)
    ranked_gpu, ranked_cpu = (predict.predict_images(restored, [image], where)[0] for where in (device, "cpu"))
    assert [name for name, _ in ranked_gpu] == [name for name, _ in ranked_cpu]
    np.testing.assert_allclose([p for _, p in ranked_gpu], [p for _, p in ranked_cpu], rtol=1e-4, atol=1e-6)
    assert predict.main(["--checkpoint", str(saved), "--device", device, str(image)]) == 0


def test_gradient_check_passes_on_the_gpu(device):
    report = gradcheck.check_all(device)
    assert report.passed, report.table()
    assert len(report.rows) > 30


def test_bench_smoke_run(device, capsys):
    assert bench.main(["--device", device, "--batch-size", "4", "--smoke"]) == 0
    printed = capsys.readouterr().out
    assert f"batch 4, {device}" in printed and "training step" in printed and "not measurements" in printed
