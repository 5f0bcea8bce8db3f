import csv
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scripted_validation import script_validation

from minialexnet.data import load_sample
from minialexnet.engines import optimizer_class
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.training import evaluate, predict, train
from minialexnet.training.checkpoint import Checkpoint
from minialexnet.training.plots import marks
from minialexnet.training.resume import PLAN, resume_options

QUICK = ["--limit", "600", "--batch-size", "64", "--seed", "1"]
TINY = ["--limit", "200", "--batch-size", "50", "--seed", "1"]  # for tests of files and messages, not of learning


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
    # A float32 trajectory differs from one CPU's BLAS to another's, so the bounds are set by the spread over
    # seeds, which moves a run far more than rounding does: seeds 1-8 (AMD EPYC Zen 4, 2026-12-07) lowered the
    # loss by 0.51-0.92 and ended at validation errors 0.35-0.56 (chance: 0.9).
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0] - 0.3
    assert float(rows[-1]["val_top1_error"]) < 0.75
    assert Checkpoint(out / "last.npz").meta.epoch == 3


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
    """--conv im2col and the default (Winograd for conv2-5) compute the same network: one step an epoch, so the
    epoch's training loss is the first batch's forward through the same initial weights, which the two algorithms
    give to float32 rounding (measured: 1e-7 relative). Longer runs are not compared: SGD amplifies rounding by a
    different amount on every CPU."""
    one_step = ["--limit", "64", "--batch-size", "64", "--seed", "1", "--epochs", "1"]
    for conv in ("auto", "im2col"):
        assert train.main([*one_step, "--conv", conv, "--out", str(tmp_path / conv)]) == 0
    auto, im2col = (read_metrics(tmp_path / conv / "metrics.csv")[0] for conv in ("auto", "im2col"))
    assert float(auto["train_loss"]) == pytest.approx(float(im2col["train_loss"]), rel=1e-5)


def test_nan_loss_stops_with_advice_and_keeps_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "1", "--out", str(out)]) == 0
    good = (out / "last.npz").read_bytes()
    sgd = optimizer_class("auto")  # the engine's own update, which the run uses
    original_step = sgd.step

    def poisoned_step(self, params, grads):
        original_step(self, params, grads)
        params["fc8.b"][...] = np.nan

    monkeypatch.setattr(sgd, "step", poisoned_step)
    assert train.main([*QUICK, "--epochs", "2", "--out", str(out), "--resume", str(out / "last.npz")]) == 1
    message = capsys.readouterr().err
    assert "the loss became nan at epoch 2, step 2" in message and "lower learning rate" in message
    assert (out / "last.npz").read_bytes() == good


def test_gpu_request_without_gpu_exits_2_with_one_line(tmp_path):
    code = "import sys; sys.modules['cupy'] = None; from minialexnet.training.train import main; sys.exit(main(['--device', 'gpu']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "pip install cupy-cuda12x" in result.stderr


def test_resume_from_another_config_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*QUICK, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert train.main(["--config", "fashion", "--limit", "10", "--out", str(tmp_path / "x"), "--resume", str(out / "last.npz")]) == 2
    assert capsys.readouterr().err.startswith("error: --config fashion differs from the checkpoint's mini")


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


def same_weights(a, b):
    first, second = Checkpoint(a), Checkpoint(b)
    assert sorted(first.params) == sorted(second.params) and sorted(first.velocities) == sorted(second.velocities)
    for key in first.params:
        np.testing.assert_array_equal(first.params[key], second.params[key])
    for key in first.velocities:
        np.testing.assert_array_equal(first.velocities[key], second.velocities[key])


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_sigint_during_epoch_2_resumes_bit_for_bit(tmp_path):
    """A real Ctrl-C (SIGINT) to a real training process in epoch 2, then --resume: the same weights as without it."""
    options = ["--limit", "384", "--batch-size", "32", "--seed", "1", "--epochs", "3", "--augment", "--progress-every", "1"]  # 12 batches
    assert train.main([*options, "--out", str(tmp_path / "straight")]) == 0
    command = [sys.executable, "-m", "minialexnet.train", *options, "--out", str(tmp_path / "stopped")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    seen = []
    for line in process.stderr:  # the progress lines (stderr is not a terminal) tell where training is
        seen.append(line)
        if line.startswith("epoch 2/3: batch 3/12"):
            process.send_signal(signal.SIGINT)
            break
    rest, errors = process.communicate(timeout=300)
    assert process.returncode == 130, "".join(seen) + rest + errors
    assert "interrupted at batch" in errors and "Traceback" not in errors
    meta = Checkpoint(tmp_path / "stopped" / "last.npz").meta
    assert meta.epoch == 1 and meta.mid_epoch["epoch"] == 2 and 3 <= meta.mid_epoch["step"] < 12
    assert Checkpoint(tmp_path / "stopped" / "best.npz").meta.mid_epoch is None  # best.npz is the end of epoch 1
    assert train.main([*options, "--resume", str(tmp_path / "stopped" / "last.npz")]) == 0  # continues in its folder
    same_weights(tmp_path / "straight" / "last.npz", tmp_path / "stopped" / "last.npz")
    straight, resumed = (read_metrics(tmp_path / name / "metrics.csv") for name in ("straight", "stopped"))
    assert without_seconds(straight) == without_seconds(resumed)


def test_a_new_run_never_reuses_the_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert train.main([*TINY, "--epochs", "1"]) == 0
    first = (tmp_path / "runs" / "mini-sample" / "best.npz").read_bytes()
    assert train.main([*TINY, "--epochs", "1", "--lr", "0.01"]) == 0
    assert "runs/mini-sample holds another run: writing this one to runs/mini-sample-2" in capsys.readouterr().err
    assert (tmp_path / "runs" / "mini-sample" / "best.npz").read_bytes() == first
    assert (tmp_path / "runs" / "mini-sample-2" / "best.npz").is_file()


def test_out_holding_a_run_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in ("last.npz", "best.npz", "metrics.csv")}
    capsys.readouterr()
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert (
        error == f"error: {out} already holds a run (last.npz, best.npz, metrics.csv); pass --overwrite to replace it, "
        f"or --resume {out / 'last.npz'} to continue it\n"
    )
    assert {name: (out / name).read_bytes() for name in before} == before
    assert train.main([*TINY, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert [row["epoch"] for row in read_metrics(out / "metrics.csv")] == ["1"]


def test_resume_without_out_continues_in_the_checkpoint_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert train.main([*TINY, "--epochs", "1"]) == 0  # another run in the default folder
    other = {name: (tmp_path / "runs" / "mini-sample" / name).read_bytes() for name in ("last.npz", "metrics.csv")}
    assert train.main([*TINY, "--epochs", "1", "--out", "elsewhere"]) == 0
    assert train.main(["--epochs", "2", "--resume", "elsewhere/last.npz"]) == 0
    assert [row["epoch"] for row in read_metrics(tmp_path / "elsewhere" / "metrics.csv")] == ["1", "2"]
    assert {name: (tmp_path / "runs" / "mini-sample" / name).read_bytes() for name in other} == other


def test_resume_lets_explicit_options_win_and_refuses_fixed_ones(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    resume = ["--resume", str(out / "last.npz")]
    assert train.main([*resume, "--batch-size", "32", "--epochs", "2"]) == 2
    assert capsys.readouterr().err.startswith("error: --batch-size 32 differs from the checkpoint's 50")
    assert train.main([*resume, "--epochs", "2", "--lr", "0.001", "--momentum", "0.5", "--seed", "1"]) == 0
    printed = capsys.readouterr().err  # notes go to stderr, results to stdout
    assert "--lr 0.001 overrides the checkpoint's 0.02" in printed and "--momentum 0.5 overrides the checkpoint's 0.9" in printed
    rows = read_metrics(out / "metrics.csv")
    assert float(rows[0]["lr"]) == 0.02 and float(rows[1]["lr"]) == 0.001
    assert Checkpoint(out / "last.npz").meta.options["momentum"] == 0.5


def stop_after_epoch(monkeypatch, last_epoch):
    """The run is killed (a second Ctrl-C: exit 130, nothing more saved) once epoch ``last_epoch`` is saved."""
    real_finish = train.finish_epoch

    def finish_epoch(run, epoch, *rest):
        real_finish(run, epoch, *rest)
        if epoch == last_epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "finish_epoch", finish_epoch)
    return real_finish


def test_resume_follows_the_plan_stored_in_the_checkpoint(tmp_path, monkeypatch, capsys):
    """--resume alone continues to the first run's --epochs and validates with its --eval-crops: the resumed run's
    metrics are the uninterrupted run's."""
    options = [*TINY, "--epochs", "3", "--eval-crops", "10"]
    assert train.main([*options, "--out", str(tmp_path / "straight")]) == 0
    real_finish = stop_after_epoch(monkeypatch, 1)
    assert train.main([*options, "--out", str(tmp_path / "stopped")]) == 130
    monkeypatch.setattr(train, "finish_epoch", real_finish)
    assert train.main(["--resume", str(tmp_path / "stopped" / "last.npz")]) == 0
    straight, resumed = read_metrics(tmp_path / "straight" / "metrics.csv"), read_metrics(tmp_path / "stopped" / "metrics.csv")
    assert [row["epoch"] for row in resumed] == ["1", "2", "3"]
    for a, b in zip(straight, resumed, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    plan = Checkpoint(tmp_path / "stopped" / "last.npz").meta.options
    assert plan["epochs"] == 3 and plan["eval_crops"] == 10 and set(plan) == set(PLAN)
    assert "note:" not in capsys.readouterr().err


def test_resume_to_fewer_epochs_than_done_is_refused_and_to_as_many_says_complete(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in ("last.npz", "metrics.csv")}
    capsys.readouterr()
    last = out / "last.npz"
    assert train.main(["--resume", str(last), "--epochs", "1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: --epochs 1 is fewer than the 2 epochs {last} has done; give --epochs above 2 to train further, "
        "or evaluate the checkpoint as it is"
    ]
    for extra in ([], ["--epochs", "2"]):
        assert train.main(["--resume", str(last), *extra]) == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines() == [f"{last}: the run is complete (2 of 2 epochs); give --epochs above 2 to train further"]
    assert train.main(["--resume", str(last), "--eval-crops", "10", "--epochs", "3"]) == 2
    assert capsys.readouterr().err.startswith("error: --eval-crops 10 differs from the checkpoint's 1")
    assert {name: (out / name).read_bytes() for name in before} == before


FORMAT_1 = Path(__file__).resolve().parent / "fixtures" / "checkpoint-format-1" / "last.npz"


def test_a_checkpoint_from_before_the_stored_plan_resumes_as_before_with_a_note(tmp_path, capsys):
    """tests/fixtures/checkpoint-format-1 (3 epochs, written without epochs and eval_crops in its plan): --resume
    alone goes on to the default 8 epochs, as it did; one note says so."""
    resumed = resume_options(train.build_parser().parse_args(["--resume", str(FORMAT_1)]), Checkpoint(FORMAT_1))
    assert (resumed.epochs, resumed.eval_crops, resumed.batch_size, resumed.seed) == (8, 1, 64, 2)
    assert capsys.readouterr().err.splitlines() == [
        f"note: {FORMAT_1} was written before checkpoints stored the whole plan; --dropout 0.5, --eval-crops 1, --epochs 8 "
        "(given or the default)"
    ]
    copy = tmp_path / "old" / "last.npz"
    copy.parent.mkdir()
    copy.write_bytes(FORMAT_1.read_bytes())
    assert train.main(["--resume", str(copy), "--epochs", "4"]) == 0
    captured = capsys.readouterr()
    assert "--epochs 4 (given or the default)" in captured.err
    assert [row["epoch"] for row in Checkpoint(copy).meta.history] == [1, 2, 3, 4]
    assert Checkpoint(copy).meta.format == 2


def test_resuming_best_into_a_folder_whose_last_is_further_on_is_refused(tmp_path, monkeypatch, capsys):
    """best.npz of epoch 1, last.npz of epoch 2: a resume of best.npz there would overwrite last.npz and the metrics
    of epoch 2. Refused (exit 2, nothing changed); --out NEW branches from it, --overwrite rewinds the folder."""
    script_validation(monkeypatch, lambda epoch: 0.5 if epoch == 1 else 0.6)  # epoch 1 stays the best
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    assert (Checkpoint(out / "best.npz").meta.epoch, Checkpoint(out / "last.npz").meta.epoch) == (1, 2)
    before = {name: (out / name).read_bytes() for name in ("last.npz", "best.npz", "metrics.csv")}
    capsys.readouterr()
    best = out / "best.npz"
    assert train.main(["--resume", str(best), "--epochs", "3"]) == 2
    assert capsys.readouterr().err.splitlines()[-1:] == [
        f"error: {out / 'last.npz'} is further on (epoch 2) than {best} (epoch 1): resuming here would overwrite it and its "
        f"metrics; branch into a new folder with --out NEW, continue with --resume {out / 'last.npz'}, or pass --overwrite to "
        "rewind this folder"
    ]
    assert {name: (out / name).read_bytes() for name in before} == before
    assert train.main(["--resume", str(best), "--epochs", "3", "--out", str(tmp_path / "branch")]) == 0
    assert [row["epoch"] for row in read_metrics(tmp_path / "branch" / "metrics.csv")] == ["1", "2", "3"]
    assert {name: (out / name).read_bytes() for name in before} == before
    assert train.main(["--resume", str(best), "--epochs", "2", "--overwrite"]) == 0
    assert Checkpoint(out / "last.npz").meta.history[0] == Checkpoint(tmp_path / "branch" / "last.npz").meta.history[0]


def test_non_finite_weights_at_the_end_of_an_epoch_are_never_saved(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    good = {name: (out / name).read_bytes() for name in ("last.npz", "best.npz")}
    sgd = optimizer_class("auto")  # the engine's own update, which the run uses
    original_step, steps = sgd.step, []

    def poisoned_last_step(self, params, grads):  # the loss stays finite: only the check before saving sees it
        original_step(self, params, grads)
        steps.append(1)
        if len(steps) == 4:  # the last batch of epoch 2
            params["fc8.b"][...] = np.nan

    monkeypatch.setattr(sgd, "step", poisoned_last_step)
    assert train.main([*TINY, "--epochs", "2", "--resume", str(out / "last.npz")]) == 1
    error = capsys.readouterr().err
    assert "error: training diverged: fc8.b became non-finite in epoch 2" in error and "was not replaced" in error
    assert {name: (out / name).read_bytes() for name in good} == good


def test_non_finite_gradient_stops_the_run(tmp_path, monkeypatch, capsys):
    original_backward = SoftmaxCrossEntropy.backward

    def poisoned(self, dout=None):
        return original_backward(self, dout) * np.float32("inf")

    monkeypatch.setattr(SoftmaxCrossEntropy, "backward", poisoned)
    assert train.main([*TINY, "--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    assert "non-finite at epoch 1, step 1; try a lower learning rate" in capsys.readouterr().err
    assert not (tmp_path / "run" / "last.npz").exists()


def test_an_absurd_validation_loss_is_never_best(tmp_path, monkeypatch):
    original = train.evaluate_model

    def blown_up_in_epoch_2(*args, **kwargs):
        result = original(*args, **kwargs)
        if blown_up_in_epoch_2.calls == 1:  # the weights are finite but the model is useless: loss 1e37
            result = {"loss": 1e37, "top1_error": 0.0, "top5_error": 0.0}
        blown_up_in_epoch_2.calls += 1
        return result

    blown_up_in_epoch_2.calls = 0
    monkeypatch.setattr(train, "evaluate_model", blown_up_in_epoch_2)
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "2", "--out", str(out)]) == 0
    assert Checkpoint(out / "best.npz").meta.epoch == 1 and Checkpoint(out / "last.npz").meta.epoch == 2


def test_curves_mark_the_epoch_best_npz_holds_and_filters_show_its_kernels(tmp_path, monkeypatch):
    """Epoch 2 scores a lower error than epoch 1 but with an absurd loss, so best.npz stays on epoch 1: the curves
    mark epoch 1 (taken from the run, not the lowest error), in the figure each epoch hands show_curves, in
    curves.png and after a resume; filters.png says it shows best.npz's kernels."""
    original = train.evaluate_model

    def blown_up_in_epoch_2(*args, **kwargs):
        result = {**original(*args, **kwargs), "top1_error": 0.5}
        if blown_up_in_epoch_2.calls == 1:
            result = {"loss": 1e37, "top1_error": 0.0, "top5_error": 0.0}
        blown_up_in_epoch_2.calls += 1
        return result

    blown_up_in_epoch_2.calls = 0
    monkeypatch.setattr(train, "evaluate_model", blown_up_in_epoch_2)
    out, shown = tmp_path / "my-run", []
    args = train.build_parser().parse_args([*TINY, "--epochs", "2", "--schedule", "step", "--step-size", "1", "--out", str(out)])
    train.run(args, show_curves=shown.append)
    assert len(shown) == 2 and Checkpoint(out / "best.npz").meta.epoch == 1
    title = shown[-1].texts[0].get_text()
    assert title.startswith("run my-run\nconfig mini on sample, 200 training images, batch 50") and "lr / 10 every 1 epoch," in title
    assert [star.get_xdata()[0] for star in marks(shown[-1], "best.npz (epoch 1)")] == [1, 1, 1]
    assert [line.get_xdata()[0] for line in marks(shown[-1], "learning rate divided")] == [1.5, 1.5, 1.5]
    with Image.open(out / "curves.png") as curves, Image.open(out / "filters.png") as filters:
        assert curves.text["Title"].startswith("run my-run - config mini on sample")
        assert filters.text["Title"] == "conv1 kernels of best.npz (epoch 1)"
    resumed = []
    train.run(train.build_parser().parse_args(["--resume", str(out / "last.npz"), "--epochs", "3"]), show_curves=resumed.append)
    assert Checkpoint(out / "last.npz").meta.best_epoch == 1
    assert [star.get_xdata()[0] for star in marks(resumed[-1], "best.npz (epoch 1)")] == [1, 1, 1]
    assert "initial lr 0.02," in resumed[-1].texts[0].get_text()  # the run's first rate, not the 0.0002 it resumed at


def test_help_prints_each_default_once():
    parser = train.build_parser()
    text = parser.format_help()
    assert "default: None" not in text and "(default: 8)" in text
    for action in parser._actions:
        assert action.help is None or action.help.count("default") <= 1, action.help


def test_evaluate_shows_progress_and_warns_about_ten_crops_on_a_model_trained_without(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert evaluate.main(["--checkpoint", str(out / "last.npz"), "--eval-crops", "10", "--batch-size", "500", "--progress-every", "1"]) == 0
    captured = capsys.readouterr()
    assert "evaluating: batch 1/2" in captured.err and "evaluating: batch 2/2" in captured.err  # progress: stderr
    assert "top-1 error" in captured.out and "evaluating" not in captured.out
    warning = "\n".join(line for line in captured.err.splitlines() if not line.startswith("evaluating:"))
    assert warning.count("\n") == 0
    assert warning.startswith("warning: this model was trained on whole images resized to 28x28") and "scores lower" in warning


def test_output_files_are_mode_0644_like_other_files(tmp_path):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    for name in ("last.npz", "best.npz", "metrics.csv", "curves.png", "filters.png"):
        assert (out / name).stat().st_mode & 0o777 == ordinary.stat().st_mode & 0o777, name
    assert sorted(p.name for p in out.iterdir()) == ["best.npz", "curves.png", "filters.png", "last.npz", "metrics.csv"]


def test_fashion_mnist_brings_its_own_recipe_and_explicit_options_win():
    """--data fashion-mnist with the mini network takes options.RECIPES' values for what is not given; anything given
    wins, another config or dataset keeps the general defaults, and --help says so."""
    from minialexnet.training.options import DEFAULTS, RECIPES

    recipe = RECIPES[("fashion-mnist", "mini")]
    parse = train.build_parser().parse_args
    chosen = train.with_defaults(parse(["--data", "fashion-mnist"]))
    assert {key: getattr(chosen, key) for key in recipe} == recipe
    assert {key for key in recipe if recipe[key] != DEFAULTS[key]} >= {"schedule", "dropout", "val_fraction"}
    explicit = train.with_defaults(parse(["--data", "fashion-mnist", "--epochs", "3", "--schedule", "step", "--val-fraction", "0"]))
    assert (explicit.epochs, explicit.schedule, explicit.val_fraction) == (3, "step", 0.0)
    for other in (["--data", "sample"], ["--data", "fashion-mnist", "--config", "fashion"]):
        assert {key: getattr(train.with_defaults(parse(other)), key) for key in recipe} == {key: DEFAULTS[key] for key in recipe}
    assert "fashion-mnist" in train.build_parser().format_help().split("--data", 2)[2].split("--epochs")[0]


def test_a_resumed_run_keeps_the_recipe_it_started_with(tmp_path, monkeypatch):
    """The recipe lands in the checkpoint's plan like any option: a resume reads it from there, so a later change of
    the recipe (here: 4 epochs and a step schedule) does not change a run already under way."""
    from minialexnet.training import options

    monkeypatch.setitem(options.RECIPES, ("sample", "mini"), {"epochs": 2, "schedule": "cosine", "val_fraction": 0.25})
    real_finish = stop_after_epoch(monkeypatch, 1)
    assert train.main([*TINY, "--out", str(tmp_path / "run")]) == 130
    monkeypatch.setattr(train, "finish_epoch", real_finish)
    monkeypatch.setitem(options.RECIPES, ("sample", "mini"), {"epochs": 4, "schedule": "step", "val_fraction": 0.5})
    assert train.main(["--resume", str(tmp_path / "run" / "last.npz")]) == 0
    plan = Checkpoint(tmp_path / "run" / "last.npz").meta.options
    assert (plan["epochs"], plan["schedule"], plan["val_fraction"]) == (2, "cosine", 0.25)
    assert [row["epoch"] for row in read_metrics(tmp_path / "run" / "metrics.csv")] == ["1", "2"]


def test_dropout_option_sets_fc6_and_fc7s_drop_probability_and_is_kept_on_resume(tmp_path, capsys):
    result = train.run(train.build_parser().parse_args([*TINY, "--epochs", "1", "--dropout", "0.25", "--out", str(tmp_path)]))
    assert [result["model"][name].p for name in ("drop6", "drop7")] == [0.25, 0.25]
    assert Checkpoint(tmp_path / "last.npz").meta.options["dropout"] == 0.25
    capsys.readouterr()
    assert train.main(["--resume", str(tmp_path / "last.npz"), "--epochs", "2", "--dropout", "0.5"]) == 2
    assert "error: --dropout 0.5 differs from the checkpoint's 0.25" in capsys.readouterr().err
