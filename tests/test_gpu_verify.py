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
    for name in ("gpu-tests", "gradcheck", "bench-reference-fp32", "bench-cuda-fp32", "sweep-cuda-block128", "train-short"):
        assert steps[name]["status"] == "ok", name
    for name in ("evaluate-gpu", "evaluate-cpu", "fashion-torch"):
        assert steps[name]["status"] == "ok", name
    assert not {"bench-reference-tf32", "bench-cuda-tf32", "sweep-cuda-block256", "fashion-cuda"} & set(steps)  # repeats, in the simulator
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


def test_the_table_runs_every_gpu_command_on_the_gpu_and_bench_only_keeps_the_benchmarks_and_the_sweep(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("verify", VERIFY)
    verify = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "verify", verify)  # dataclasses look their module up there
    spec.loader.exec_module(verify)
    table = verify.steps()
    names = [step.name for step in table]
    assert names.index("gpu-tests") < names.index("gradcheck") < names.index("bench-reference-fp32") < names.index("train-short")
    assert names.index("evaluate-cpu") < names.index("fashion-cuda") < names.index("fashion-torch") == len(names) - 1
    assert [s.name for s in table if s.bench] == [
        *(f"bench-{engine}-{precision}" for engine in ("reference", "cuda") for precision in ("fp32", "tf32")),
        *(f"sweep-cuda-block{block}" for block in (128, 256, 512)),
    ]
    for step in table:
        if step.module not in ("pytest", None):
            assert step.full[step.full.index("--device") + 1] == ("cpu" if step.name == "evaluate-cpu" else "gpu"), step.name
        if step.name.startswith("bench-"):
            assert "--per-layer" in step.full and "--compare" in step.full and step.full[step.full.index("--batch-size") + 1] == "128"
            assert step.env["CUPY_TF32"] == ("1" if step.name.endswith("tf32") else "0")
    fashion = next(s for s in table if s.name == "fashion-cuda").full
    assert fashion[fashion.index("--config") + 1] == "fashion" and fashion[fashion.index("--epochs") + 1] == "10" and "paper" in fashion
