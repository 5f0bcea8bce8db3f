"""``python benchmarks/gpu/on_strict_device.py MODULE ARGS...``: ``python -m MODULE ARGS...`` with the strict device as CuPy.

verify.py's dry run uses it, so that every ``--device gpu`` command of the GPU check runs on a
CPU (minialexnet/strict_device/; with NUMBA_ENABLE_CUDASIM=1 the GPU engine's kernels run in
numba's simulator).
"""

from __future__ import annotations

import runpy
import sys

from minialexnet import strict_device

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python benchmarks/gpu/on_strict_device.py MODULE [ARGS...], e.g. minialexnet.bench --device gpu")
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    with strict_device.installed():
        runpy.run_module(module, run_name="__main__", alter_sys=True)
