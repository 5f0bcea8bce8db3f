"""Shared fixtures: the device parameter, and the rule that CI must really run the PyTorch oracle.

``device`` is "cpu", then "gpu": on a machine with CuPy and a CUDA device that is the real
GPU; anywhere else it is the strict device (``strict_device.py``, installed as ``cupy`` for
the test), so the GPU path runs in every CI run instead of being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import strict_device

from minialexnet.backend import gpu_available

REAL_GPU = gpu_available()
DEVICES = ["cpu", pytest.param("gpu", marks=pytest.mark.gpu)]
FASHION_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fashion-mnist"


def pytest_configure(config: pytest.Config) -> None:
    # CI sets MINIALEXNET_REQUIRE_TORCH=1 so the PyTorch comparisons cannot silently skip.
    if os.environ.get("MINIALEXNET_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401  (fails the run loudly when the oracle is missing)


def pytest_report_header(config: pytest.Config) -> str:
    return f"device 'gpu': {'CuPy on a CUDA device' if REAL_GPU else 'the strict device (tests/strict_device.py)'}"


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
