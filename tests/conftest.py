"""Shared fixtures: the device parameter, and the rule that CI must really run the PyTorch and ONNX Runtime oracles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minialexnet.backend import gpu_available

GPU = gpu_available()
DEVICES = ["cpu", pytest.param("gpu", marks=[pytest.mark.gpu, pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA device")])]
FASHION_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fashion-mnist"


def pytest_configure(config: pytest.Config) -> None:
    # CI sets MINIALEXNET_REQUIRE_TORCH=1 and MINIALEXNET_REQUIRE_ONNX=1 so the PyTorch
    # comparisons and the ONNX Runtime checks cannot silently skip.
    if os.environ.get("MINIALEXNET_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401  (fails the run loudly when the oracle is missing)
    if os.environ.get("MINIALEXNET_REQUIRE_ONNX") == "1":
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
