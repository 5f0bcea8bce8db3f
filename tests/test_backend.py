import subprocess
import sys

import numpy as np
import pytest

from minialexnet import backend
from minialexnet.backend import DeviceUnavailableError, asnumpy, get_array_module, parse_device, to_device


def test_get_array_module_is_numpy_for_numpy_arrays_and_scalars():
    assert get_array_module(np.zeros(3)) is np
    assert get_array_module(np.zeros(3), 1.0, None) is np
    assert get_array_module() is np


def test_parse_device_names():
    assert parse_device("cpu") == ("cpu", None)
    assert parse_device("gpu") == ("gpu", None)
    assert parse_device("gpu:1") == ("gpu", 1)
    assert parse_device("GPU:0") == ("gpu", 0)


@pytest.mark.parametrize("bad", ["tpu", "gpu:x", "gpu:-1", "", "cpu:0"])
def test_parse_device_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="unknown device"):
        parse_device(bad)


def test_parse_device_rejects_non_strings():
    with pytest.raises(ValueError, match="device must be a string"):
        parse_device(0)


def test_to_device_cpu_and_asnumpy_round_trip():
    x = np.arange(6.0).reshape(2, 3)
    y = to_device(x, "cpu")
    assert isinstance(y, np.ndarray)
    np.testing.assert_array_equal(asnumpy(y), x)


def test_gpu_without_cupy_raises_device_unavailable_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(DeviceUnavailableError, match=r"pip install cupy-cuda12x \(CUDA 12\) or cupy-cuda13x"):
        to_device(np.zeros(2), "gpu")
    with pytest.raises(DeviceUnavailableError):
        backend.check_device("gpu:0")
    assert backend.gpu_available() is False


def test_gpu_without_cuda_device_says_what_was_found(monkeypatch):
    class FakeRuntime:
        @staticmethod
        def getDeviceCount():
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    class FakeCuda:
        runtime = FakeRuntime

    class FakeCupy:
        cuda = FakeCuda

    monkeypatch.setitem(sys.modules, "cupy", FakeCupy)
    with pytest.raises(DeviceUnavailableError, match="no CUDA device could be used.*cudaErrorNoDevice"):
        backend.get_cupy()


def test_gpu_index_out_of_range_is_explained(monkeypatch):
    class FakeRuntime:
        @staticmethod
        def getDeviceCount():
            return 1

    class FakeCupy:
        class cuda:  # noqa: N801
            runtime = FakeRuntime

    monkeypatch.setitem(sys.modules, "cupy", FakeCupy)
    with pytest.raises(DeviceUnavailableError, match="CUDA device 3 was requested but only 1"):
        backend.get_cupy(3)


def test_import_works_without_cupy():
    code = "import sys; sys.modules['cupy'] = None\nimport minialexnet, minialexnet.layers, minialexnet.gradcheck\nprint('ok')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
