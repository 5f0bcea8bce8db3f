"""``python -m minialexnet.doctor``: what this machine offers minialexnet, and whether it works.

Run it first when something is wrong, and before a long run. It reports Python, NumPy and
its BLAS with the thread settings, CuPy with the CUDA runtime and driver, NCCL, MPI, the CUDA
kernels' compiler (numba-cuda, for the GPU engine),
every device with its memory, and runs a smoke test on each device: a convolution, LRN and
max-pool forward and backward in float32, against the same layers in float64 on the CPU
(a few seconds). On a machine with a GPU it then takes one SGD step of a small network with
each GPU engine (reference, and cuda where numba-cuda sees the GPU) on the first GPU and
compares the loss, the gradients and the update with the reference engine in float64 on the
CPU: the verdict says whether ``--engine cuda``, which ``--engine auto`` does not choose (no
GPU run has yet shown it equal and faster), may be tried here. Each problem comes with one
line of advice.

Exit status 0 when everything present works (a missing optional part, such as CuPy on a
machine without a GPU, is not a problem), 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.backend import asnumpy, to_device

CUPY_WHEELS = 'pip install cupy-cuda12x (driver for CUDA 12) or cupy-cuda13x (CUDA 13); from a checkout: pip install -e ".[gpu]"'
SMOKE_TOLERANCE = 1e-4  # float32 against float64: a few float32 roundings, far below any bug


@dataclass
class Check:
    """One line of the report: status "ok", "--" (absent, optional), "warn" (works, badly) or "FAIL", and for a
    warning or a failure one line of advice."""

    status: str
    name: str
    detail: str
    advice: str = ""


def check_python() -> list[Check]:
    return [Check("ok", "Python", f"{platform.python_version()} ({sys.executable})")]


def check_numpy() -> list[Check]:
    from minialexnet.threads import ThreadSettingError, default_num_threads, oversubscription
    from minialexnet.tools.bench import thread_settings

    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    detail = f"{np.__version__}, BLAS {blas.get('name', 'unknown')} {blas.get('version', '')}".rstrip()
    try:
        problem = oversubscription(default_num_threads())  # the environment as it is now, not as this process first read it
        if problem is not None:
            what, advice = problem.split(": ", 1)
            return [Check("ok", "NumPy", detail), Check("warn", "threads", what, advice)]
        return [Check("ok", "NumPy", detail), Check("ok", "threads", thread_settings())]
    except ThreadSettingError as error:
        advice = "set it to a whole number of threads, e.g. OMP_NUM_THREADS=2, or unset it to use every core"
        return [Check("ok", "NumPy", detail), Check("FAIL", "threads", str(error), advice)]


def _import_cupy() -> ModuleType | None:
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def _cuda_version(code: int) -> str:
    return f"{code // 1000}.{code % 1000 // 10}"


def check_cupy(cupy: ModuleType | None) -> tuple[list[Check], list[str]]:
    """CuPy, the CUDA runtime and driver, and the devices; also returns the usable device names."""
    if cupy is None:
        return [Check("--", "CuPy", f"not installed: no GPU path (for an NVIDIA GPU: {CUPY_WHEELS})")], []
    runtime = cupy.cuda.runtime
    built_for = runtime.runtimeGetVersion()
    try:
        driver = runtime.driverGetVersion()
    except Exception as error:  # CuPy raises CUDARuntimeError (or a driver error) without a driver
        driver, driver_error = 0, f"{type(error).__name__}: {error}"
    else:
        driver_error = ""
    checks = [Check("ok", "CuPy", f"{cupy.__version__}, built for CUDA {_cuda_version(built_for)}")]
    if driver == 0:
        advice = "install the NVIDIA driver (nvidia-smi must work), or train with --device cpu"
        return [*checks, Check("FAIL", "CUDA driver", f"none found {driver_error}".strip(), advice)], []
    if driver // 1000 < built_for // 1000:
        advice = f"pip install cupy-cuda{driver // 1000}x instead of this CuPy, or update the NVIDIA driver"
        detail = f"supports CUDA {_cuda_version(driver)}, older than this CuPy's CUDA {_cuda_version(built_for)}"
        return [*checks, Check("FAIL", "CUDA driver", detail, advice)], []
    checks.append(Check("ok", "CUDA driver", f"supports CUDA {_cuda_version(driver)}"))
    try:
        count = runtime.getDeviceCount()
    except Exception as error:
        advice = "check the GPU with nvidia-smi (and CUDA_VISIBLE_DEVICES), or train with --device cpu"
        return [*checks, Check("FAIL", "devices", f"{type(error).__name__}: {error}", advice)], []
    if count == 0:
        return [*checks, Check("FAIL", "devices", "CuPy found no CUDA device", "check nvidia-smi and CUDA_VISIBLE_DEVICES")], []
    devices = []
    for index in range(count):
        properties = runtime.getDeviceProperties(index)
        with cupy.cuda.Device(index) as device:
            free, total = device.mem_info
        name = properties["name"].decode()
        detail = (
            f"{name}, compute capability {properties['major']}.{properties['minor']}, {free / 2**30:.1f} of {total / 2**30:.1f} GiB free"
        )
        checks.append(Check("ok", f"gpu:{index}", detail))
        devices.append(f"gpu:{index}")
    return checks, devices


def check_nccl(cupy: ModuleType | None) -> list[Check]:
    if cupy is None:
        return [Check("--", "NCCL", "needs CuPy")]
    try:
        from cupy.cuda import nccl
    except ImportError:
        nccl = None
    if nccl is None or not nccl.available:
        return [Check("--", "NCCL", "not available: only multi-GPU training needs it (pip install nvidia-nccl-cu12, or -cu13)")]
    return [Check("ok", "NCCL", f"version {nccl.get_version()}")]


def check_mpi() -> list[Check]:
    try:
        from mpi4py import MPI
    except ImportError:
        return [Check("--", "MPI", "mpi4py not installed: only distributed training needs it (pip install mpi4py mpich)")]
    except RuntimeError as error:  # mpi4py present, no MPI library behind it
        return [Check("FAIL", "MPI", f"mpi4py cannot load MPI ({error})", "pip install mpich (or install Open MPI)")]
    return [Check("ok", "MPI", MPI.Get_library_version().splitlines()[0].strip())]


def check_kernels() -> list[Check]:
    """The compiler of the GPU engine's kernels (tools/kernels.py), and whether that engine can run here."""
    from minialexnet import cuda
    from minialexnet.tools.kernels import CompilerUnavailableError, toolchain

    try:
        compiler = toolchain()
    except CompilerUnavailableError as error:
        return [Check("--", "CUDA kernels", f"{error}: only --engine cuda and its compile tests need it")]
    engine = "--engine cuda runs here" if cuda.available() else "--engine cuda needs a GPU"
    return [Check("ok", "CUDA kernels", f"{compiler}, compiles for sm_90; {engine}")]


def _conv_lrn_pool(device: str, dtype: Any) -> list[np.ndarray]:
    """out, dx and dW of conv (3 -> 8, 5x5) + LRN + max-pool on a fixed batch, computed on ``device``, copied to the host."""
    from minialexnet.layers import Conv2d, LocalResponseNorm, MaxPool2d, Sequential

    net = Sequential(
        ("conv", Conv2d(3, 8, 5, padding=2, rng=np.random.default_rng(1))),
        ("norm", LocalResponseNorm(5, alpha=1e-3, beta=0.75, k=2.0)),
        ("pool", MaxPool2d(3, 2)),
    )
    net = net.astype(dtype).to(device)
    x = np.random.default_rng(0).standard_normal((4, 3, 15, 15)) * 10
    out = net.forward(to_device(x.astype(dtype), device))
    dout = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    dx = net.backward(to_device(dout, device))
    return [asnumpy(out), asnumpy(dx), asnumpy(net.grads["conv.W"])]


def smoke_test(device: str) -> Check:
    """conv + LRN + max-pool forward and backward on ``device`` in float32, against float64 on the CPU."""
    started = time.perf_counter()
    try:
        results = _conv_lrn_pool(device, np.float32)
    except Exception as error:
        advice = "run the tests (pytest tests/test_gpu_path.py) and report the error" if device != "cpu" else "reinstall NumPy"
        return Check("FAIL", f"smoke test {device}", f"{type(error).__name__}: {error}", advice)
    seconds = time.perf_counter() - started
    errors = [
        float(np.abs(got - want).max() / np.abs(want).max()) for got, want in zip(results, _conv_lrn_pool("cpu", np.float64), strict=True)
    ]
    detail = f"conv + LRN + max-pool forward/backward, float32 vs float64 CPU: max relative error {max(errors):.1e} ({seconds:.2f} s)"
    if max(errors) > SMOKE_TOLERANCE:
        return Check("FAIL", f"smoke test {device}", detail, f"results differ beyond {SMOKE_TOLERANCE:g}: report it with this output")
    return Check("ok", f"smoke test {device}", detail)


def _engine_step(engine: str, device: str, dtype: Any) -> list[np.ndarray]:
    """One SGD step of a small network of every layer type built by ``engine`` on ``device``: the loss, every gradient and
    every parameter's update, copied to the host."""
    from minialexnet.engines import engine_module, optimizer_class

    layers = engine_module(engine, device)
    rng = np.random.default_rng(4)
    net = layers.Sequential(
        ("conv1", layers.Conv2d(3, 8, 3, padding=1, rng=rng, dtype=dtype)),
        ("relu1", layers.ReLU()),
        ("norm1", layers.LocalResponseNorm(5, alpha=1e-3, beta=0.75, k=2.0, groups=2)),
        ("pool1", layers.MaxPool2d(3, 2)),
        ("conv2", layers.Conv2d(8, 8, 3, padding=1, groups=2, rng=rng, dtype=dtype)),
        ("relu2", layers.ReLU()),
        ("flatten", layers.Flatten()),
        ("fc1", layers.Linear(8 * 3 * 3, 16, rng=rng, dtype=dtype)),
        ("relu3", layers.ReLU()),
        ("drop", layers.Dropout(0.5, seed=5)),
        ("fc2", layers.Linear(16, 4, rng=rng, dtype=dtype)),
    )
    prepare = getattr(layers, "prepare_network", None)
    if prepare is not None:
        prepare(net)
    net = net.to(device)
    loss_layer, optimizer = layers.SoftmaxCrossEntropy(), optimizer_class(engine, device)(lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = to_device((np.random.default_rng(6).standard_normal((4, 3, 8, 8)) * 2).astype(dtype), device)
    labels = to_device(np.array([0, 3, 1, 2]), device)
    names = sorted(net.params)
    before = {name: asnumpy(net.params[name]).astype(np.float64) for name in names}
    loss = loss_layer.forward(net.forward(x, train=True), labels)
    net.backward(loss_layer.backward())
    grads = [asnumpy(net.grads[name]) for name in names]
    optimizer.step(net.params, net.grads)
    return [np.asarray(float(loss)), *grads, *(asnumpy(net.params[name]) - before[name] for name in names)]


def engine_checks(device: str) -> list[Check]:
    """One SGD step of each GPU engine on ``device`` (float32) against the reference engine on the CPU (float64): the verdict."""
    from minialexnet import cuda

    wanted = _engine_step("reference", "cpu", np.float64)
    checks = []
    for engine in ("reference", "cuda"):
        name = f"engine {engine}"
        if engine == "cuda" and not cuda.available():
            why = (
                "numba-cuda sees no CUDA GPU here"
                if importlib.util.find_spec("numba")
                else "numba-cuda is not installed (pip install numba-cuda)"
            )
            checks.append(Check("--", name, f"not tried: {why}; --engine reference runs"))
            continue
        started = time.perf_counter()
        try:
            got = _engine_step(engine, device, np.float32)
        except Exception as error:
            checks.append(Check("FAIL", name, f"one step on {device}: {type(error).__name__}: {error}", ENGINE_ADVICE[engine]))
            continue
        seconds = time.perf_counter() - started
        error = max(float(np.abs(g - w).max() / max(np.abs(w).max(), 1e-30)) for g, w in zip(got, wanted, strict=True))
        detail = f"one SGD step on {device}, float32 vs the CPU reference in float64: max relative error {error:.1e} ({seconds:.2f} s)"
        if error > SMOKE_TOLERANCE:
            checks.append(Check("FAIL", name, detail, ENGINE_ADVICE[engine]))
        else:
            checks.append(Check("ok", name, detail + ENGINE_VERDICT[engine]))
    return checks


ENGINE_ADVICE = {
    "reference": "run the tests (pytest tests/test_gpu_path.py) and report the error with this output",
    "cuda": "keep --engine reference (what --engine auto runs on a GPU) and report this output",
}
ENGINE_VERDICT = {
    "reference": "; --engine auto runs this engine on a GPU",
    "cuda": "; it agrees here: --engine cuda may be tried, and benchmarks/gpu/verify.py measures it (docs/gpu.md)",
}


def _guarded(name: str, section: Callable[[], list[Check]]) -> list[Check]:
    """``section()``, or one FAIL line when it raises: the doctor reports, it does not crash."""
    try:
        return section()
    except Exception as error:
        return [Check("FAIL", name, f"{type(error).__name__}: {error}", "report it with this output")]


def run_checks() -> list[Check]:
    cupy = _import_cupy()
    gpus: list[str] = []

    def gpu_section() -> list[Check]:
        checks, usable = check_cupy(cupy)
        gpus.extend(usable)
        return checks

    checks = check_python() + check_numpy() + _guarded("CuPy", gpu_section)
    checks += _guarded("NCCL", lambda: check_nccl(cupy if gpus else None)) + _guarded("MPI", check_mpi)
    checks += _guarded("CUDA kernels", check_kernels)
    checks += [smoke_test(device) for device in ("cpu", *gpus)]
    return checks + (_guarded("engines", lambda: engine_checks(gpus[0])) if gpus else [])


def main(argv: list[str] | None = None) -> int:
    import argparse

    description = "What this machine offers minialexnet and whether it works; exit status 0 when everything present works, else 1."
    argparse.ArgumentParser(prog="python -m minialexnet.doctor", description=description).parse_args(argv)
    checks = run_checks()
    print("minialexnet doctor")
    for check in checks:
        print(f"  {check.status:<5} {check.name:<16} {check.detail}")
        if check.advice:
            print(f"  {'':<5} {'':<16} advice: {check.advice}")
    failed = [check.name for check in checks if check.status == "FAIL"]
    warned = [check.name for check in checks if check.status == "warn"]
    print(f"{len(failed)} problem(s): {', '.join(failed)}" if failed else "everything present works")
    if warned:
        print(f"{len(warned)} warning(s), each with advice above: {', '.join(warned)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
