import copy

import numpy as np
import pytest

from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import Linear, ReLU, Sequential
from minialexnet.gradcheck import demo_network


def test_named_parameters_forward_backward(rng):
    model = Sequential(("fc1", Linear(4, 3, rng=rng)), ("relu", ReLU()), ("fc2", Linear(3, 2, rng=rng)))
    assert list(model.params) == ["fc1.W", "fc1.b", "fc2.W", "fc2.b"]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    out = model.forward(x)
    manual = (
        np.maximum(x @ model["fc1"].params["W"].T + model["fc1"].params["b"], 0) @ model["fc2"].params["W"].T + model["fc2"].params["b"]
    )
    np.testing.assert_allclose(out, manual, rtol=1e-5)
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape
    assert set(model.grads) == set(model.params)


def test_unnamed_layers_get_positions(rng):
    model = Sequential(Linear(2, 2, rng=rng), ReLU())
    assert list(model.params) == ["0.W", "0.b"]


def test_train_and_eval_modes_switch_dropout():
    model = demo_network(0)
    x = np.random.default_rng(0).standard_normal((2, 3, 23, 23)).astype(np.float32)
    model.eval()
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    model.train()
    assert not np.array_equal(model.forward(x), model.forward(x))


def test_astype_and_set_params(rng):
    model = Sequential(("fc", Linear(3, 2, rng=rng))).astype(np.float64)
    assert model.params["fc.W"].dtype == np.float64
    model.set_params({"fc.b": np.ones(2)})
    np.testing.assert_array_equal(model.params["fc.b"], [1, 1])
    with pytest.raises(ValueError, match=r"parameter fc.W: expected shape \(2, 3\), got \(3, 3\)"):
        model.set_params({"fc.W": np.ones((3, 3))})
    with pytest.raises(ValueError, match="unknown parameter 'fc.V'"):
        model.set_params({"fc.V": np.ones(2)})


def test_duplicate_names_and_non_layers_are_errors(rng):
    with pytest.raises(ValueError, match="used twice"):
        Sequential(("a", ReLU()), ("a", ReLU()))
    with pytest.raises(ValueError, match="not a Layer"):
        Sequential(("a", 3))


def test_errors_name_the_layer_inside_a_model():
    model = demo_network(0)
    with pytest.raises(ValueError, match=r"conv1: expected 3 input channels"):
        model.forward(np.zeros((1, 1, 23, 23), np.float32))


def test_same_seed_same_parameters_on_cpu_and_gpu_and_float32_parity(device):
    cpu_model = demo_network(5)
    gpu_model = demo_network(5).to(device)
    for key, value in cpu_model.params.items():
        np.testing.assert_array_equal(asnumpy(gpu_model.params[key]), value)
    x = np.random.default_rng(1).standard_normal((4, 3, 23, 23)).astype(np.float32)
    cpu_out = cpu_model.forward(x, train=True)
    gpu_out = gpu_model.forward(to_device(x, device), train=True)
    np.testing.assert_allclose(asnumpy(gpu_out), cpu_out, rtol=1e-5, atol=1e-5)
    dout = np.random.default_rng(2).standard_normal(cpu_out.shape).astype(np.float32)
    cpu_dx = cpu_model.backward(dout)
    gpu_dx = gpu_model.backward(to_device(dout, device))
    np.testing.assert_allclose(asnumpy(gpu_dx), cpu_dx, rtol=1e-5, atol=1e-5)
    for key in cpu_model.grads:
        np.testing.assert_allclose(asnumpy(gpu_model.grads[key]), cpu_model.grads[key], rtol=1e-4, atol=1e-5)
    assert copy.deepcopy(gpu_model) is not None
