"""Compiling the project's CUDA kernels (minialexnet/cuda/kernels.py) to PTX, with no GPU.

A kernel that only compiles when it first runs fails on the user's GPU, mid-run, when it has
a mistake. So every kernel of the GPU engine is listed with its argument types
(``minialexnet.cuda.kernels.SIGNATURES``) and compiled here, ahead of time, for the H100/H200
architecture (sm_90) by ``numba.cuda.compile_ptx``: the tests compile each one for float32
and float64, so a mistake fails CI instead. The compiler also refuses what numba's simulator
would run but a GPU cannot (a dict inside a kernel, say).

It needs numba-cuda and NVIDIA's compiler libraries: NVVM from the ``nvidia-cuda-nvcc-cu12``
wheel and NVRTC from ``nvidia-cuda-nvrtc-cu12`` (all three in the ``dev`` extra), or a CUDA
toolkit. Not under ``NUMBA_ENABLE_CUDASIM=1``: the simulator has no compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ARCH = (9, 0)  # H100, H200
INSTALL_HINT = "pip install numba-cuda nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12 (the dev extra has them)"


class CompilerUnavailableError(RuntimeError):
    """numba-cuda or NVIDIA's compiler libraries are missing, or the simulator is on."""


class KernelCompileError(RuntimeError):
    """A kernel does not compile; the message holds the compiler's."""


def toolchain() -> str:
    """'numba-cuda X, NVVM Y.Z' of the compiler ``compile_ptx`` uses, or CompilerUnavailableError saying what to install."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        numba_cuda = version("numba-cuda")
        from numba import config
        from numba.cuda.cudadrv import nvvm
    except (ImportError, PackageNotFoundError) as error:
        raise CompilerUnavailableError(f"numba-cuda is not installed ({error}); {INSTALL_HINT}") from None
    if config.ENABLE_CUDASIM:
        raise CompilerUnavailableError("NUMBA_ENABLE_CUDASIM=1 is set, and the simulator cannot compile; unset it to compile kernels")
    if not nvvm.is_available():
        raise CompilerUnavailableError(f"NVVM (the CUDA compiler library) is not installed; {INSTALL_HINT}")
    major, minor = nvvm.NVVM().get_version()
    return f"numba-cuda {numba_cuda}, NVVM {major}.{minor}"


def compile_ptx(kernel: Callable[..., Any], signature: str, arch: tuple[int, int] = ARCH) -> str:
    """The PTX of the Python function ``kernel`` (a numba.cuda kernel body) for ``signature`` on ``arch``.

    Raises KernelCompileError with the compiler's message when it does not compile.
    """
    toolchain()
    from numba import cuda

    try:
        ptx, _ = cuda.compile_ptx(kernel, signature, cc=arch)
    except Exception as error:  # numba raises TypingError, LoweringError, NvvmError ...: each means "does not compile"
        raise KernelCompileError(f"{kernel.__name__}{signature[4:]} does not compile for sm_{arch[0]}{arch[1]}: {error}") from error
    return ptx


def compile_all(arch: tuple[int, int] = ARCH) -> dict[tuple[str, str], str]:
    """Every kernel of the GPU engine for every dtype it is listed for: (name, dtype) -> PTX."""
    from minialexnet.cuda import kernels

    return {
        (name, dtype): compile_ptx(kernels.KERNELS[name], signature, arch)
        for name, signatures in kernels.SIGNATURES.items()
        for dtype, signature in signatures.items()
    }
