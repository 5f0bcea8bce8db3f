import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import rel_err, torch_forward_backward

from minialexnet import oracles
from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import Conv2d, col2im, conv_output_size, im2col
from minialexnet.fast.layout import is_batch_last, to_batch_last
from minialexnet.gradcheck import check_layer

CASES = [
    # (N, C, H, W, F, kernel, stride, padding, groups)
    (1, 3, 7, 7, 4, 3, 1, 0, 1),
    (2, 3, 9, 8, 5, 3, 2, 1, 1),
    (2, 4, 7, 9, 6, (3, 2), (2, 1), (1, 0), 2),
    (3, 2, 11, 11, 4, 11, 4, 0, 1),
    (1, 6, 5, 5, 4, 5, 1, 2, 2),
    (2, 4, 6, 5, 8, 1, 1, 0, 4),
]


def make_conv(case, rng, dtype=np.float64):
    N, C, H, W, F, kernel, stride, padding, groups = case
    layer = Conv2d(C, F, kernel, stride, padding, groups, rng=rng, dtype=dtype)
    layer.params["b"] = rng.standard_normal(F).astype(dtype)
    return layer, rng.standard_normal((N, C, H, W)).astype(dtype)


def test_output_size_arithmetic_of_alexnet():
    assert conv_output_size(227, 11, 4) == 55
    assert conv_output_size(224, 11, 4) == 54  # why the paper's 224 must be 227
    assert conv_output_size(55, 3, 2) == 27
    assert conv_output_size(27, 5, 1, 2) == 27
    assert conv_output_size(13, 3, 2) == 6
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(2, 3, 1)


@pytest.mark.parametrize("by_position", [False, True], ids=["columns-n-oh-ow", "columns-oh-ow-n"])
@pytest.mark.parametrize("case", CASES)
def test_forward_matches_naive_loops(case, by_position, rng, device):
    layer, x = make_conv(case, rng)
    layer.columns_by_position = by_position
    expected = oracles.conv(x, layer.params["W"], layer.params["b"], layer.stride, layer.padding, layer.groups)
    out = layer.to(device).forward(to_device(x, device))
    assert out.shape == expected.shape
    assert rel_err(asnumpy(out), expected) < 1e-12


@pytest.mark.parametrize("by_position", [False, True], ids=["columns-n-oh-ow", "columns-oh-ow-n"])
@pytest.mark.parametrize("case", CASES)
def test_backward_passes_gradient_check(case, by_position, rng, device):
    layer, x = make_conv(case, rng)
    layer.columns_by_position = by_position
    report = check_layer(layer.to(device), to_device(x, device))
    assert report.passed, report.table()
    assert {row.tensor for row in report.rows} == {"dx", "W", "b"}
    assert max(row.error for row in report.rows) < 1e-7


@pytest.mark.parametrize(
    "shape,kernel,stride,padding",
    [((2, 3, 7, 6), (3, 3), (2, 2), (1, 1)), ((1, 2, 5, 9), (2, 4), (1, 3), (0, 2)), ((3, 1, 4, 4), (4, 4), (1, 1), (0, 0))],
)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding, rng):
    x = rng.standard_normal(shape)
    col = im2col(x, *kernel, stride, padding)
    y = rng.standard_normal(col.shape)
    back = col2im(y, shape, *kernel, stride, padding)
    assert back.shape == shape
    assert np.isclose(np.sum(col * y), np.sum(x * back), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    group_channels=st.integers(1, 3),
    groups=st.integers(1, 2),
    filters_per_group=st.integers(1, 3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    extra_h=st.integers(0, 5),
    extra_w=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_conv_property_forward_and_adjoint(n, group_channels, groups, filters_per_group, kh, kw, sh, sw, ph, pw, extra_h, extra_w, seed):
    rng = np.random.default_rng(seed)
    C, F = group_channels * groups, filters_per_group * groups
    H, W = max(1, kh - 2 * ph) + extra_h, max(1, kw - 2 * pw) + extra_w
    layer = Conv2d(C, F, (kh, kw), (sh, sw), (ph, pw), groups, rng=rng, dtype=np.float64)
    x = rng.standard_normal((n, C, H, W))
    out = layer.forward(x)
    expected = oracles.conv(x, layer.params["W"], layer.params["b"], (sh, sw), (ph, pw), groups)
    assert rel_err(out, expected) < 1e-12
    # backward: <conv(x), dout> is linear in x, so <dx, x> must equal <out - b, dout>
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert np.isclose(np.sum(dx * x), np.sum((out - layer.params["b"].reshape(1, F, 1, 1)) * dout), rtol=1e-10, atol=1e-12)
    report = check_layer(layer, x, num_samples=12, seed=seed)
    assert report.passed, report.table()


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    layer, x = make_conv(case, rng)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    def conv(x_t, w_t, b_t):
        return torch.nn.functional.conv2d(x_t, w_t, b_t, stride=layer.stride, padding=layer.padding, groups=layer.groups)

    expected, (tdx, tdW, tdb) = torch_forward_backward(conv, [x, layer.params["W"], layer.params["b"]], dout)
    assert rel_err(out, expected) < 1e-10
    assert rel_err(dx, tdx) < 1e-10
    assert rel_err(layer.grads["W"], tdW) < 1e-10
    assert rel_err(layer.grads["b"], tdb) < 1e-10


def test_first_layer_can_skip_input_gradient(rng):
    layer = Conv2d(3, 4, 3, need_input_grad=False, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 3, 6, 6))
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out)) is None
    assert layer.grads["W"].shape == (4, 3, 3, 3)
    report = check_layer(layer, x)
    assert [row.tensor for row in report.rows] == ["W", "b"] and report.passed


def test_float32_input_computes_in_float32(rng):
    layer = Conv2d(3, 4, 3, padding=1, rng=rng)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    layer.backward(np.ones_like(out))
    assert layer.grads["W"].dtype == np.float32 and layer.grads["b"].dtype == np.float32


def test_parameters_use_pytorch_layout(rng):
    layer = Conv2d(4, 6, (5, 3), groups=2, rng=rng)
    assert layer.params["W"].shape == (6, 2, 5, 3)
    assert layer.params["b"].shape == (6,)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "divisible by groups"),
        (dict(in_channels=0, out_channels=4, kernel_size=3), "in_channels must be a positive int"),
        (dict(in_channels=3, out_channels=4, kernel_size=0), "kernel_size and stride must be >= 1"),
        (dict(in_channels=3, out_channels=4, kernel_size=3, padding=-1), "padding >= 0"),
        (dict(in_channels=3, out_channels=4, kernel_size=(1, 2, 3)), "kernel_size must be an int or a pair"),
    ],
)
def test_bad_construction_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2d(**kwargs)


def test_wrong_input_rank_or_channels_names_layer_and_shapes(rng):
    layer = Conv2d(3, 4, 3, rng=rng)
    layer.name = "conv1"
    with pytest.raises(ValueError, match=r"conv1: expected input of shape \(N, 3, H, W\), got shape \(3, 8, 8\)"):
        layer.forward(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"conv1: expected 3 input channels.*got shape \(2, 1, 8, 8\)"):
        layer.forward(np.zeros((2, 1, 8, 8), np.float32))


def test_input_dtype_must_match_parameters(rng):
    layer = Conv2d(3, 4, 3, rng=rng)
    with pytest.raises(ValueError, match=r"float64 differs from parameter W dtype float32.*astype"):
        layer.forward(np.zeros((1, 3, 5, 5)))


def test_input_smaller_than_kernel_is_explained(rng):
    layer = Conv2d(3, 4, 5, rng=rng)
    with pytest.raises(ValueError, match="window of size 5 does not fit an input of size 3"):
        layer.forward(np.zeros((1, 3, 3, 3), np.float32))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_recomputing_columns_in_chunks_gives_the_same_results(case, need_input_grad, rng, monkeypatch, device):
    import minialexnet.fast.conv as conv_module

    kept, x = make_conv(case, rng)
    kept.need_input_grad = need_input_grad
    rebuilt = Conv2d(kept.in_channels, kept.out_channels, kept.kernel_size, kept.stride, kept.padding, kept.groups, dtype=np.float64)
    rebuilt.keep_columns, rebuilt.need_input_grad = False, need_input_grad
    rebuilt.params = {key: value.copy() for key, value in kept.params.items()}
    kept.to(device), rebuilt.to(device)
    # one image per chunk, so every case (N up to 3) runs the accumulation over several chunks
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_module, "GPU_CHUNK_BYTES", 1)
    dout = to_device(rng.standard_normal(kept.output_shape(x.shape)), device)
    x = to_device(x, device)
    out_kept, out_rebuilt = kept.forward(x), rebuilt.forward(x)
    dx_kept, dx_rebuilt = kept.backward(dout), rebuilt.backward(dout)
    assert rel_err(out_rebuilt, out_kept) < 1e-13
    assert "col" not in rebuilt.workspace  # nothing of the batch's size is kept
    assert (dx_rebuilt is None) == (not need_input_grad)
    if need_input_grad:
        assert rel_err(dx_rebuilt, dx_kept) < 1e-13
    for key in ("W", "b"):
        assert rel_err(rebuilt.grads[key], kept.grads[key]) < 1e-13


def test_recomputed_columns_pass_the_gradient_check(rng):
    layer, x = make_conv(CASES[2], rng)
    layer.keep_columns = False
    report = check_layer(layer, x)
    assert report.passed, report.table()


@pytest.mark.parametrize("kernel,stride,padding", [((3, 3), (1, 1), (1, 1)), ((11, 11), (4, 4), (0, 0)), ((3, 2), (2, 1), (1, 0))])
def test_columns_by_position_are_the_same_columns_reordered(kernel, stride, padding, rng):
    x = rng.standard_normal((3, 2, 13, 12))
    by_image = im2col(x, *kernel, stride, padding)
    by_position = im2col(x, *kernel, stride, padding, columns_by_position=True)
    rows, N = by_image.shape[0], x.shape[0]
    np.testing.assert_array_equal(by_image.reshape(rows, N, -1).transpose(0, 2, 1).reshape(rows, -1), by_position)
    y = rng.standard_normal(by_position.shape)
    adjoint = col2im(y, x.shape, *kernel, stride, padding, columns_by_position=True)
    assert np.sum(by_position * y) == pytest.approx(np.sum(x * adjoint), rel=1e-12)


def test_column_order_is_chosen_by_output_size(rng):
    small, large = Conv2d(2, 3, 3, padding=1, dtype=np.float64), Conv2d(2, 3, 3, padding=1, dtype=np.float64)
    assert small._by_position(13, 13) and not large._by_position(27, 27)
    large.batch_last_output = True  # the product then gives the output's storage order without a transpose
    assert large._by_position(27, 27)
    small.columns_by_position = False
    assert not small._by_position(13, 13)


@pytest.mark.parametrize("algorithm", ["im2col-n-oh-ow", "im2col-oh-ow-n", "winograd"])
@pytest.mark.parametrize("input_batch_last", [False, True], ids=["x-standard", "x-batch-last"])
def test_batch_last_output_has_the_same_values_stored_batch_last(algorithm, input_batch_last, rng, device):
    from minialexnet.fast import WinogradConv2d

    N, C, H, F = 3, 4, 7, 6
    make = {"winograd": lambda: WinogradConv2d(C, F, 3, padding=1, groups=2, rng=np.random.default_rng(0), dtype=np.float64)}
    layers = [make.get(algorithm, lambda: Conv2d(C, F, 3, 1, 1, 2, rng=np.random.default_rng(0), dtype=np.float64))() for _ in range(2)]
    standard, batch_last = (layer.to(device) for layer in layers)
    batch_last.batch_last_output = True
    if algorithm.startswith("im2col"):
        standard.columns_by_position = batch_last.columns_by_position = algorithm.endswith("-n")
    x = rng.standard_normal((N, C, H, H))
    dout = rng.standard_normal((N, F, H, H))
    x_in = to_device(to_batch_last(x) if input_batch_last else x, device)
    out = batch_last.forward(x_in)
    assert out.shape == (N, F, H, H) and is_batch_last(out)
    assert rel_err(asnumpy(out), asnumpy(standard.forward(to_device(x, device)))) < 1e-13
    dx = batch_last.backward(to_device(to_batch_last(dout), device))
    assert is_batch_last(dx) == input_batch_last  # dx is laid out as x was
    assert rel_err(asnumpy(dx), asnumpy(standard.backward(to_device(dout, device)))) < 1e-13
    assert rel_err(asnumpy(batch_last.grads["W"]), asnumpy(standard.grads["W"])) < 1e-13
