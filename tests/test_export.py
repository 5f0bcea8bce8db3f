"""minialexnet.export: ONNX Runtime, an independent implementation, computes what minialexnet computes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from reference import assert_same_top1, rel_err
from small_disk import make_read_only, small_disk

from minialexnet.data import load_dataset
from minialexnet.models import alexnet
from minialexnet.tools.export import OPSET, export_onnx, onnx_model
from minialexnet.tools.export import main as export_main
from minialexnet.training.checkpoint import Checkpoint
from minialexnet.training.train import build_parser, run

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# batch and input scale per config (0..255 minus the mean for the 227x227 ones); He weights
# keep the activations large enough that LRN's alpha term matters, so a wrong alpha
# convention would show
CASES = {"mini": (8, 20.0), "paper-2gpu": (2, 60.0), "paper": (2, 60.0)}


def _session(model_or_path):
    source = model_or_path.SerializeToString() if hasattr(model_or_path, "SerializeToString") else str(model_or_path)
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("config", list(CASES))
def test_onnx_runtime_gives_minialexnets_logits(config):
    batch, scale = CASES[config]
    model = alexnet(config, seed=7, init="he")
    exported = onnx_model(model)
    onnx.checker.check_model(exported, full_check=True)
    _check_graph(exported, model)
    x = (np.random.default_rng(3).standard_normal((batch, *model.input_shape)) * scale).astype(np.float32)
    ours = model.forward(x, train=False)
    theirs = _session(exported).run(["logits"], {"image": x})[0]
    assert theirs.dtype == np.float32 and theirs.shape == ours.shape
    assert rel_err(ours, theirs) < 1e-4
    assert_same_top1(ours, theirs, margin=1e-4 * np.abs(ours).max())


def _check_graph(exported, model):
    """One node per layer (a grouped LRN: split, one LRN per group, concat) with the layer's settings in ONNX's
    conventions; no dropout; opset and metadata stated."""
    attributes = {node.name: {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute} for node in exported.graph.node}
    grouped = model.config.name == "paper-2gpu"  # norm1 and norm2 normalise each GPU's half of the maps (Section 3.2)
    norm = ["Split", "LRN", "LRN", "Concat"] if grouped else ["LRN"]
    assert [node.op_type for node in exported.graph.node] == (
        ["Conv", "Relu", *norm, "MaxPool"] * 2 + ["Conv", "Relu"] * 3 + ["MaxPool", "Flatten"] + ["Gemm", "Relu"] * 2 + ["Gemm"]
    )  # no Dropout: the identity at test time
    if grouped:
        assert attributes["norm1.split"]["num_outputs"] == 2 and attributes["norm1"]["axis"] == 1
        attributes["norm1"], attributes["norm2"] = attributes["norm1.part0.lrn"], attributes["norm2.part1.lrn"]
    groups = [attributes[f"conv{i}"]["group"] for i in range(1, 6)]
    assert groups == ([1, 2, 1, 2, 2] if model.config.name == "paper-2gpu" else [1] * 5)
    assert attributes["conv1"]["strides"] == list(model["conv1"].stride) and attributes["conv2"]["pads"] == [2, 2, 2, 2]
    assert attributes["norm1"]["alpha"] == pytest.approx(5e-4) and attributes["norm1"]["size"] == 5  # ONNX divides alpha by size
    assert attributes["norm2"]["bias"] == 2.0 and attributes["norm2"]["beta"] == 0.75
    assert all(attributes[f"fc{i}"]["transB"] == 1 for i in (6, 7, 8))
    assert exported.opset_import[0].version == OPSET == 18
    assert [o.name for o in exported.graph.output] == ["logits"]
    assert exported.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    metadata = {p.key: p.value for p in exported.metadata_props}
    assert metadata["config"] == model.config.name and metadata["input_size"] == str(model.config.input_size)
    assert "NOT divided" in metadata["lrn"] and len(json.loads(metadata["class_names"])) == model.config.num_classes


def _preprocess_from_metadata(images, metadata):
    """The network input, from uint8 images and nothing but the file's metadata (the sample needs no resize)."""
    assert metadata["crop_from"] == "0" and int(metadata["input_size"]) == images.shape[-1]
    mean = np.asarray(json.loads(metadata["mean"]), dtype=np.float32)
    mean = mean.reshape(1, -1, 1, 1) if mean.ndim == 1 else mean[None]
    return (images.astype(np.float32) - mean) * np.float32(float(metadata["scale"]))


def test_trained_network_gives_the_same_logits_through_onnx_runtime(tmp_path, capsys):
    """A trained checkpoint, exported, run by ONNX Runtime on images prepared from the file's metadata alone, gives
    minialexnet's logits on the images its checkpoint prepares (and so its predictions, near ties aside); the same
    images left unprepared give other logits, so the preprocessing in the metadata is what makes them agree."""
    options = ["--data", "sample", "--limit", "1000", "--epochs", "2", "--batch-size", "32", "--out", str(tmp_path / "run")]
    run(build_parser().parse_args(options))
    path = tmp_path / "model.onnx"
    assert export_main([str(tmp_path / "run" / "best.npz"), "--onnx", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    onnx.checker.check_model(str(path), full_check=True)
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    dataset = load_dataset("sample")
    assert json.loads(metadata["class_names"]) == dataset.class_names
    checkpoint = Checkpoint(tmp_path / "run" / "best.npz")
    images = dataset.test_images
    ours = checkpoint.build_model().forward(checkpoint.preprocess()(images, "cpu", train=False), train=False)
    session = _session(path)
    theirs = session.run(["logits"], {"image": _preprocess_from_metadata(images, metadata)})[0]
    assert rel_err(ours, theirs) < 1e-4
    assert_same_top1(ours, theirs, margin=1e-4 * np.abs(ours).max())
    unprepared = session.run(["logits"], {"image": images.astype(np.float32)})[0]
    assert rel_err(ours, unprepared) > 1e-2


def test_export_errors_are_one_line_and_say_what_to_do(tmp_path, capsys, monkeypatch):
    assert export_main([str(tmp_path / "missing.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {tmp_path / 'missing.npz'}: no such checkpoint"]
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    assert export_main([str(tmp_path / "bad.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {tmp_path / 'bad.npz'}: not a minialexnet checkpoint (not an .npz file); use another checkpoint "
        "(best.npz and last.npz of a run are independent copies) or train again"
    ]
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    with pytest.raises(ImportError, match=r'pip install "minialexnet\[onnx\]"'):
        export_onnx(alexnet("mini"), tmp_path / "m.onnx")


def test_export_never_writes_onto_its_input_nor_leaves_a_broken_file(tmp_path, capsys):
    """--onnx naming the checkpoint is refused (the checkpoint intact); on a full disk the previous .onnx stays whole
    and the one error line names the file (exit 3)."""
    assert run(build_parser().parse_args(["--limit", "100", "--batch-size", "50", "--epochs", "1", "--out", str(tmp_path / "run")]))
    capsys.readouterr()
    checkpoint = tmp_path / "run" / "best.npz"
    before = checkpoint.read_bytes()
    assert export_main([str(checkpoint), "--onnx", str(checkpoint)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --onnx {checkpoint} is the checkpoint itself: writing there would destroy it; choose another file name"
    )
    assert checkpoint.read_bytes() == before
    with small_disk(tmp_path / "disk", "3m") as disk:
        target = disk / "model.onnx"
        assert export_main([str(checkpoint), "--onnx", str(target)]) == 0  # 2.1 MB: fits once
        previous = target.read_bytes()
        capsys.readouterr()
        assert export_main([str(checkpoint), "--onnx", str(target)]) == 3  # the second copy does not fit beside it
        assert capsys.readouterr().err.strip().splitlines() == [
            f"error: cannot write {target} (No space left on device); any previous file there is intact"
        ]
        assert target.read_bytes() == previous and sorted(p.name for p in disk.iterdir()) == ["model.onnx"]


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    assert run(build_parser().parse_args(["--limit", "100", "--batch-size", "50", "--epochs", "1", "--out", str(out), "--no-progress"]))
    return out / "best.npz"


def test_export_replaces_only_an_earlier_export_of_its_own(checkpoint_file, tmp_path, capsys):
    """An existing --onnx that is not an ONNX model written by minialexnet (a checkpoint, notes, an empty file, another
    producer's model) is refused and left as it was (exit 2); an earlier export is replaced; --force replaces anything."""
    notes, empty, theirs, last = tmp_path / "notes.txt", tmp_path / "empty.onnx", tmp_path / "theirs.onnx", tmp_path / "last.npz"
    notes.write_text("my notes")
    empty.write_bytes(b"")
    other = onnx_model(alexnet("mini"))
    other.producer_name = "pytorch"
    theirs.write_bytes(other.SerializeToString())
    last.write_bytes(checkpoint_file.read_bytes())
    for target in (notes, empty, theirs, last):
        before = target.read_bytes()
        assert export_main([str(checkpoint_file), "--onnx", str(target)]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"error: --onnx {target} exists and is not an ONNX model written by minialexnet: writing there would destroy it; "
            "choose another file name, or pass --force to replace it"
        ]
        assert target.read_bytes() == before
    ours = tmp_path / "model.onnx"
    assert export_main([str(checkpoint_file), "--onnx", str(ours)]) == 0
    assert export_main([str(checkpoint_file), "--onnx", str(ours)]) == 0  # an earlier export of ours
    assert export_main([str(checkpoint_file), "--onnx", str(notes), "--force"]) == 0
    assert onnx.load(str(notes)).producer_name == "minialexnet"
    printed = capsys.readouterr().out
    assert "input 'image' float32 (N, 1, 28, 28)" in printed


def test_export_into_a_read_only_folder_names_the_target_not_a_temporary(checkpoint_file, tmp_path, capsys):
    with small_disk(tmp_path / "disk", "1m") as disk:
        make_read_only(disk)
        target = disk / "model.onnx"
        assert export_main([str(checkpoint_file), "--onnx", str(target)]) == 2  # a folder unusable from the start
        assert capsys.readouterr().err.splitlines() == [
            f"error: cannot write {target} (Read-only file system); any previous file there is intact"
        ]
