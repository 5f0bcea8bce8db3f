import numpy as np
import pytest
from reference import rel_err, torch_forward_backward

from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import ReLU
from minialexnet.gradcheck import check_layer, kink_free_input


def test_forward_and_backward_values(device):
    x = np.array([[-2.0, -0.0, 0.0, 0.5, 3.0]])
    layer = ReLU()
    out = layer.forward(to_device(x, device))
    np.testing.assert_array_equal(asnumpy(out), [[0, 0, 0, 0.5, 3.0]])
    dx = layer.backward(to_device(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), device))
    np.testing.assert_array_equal(asnumpy(dx), [[0, 0, 0, 4.0, 5.0]])


def test_backward_does_not_modify_dout():
    layer = ReLU()
    layer.forward(np.array([-1.0, 1.0]))
    dout = np.array([5.0, 6.0])
    layer.backward(dout)
    np.testing.assert_array_equal(dout, [5.0, 6.0])


def test_gradient_check(rng, device):
    x = kink_free_input((2, 3, 5, 4), rng)
    report = check_layer(ReLU().to(device), to_device(x, device))
    assert report.passed, report.table()


def test_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = kink_free_input((3, 4, 5), rng)
    dout = rng.standard_normal(x.shape)
    layer = ReLU()
    out = layer.forward(x)
    dx = layer.backward(dout)
    expected, (tdx,) = torch_forward_backward(torch.relu, [x], dout)
    assert rel_err(out, expected) < 1e-10 and rel_err(dx, tdx) < 1e-10


def test_float32_stays_float32():
    layer = ReLU()
    out = layer.forward(np.ones(3, np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones(3, np.float32)).dtype == np.float32


@pytest.mark.parametrize("dout_layout", ["same", "other"])
def test_batch_last_arrays_keep_their_layout_and_values(dout_layout, rng):
    x = rng.standard_normal((4, 3, 5, 5))
    dout = rng.standard_normal(x.shape)
    x_bl = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)  # stored (C, H, W, N)
    dout_in = np.ascontiguousarray(dout.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2) if dout_layout == "same" else dout
    layer = ReLU()
    out = layer.forward(x_bl)
    assert out.strides == x_bl.strides
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    dx = layer.backward(dout_in)  # "other": laid out unlike out, so no flat views
    assert dx.strides == dout_in.strides
    np.testing.assert_array_equal(dx, dout * (x > 0))
