"""Shared fixtures: the device parameter, and the rules that CI must really run the PyTorch and ONNX Runtime oracles,
the MPI tests, the CUDA compile tests and the website's browser test.

``device`` is "cpu", then "gpu": on a machine with CuPy and a CUDA device that is the real
GPU; anywhere else it is the strict device (``minialexnet/strict_device/``, installed as ``cupy`` for
the test), so the GPU path runs in every CI run instead of being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minialexnet import strict_device
from minialexnet.backend import gpu_available
from minialexnet.threads import THREAD_ENV_NAMES, available_cores

REAL_GPU = gpu_available()
DEVICES = ["cpu", pytest.param("gpu", marks=pytest.mark.gpu)]


def _fashion_dir() -> Path:
    """Fashion-MNIST for the tests that need it: $MINIALEXNET_DATA (or its fashion-mnist folder), else wherever
    minialexnet itself finds it (``fashion_mnist.find_fashion_mnist``: the Debian folder, the user cache)."""
    env = os.environ.get("MINIALEXNET_DATA")
    if env:
        return next((p for p in (Path(env), Path(env) / "fashion-mnist") if any(p.glob("*-idx3-ubyte*"))), Path(env))
    from minialexnet.data.fashion_mnist import find_fashion_mnist

    return find_fashion_mnist() or Path(os.devnull) / "fashion-mnist"  # not a folder: the tests that need it skip


FASHION_DIR = _fashion_dir()
NO_FASHION = "no Fashion-MNIST found: set MINIALEXNET_DATA to the folder that holds its four files"


def share_the_cores_between_workers(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n``, in pyproject's addopts) the workers split the cores: each runs ``cores // workers``
    threads, OpenBLAS's and minialexnet's, so that two workers on two cores never wait for each other's threads.
    Set here, in the controller, before the workers start: they inherit it before NumPy loads. A setting of the
    user's wins; in a worker (``numprocesses`` None) and without ``-n`` this does nothing."""
    workers = getattr(config.option, "numprocesses", None) or 0
    if workers > 1 and not any(os.environ.get(name) for name in THREAD_ENV_NAMES):
        os.environ["OPENBLAS_NUM_THREADS"] = str(max(1, available_cores() // workers))


def pytest_configure(config: pytest.Config) -> None:
    share_the_cores_between_workers(config)
    # CI sets MINIALEXNET_REQUIRE_TORCH=1 and MINIALEXNET_REQUIRE_ONNX=1 so the PyTorch
    # comparisons and the ONNX Runtime checks cannot silently skip.
    if os.environ.get("MINIALEXNET_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401  (fails the run loudly when the oracle is missing)
    # CI sets MINIALEXNET_REQUIRE_MPI=1 (and installs the [mpi] extra) so the multi-rank tests cannot silently skip.
    if os.environ.get("MINIALEXNET_REQUIRE_MPI") == "1":
        import mpi4py  # noqa: F401
        from mpirun import mpiexec_path

        assert mpiexec_path() is not None, "MINIALEXNET_REQUIRE_MPI=1 but no mpiexec was found next to Python or on PATH"
    if os.environ.get("MINIALEXNET_REQUIRE_ONNX") == "1":
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    # CI's site step sets MINIALEXNET_REQUIRE_BROWSER=1 (and installs the [docs] extra and Chromium) so the browser
    # test cannot skip; tests/test_site.py fails there when the built site or Chromium is missing.
    if os.environ.get("MINIALEXNET_REQUIRE_BROWSER") == "1":
        import websocket  # noqa: F401  (websocket-client)


def pytest_report_header(config: pytest.Config) -> str:
    return f"device 'gpu': {'CuPy on a CUDA device' if REAL_GPU else 'the strict device (minialexnet/strict_device/)'}"


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "gpu" and not REAL_GPU:
        strict_device.install(monkeypatch)
    return request.param


@pytest.fixture
def strict_cupy(monkeypatch: pytest.MonkeyPatch):
    """The strict device as ``cupy``, even on a machine with a GPU (for what only it can see: transfers, refusals)."""
    return strict_device.install(monkeypatch)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
