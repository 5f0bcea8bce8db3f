import numpy as np
import pytest
from reference import rel_err, torch_forward_backward

from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import Linear
from minialexnet.gradcheck import check_layer


def make_linear(rng, in_features=7, out_features=5):
    layer = Linear(in_features, out_features, rng=rng, dtype=np.float64)
    layer.params["b"] = rng.standard_normal(out_features)
    return layer


def test_forward_matches_loops(rng, device):
    layer = make_linear(rng)
    x = rng.standard_normal((3, 7))
    W, b = layer.params["W"], layer.params["b"]
    expected = np.array([[sum(x[n, i] * W[o, i] for i in range(7)) + b[o] for o in range(5)] for n in range(3)])
    out = layer.to(device).forward(to_device(x, device))
    assert rel_err(asnumpy(out), expected) < 1e-13


def test_gradient_check(rng, device):
    report = check_layer(make_linear(rng).to(device), to_device(rng.standard_normal((4, 7)), device))
    assert report.passed, report.table()


def test_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    layer = make_linear(rng)
    x = rng.standard_normal((4, 7))
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    expected, (tdx, tdW, tdb) = torch_forward_backward(torch.nn.functional.linear, [x, layer.params["W"], layer.params["b"]], dout)
    for mine, theirs in ((out, expected), (dx, tdx), (layer.grads["W"], tdW), (layer.grads["b"], tdb)):
        assert rel_err(mine, theirs) < 1e-10


def test_errors(rng):
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        Linear(0, 3)
    layer = Linear(4, 3, rng=rng)
    layer.name = "fc6"
    with pytest.raises(ValueError, match=r"fc6: expected 4 input channels, shape \(N, 4\), got shape \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"fc6: expected input of shape \(N, 4\), got shape \(4,\)"):
        layer.forward(np.zeros(4, np.float32))
