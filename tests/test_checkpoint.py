import json
from pathlib import Path

import numpy as np
import pytest

from minialexnet.data import load_sample
from minialexnet.data.transforms import Preprocess
from minialexnet.models import alexnet
from minialexnet.optim import SGD
from minialexnet.tools.export import main as export_main
from minialexnet.training.checkpoint import Checkpoint, CheckpointError, RunMeta, save_checkpoint
from minialexnet.training.evaluate import evaluate_model
from minialexnet.training.evaluate import main as evaluate_main
from minialexnet.training.predict import main as predict_main
from minialexnet.training.train import main as train_main


def saved(tmp_path, seed=0):
    model = alexnet("mini", seed=seed)
    optimizer = SGD()
    optimizer.step(model.params, {k: np.ones_like(v) for k, v in model.params.items()})
    images = np.random.default_rng(0).integers(0, 256, (10, 1, 28, 28)).astype(np.uint8)
    pre = Preprocess(input_size=28).fit(images)
    path = save_checkpoint(
        tmp_path / "c.npz", model, RunMeta(epoch=3, class_names=list("abcdefghij"), rng=model.get_rng_state()), optimizer.velocity, pre
    )
    return model, optimizer, pre, path


def test_round_trip(tmp_path):
    model, optimizer, pre, path = saved(tmp_path)
    checkpoint = Checkpoint(path)
    assert checkpoint.meta.epoch == 3 and checkpoint.class_names[2] == "c"
    restored = checkpoint.build_model()
    for key, value in model.params.items():
        np.testing.assert_array_equal(restored.params[key], value)
    for key, value in optimizer.velocity.items():
        np.testing.assert_array_equal(checkpoint.velocities[key], value)
    np.testing.assert_array_equal(checkpoint.preprocess().mean_values, pre.mean_values)
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(restored.forward(x, train=False), model.forward(x, train=False))


def test_refuses_another_config_naming_parameter_and_shapes(tmp_path):
    _, _, _, path = saved(tmp_path)
    other = alexnet("mini", in_channels=3)
    with pytest.raises(
        CheckpointError, match=r"parameter conv1.W has shape \(24, 1, 5, 5\) in the checkpoint but \(24, 3, 5, 5\) in the model"
    ):
        Checkpoint(path).load_into(other)
    with pytest.raises(CheckpointError, match=r"parameter fc8.W has shape \(10, 512\) in the checkpoint but \(4, 512\)"):
        Checkpoint(path).load_into(alexnet("mini", num_classes=4))


def test_checkpoint_files_get_the_mode_of_ordinary_files(tmp_path):
    _, _, _, path = saved(tmp_path)
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    assert path.stat().st_mode & 0o777 == ordinary.stat().st_mode & 0o777


def test_write_is_atomic(tmp_path, monkeypatch):
    _, _, _, path = saved(tmp_path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, alexnet("mini", seed=9), RunMeta(epoch=4))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array("{}"), payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="holds a pickled \\(object\\) array, which minialexnet never loads") as caught:
        Checkpoint(path)
    assert "unsafe" not in str(caught.value) and "allow_pickle" not in str(caught.value)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        Checkpoint(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a minialexnet checkpoint"):
        Checkpoint(tmp_path / "other.npz")


FORMAT_1 = Path(__file__).resolve().parent / "fixtures" / "checkpoint-format-1"


def test_a_format_1_checkpoint_loads_and_evaluates_to_the_numbers_it_gave_when_written():
    """tests/fixtures/checkpoint-format-1/last.npz was written by minialexnet before RunMeta (3ca8ff7), and evaluated
    then (expected.json). It still loads, and evaluates to those numbers: the loss to 1e-5 relative and the logits to
    1e-5 of their largest magnitude (float32 BLAS rounds differently on another CPU), the top-1 and top-5 errors to
    one image in a thousand (a near tie that rounding flips)."""
    expected = json.loads((FORMAT_1 / "expected.json").read_text())
    checkpoint = Checkpoint(FORMAT_1 / "last.npz")
    assert checkpoint.meta.format == 1 and checkpoint.meta.epoch == 3 and "epochs" not in checkpoint.meta.options
    sample = load_sample()
    result = evaluate_model(checkpoint.build_model(), sample.test_images, sample.test_labels, checkpoint.preprocess())
    assert result["loss"] == pytest.approx(expected["evaluate"]["loss"], rel=1e-5)
    for key in ("top1_error", "top5_error"):
        assert abs(result[key] - expected["evaluate"][key]) <= 0.001, key
    logits = checkpoint.build_model().forward(checkpoint.preprocess()(sample.test_images[:8], "cpu", train=False), train=False)
    want = np.asarray(expected["logits_of_the_first_8_test_images"])
    assert np.abs(logits - want).max() <= 1e-5 * np.abs(want).max()


def test_a_newer_format_is_refused_in_one_line(tmp_path, capsys):
    with np.load(FORMAT_1 / "last.npz") as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays["meta"]))
    np.savez(tmp_path / "future.npz", **{**arrays, "meta": np.array(json.dumps({**meta, "format": 99}))})
    message = (
        f"{tmp_path / 'future.npz'}: checkpoint format 99 is newer than this minialexnet reads (formats 1 to 2); "
        "upgrade minialexnet to use it"
    )
    with pytest.raises(CheckpointError) as caught:
        Checkpoint(tmp_path / "future.npz")
    assert str(caught.value) == message
    for main, argv in (
        (evaluate_main, ["--checkpoint", str(tmp_path / "future.npz")]),
        (predict_main, ["--checkpoint", str(tmp_path / "future.npz"), str(tmp_path / "any.png")]),
        (export_main, [str(tmp_path / "future.npz"), "--onnx", str(tmp_path / "m.onnx")]),
        (train_main, ["--resume", str(tmp_path / "future.npz"), "--epochs", "5"]),
    ):
        assert main(argv) == 2
        assert capsys.readouterr().err.splitlines() == [f"error: {message}"]
