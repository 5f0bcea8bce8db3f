"""The project's CUDA sources, and compiling them with NVRTC, which needs no GPU.

A kernel that CuPy compiles at run time (``cupy.RawKernel``, ``cupy.RawModule``) fails on the
user's GPU, mid-run, when its source has a typo. So every CUDA source the project carries is
listed in ``CUDA_SOURCES``, and the tests compile each one with NVRTC for the H100/H200
architecture (``compute_90``): a typo fails CI instead. Today the layers use none (every one is
written against ``xp``), so the list is empty and the tests compile a known good source and a
known bad one, to show that the check works; add an entry with the kernel itself.

NVRTC is loaded from the ``nvidia-cuda-nvrtc-cu12`` wheel (in the ``dev`` extra), or from a
CUDA toolkit on the library path, through ``ctypes``: CuPy itself is not needed to compile.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from pathlib import Path

# name -> complete CUDA C++ source (what cupy.RawKernel or cupy.RawModule gets); empty: no kernel yet
CUDA_SOURCES: dict[str, str] = {}

DEFAULT_ARCH = "compute_90"  # H100, H200
NVRTC_INSTALL_HINT = "pip install nvidia-cuda-nvrtc-cu12 (or nvidia-cuda-nvrtc for CUDA 13)"


class NVRTCUnavailableError(RuntimeError):
    """No NVRTC library could be loaded."""


class CUDACompileError(RuntimeError):
    """NVRTC rejected a source; the message holds its log."""


def _candidates() -> list[str]:
    """Where libnvrtc may be: the pip wheels' folders (CUDA 12 and 13), then the system's library path."""
    paths = []
    for package, pattern in (("nvidia.cuda_nvrtc", "lib/libnvrtc.so.*"), ("nvidia.cu13", "lib/libnvrtc.so.*")):
        try:
            spec = importlib.util.find_spec(package)
        except ModuleNotFoundError:
            spec = None
        for folder in spec.submodule_search_locations if spec is not None else ():
            paths += sorted(str(p) for p in Path(folder).glob(pattern) if ".alt." not in p.name)
    found = ctypes.util.find_library("nvrtc")
    return paths + ([found] if found else []) + ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]


def load_nvrtc() -> ctypes.CDLL:
    """The NVRTC library, or NVRTCUnavailableError saying what to install."""
    errors = []
    for candidate in _candidates():
        try:
            return ctypes.CDLL(candidate)
        except OSError as error:
            errors.append(str(error))
    raise NVRTCUnavailableError(f"NVRTC is not installed ({errors[-1]}); {NVRTC_INSTALL_HINT}")


def nvrtc_version() -> tuple[int, int]:
    """(major, minor) of the NVRTC that ``compile_ptx`` uses."""
    nvrtc = load_nvrtc()
    major, minor = ctypes.c_int(), ctypes.c_int()
    _check(nvrtc, nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
    return major.value, minor.value


def _check(nvrtc: ctypes.CDLL, result: int, call: str) -> None:
    if result != 0:
        nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
        raise CUDACompileError(f"{call} failed: {nvrtc.nvrtcGetErrorString(result).decode()}")


def _text(nvrtc: ctypes.CDLL, program: ctypes.c_void_p, size_call: str, get_call: str) -> str:
    size = ctypes.c_size_t()
    _check(nvrtc, getattr(nvrtc, size_call)(program, ctypes.byref(size)), size_call)
    buffer = ctypes.create_string_buffer(size.value)
    _check(nvrtc, getattr(nvrtc, get_call)(program, buffer), get_call)
    return buffer.value.decode(errors="replace")


def compile_ptx(source: str, name: str = "kernel.cu", arch: str = DEFAULT_ARCH, options: tuple[str, ...] = ()) -> str:
    """Compile a CUDA C++ source to PTX for ``arch``; raises CUDACompileError with NVRTC's log when it does not compile."""
    nvrtc = load_nvrtc()
    program = ctypes.c_void_p()
    _check(nvrtc, nvrtc.nvrtcCreateProgram(ctypes.byref(program), source.encode(), name.encode(), 0, None, None), "nvrtcCreateProgram")
    try:
        flags = [f"-arch={arch}", *options]
        argv = (ctypes.c_char_p * len(flags))(*(flag.encode() for flag in flags))
        result = nvrtc.nvrtcCompileProgram(program, len(flags), argv)
        if result != 0:
            log = _text(nvrtc, program, "nvrtcGetProgramLogSize", "nvrtcGetProgramLog").strip()
            raise CUDACompileError(f"{name} does not compile for {arch}:\n{log}")
        return _text(nvrtc, program, "nvrtcGetPTXSize", "nvrtcGetPTX")
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
