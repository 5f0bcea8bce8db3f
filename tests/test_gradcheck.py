import subprocess
import sys

import numpy as np
import pytest

from minialexnet.fast import Layer, Linear, ReLU
from minialexnet.gradcheck import check_all, check_layer, check_network, demo_network, kink_free_input, numerical_gradient, relative_error


class IgnoresDout(Layer):
    """A buggy layer: y = x**2, but backward forgets to multiply by dout."""

    def forward(self, x, train=True):
        self.cache = x
        return x**2

    def backward(self, dout):
        return 2 * self.cache


class OffByTwo(IgnoresDout):
    def backward(self, dout):
        return self.cache * dout


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    numeric = numerical_gradient(lambda v: np.sin(v), x, dout)
    np.testing.assert_allclose(numeric, np.cos(x) * dout, rtol=1e-8, atol=1e-10)


def test_sampled_mode_returns_requested_coordinates(rng):
    x = rng.standard_normal(50)
    values = numerical_gradient(lambda v: v**3, x, np.ones(50), indices=np.array([3, 17]))
    np.testing.assert_allclose(values, 3 * x[[3, 17]] ** 2, rtol=1e-7, atol=1e-8)


def test_relative_error_formula():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


@pytest.mark.parametrize("bad", [IgnoresDout(), OffByTwo()])
def test_checker_catches_wrong_backward(bad, rng):
    report = check_layer(bad, rng.standard_normal((3, 4)))
    assert not report.passed
    assert report.rows[0].error > 1e-2


def test_checker_reports_kink_crossings():
    x = np.array([[1e-8, 1.0, -1.0]])  # the first value is within eps of the ReLU kink
    report = check_layer(ReLU(), x)
    assert not report.passed
    assert "kink" in report.rows[0].note


def test_kink_free_input_is_distinct_and_away_from_zero(rng):
    x = kink_free_input((3, 5, 7), rng, gap=1e-2)
    values = np.sort(x.ravel())
    assert np.min(np.diff(values)) >= 1e-2 - 1e-12
    assert np.min(np.abs(values)) >= 5e-3 - 1e-12


def test_check_layer_leaves_the_layer_untouched(rng):
    layer = Linear(3, 2, rng=rng)
    before = layer.params["W"].copy()
    check_layer(layer, rng.standard_normal((2, 3)))
    assert layer.params["W"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], before)


def test_network_directional_check_passes_and_catches_a_bug(rng):
    model = demo_network(0)
    x = rng.standard_normal((2, 3, 23, 23))
    labels = np.array([1, 4])
    report = check_network(model, x, labels)
    assert report.passed, report.table()
    assert len(report.rows) == 1 + len(model.params)
    broken = demo_network(0)
    broken["relu3"].backward = lambda dout: dout  # a ReLU that forgets its mask
    assert not check_network(broken, x, labels).passed


def test_command_line_prints_a_passing_table():
    result = subprocess.run([sys.executable, "-m", "minialexnet.gradcheck"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (
        "Conv2d(groups=2)",
        "ReLU",
        "LRN(paper)",
        "MaxPool2d",
        "Dropout",
        "Linear",
        "Flatten",
        "SoftmaxCrossEntropy",
        "network:conv1",
    ):
        assert name in result.stdout
    assert "FAIL" not in result.stdout


def test_command_line_gpu_without_gpu_exits_2_with_one_line():
    code = "import sys; sys.modules['cupy'] = None; from minialexnet.gradcheck import main; sys.exit(main(['--device', 'gpu']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "pip install cupy-cuda12x" in result.stderr and 'pip install "minialexnet[gpu]"' not in result.stderr


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_every_layer_of_every_engine_passes_the_check(engine):
    report = check_all("cpu", seed=2, engine=engine)
    assert report.passed and len(report.rows) > 25, report.table()
