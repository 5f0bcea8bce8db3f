"""Nothing lost: runs started together, a kill between the two checkpoint writes, signals, a full disk, leftovers.

Each test here failed before the guarantee it names existed (docs/reliability.md lists them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scripted_validation import script_validation
from small_disk import fill, make_read_only, small_disk

from minialexnet.training import run_state, train
from minialexnet.training.checkpoint import Checkpoint
from minialexnet.training.files import CLAIM_NAME, FolderClaim, FolderTakenError

TINY = ["--limit", "200", "--batch-size", "50", "--seed", "1"]
REPO = Path(__file__).resolve().parents[1]


def error_lines(stderr: str) -> list[str]:
    """What a tool said on stderr, less its progress lines (stderr is not a terminal here): the one error line."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip() and ": batch " not in line]


def train_process(*argv: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "minialexnet.train", *argv]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)


def test_a_claim_is_exclusive_and_a_dead_process_claim_is_replaced(tmp_path):
    folder = tmp_path / "run"
    with FolderClaim(folder).acquire():
        with pytest.raises(FolderTakenError, match=f"in use by process {os.getpid()} on .*; wait for it, choose another --out"):
            FolderClaim(folder).acquire()
    assert not folder.exists()  # the claim made the folder and nothing else was written: it is gone again
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    folder.mkdir()
    (folder / CLAIM_NAME).write_text(json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename, "started": "earlier"}))
    claim = FolderClaim(folder).acquire()
    assert claim.replaced == f"process {int(dead.stdout)} started earlier"
    assert json.loads((folder / CLAIM_NAME).read_text())["pid"] == os.getpid()
    claim.release()
    assert folder.is_dir() and not (folder / CLAIM_NAME).exists()  # a folder it did not make stays


@pytest.mark.parametrize("with_out", [True, False], ids=["--out race", "default folder"])
def test_two_runs_started_together_never_share_a_folder(with_out, tmp_path):
    """Two runs started at the same instant: with --out the second is refused (exit 2), without it each gets its own
    folder; every folder holds the checkpoint of the run that reported it."""
    out = ["--out", "race"] if with_out else []
    processes = [train_process(*TINY, "--epochs", "2", "--seed", str(seed), *out, cwd=tmp_path) for seed in (1, 2)]
    results = [(process, *process.communicate(timeout=300)) for process in processes]
    codes = sorted(process.returncode for process, _, _ in results)
    if with_out:
        assert codes == [0, 2], [stderr for _, _, stderr in results]
        refused = next(stderr for process, _, stderr in results if process.returncode == 2)
        assert refused.startswith("error: race ") and ("is in use by process" in refused or "already holds a run" in refused)
        winner = next(seed for seed, (process, _, _) in zip((1, 2), results, strict=True) if process.returncode == 0)
        assert Checkpoint(tmp_path / "race" / "last.npz").meta.seed == winner
    else:
        assert codes == [0, 0], [stderr for _, _, stderr in results]
        reported = [line for _, stdout, _ in results for line in stdout.splitlines() if "outputs in" in line]
        folders = {Path(line.rsplit("outputs in ", 1)[1]) for line in reported}
        assert folders == {Path("runs/mini-sample"), Path("runs/mini-sample-2")}
        assert {Checkpoint(tmp_path / folder / "last.npz").meta.seed for folder in folders} == {1, 2}
    assert not list(tmp_path.rglob(CLAIM_NAME))


def test_a_kill_between_the_two_writes_of_an_improving_epoch_still_resumes_to_the_true_best(tmp_path, monkeypatch):
    """Killed after the first checkpoint write of epoch 2 (which improves): the resumed run's best.npz is the
    uninterrupted run's, bit for bit."""
    options = [*TINY, "--epochs", "2"]
    script_validation(monkeypatch, lambda epoch: 1 / (1 + epoch))  # each epoch improves, whatever the CPU's rounding
    assert train.main([*options, "--out", str(tmp_path / "straight")]) == 0
    history = Checkpoint(tmp_path / "straight" / "last.npz").meta.history
    assert history[1]["val_top1_error"] < history[0]["val_top1_error"]
    original, writes = run_state.save_checkpoint, []

    def killed_after_the_first_write_of_epoch_2(path, model, meta, *rest):
        if meta.epoch == 2 and writes:
            raise KeyboardInterrupt  # the process dies here, between the two files
        if meta.epoch == 2:
            writes.append(Path(path).name)
        return original(path, model, meta, *rest)

    monkeypatch.setattr(run_state, "save_checkpoint", killed_after_the_first_write_of_epoch_2)
    stopped = tmp_path / "stopped"
    assert train.main([*options, "--out", str(stopped)]) == 130
    assert writes == ["best.npz"]
    monkeypatch.setattr(run_state, "save_checkpoint", original)
    assert train.main([*options, "--resume", str(stopped / "last.npz")]) == 0
    for name in ("best.npz", "last.npz"):
        expected, got = Checkpoint(tmp_path / "straight" / name), Checkpoint(stopped / name)
        assert got.meta.epoch == expected.meta.epoch == 2
        for key, value in expected.params.items():
            np.testing.assert_array_equal(got.params[key], value)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_save_mid_epoch_and_resume_bit_for_bit(signum, tmp_path):
    """A cluster's preemption (SIGTERM) or a closed terminal (SIGHUP) during epoch 2 saves the partial epoch, exits
    128 + the signal's number, and --resume ends on the uninterrupted run's weights."""
    options = ["--limit", "256", "--batch-size", "32", "--seed", "1", "--epochs", "2", "--progress-every", "1"]  # 8 batches
    assert train.main([*options, "--out", str(tmp_path / "straight")]) == 0
    process = train_process(*options, "--out", "stopped", cwd=tmp_path)
    for line in process.stderr:  # the progress lines (stderr is not a terminal) tell where training is
        if line.startswith("epoch 2/2: batch 3/8"):
            process.send_signal(signum)
            break
    rest, errors = process.communicate(timeout=300)
    assert process.returncode == 128 + signum, rest + errors
    assert f"{signal.Signals(signum).name}: stopping after this batch" in errors and "Traceback" not in errors
    meta = Checkpoint(tmp_path / "stopped" / "last.npz").meta
    assert meta.epoch == 1 and meta.mid_epoch["epoch"] == 2 and 3 <= meta.mid_epoch["step"] < 8
    assert train.main([*options, "--resume", str(tmp_path / "stopped" / "last.npz")]) == 0
    straight, resumed = Checkpoint(tmp_path / "straight" / "last.npz"), Checkpoint(tmp_path / "stopped" / "last.npz")
    for key, value in straight.params.items():
        np.testing.assert_array_equal(resumed.params[key], value)


def test_temporary_files_of_a_killed_save_are_removed_when_the_folder_is_next_used(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    leftovers = [out / "last.npz.k2j4x9.tmp", out / "metrics.csv.a1b2c3.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a file")
    unrelated = out / "notes.tmp"
    unrelated.write_text("mine")
    assert train.main([*TINY, "--epochs", "2", "--resume", str(out / "last.npz")]) == 0
    assert not any(path.exists() for path in leftovers) and unrelated.exists()
    assert f"{out}: removed 2 temporary file(s) left by an interrupted save" in capsys.readouterr().err


def test_a_run_that_fails_at_start_leaves_no_empty_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*TINY, "--data", "cifar10:" + str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()


@pytest.fixture
def one_megabyte(tmp_path):
    """A 1 MB disk: full after the first checkpoint's first bytes."""
    with small_disk(tmp_path / "disk", "1m") as mount:
        yield mount


def test_a_full_disk_is_one_line_naming_the_file_exit_3(one_megabyte, capsys):
    out = one_megabyte / "run"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 3
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: cannot write {out / 'best.npz'} (No space left on device)")
    assert "run again, with --resume" in lines[0]
    assert not list(out.glob("*.tmp"))


def test_a_claim_is_whole_or_absent_on_a_full_disk_and_an_empty_one_is_stale(tmp_path, capsys):
    """On a full disk the claim cannot be written: exit 3 naming it, and no claim file left (an empty one used to
    refuse every later run "in use"). An empty claim file left by an older version is stale once it is not new."""
    with small_disk(tmp_path / "disk", "12m") as disk:  # room for a run's two checkpoints once the filler goes
        filler = fill(disk)
        out = disk / "run"
        assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 3
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {out / CLAIM_NAME} (No space left on device)")
        assert not list(out.glob(CLAIM_NAME + "*"))
        filler.unlink()
        assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / CLAIM_NAME).write_bytes(b"")
    with pytest.raises(FolderTakenError, match="being claimed by a run starting now"):
        FolderClaim(legacy).acquire()  # an empty claim seconds old may be one being written where links fail
    os.utime(legacy / CLAIM_NAME, (0, 0))
    with FolderClaim(legacy).acquire() as claim:
        assert claim.replaced == "an empty claim file"
        assert json.loads((legacy / CLAIM_NAME).read_text())["pid"] == os.getpid()


def test_a_claim_is_written_whole_then_linked_into_place(tmp_path, monkeypatch):
    """The claim file appears by a hard link from a whole copy: never half-written, even for a moment."""
    linked = []
    real_link = os.link

    def link(source, target):
        linked.append(json.loads(Path(source).read_text()))
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    with FolderClaim(tmp_path).acquire():
        assert linked == [json.loads((tmp_path / CLAIM_NAME).read_text())]
        assert sorted(path.name for path in tmp_path.iterdir()) == [CLAIM_NAME]


def test_a_folder_made_read_only_mid_run_names_the_checkpoint_not_the_claim(tmp_path, monkeypatch, capsys):
    """After epoch 1 the folder turns read-only: epoch 2's checkpoint cannot be written, and that is the one error
    reported (exit 3), not the claim file that then cannot be removed."""
    with small_disk(tmp_path / "disk", "24m") as disk:
        real_finish = train.finish_epoch

        def finish_epoch(run, epoch, *rest):
            if epoch == 2:
                make_read_only(disk)
            return real_finish(run, epoch, *rest)

        monkeypatch.setattr(train, "finish_epoch", finish_epoch)
        out = disk / "run"
        assert train.main([*TINY, "--epochs", "2", "--out", str(out)]) == 3
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: cannot write {out}/") and "Read-only file system" in lines[0]
        assert CLAIM_NAME not in lines[0] and ".tmp" not in lines[0]
        assert Checkpoint(out / "last.npz").meta.epoch == 1
