"""Data-parallel SGD over MPI (minialexnet/distributed.py): K ranks take the same steps as one process.

The multi-rank tests launch tests/mpi/*.py under mpiexec (each bounded in time); they skip
without mpi4py, and CI (MINIALEXNET_REQUIRE_MPI=1) installs the [mpi] extra so they run there.
"""

import csv
import itertools
import json
import time

import numpy as np
import pytest
from mpirun import run_ranks

from minialexnet.multi.distributed import share
from minialexnet.training.checkpoint import Checkpoint


def test_shares_are_contiguous_cover_the_batch_and_differ_by_at_most_one():
    for n in (1, 7, 10, 128):
        for size in range(1, min(n, 6) + 1):
            parts = [share(n, rank, size) for rank in range(size)]
            assert parts[0].start == 0 and parts[-1].stop == n
            assert all(a.stop == b.start for a, b in itertools.pairwise(parts))
            lengths = [p.stop - p.start for p in parts]
            assert max(lengths) - min(lengths) <= 1, (n, size, lengths)


@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_k_ranks_take_the_same_three_steps_as_one_process(ranks, tmp_path):
    """float64, dropout on, global batch 10 (shares 3/3/4 and 2/3/2/3): weights equal to 1e-12, replicas bit-identical."""
    report_path = tmp_path / "report.json"
    result = run_ranks(ranks, "data_parallel_steps.py", str(report_path), timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["ranks"] == ranks
    assert report["moved"] > 0.1  # the three steps really changed the weights
    assert report["max_relative"] < 1e-12
    assert len(set(report["hashes"])) == 1 and len(report["hashes"]) == ranks


QUICK = ["--distributed", "--limit", "600", "--batch-size", "64", "--seed", "1"]
ONE_STEP = ["--distributed", "--limit", "64", "--batch-size", "64", "--seed", "1"]  # 64 images: one step an epoch


def read_metrics(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_train_cli_on_two_ranks_matches_one_process_and_resumes_on_three(tmp_path):
    """float32, one SGD step an epoch: two ranks train as one process does; rank 0 alone writes; a run started
    on two ranks resumes on three and ends where two straight epochs on one rank end.

    One step an epoch because float32 runs drift apart by rounding alone, about 100x a step early in training
    (the ranks sum the gradient in another order): after one or two steps the weights agree to about 1e-8
    relative on any CPU, after twenty they differ by whatever the CPU's BLAS happens to round."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_ranks(1, "minialexnet.train", *ONE_STEP, "--epochs", "2", "--out", str(one)).returncode == 0
    first = run_ranks(2, "minialexnet.train", *ONE_STEP, "--epochs", "1", "--out", str(two))
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("epoch   1/1") == 1  # only rank 0 prints
    resumed = run_ranks(3, "minialexnet.train", *ONE_STEP, "--epochs", "2", "--out", str(two), "--resume", str(two / "last.npz"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows_one, rows_two = read_metrics(one / "metrics.csv"), read_metrics(two / "metrics.csv")
    assert [r["epoch"] for r in rows_two] == ["1", "2"]
    for a, b in zip(rows_one, rows_two, strict=True):
        for key in ("train_loss", "val_loss"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-4), key
    params_one, params_two = Checkpoint(one / "last.npz").params, Checkpoint(two / "last.npz").params
    a, b = (np.concatenate([params[name].ravel() for name in sorted(params_one)]).astype(np.float64) for params in (params_one, params_two))
    assert np.linalg.norm(b - a) < 1e-5 * np.linalg.norm(a - initial_params())  # far below the two steps' change


def test_train_cli_whose_last_batch_has_one_image_for_two_ranks_matches_one_process(tmp_path):
    """--limit 65 --batch-size 64: the second step has one image, so one rank's share is empty; the two steps
    still equal one process's (to float32 rounding, as above)."""
    options = ["--limit", "65", "--batch-size", "64", "--seed", "1", "--epochs", "1"]
    assert run_ranks(1, "minialexnet.train", *options, "--out", str(tmp_path / "one")).returncode == 0
    two = run_ranks(2, "minialexnet.train", "--distributed", *options, "--out", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr[-3000:]
    params_one, params_two = (Checkpoint(tmp_path / name / "last.npz").params for name in ("one", "two"))
    a, b = (np.concatenate([params[name].ravel() for name in sorted(params_one)]).astype(np.float64) for params in (params_one, params_two))
    assert np.linalg.norm(b - a) < 1e-5 * np.linalg.norm(a - initial_params())


def initial_params():
    from minialexnet.models import alexnet

    model = alexnet("mini", num_classes=10, in_channels=1, seed=1)
    return np.concatenate([model.params[name].ravel() for name in sorted(model.params)]).astype(np.float64)


@pytest.mark.parametrize("how", ["nan", "kill"])
def test_a_failing_rank_ends_the_whole_job_within_seconds(how, tmp_path):
    """The last rank fails at its third step (NaN loss, SIGKILL) while the others wait in an allreduce."""
    started = time.perf_counter()
    result = run_ranks(3, "failing_rank.py", how, *QUICK, "--epochs", "50", "--out", str(tmp_path / "run"), timeout=120)
    elapsed = time.perf_counter() - started
    assert result.returncode != 0
    assert elapsed < 60  # 50 epochs would take minutes; the job ended right after the failure
    assert "epoch   1/50" not in result.stdout  # no rank went on to finish an epoch
    if how == "nan":
        assert "training diverged: the loss became nan at epoch 1, step 3" in result.stderr
    if how != "kill":
        assert "rank 2 failed" in result.stderr and "ending all ranks of the job" in result.stderr


def test_ctrl_c_on_one_rank_stops_every_rank_after_the_same_step_and_saves_once(tmp_path):
    """The last rank alone gets SIGINT during its third step: all three ranks stop after step 3, rank 0 saves
    last.npz there once, and the job exits 130 without any rank failing."""
    out = tmp_path / "run"
    result = run_ranks(3, "failing_rank.py", "interrupt", *QUICK, "--epochs", "50", "--out", str(out), timeout=120)
    assert result.returncode == 130, result.stderr[-3000:]
    assert "failed" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count(f"interrupted at batch 3 of epoch 1: saved {out / 'last.npz'}") == 1
    meta = Checkpoint(out / "last.npz").meta
    assert meta.epoch == 0 and meta.mid_epoch["step"] == 3


def test_nccl_communicator_logic_with_a_stand_in_for_nccl(tmp_path):
    """No GPU here: tests/mpi/nccl_stand_in.py runs NCCLCommunicator over a stand-in that does NCCL's work by MPI."""
    report_path = tmp_path / "report.json"
    result = run_ranks(2, "nccl_stand_in.py", str(report_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["same_id"] and report["ids_made"] == [1, 0]  # rank 0 made the id, MPI carried it to rank 1
    assert report["sum"] == [0.0, 3.0, 6.0, 9.0, 12.0, 15.0]  # arange(6) * 1 + arange(6) * 2
    assert report["broadcast"] == [8.0] * 4  # rank 1's value
    assert report["allgather_equal"] and report["allgather_shape"] == [2, 5, 3]  # parts of 2 and 3 channels, padded for NCCL
    assert "NCCL cannot reduce complex64" in report["refused"]


def test_missing_nccl_says_which_wheel_to_install(monkeypatch):
    import sys
    import types

    from minialexnet.multi.distributed import DistributedError, import_nccl

    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", None)  # CuPy without its NCCL binding
    monkeypatch.setitem(sys.modules, "cupy.cuda", types.ModuleType("cupy.cuda"))
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    with pytest.raises(DistributedError, match="pip install nvidia-nccl-cu12 \\(CUDA 12\\) or nvidia-nccl-cu13"):
        import_nccl()
    cuda = types.ModuleType("cupy.cuda")
    cuda.nccl = types.SimpleNamespace(available=False)  # the binding is there, the library is not
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda)
    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", cuda.nccl)
    with pytest.raises(DistributedError, match="CuPy cannot find the NCCL library; install NCCL for CuPy: pip install nvidia-nccl-cu12"):
        import_nccl()


def test_a_rank_with_an_empty_share_adds_nothing_and_the_ranks_agree_on_the_stop_step(tmp_path):
    """train.train_epoch on two ranks, batches of 10, 1 and 10 images (rank 0's share of the second is empty):
    float64 weights equal one process's to 1e-12. Then a SIGTERM seen by rank 1 alone before batch 2 stops
    both ranks after batch 2, with the same signal."""
    report_path = tmp_path / "report.json"
    result = run_ranks(2, "empty_share_and_stop.py", str(report_path), timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["finished"] and report["moved"] > 0.1
    assert report["max_relative"] < 1e-12
    assert len(set(report["hashes"])) == 1
    assert report["stops"] == [[False, 2, 15], [False, 2, 15]]  # 15: SIGTERM


def test_rank_0_alone_reads_or_downloads_the_data_first(tmp_path):
    log = tmp_path / "log"
    result = run_ranks(2, "data_loaded_once.py", str(log), str(tmp_path / "run"), timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert log.read_text().splitlines()[:2] == ["start 0", "end 0"]
