"""NVRTC compiles the project's CUDA sources for compute_90 (no GPU needed), and the check catches a typo.

CI installs NVRTC (the nvidia-cuda-nvrtc-cu12 wheel, dev extra) and sets MINIALEXNET_REQUIRE_NVRTC=1,
so these tests fail there instead of skipping when it is missing.
"""

from __future__ import annotations

import os

import pytest

from minialexnet.tools import kernels

try:
    NVRTC_VERSION = kernels.nvrtc_version()
except kernels.NVRTCUnavailableError:
    if os.environ.get("MINIALEXNET_REQUIRE_NVRTC") == "1":
        raise
    pytest.skip(f"NVRTC is not installed ({kernels.NVRTC_INSTALL_HINT})", allow_module_level=True)

SAXPY = """
extern "C" __global__ void saxpy(const float a, const float* x, float* y, const int n) {
    int i = blockDim.x * blockIdx.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


def test_a_known_good_source_and_every_listed_source_compile_for_compute_90():
    for name, source in {"saxpy.cu": SAXPY, **kernels.CUDA_SOURCES}.items():
        ptx = kernels.compile_ptx(source, name)
        assert ".target sm_90" in ptx, name
    assert ".entry saxpy" in kernels.compile_ptx(SAXPY)


def test_a_typo_fails_compilation_with_nvrtcs_log():
    typo = SAXPY.replace("y[i] = a * x[i]", "y[i] = a * xx[i]")
    with pytest.raises(kernels.CUDACompileError, match=r"(?s)typo.cu does not compile for compute_90.*identifier \"xx\" is undefined"):
        kernels.compile_ptx(typo, "typo.cu")


def test_an_unknown_architecture_is_refused():
    with pytest.raises(kernels.CUDACompileError, match="does not compile for compute_1"):
        kernels.compile_ptx(SAXPY, arch="compute_1")
