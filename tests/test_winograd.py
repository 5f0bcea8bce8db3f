import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import rel_err, torch_forward_backward

from minialexnet import oracles
from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import Conv2d, WinogradConv2d, winograd_matrices
from minialexnet.fast.winograd import add_tiles, gather_tiles, place_blocks, take_blocks
from minialexnet.gradcheck import check_layer

CASES = [
    # (N, C, H, W, F, kernel, padding, groups, tile)
    (2, 3, 7, 7, 4, 3, 1, 1, 2),  # 7 outputs: the last tile hangs over the edge
    (1, 4, 8, 8, 6, 3, 0, 2, 2),
    (3, 4, 9, 9, 6, 5, 2, 1, 4),  # conv2's kernel and tile
    (2, 4, 9, 11, 6, (3, 5), (1, 2), 2, 3),
    (1, 2, 13, 13, 3, 3, 1, 1, 4),
    (2, 2, 13, 13, 2, 3, 1, 1, 6),  # the largest tile: 8 x 8, all seven points
]


def make_pair(case, rng, dtype=np.float64):
    """A WinogradConv2d and a Conv2d with the same parameters, and an input."""
    N, C, H, W, F, kernel, padding, groups, tile = case
    winograd = WinogradConv2d(C, F, kernel, 1, padding, groups, tile=tile, rng=rng, dtype=dtype)
    winograd.params["b"] = rng.standard_normal(F).astype(dtype)
    direct = Conv2d(C, F, kernel, 1, padding, groups, dtype=dtype)
    direct.params = {key: value.copy() for key, value in winograd.params.items()}
    return winograd, direct, rng.standard_normal((N, C, H, W)).astype(dtype)


@pytest.mark.parametrize("m,r", [(1, 3), (2, 3), (3, 3), (4, 3), (6, 3), (2, 5), (3, 5), (4, 5), (2, 1), (2, 2), (4, 4), (1, 8)])
def test_matrices_compute_m_outputs_of_an_r_tap_filter(m, r, rng):
    AT, G, BT = winograd_matrices(m, r)
    assert AT.shape == (m, m + r - 1) and G.shape == (m + r - 1, r) and BT.shape == (m + r - 1, m + r - 1)
    for _ in range(5):
        d, g = rng.standard_normal(m + r - 1), rng.standard_normal(r)
        expected = [sum(d[i + k] * g[k] for k in range(r)) for i in range(m)]
        assert np.allclose(AT @ ((G @ g) * (BT @ d)), expected, rtol=1e-12, atol=1e-12)


def test_f2x3_is_lavin_and_grays_algorithm_up_to_signs():
    AT, G, BT = winograd_matrices(2, 3)
    # the F(2, 3) matrices as printed in Lavin and Gray (2016)
    lavin_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    lavin_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    lavin_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])
    # ours differ by signs that cancel: row 0 of G and BT, and row 3 of BT with column 3 of AT
    assert np.array_equal(G, np.diag([-1, 1, 1, 1]) @ lavin_G)
    assert np.array_equal(BT, np.diag([-1, 1, 1, -1]) @ lavin_BT)
    assert np.array_equal(AT, lavin_AT @ np.diag([1, 1, 1, -1]))


def test_tile_size_beyond_the_points_is_explained():
    with pytest.raises(ValueError, match=r"F\(5, 5\) needs 8 interpolation points.*m \+ r <= 9"):
        WinogradConv2d(3, 4, 5, tile=5)
    with pytest.raises(ValueError, match="must be >= 1"):
        WinogradConv2d(3, 4, 3, tile=0)


@pytest.mark.parametrize("case", CASES)
def test_forward_matches_naive_loops(case, rng, device):
    layer, _, x = make_pair(case, rng)
    expected = oracles.conv(x, layer.params["W"], layer.params["b"], (1, 1), layer.padding, layer.groups)
    out = layer.to(device).forward(to_device(x, device))
    assert out.shape == expected.shape
    assert rel_err(asnumpy(out), expected) < 1e-11


@pytest.mark.parametrize("case", CASES)
def test_backward_passes_gradient_check(case, rng, device):
    layer, _, x = make_pair(case, rng)
    report = check_layer(layer.to(device), to_device(x, device))
    assert report.passed, report.table()
    assert {row.tensor for row in report.rows} == {"dx", "W", "b"}
    assert max(row.error for row in report.rows) < 1e-7


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_the_im2col_convolution(case, rng):
    winograd, direct, x = make_pair(case, rng)
    dout = rng.standard_normal(direct.output_shape(x.shape))
    assert rel_err(winograd.forward(x), direct.forward(x)) < 1e-11
    assert rel_err(winograd.backward(dout), direct.backward(dout)) < 1e-11
    assert rel_err(winograd.grads["W"], direct.grads["W"]) < 1e-11
    assert rel_err(winograd.grads["b"], direct.grads["b"]) < 1e-12


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("need_input_grad", [True, False])
def test_products_in_chunks_give_the_same_results(case, need_input_grad, rng, monkeypatch, device):
    import minialexnet.fast.conv as conv_module

    whole, direct, x = make_pair(case, rng)
    whole.need_input_grad = direct.need_input_grad = need_input_grad
    whole.to(device), direct.to(device)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one filter, or one tile position, per chunk
    monkeypatch.setattr(conv_module, "GPU_CHUNK_BYTES", 1)
    dout = to_device(rng.standard_normal(direct.output_shape(x.shape)), device)
    x = to_device(x, device)
    assert rel_err(whole.forward(x), direct.forward(x)) < 1e-11
    dx, direct_dx = whole.backward(dout), direct.backward(dout)
    assert (dx is None) == (direct_dx is None) == (not need_input_grad)
    if need_input_grad:
        assert rel_err(dx, direct_dx) < 1e-11
    assert rel_err(whole.grads["W"], direct.grads["W"]) < 1e-11
    assert rel_err(whole.grads["b"], direct.grads["b"]) < 1e-12


@pytest.mark.parametrize("case", CASES)
def test_forward_and_backward_match_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    layer, _, x = make_pair(case, rng)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    def conv(x_t, w_t, b_t):
        return torch.nn.functional.conv2d(x_t, w_t, b_t, padding=layer.padding, groups=layer.groups)

    expected, (tdx, tdW, tdb) = torch_forward_backward(conv, [x, layer.params["W"], layer.params["b"]], dout)
    assert rel_err(out, expected) < 1e-10
    assert rel_err(dx, tdx) < 1e-10
    assert rel_err(layer.grads["W"], tdW) < 1e-10
    assert rel_err(layer.grads["b"], tdb) < 1e-10


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    group_channels=st.integers(1, 3),
    groups=st.integers(1, 2),
    filters_per_group=st.integers(1, 3),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    extra_h=st.integers(0, 6),
    extra_w=st.integers(0, 6),
    tile=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_property_forward_gradients_and_adjoint(n, group_channels, groups, filters_per_group, kh, kw, ph, pw, extra_h, extra_w, tile, seed):
    rng = np.random.default_rng(seed)
    C, F = group_channels * groups, filters_per_group * groups
    H, W = max(1, kh - 2 * ph) + extra_h, max(1, kw - 2 * pw) + extra_w
    layer = WinogradConv2d(C, F, (kh, kw), 1, (ph, pw), groups, tile=tile, rng=rng, dtype=np.float64)
    x = rng.standard_normal((n, C, H, W))
    out = layer.forward(x)
    expected = oracles.conv(x, layer.params["W"], layer.params["b"], (1, 1), (ph, pw), groups)
    assert rel_err(out, expected) < 1e-11
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert np.isclose(np.sum(dx * x), np.sum(out * dout), rtol=1e-10, atol=1e-12)  # b is 0: conv is linear in x
    report = check_layer(layer, x, num_samples=12, seed=seed)
    assert report.passed, report.table()


@pytest.mark.parametrize("m,AH,AW,padding,TH,TW", [(2, 4, 4, (1, 1), 4, 4), (3, 5, 7, (0, 2), 3, 4), (4, 8, 8, (2, 2), 2, 3)])
def test_add_tiles_is_the_adjoint_of_gather_tiles(m, AH, AW, padding, TH, TW, rng):
    H, W = m * TH - 1, m * TW  # the last tile row hangs over the edge
    x = rng.standard_normal((2, 3, H, W))
    tiles = gather_tiles(x, m, AH, AW, padding, TH, TW)
    y = rng.standard_normal(tiles.shape)
    back = add_tiles(y.reshape(AH, AW, 3, TH, TW, 2), m, padding, out=np.empty_like(x))
    assert np.isclose(np.sum(tiles * y), np.sum(x * back), rtol=1e-12)


def test_take_blocks_is_the_adjoint_of_place_blocks(rng):
    m, F, TH, TW, N = 3, 4, 3, 2, 2
    Y = rng.standard_normal((m, m, F, TH, TW, N))
    out = place_blocks(Y, np.empty((N, F, 8, 5)), np.zeros(F))  # 8 x 5 of the 9 x 6 the tiles cover
    dout = rng.standard_normal(out.shape)
    assert np.isclose(np.sum(out * dout), np.sum(Y * take_blocks(dout, m, TH, TW)), rtol=1e-12)


@pytest.mark.parametrize("C,F,size,kernel,padding", [(96, 64, 27, 5, 2), (256, 64, 13, 3, 1)], ids=["conv2-like", "conv3-like"])
def test_float32_rounding_stays_close_to_float64(C, F, size, kernel, padding, rng):
    """The default tiles' float32 error, against the exact (float64) convolution, at AlexNet's layer sizes."""
    layer = WinogradConv2d(C, F, kernel, padding=padding, rng=rng)
    x = np.maximum(rng.standard_normal((2, C, size, size)), 0).astype(np.float32)  # ReLU outputs, as in the network
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    reference = layer_in_float64(layer, x, dout)
    bound = {5: 3e-5, 3: 3e-6}[kernel]
    for name, value in (("out", out), ("dx", dx), ("W", layer.grads["W"])):
        assert np.abs(value - reference[name]).max() / np.abs(reference[name]).max() < bound, name


def layer_in_float64(layer, x, dout):
    """The exact results: im2col's Conv2d (checked against naive loops in test_conv.py) in float64."""
    exact = Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, 1, layer.padding, layer.groups, dtype=np.float64)
    exact.params = {key: value.astype(np.float64) for key, value in layer.params.items()}
    out = exact.forward(x.astype(np.float64))
    return {"out": out, "dx": exact.backward(dout.astype(np.float64)), "W": exact.grads["W"]}


def test_float32_input_computes_in_float32(rng):
    layer = WinogradConv2d(3, 4, 3, padding=1, rng=rng)
    out = layer.forward(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32


def test_first_layer_can_skip_input_gradient(rng):
    layer = WinogradConv2d(2, 3, 3, padding=1, need_input_grad=False, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, 6, 6))
    layer.forward(x)
    assert layer.backward(np.ones((2, 3, 6, 6))) is None
    report = check_layer(layer, x)
    assert [row.tensor for row in report.rows] == ["W", "b"] and report.passed


def test_is_a_conv2d_with_the_same_parameters_and_a_readable_repr(rng):
    layer = WinogradConv2d(4, 6, 5, 1, 2, groups=2, rng=rng)
    assert isinstance(layer, Conv2d)
    assert layer.params["W"].shape == (6, 2, 5, 5) and layer.stride == (1, 1)
    assert repr(layer) == "WinogradConv2d(4, 6, kernel_size=(5, 5), padding=(2, 2), groups=2, tile=4)"
    assert WinogradConv2d(4, 6, 3).tile == 2


def test_takes_conv2ds_constructor_and_refuses_a_stride():
    """The engine contract: the reference constructor (in, out, kernel, stride, padding, groups)."""
    layer = WinogradConv2d(4, 6, 3, 1, 1, 2)
    reference = Conv2d(4, 6, 3, 1, 1, 2)
    assert (layer.kernel_size, layer.stride, layer.padding, layer.groups) == (reference.kernel_size, (1, 1), (1, 1), 2)
    assert WinogradConv2d(4, 6, 3, stride=(1, 1), padding=(0, 1)).padding == (0, 1)
    for stride in (2, (1, 2)):
        with pytest.raises(ValueError, match=r"WinogradConv2d computes stride-1 convolutions only, got stride=.*; use Conv2d"):
            WinogradConv2d(4, 6, 3, stride, 1)
