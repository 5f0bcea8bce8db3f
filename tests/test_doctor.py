"""``python -m minialexnet.doctor`` on this machine, without CuPy, with a CuPy that finds no driver, and on the strict device."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from minialexnet.layers import LocalResponseNorm
from minialexnet.tools import doctor


def lines_of(capsys) -> dict[str, str]:
    """The report's lines by check name (the advice line joined to its check)."""
    report: dict[str, str] = {}
    name = ""
    for line in capsys.readouterr().out.splitlines()[1:-1]:
        if "advice:" in line:
            report[name] += " | " + line.strip()
        else:
            name = line[8:24].strip()
            report[name] = line.strip()
    return report


def test_this_machine_exits_0_and_reports_every_part():
    result = subprocess.run([sys.executable, "-m", "minialexnet.doctor"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("Python", "NumPy", "BLAS", "threads", "CuPy", "NCCL", "MPI", "CUDA kernels", "smoke test cpu"):
        assert part in result.stdout
    assert result.stdout.strip().endswith("everything present works")


def test_without_cupy_the_gpu_is_optional_and_the_wheels_are_named(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert doctor.main([]) == 0
    report = lines_of(capsys)
    assert report["CuPy"].startswith("--") and "cupy-cuda12x" in report["CuPy"] and "cupy-cuda13x" in report["CuPy"]
    assert report["smoke test cpu"].startswith("ok") and "smoke test gpu:0" not in report


def fake_cupy(driver_version):
    """A CuPy (built for CUDA 12.9) whose driver reports ``driver_version``, or raises it when it is an exception."""

    def driver():
        if isinstance(driver_version, Exception):
            raise driver_version
        return driver_version

    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    runtime = SimpleNamespace(runtimeGetVersion=lambda: 12090, driverGetVersion=driver, getDeviceCount=no_device)
    return SimpleNamespace(__version__="14.2.0", cuda=SimpleNamespace(runtime=runtime))


@pytest.mark.parametrize(
    "driver, advice",
    [
        (RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient"), "install the NVIDIA driver"),
        (0, "install the NVIDIA driver"),
        (11080, "pip install cupy-cuda11x instead of this CuPy, or update the NVIDIA driver"),
        (12090, "check the GPU with nvidia-smi"),
    ],
)
def test_cupy_without_a_usable_driver_or_device_exits_1_with_advice(driver, advice, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(driver))
    assert doctor.main([]) == 1
    report = lines_of(capsys)
    assert report["CuPy"].startswith("ok") and "built for CUDA 12.9" in report["CuPy"]
    failed = [line for line in report.values() if line.startswith("FAIL")]
    assert len(failed) == 1 and advice in failed[0]
    assert report["smoke test cpu"].startswith("ok")


def test_on_the_strict_device_the_gpu_is_listed_and_passes_its_smoke_test(strict_cupy, capsys):
    assert doctor.main([]) == 0
    report = lines_of(capsys)
    assert "strict device" in report["gpu:0"] and "compute capability 9.0" in report["gpu:0"] and "GiB free" in report["gpu:0"]
    assert report["CUDA driver"].startswith("ok") and report["NCCL"].startswith("--")
    assert report["smoke test gpu:0"].startswith("ok")


def test_on_a_gpu_each_engine_takes_one_step_against_the_cpu_reference_in_seconds(strict_cupy, monkeypatch, capsys):
    """The reference engine on the strict device; the cuda engine is tried only where numba-cuda sees a GPU (its step in
    numba's simulator: tests/cuda_sim_cases.py). A wrong float32 result is a FAIL with the engine named."""
    started = time.perf_counter()
    checks = {check.name: check for check in doctor.engine_checks("gpu:0")}
    assert time.perf_counter() - started < 20
    assert checks["engine reference"].status == "ok" and "--engine auto runs this engine on a GPU" in checks["engine reference"].detail
    assert checks["engine cuda"].status == "--" and "--engine reference runs" in checks["engine cuda"].detail
    error = float(checks["engine reference"].detail.split("max relative error ")[1].split(" ")[0])
    assert 1e-9 < error < 1e-5  # float32 rounding, no more
    assert doctor.main([]) == 0
    report = lines_of(capsys)
    assert report["engine reference"].startswith("ok") and report["engine cuda"].startswith("--")
    original = LocalResponseNorm.backward
    float32_bug = lambda self, dout: original(self, dout) * (1.001 if dout.dtype == np.float32 else 1.0)  # noqa: E731
    monkeypatch.setattr(LocalResponseNorm, "backward", float32_bug)
    failed = doctor.engine_checks("gpu:0")[0]
    assert failed.status == "FAIL" and "max relative error 1.0e-03" in failed.detail and "tests/test_gpu_path.py" in failed.advice


def test_a_wrong_result_or_a_bad_thread_setting_is_a_problem(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setenv("MINIALEXNET_NUM_THREADS", "two")
    original = LocalResponseNorm.backward
    float32_bug = lambda self, dout: original(self, dout) * (1.001 if dout.dtype == np.float32 else 1.0)  # noqa: E731
    monkeypatch.setattr(LocalResponseNorm, "backward", float32_bug)  # as a device's faulty kernel would
    assert doctor.main([]) == 1
    report = lines_of(capsys)
    assert report["threads"].startswith("FAIL") and "MINIALEXNET_NUM_THREADS='two'" in report["threads"] and "advice:" in report["threads"]
    assert report["smoke test cpu"].startswith("FAIL") and "max relative error 1.0e-03" in report["smoke test cpu"]


def test_the_kernels_line_names_the_compiler_and_that_the_engine_needs_a_gpu(capsys):
    assert doctor.main([]) == 0
    line = lines_of(capsys)["CUDA kernels"]
    if line.startswith("--"):
        assert "pip install numba-cuda nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12" in line
    else:
        assert "numba-cuda 0." in line and "NVVM" in line and "compiles for sm_90" in line and "--engine cuda needs a GPU" in line


def test_without_numba_cuda_the_kernels_line_says_what_to_install(monkeypatch, capsys):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert doctor.main([]) == 0
    line = lines_of(capsys)["CUDA kernels"]
    assert line.startswith("--") and "numba-cuda is not installed" in line and "pip install numba-cuda nvidia-cuda-nvcc-cu12" in line
