import numpy as np
import pytest

from minialexnet.gradcheck import check_layer
from minialexnet.layers import Flatten


def test_flatten_is_c_order_and_backward_restores_shape(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    layer = Flatten()
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x.reshape(2, 60))
    assert layer.backward(out).shape == x.shape
    assert check_layer(layer, x).passed


def test_rank_one_input_is_an_error():
    with pytest.raises(ValueError, match=r"Flatten: expected input of shape \(N, ...\)"):
        Flatten().forward(np.zeros(3))
