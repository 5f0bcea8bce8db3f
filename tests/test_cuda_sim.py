"""The GPU engine's kernels run in numba's simulator against the reference layers (tests/cuda_sim_cases.py).

NUMBA_ENABLE_CUDASIM must be set before numba is imported and holds for the whole process, while the
compile tests (test_kernels.py) need it off: so the cases run in a pytest process of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba.cuda", reason="numba-cuda is not installed (pip install numba-cuda)")

ROOT = Path(__file__).resolve().parent.parent


def test_every_kernel_and_a_whole_training_step_match_the_reference_in_the_simulator():
    env = {
        **os.environ,
        "NUMBA_ENABLE_CUDASIM": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    # in this process's pytest alone (-o addopts: not pyproject's -n auto, whose workers would swallow the -s output)
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-o", "addopts=-ra", "-p", "no:cacheprovider", "tests/cuda_sim_cases.py"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert " passed" in report and "skipped" not in report and "failed" not in report, report
    print(report[report.index("launches in one") :].splitlines()[0])


def test_the_engine_subclasses_the_reference_layers_and_is_not_available_without_a_gpu():
    from minialexnet import cuda, layers
    from minialexnet.backend import gpu_available

    for name in ("Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d", "Dropout", "Linear", "Flatten", "SoftmaxCrossEntropy", "Sequential"):
        assert issubclass(getattr(cuda, name), getattr(layers, name)), name
    if not gpu_available():
        assert cuda.available() is False
