"""benchmarks/gpu/verify.py --dry-run: every step of the GPU check runs on this CPU (strict device, numba's simulator, tiny sizes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERIFY = ROOT / "benchmarks" / "gpu" / "verify.py"

pytest.importorskip("torch", reason="the check compares with PyTorch (pip install torch)")


@pytest.mark.slow
def test_the_dry_run_runs_every_step_and_the_checkpoint_evaluates_the_same_on_both_devices(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    result = subprocess.run([sys.executable, str(VERIFY), "--dry-run"], capture_output=True, text=True, env=env, timeout=1500, check=False)
    assert result.returncode == 0, result.stdout + result.stderr + (tmp_path / "verify.log").read_text()
    report = json.loads((tmp_path / "verify.json").read_text())
    steps = {step["name"]: step for step in report["steps"]}
    assert report["mode"] == "dry run" and list(steps)[:3] == ["gpu-tests", "gradcheck", "bench-reference-fp32"]
    assert all(step["status"] in ("ok", "skipped") for step in steps.values()), steps
    for name in ("gpu-tests", "gradcheck", "bench-reference-fp32", "bench-reference-tf32", "train-short", "evaluate-gpu", "fashion-torch"):
        assert steps[name]["status"] == "ok", name
    assert steps["evaluate-cpu"]["same_as_evaluate-gpu"] is True
    assert "top-1 error" in "\n".join(steps["evaluate-cpu"]["tail"])
    bench = json.loads((tmp_path / "bench-reference-fp32.json").read_text())
    assert bench  # the bench tool wrote its figures
    assert (tmp_path / "short" / "last.npz").is_file() and (tmp_path / "fashion-torch.json").is_file()
    log = (tmp_path / "verify.log").read_text()
    assert "=== gradcheck:" in log and "on_strict_device.py minialexnet.gradcheck --device gpu" in log


def test_without_a_results_folder_it_says_what_to_pass(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "OUT"}
    result = subprocess.run([sys.executable, str(VERIFY), "--dry-run"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 2 and "no results folder: pass --out DIR or set OUT" in result.stderr


def test_a_full_run_without_the_dataset_stops_at_once_with_one_line(tmp_path):
    env = {**os.environ, "MINIALEXNET_DATA": str(tmp_path / "absent")}
    result = subprocess.run(
        [sys.executable, str(VERIFY), "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 2
    assert (
        result.stdout.strip()
        == f"verify: no Fashion-MNIST in {tmp_path / 'absent'}; copy its four *-ubyte.gz files there or set MINIALEXNET_DATA"
    )
