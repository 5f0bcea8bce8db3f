import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import rel_err, torch_forward_backward

from minialexnet import oracles
from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import MaxPool2d
from minialexnet.gradcheck import check_layer, kink_free_input

CASES = [((2, 3, 7, 7), 3, 2), ((1, 2, 9, 6), 3, 2), ((2, 1, 55, 55), 3, 2), ((1, 2, 5, 8), (2, 3), (1, 2)), ((2, 2, 4, 4), 2, 2)]


@pytest.mark.parametrize("shape,kernel,stride", CASES)
def test_forward_matches_naive_windows(shape, kernel, stride, rng, device):
    layer = MaxPool2d(kernel, stride)
    x = rng.standard_normal(shape)
    out = layer.forward(to_device(x, device))
    np.testing.assert_array_equal(asnumpy(out), oracles.maxpool(x, layer.kernel_size, layer.stride))


def test_overlapping_output_sizes_of_alexnet():
    layer = MaxPool2d(3, 2)
    assert layer.output_shape((1, 96, 55, 55)) == (1, 96, 27, 27)
    assert layer.output_shape((1, 256, 27, 27)) == (1, 256, 13, 13)
    assert layer.output_shape((1, 256, 13, 13)) == (1, 256, 6, 6)


@pytest.mark.parametrize("shape,kernel,stride", CASES)
def test_backward_matches_naive_and_gradient_check(shape, kernel, stride, rng, device):
    layer = MaxPool2d(kernel, stride)
    x = kink_free_input(shape, rng)
    out = layer.forward(to_device(x, device))
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(to_device(dout, device))
    assert rel_err(asnumpy(dx), oracles.maxpool_backward(x, dout, layer.kernel_size, layer.stride)) < 1e-14
    report = check_layer(layer, to_device(x, device), num_samples=300)
    assert report.passed, report.table()


def test_ties_send_the_gradient_to_one_element_like_pytorch():
    torch = pytest.importorskip("torch")
    x = np.ones((1, 1, 5, 5))  # every window is a tie
    layer = MaxPool2d(3, 2)
    out = layer.forward(x)
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    dx = layer.backward(dout)
    _, (tdx,) = torch_forward_backward(lambda t: torch.nn.functional.max_pool2d(t, 3, 2), [x], dout)
    np.testing.assert_array_equal(dx, tdx)
    assert dx.sum() == dout.sum() and np.count_nonzero(dx) == out.size


@pytest.mark.parametrize("shape,kernel,stride", CASES)
def test_matches_pytorch(shape, kernel, stride, rng):
    torch = pytest.importorskip("torch")
    layer = MaxPool2d(kernel, stride)
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    expected, (tdx,) = torch_forward_backward(lambda t: torch.nn.functional.max_pool2d(t, layer.kernel_size, layer.stride), [x], dout)
    assert rel_err(out, expected) < 1e-10 and rel_err(dx, tdx) < 1e-10


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    extra_h=st.integers(0, 6),
    extra_w=st.integers(0, 6),
    seed=st.integers(0, 2**16),
)
def test_pool_property(n, c, kh, kw, sh, sw, extra_h, extra_w, seed):
    rng = np.random.default_rng(seed)
    layer = MaxPool2d((kh, kw), (sh, sw))
    x = rng.integers(-3, 4, size=(n, c, kh + extra_h, kw + extra_w)).astype(np.float64)  # many ties
    out = layer.forward(x)
    np.testing.assert_array_equal(out, oracles.maxpool(x, (kh, kw), (sh, sw)))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(dout), oracles.maxpool_backward(x, dout, (kh, kw), (sh, sw)), rtol=1e-14, atol=1e-14)


def test_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="kernel_size and stride must be >= 1"):
        MaxPool2d(3, 0)
    layer = MaxPool2d(3, 2)
    layer.name = "pool1"
    with pytest.raises(ValueError, match=r"pool1: expected input of shape \(N, C, H, W\), got shape \(2, 5, 5\)"):
        layer.forward(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="does not fit"):
        layer.forward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("shape,kernel,stride", CASES)
def test_batch_last_input_gives_the_same_values_stored_batch_last(shape, kernel, stride, rng, device):
    from minialexnet.fast.layout import is_batch_last, to_batch_last

    x = np.round(rng.standard_normal(shape), 1)  # ties: the first maximum must still win
    standard, batch_last = MaxPool2d(kernel, stride), MaxPool2d(kernel, stride)
    expected = asnumpy(standard.forward(to_device(x, device)))
    dout = rng.standard_normal(expected.shape)
    expected_dx = asnumpy(standard.backward(to_device(dout, device)))
    out = batch_last.forward(to_device(to_batch_last(x), device))
    one_image = shape[0] == 1  # then both layouts are the same storage, and is_batch_last says False
    assert is_batch_last(out) != one_image
    np.testing.assert_array_equal(asnumpy(out), expected)
    dx = batch_last.backward(to_device(to_batch_last(dout), device))
    np.testing.assert_array_equal(asnumpy(dx), expected_dx)
    assert is_batch_last(dx) != one_image
