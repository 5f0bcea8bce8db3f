"""Every kernel of the GPU engine compiles to PTX for sm_90 (no GPU needed), and the check catches what a GPU cannot run.

CI installs numba-cuda and NVIDIA's compiler wheels (dev extra) and sets MINIALEXNET_REQUIRE_CUDA_COMPILER=1,
so these tests fail there instead of skipping when the compiler is missing.
"""

from __future__ import annotations

import os

import pytest

from minialexnet.tools import kernels

try:
    TOOLCHAIN = kernels.toolchain()
except kernels.CompilerUnavailableError as error:
    if os.environ.get("MINIALEXNET_REQUIRE_CUDA_COMPILER") == "1":
        raise
    pytest.skip(str(error), allow_module_level=True)

from numba import cuda  # after the skip: numba-cuda may be absent

from minialexnet.cuda import kernels as engine_kernels


def test_every_kernel_compiles_for_sm_90_in_float32_and_float64():
    ptx = kernels.compile_all()
    assert sorted(ptx) == sorted((name, dtype) for name in engine_kernels.KERNELS for dtype in ("float32", "float64"))
    for (name, dtype), text in ptx.items():
        assert ".target sm_90" in text, name
        assert ".visible .entry" in text and name in text, name
        assert f"st.global.{'f32' if dtype == 'float32' else 'f64'}" in text, (name, dtype)  # stores the data's dtype


def test_each_signature_names_as_many_arguments_as_its_kernel_takes():
    for name, signatures in engine_kernels.SIGNATURES.items():
        arguments = engine_kernels.KERNELS[name].__code__.co_argcount
        for signature in signatures.values():
            assert signature.count(",") + 1 == arguments, (name, signature)


def test_a_dict_inside_a_kernel_which_the_simulator_would_run_does_not_compile():
    def scaled(x):
        factors = {"double": 2.0}
        for t in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            x[t] *= factors["double"]

    with pytest.raises(kernels.KernelCompileError, match=r"scaled\(float32\[::1\]\) does not compile for sm_90: .*getitem"):
        kernels.compile_ptx(scaled, "void(float32[::1])")


def test_a_typo_fails_compilation_naming_the_kernel():
    def typo(x, out, size):
        for t in range(cuda.grid(1), size, cuda.gridsize(1)):
            out[t] = xx[t]  # noqa: F821 (the typo under test)

    expected = r"typo\(float32\[::1\], float32\[::1\], int64\) does not compile(?s:.*)name 'xx' is not defined"
    with pytest.raises(kernels.KernelCompileError, match=expected):
        kernels.compile_ptx(typo, "void(float32[::1], float32[::1], int64)")


def test_the_toolchain_is_named():
    assert TOOLCHAIN.startswith("numba-cuda ") and ", NVVM " in TOOLCHAIN
