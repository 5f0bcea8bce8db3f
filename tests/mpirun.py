"""Launching the programs in tests/mpi/ under mpiexec, bounded in time, for the multi-rank tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "mpi"


def mpiexec_path() -> str | None:
    """The mpiexec beside this Python (the mpich wheel's, in a venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.is_file() else shutil.which("mpiexec")


def require_mpi() -> str:
    """Skip the calling test unless mpi4py and mpiexec are installed (CI requires them: MINIALEXNET_REQUIRE_MPI=1)."""
    pytest.importorskip("mpi4py")
    path = mpiexec_path()
    if path is None:
        pytest.skip("no mpiexec: pip install -e '.[mpi]'")
    return path


def run_ranks(ranks: int, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``mpiexec -n ranks python tests/mpi/<program> args...`` (or ``python -m <program>`` for a module name),
    one thread per rank, killed after ``timeout`` seconds."""
    target = [str(PROGRAMS / program)] if program.endswith(".py") else ["-m", program]
    command = [require_mpi(), "-n", str(ranks), sys.executable, *target, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROGRAMS.parent.parent)}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
