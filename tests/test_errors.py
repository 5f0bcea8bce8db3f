"""Every bad input gets one line that names the file or option and says what to do, never a traceback.

One table, ``CASES``: command-line cases run the tools' ``main`` and must exit with the code
given (2 for bad input, 1 for a diverged run, 0 where the input is skipped with a warning)
and print exactly one ``error:`` line on stderr holding every fragment; library cases must
raise the exception given, with a one-line message holding every fragment.
"""

from __future__ import annotations

import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minialexnet import gradcheck
from minialexnet.layers import Conv2d, Linear, ReLU, SoftmaxCrossEntropy
from minialexnet.models import alexnet
from minialexnet.tools import bench
from minialexnet.training import evaluate, predict, train

TRAIN = ["--limit", "100", "--batch-size", "50", "--epochs", "1"]


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width x height pixels (Pillow reads the size before any pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def image_folder(root: Path, classes: int, per_class: int, channels_value: int = 0) -> Path:
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((12, 12, 3), 30 * c + i + channels_value, np.uint8)).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A tiny trained checkpoint, damaged copies of it, and bad data, in one folder."""
    d = tmp_path_factory.mktemp("errors")
    assert train.main([*TRAIN, "--out", str(d / "good")]) == 0
    raw = (d / "good" / "best.npz").read_bytes()
    (d / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (d / "zero.npz").write_bytes(b"")
    flipped = bytearray(raw)
    flipped[len(raw) // 3] ^= 0xFF  # inside a member: its CRC no longer matches
    (d / "flipped.npz").write_bytes(bytes(flipped))
    np.save(d / "array.npy", np.zeros(3))
    (d / "array.npy").rename(d / "renamed.npz")
    with np.load(d / "good" / "best.npz") as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays["meta"]))

    def variant(name: str, **changes: np.ndarray | None) -> None:
        changed = {**arrays, **changes}
        np.savez(d / name, **{key: value for key, value in changed.items() if value is not None})

    variant("meta_not_json.npz", meta=np.array("{not json"))
    variant("meta_no_config.npz", meta=np.array(json.dumps({k: v for k, v in meta.items() if k != "config"})))
    variant("no_preprocess.npz", **{key: None for key in arrays if key.startswith("preprocess/")})
    variant("str_param.npz", **{"param/conv1.W": np.full(arrays["param/conv1.W"].shape, "x")})
    variant("int_param.npz", **{"param/conv1.W": arrays["param/conv1.W"].astype(np.int64)})
    variant("mean_shape.npz", **{"preprocess/mean_values": np.zeros(3)})
    variant("mean_text.npz", **{"preprocess/mean_values": np.array(["x"])})
    variant("velocity_shape.npz", **{"velocity/conv1.W": np.zeros((2, 3), np.float32)})
    variant("velocity_extra.npz", **{"velocity/conv9.W": np.zeros(3, np.float32)})
    (d / "loop.npz").symlink_to(d / "loop.npz")
    np.savez(d / "pickled.npz", meta=arrays["meta"], payload=np.array([{"a": 1}], dtype=object))
    np.savez(d / "foreign.npz", x=np.zeros(2))
    image_folder(d / "rgb4" / "train", 4, 2)
    image_folder(d / "rgb4" / "test", 4, 1)
    image_folder(d / "rgb2" / "train", 2, 2)
    image_folder(d / "rgb2" / "test", 2, 1)
    assert train.main(["--data", str(d / "rgb4"), "--limit", "8", "--batch-size", "4", "--epochs", "1", "--out", str(d / "rgb")]) == 0
    (d / "idx").mkdir()
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (d / "idx" / stem).write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2**31, 2**31, 4) + bytes(16))
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (d / "idx" / stem).write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes(2))
    png_header(d / "huge.png", 30000, 30000)
    image_folder(d / "bomb", 2, 4)
    png_header(d / "bomb" / "class0" / "bomb.png", 30000, 30000)
    image_folder(d / "allbad", 1, 3)
    (d / "allbad" / "class1").mkdir()
    for i in range(3):
        (d / "allbad" / "class1" / f"{i}.png").write_bytes(b"not a png")
    (d / "afile").write_text("x")
    (d / "lastdir" / "last.npz").mkdir(parents=True)
    image_folder(d / "oneclass", 1, 4)
    for name in ("a", "b"):  # every image one value: no spread to scale by
        (d / "flat" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((12, 12, 3), 77, np.uint8)).save(d / "flat" / name / f"{i}.png")
    return d


def cli(main, *argv):
    return main, [str(a) for a in argv]


def ev(checkpoint, *argv):
    return cli(evaluate.main, "--checkpoint", checkpoint, *argv)


def tr(*argv):
    return cli(train.main, *TRAIN, *argv)


# (case, what to run given the files folder d, expected exit code or exception type, fragments of the one line)
CASES = [
    # checkpoints
    ("checkpoint truncated", lambda d: ev(d / "truncated.npz"), 2, ["truncated.npz: damaged", "use another checkpoint"]),
    ("checkpoint zero bytes", lambda d: ev(d / "zero.npz"), 2, ["zero.npz: damaged", "train again"]),
    ("checkpoint flipped byte", lambda d: ev(d / "flipped.npz"), 2, ["flipped.npz: damaged", "CRC"]),
    ("checkpoint .npy renamed .npz", lambda d: ev(d / "renamed.npz"), 2, ["renamed.npz: is a single NumPy array (.npy data), not a"]),
    ("checkpoint meta not JSON", lambda d: ev(d / "meta_not_json.npz"), 2, ["meta_not_json.npz: its 'meta' entry is not valid JSON"]),
    ("checkpoint meta without config", lambda d: ev(d / "meta_no_config.npz"), 2, ["meta_no_config.npz: its 'meta' entry has no 'config'"]),
    ("checkpoint without preprocessing", lambda d: ev(d / "no_preprocess.npz"), 2, ["lacks preprocess/mean_values", "as in training"]),
    ("checkpoint parameter of str dtype", lambda d: ev(d / "str_param.npz"), 2, ["parameter conv1.W has dtype <U1, not floating point"]),
    ("checkpoint parameter of int dtype", lambda d: ev(d / "int_param.npz"), 2, ["parameter conv1.W has dtype int64, not floating point"]),
    ("checkpoint with a pickled array", lambda d: ev(d / "pickled.npz"), 2, ["pickled.npz: holds a pickled (object) array"]),
    (
        "checkpoint mean of the wrong shape",
        lambda d: ev(d / "mean_shape.npz"),
        2,
        ["mean_shape.npz: preprocess/mean_values is float64 of shape (3,), not floating point of shape (1,)"],
    ),
    (
        "checkpoint mean of the wrong shape, train --resume",
        lambda d: tr("--out", d / "r10", "--resume", d / "mean_shape.npz", "--epochs", "2"),
        2,
        ["preprocess/mean_values is float64 of shape (3,)"],
    ),
    (
        "checkpoint mean of text, predict",
        lambda d: cli(predict.main, "--checkpoint", d / "mean_text.npz", d / "huge.png"),
        2,
        ["mean_text.npz: preprocess/mean_values is <U1 of shape (1,), not floating point"],
    ),
    (
        "checkpoint velocity of the wrong shape, train --resume",
        lambda d: tr("--out", d / "r11", "--resume", d / "velocity_shape.npz", "--epochs", "2"),
        2,
        ["velocity/conv1.W has shape (2, 3), but parameter conv1.W has shape"],
    ),
    (
        "checkpoint with an extra velocity, train --resume",
        lambda d: tr("--out", d / "r12", "--resume", d / "velocity_extra.npz", "--epochs", "2"),
        2,
        ["holds velocity/conv9.W, but the model has no parameter conv9.W"],
    ),
    ("checkpoint a symlink loop", lambda d: ev(d / "loop.npz"), 2, ["loop.npz: is a loop of symbolic links"]),
    (
        "checkpoint truncated, train --resume",
        lambda d: tr("--out", d / "r1", "--resume", d / "truncated.npz"),
        2,
        ["truncated.npz: damaged"],
    ),
    (
        "checkpoint meta without config, predict",
        lambda d: cli(predict.main, "--checkpoint", d / "meta_no_config.npz", d / "huge.png"),
        2,
        ["has no 'config'"],
    ),
    (
        "checkpoint channels differ from data",
        lambda d: ev(d / "good" / "best.npz", "--data", d / "rgb4"),
        2,
        ["takes 1-channel images", "rgb4 has 3"],
    ),
    (
        "checkpoint classes differ from data",
        lambda d: ev(d / "rgb" / "best.npz", "--data", d / "rgb2"),
        2,
        ["has 4 classes but rgb2 has 2"],
    ),
    ("checkpoint missing (passed before)", lambda d: ev(d / "nope.npz"), 2, ["nope.npz: no such checkpoint"]),
    ("checkpoint a folder", lambda d: ev(d / "good"), 2, ["good: is a folder; pass the checkpoint file inside it"]),
    ("foreign .npz (passed before)", lambda d: ev(d / "foreign.npz"), 2, ["foreign.npz: not a minialexnet checkpoint"]),
    # data
    (
        "IDX header 2^31 x 2^31 x 4",
        lambda d: tr("--out", d / "r2", "--data", d / "idx"),
        2,
        ["train-images-idx3-ubyte: truncated", "2147483648"],
    ),
    (
        "folder with a decompression bomb",
        lambda d: tr("--out", d / "r3", "--data", d / "bomb", "--limit", 6, "--batch-size", 2),
        0,
        ["bomb.png"],
    ),
    (
        "class folder all unreadable",
        lambda d: tr("--out", d / "r4", "--data", d / "allbad"),
        2,
        ["class1: none of its 3 image files can be read"],
    ),
    (
        "too few images to validate",
        lambda d: tr("--out", d / "r5", "--limit", 2, "--val-fraction", 0.1),
        2,
        ["0 validation images", "--limit"],
    ),
    ("MINIALEXNET_DATA missing", lambda d: tr("--out", d / "r6", "--data", "fashion-mnist"), 2, ["MINIALEXNET_DATA=", "is not a folder"]),
    ("--data unknown (passed before)", lambda d: tr("--out", d / "r7", "--data", "nowhere"), 2, ["unknown data 'nowhere'"]),
    ("--data a missing folder", lambda d: tr("--out", d / "r13", "--data", "/nonexistent"), 2, ["--data /nonexistent: does not exist"]),
    ("--data a file", lambda d: tr("--out", d / "r14", "--data", "afile"), 2, ["--data afile: is a file, not a folder"]),
    (
        "--data cifar10 without a path (passed before)",
        lambda d: tr("--out", d / "r8", "--data", "cifar10"),
        2,
        ["cifar10 needs its folder"],
    ),
    # command line
    ("train --device tpu", lambda d: tr("--device", "tpu"), 2, ["argument --device: unknown device 'tpu'"]),
    ("train --batch-size 0", lambda d: tr("--batch-size", 0), 2, ["argument --batch-size: must be a whole number >= 1, got 0"]),
    ("train --lr -1", lambda d: tr("--lr", -1), 2, ["argument --lr: must be a finite number > 0, got -1"]),
    ("train --lr 0", lambda d: tr("--lr", 0), 2, ["argument --lr: must be a finite number > 0, got 0"]),
    ("train --lr nan", lambda d: tr("--lr", "nan"), 2, ["argument --lr: must be a finite number > 0, got nan"]),
    ("train --epochs 0", lambda d: tr("--epochs", 0), 2, ["argument --epochs: must be a whole number >= 1"]),
    ("train --val-fraction 1.0", lambda d: tr("--val-fraction", "1.0"), 2, ["argument --val-fraction: must be a number in [0, 1)"]),
    ("train --val-fraction 2", lambda d: tr("--val-fraction", 2), 2, ["argument --val-fraction: must be a number in [0, 1), got 2"]),
    ("train --limit 0", lambda d: tr("--limit", 0), 2, ["argument --limit: must be a whole number >= 1, got 0"]),
    ("train --limit -3", lambda d: tr("--limit", -3), 2, ["argument --limit: must be a whole number >= 1, got -3"]),
    ("train --momentum 1", lambda d: tr("--momentum", 1), 2, ["argument --momentum: must be a number in [0, 1)"]),
    ("train --eval-crops 5", lambda d: tr("--eval-crops", 5), 2, ["argument --eval-crops: invalid choice"]),
    ("train --out /proc/x", lambda d: tr("--out", "/proc/x"), 2, ["--out /proc/x: cannot write there", "choose a folder"]),
    ("train --out below a file", lambda d: tr("--out", d / "afile" / "run"), 2, ["afile/run: cannot write there"]),
    ("train --out /dev/null", lambda d: tr("--out", "/dev/null"), 2, ["--out /dev/null is a file, not a folder"]),
    ("train --out with last.npz a folder", lambda d: tr("--out", d / "lastdir"), 2, ["last.npz is a folder", "choose another --out"]),
    ("train --out holding a run", lambda d: tr("--out", d / "good"), 2, ["already holds a run", "--overwrite", "--resume"]),
    ("train --lr 1e6 diverges", lambda d: tr("--out", d / "r9", "--lr", "1e6"), 1, ["training diverged", "(--lr 0.02)"]),
    (
        "evaluate --batch-size 0",
        lambda d: ev(d / "good" / "best.npz", "--batch-size", 0),
        2,
        ["argument --batch-size: must be a whole number >= 1"],
    ),
    ("evaluate --device tpu", lambda d: ev(d / "good" / "best.npz", "--device", "tpu"), 2, ["argument --device: unknown device 'tpu'"]),
    (
        "predict on a 900-megapixel header",
        lambda d: cli(predict.main, "--checkpoint", d / "good" / "best.npz", d / "huge.png"),
        2,
        ["huge.png: refused as a possible decompression bomb"],
    ),
    (
        "predict on a file that is no image",
        lambda d: cli(predict.main, "--checkpoint", d / "good" / "best.npz", d / "afile"),
        2,
        ["afile: cannot read"],
    ),
    # engines, folders and data that cannot train
    ("train --engine cuda on the CPU", lambda d: tr("--engine", "cuda", "--out", d / "cuda"), 2, ["the cuda engine runs on a GPU"]),
    ("bench --engine cuda on the CPU", lambda d: cli(bench.main, "--smoke", "--engine", "cuda"), 2, ["add --device gpu"]),
    ("gradcheck --engine cuda on the CPU", lambda d: cli(gradcheck.main, "--engine", "cuda"), 2, ["choose --engine fast"]),
    ("train --out ''", lambda d: tr("--out", ""), 2, ["--out is empty; name the folder"]),
    ("train --out naming a file", lambda d: tr("--out", d / "afile"), 2, ["afile is a file, not a folder"]),
    ("a folder dataset of one class", lambda d: tr("--data", d / "oneclass", "--out", d / "one"), 2, ["one class (class0)", "two or more"]),
    (
        "a folder dataset whose images are all one value",
        lambda d: tr("--data", d / "flat", "--out", d / "flatrun"),
        2,
        ["training images hold one value (77 in every pixel)", "nothing to learn"],
    ),
    # library
    ("Linear backward before forward", lambda d: Linear(4, 3).backward(np.ones((2, 3), np.float32)), RuntimeError, ["before forward()"]),
    (
        "Conv2d backward before forward",
        lambda d: Conv2d(1, 2, 3).backward(np.ones((1, 2, 2, 2), np.float32)),
        RuntimeError,
        ["before forward()"],
    ),
    (
        "ReLU backward before forward",
        lambda d: ReLU().backward(np.ones(3, np.float32)),
        RuntimeError,
        ["ReLU: backward() called before forward()"],
    ),
    ("loss backward before forward", lambda d: SoftmaxCrossEntropy().backward(), RuntimeError, ["backward() called before forward()"]),
    (
        "network backward before forward",
        lambda d: alexnet("mini").backward(np.ones((1, 10), np.float32)),
        RuntimeError,
        ["fc8: backward()"],
    ),
    (
        "dout of the wrong shape",
        lambda d: (lambda layer: (layer.forward(np.ones((2, 4), np.float32)), layer.backward(np.ones((2, 5), np.float32))))(Linear(4, 3)),
        ValueError,
        ["dout has shape (2, 5) but forward's output had shape (2, 3)"],
    ),
    ("empty batch", lambda d: alexnet("mini").forward(np.zeros((0, 1, 28, 28), np.float32)), ValueError, ["empty batch", "at least one"]),
    ("a list instead of an array", lambda d: Linear(2, 3).forward([[1.0, 2.0]]), ValueError, ["got list", "numpy.asarray"]),
    (
        "integer input",
        lambda d: alexnet("mini").forward(np.zeros((1, 1, 28, 28), np.uint8)),
        ValueError,
        ["dtype uint8", "x.astype(numpy.float32)"],
    ),
    (
        "float64 input to a float32 layer",
        lambda d: Linear(2, 3).forward(np.ones((1, 2))),
        ValueError,
        ["cast the input (x.astype(numpy.float32))"],
    ),
    ("alexnet num_classes=0", lambda d: alexnet("mini", num_classes=0), ValueError, ["num_classes must be a whole number >= 1"]),
    ("alexnet in_channels=0", lambda d: alexnet("mini", in_channels=0), ValueError, ["in_channels must be a whole number >= 1"]),
    (
        "32x32 input to mini",
        lambda d: alexnet("mini").forward(np.zeros((1, 1, 32, 32), np.float32)),
        ValueError,
        ["expects inputs of shape (N, 1, 28, 28)", "resize the images to 28x28"],
    ),
]


@pytest.mark.parametrize(("case", "make", "expected", "fragments"), CASES, ids=[case[0] for case in CASES])
def test_bad_input_gets_one_line_saying_what_to_do(case, make, expected, fragments, files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    monkeypatch.setenv("MINIALEXNET_DATA", str(files / "no-such-folder"))
    if isinstance(expected, type):
        with pytest.raises(expected) as caught:
            make(files)
        message = str(caught.value)
        assert "\n" not in message
        for fragment in fragments:
            assert fragment in message
        return
    main, argv = make(files)
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse
            code = stop.code
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert code == expected, stderr
    if expected == 0:  # skipped with a warning that names what was skipped
        said = " ".join(str(w.message) for w in caught_warnings)
        assert not [line for line in stderr.splitlines() if line.startswith("error:")]
    else:
        notes = ("overrides the checkpoint's", "resuming from")  # what a resume says before it finds the problem
        lines = [line for line in stderr.splitlines() if line.strip() and not any(note in line for note in notes)]
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
        said = lines[0]
    assert said.count("use another checkpoint") <= 1  # one remedy: no message wrapped in another
    for fragment in fragments:
        assert fragment in said


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "bench"])
def test_a_bad_thread_setting_is_one_line_before_anything_loads(command, tmp_path, monkeypatch, capsys):
    """Each tool checks the thread setting first: the missing checkpoint and images are never reached."""
    from minialexnet import threads
    from minialexnet.tools import bench

    monkeypatch.setenv("MINIALEXNET_NUM_THREADS", "two")
    monkeypatch.setitem(threads._state, "threads", None)  # read the environment again
    missing = str(tmp_path / "missing.npz")
    main, argv = {
        "train": (train.main, [*TRAIN, "--out", str(tmp_path / "run")]),
        "evaluate": (evaluate.main, ["--checkpoint", missing]),
        "predict": (predict.main, ["--checkpoint", missing, str(tmp_path / "missing.png")]),
        "bench": (bench.main, ["--smoke"]),
    }[command]
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: MINIALEXNET_NUM_THREADS='two' is not a whole number"), lines
    assert "MINIALEXNET_NUM_THREADS=2" in lines[0]
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_a_tool_imports_or_evaluates_is_one_line_exit_130(files, tmp_path, monkeypatch, capsys):
    """The commands import their tool behind a guard (minialexnet/commands.py): Ctrl-C during the imports, which take
    a moment, or during an evaluation gives one line and 130, not a traceback."""
    import subprocess
    import sys

    (tmp_path / "slow_tool.py").write_text("raise KeyboardInterrupt  # Ctrl-C while its imports run\n")
    code = "import sys; from minialexnet.commands import run; sys.exit(run('slow_tool'))"
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path}{__import__('os').pathsep}{Path(__file__).resolve().parents[1]}"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 130 and result.stderr.strip() == "interrupted (Ctrl-C)", result.stderr
    from minialexnet import commands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "evaluate_model", interrupted)
    monkeypatch.setattr("sys.argv", ["evaluate", "--checkpoint", str(files / "good" / "best.npz"), "--data", "sample"])
    assert commands.run("minialexnet.training.evaluate") == 130
    assert [line for line in capsys.readouterr().err.splitlines() if line.strip()] == ["interrupted (Ctrl-C)"]


def test_more_threads_than_cores_is_a_warning_and_doctor_says_so(monkeypatch, capsys):
    from minialexnet import threads
    from minialexnet.tools import doctor

    monkeypatch.setenv("MINIALEXNET_NUM_THREADS", str(threads.available_cores() + 1))
    monkeypatch.setitem(threads._state, "threads", None)  # read the environment again
    with pytest.warns(UserWarning, match="asks for more threads than the .* cores this process may use"):
        threads.get_num_threads()
    checks = {check.name: check for check in doctor.check_numpy()}
    assert checks["threads"].status == "warn" and "set it to" in checks["threads"].advice
    monkeypatch.setenv("MINIALEXNET_NUM_THREADS", str(threads.available_cores()))
    assert {check.name: check for check in doctor.check_numpy()}["threads"].status == "ok"


def test_bench_help_is_plain_text_with_help_for_every_option(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    shown = capsys.readouterr().out
    assert "``" not in shown
    shown = shown.split("options:", 1)[1]
    for option in ("--config", "--batch-size", "--dtype"):
        described = shown.split(option, 1)[1].split("\n  --", 1)[0]
        assert "(default:" in described and len(described.split()) > 4, described
