import numpy as np
import pytest
from reference import rel_err, torch_forward_backward

from minialexnet import oracles
from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import LocalResponseNorm, channel_window_sum
from minialexnet.gradcheck import check_layer

SETTINGS = [
    dict(size=5, alpha=1e-4, beta=0.75, k=2.0),  # the paper
    dict(size=5, alpha=0.3, beta=0.75, k=2.0),  # large alpha: the cross-channel term matters
    dict(size=3, alpha=0.2, beta=0.5, k=1.0),
    dict(size=4, alpha=0.2, beta=0.9, k=1.5),  # even window, PyTorch's asymmetric convention
    dict(size=1, alpha=0.2, beta=0.75, k=1.0),
]


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("shape", [(2, 7, 3, 4), (1, 3, 5, 5), (1, 1, 2, 3)])
def test_forward_matches_formula_channel_by_channel(setting, shape, rng, device):
    a = np.abs(rng.standard_normal(shape)) * 20  # ReLU outputs at the paper's scale
    out = LocalResponseNorm(**setting).forward(to_device(a, device))
    assert rel_err(asnumpy(out), oracles.lrn(a, **setting)) < 1e-13


def test_alpha_is_not_divided_by_size():
    # a single channel of value 10 with k=2, alpha=0.01, beta=1: b = 10 / (2 + 0.01 * 100) = 10/3
    a = np.full((1, 1, 1, 1), 10.0)
    out = LocalResponseNorm(size=5, alpha=0.01, beta=1.0, k=2.0).forward(a)
    assert out.item() == pytest.approx(10.0 / 3.0, rel=1e-14)


@pytest.mark.parametrize("setting", SETTINGS)
def test_gradient_check(setting, rng, device):
    x = rng.standard_normal((2, 6, 3, 4)) * (30.0 if setting["alpha"] < 1e-3 else 1.0)
    report = check_layer(LocalResponseNorm(**setting).to(device), to_device(x, device))
    assert report.passed, report.table()


def test_window_sum_and_its_adjoint(rng):
    v = rng.standard_normal((2, 7, 3))
    y = rng.standard_normal((2, 7, 3))
    before, after = 2, 1
    summed = channel_window_sum(v, before, after)
    for c in range(7):
        expected = v[:, max(0, c - before) : min(7, c + after + 1)].sum(axis=1)
        np.testing.assert_allclose(summed[:, c], expected, rtol=1e-13)
    assert np.isclose(np.sum(summed * y), np.sum(v * channel_window_sum(y, after, before)), rtol=1e-12)


@pytest.mark.parametrize("setting", SETTINGS)
def test_matches_pytorch_with_alpha_times_size(setting, rng):
    torch = pytest.importorskip("torch")
    layer = LocalResponseNorm(**setting)
    x = rng.standard_normal((2, 6, 4, 3)) * 10
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    torch_lrn = torch.nn.LocalResponseNorm(setting["size"], alpha=setting["size"] * setting["alpha"], beta=setting["beta"], k=setting["k"])
    expected, (tdx,) = torch_forward_backward(torch_lrn, [x], dout)
    assert rel_err(out, expected) < 1e-10
    assert rel_err(dx, tdx) < 1e-10


@pytest.mark.parametrize(
    "kwargs,match", [(dict(size=0), "size must be a positive int"), (dict(k=0.0), "k > 0"), (dict(alpha=-1.0), "alpha >= 0")]
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LocalResponseNorm(**kwargs)


def test_wrong_rank_names_layer():
    layer = LocalResponseNorm()
    layer.name = "norm1"
    with pytest.raises(ValueError, match=r"norm1: expected input of shape \(N, C, H, W\), got shape \(4, 5\)"):
        layer.forward(np.zeros((4, 5)))


def test_float32_has_no_float64_buffers(rng):
    layer = LocalResponseNorm()
    x = (np.abs(rng.standard_normal((2, 8, 4, 4))) * 50).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert all(buffer.dtype == np.float32 for buffer in layer.cache)
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert rel_err(out, oracles.lrn(x.astype(np.float64))) < 1e-6


def test_batch_last_input_gives_the_same_values_stored_batch_last(rng, device):
    from minialexnet.fast.layout import is_batch_last, to_batch_last

    x = np.abs(rng.standard_normal((3, 7, 4, 5))) * 30.0
    dout = rng.standard_normal(x.shape)
    standard, batch_last = LocalResponseNorm(), LocalResponseNorm()
    expected = asnumpy(standard.forward(to_device(x, device)))
    expected_dx = asnumpy(standard.backward(to_device(dout, device)))
    out = batch_last.forward(to_device(to_batch_last(x), device))
    assert is_batch_last(out)
    assert rel_err(asnumpy(out), expected) < 1e-14
    dx = batch_last.backward(to_device(to_batch_last(dout), device))
    assert is_batch_last(dx)
    assert rel_err(asnumpy(dx), expected_dx) < 1e-14
    # a gradient laid out unlike the input: same values, dx still laid out as x
    dx = batch_last.forward(to_device(to_batch_last(x), device)) is not None and batch_last.backward(to_device(dout, device))
    assert is_batch_last(dx) and rel_err(asnumpy(dx), expected_dx) < 1e-14


def test_window_sum_along_the_first_axis(rng):
    v = rng.standard_normal((7, 3, 2))
    np.testing.assert_allclose(
        channel_window_sum(v, 2, 1, axis=0), channel_window_sum(v.transpose(1, 0, 2), 2, 1).transpose(1, 0, 2), rtol=1e-14
    )


@pytest.mark.parametrize("layout", ["row-major", "batch-last"])
def test_groups_normalise_each_block_of_channels_alone(layout, rng, device):
    """groups=2 (paper-2gpu, Section 3.2): the naive formula on each half; dx against PyTorch on each half."""
    torch = pytest.importorskip("torch")
    setting = dict(size=5, alpha=0.3, beta=0.75, k=2.0)  # large alpha: windows that crossed the halves would show
    a = np.abs(rng.standard_normal((2, 8, 3, 4))) * 3
    x = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2) if layout == "batch-last" else a
    layer = LocalResponseNorm(**setting, groups=2)
    out = asnumpy(layer.forward(to_device(x, device)))
    expected = np.concatenate([oracles.lrn(a[:, :4], **setting), oracles.lrn(a[:, 4:], **setting)], axis=1)
    assert rel_err(out, expected) < 1e-13
    assert rel_err(out, oracles.lrn(a, **setting)) > 1e-3  # one window over all eight channels differs
    dout = rng.standard_normal(out.shape)
    dx = asnumpy(layer.backward(to_device(dout, device)))
    torch_lrn = torch.nn.LocalResponseNorm(5, alpha=5 * 0.3, beta=0.75, k=2.0)
    halves = [torch_forward_backward(torch_lrn, [a[:, h]], dout[:, h])[1][0] for h in (slice(0, 4), slice(4, 8))]
    assert rel_err(dx, np.concatenate(halves, axis=1)) < 1e-12
    assert check_layer(LocalResponseNorm(**setting, groups=2).to(device), to_device(a * 10, device)).passed
    with pytest.raises(ValueError, match="7 channels cannot form 2 equal groups"):
        layer.forward(np.ones((1, 7, 2, 2)))
