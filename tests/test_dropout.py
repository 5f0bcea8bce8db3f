import numpy as np
import pytest

from minialexnet.backend import asnumpy, to_device
from minialexnet.gradcheck import check_layer
from minialexnet.layers import Dropout


def test_p_is_the_drop_probability_and_kept_units_are_scaled(device):
    layer = Dropout(p=0.25, seed=0)
    x = to_device(np.ones((400, 500), np.float32), device)
    out = asnumpy(layer.forward(x, train=True))
    kept = out != 0
    assert abs(1 - kept.mean() - 0.25) < 0.005
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert out.dtype == np.float32
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved


def test_eval_is_identity():
    layer = Dropout(0.5, seed=0)
    x = np.arange(6.0)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones(6)), np.ones(6))


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, seed=3)
    out = layer.forward(np.ones((10, 10)))
    dx = layer.backward(np.full((10, 10), 3.0))
    np.testing.assert_array_equal(dx, out * 3.0)


def test_same_seed_same_mask_and_state_replay():
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    x = np.ones((8, 16))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    state = a.get_rng_state()
    first = a.forward(x)
    a.set_rng_state(state)
    np.testing.assert_array_equal(a.forward(x), first)
    assert not np.array_equal(a.forward(x), first)


def test_gradient_check(rng, device):
    report = check_layer(Dropout(0.5, seed=1).to(device), to_device(rng.standard_normal((6, 9)), device))
    assert report.passed, report.table()


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_bad_p(p):
    with pytest.raises(ValueError, match="probability of dropping"):
        Dropout(p)
