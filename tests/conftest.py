"""Shared fixtures: the device parameter, and the rules that CI must really run the PyTorch and ONNX Runtime oracles and the MPI tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minialexnet.backend import gpu_available

GPU = gpu_available()
DEVICES = ["cpu", pytest.param("gpu", marks=[pytest.mark.gpu, pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA device")])]


def _fashion_dir() -> Path:
    """Fashion-MNIST for the tests that need it: $MINIALEXNET_DATA (or its fashion-mnist folder), else ../shared/datasets."""
    env = os.environ.get("MINIALEXNET_DATA")
    if env:
        return next((p for p in (Path(env), Path(env) / "fashion-mnist") if any(p.glob("*-idx3-ubyte*"))), Path(env))
    return Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fashion-mnist"


FASHION_DIR = _fashion_dir()


def pytest_configure(config: pytest.Config) -> None:
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


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
