import numpy as np
import pytest

from minialexnet.data.transforms import Preprocess
from minialexnet.models import alexnet
from minialexnet.optim import SGD
from minialexnet.training.checkpoint import Checkpoint, CheckpointError, RunMeta, save_checkpoint


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
