"""The float64 oracles (minialexnet/oracles.py) that the tests and the grader hold the layers to.

They share no code with what they check: they import nothing of minialexnet, agree with the
library on non-square shapes, with PyTorch where it is installed (conv with groups, max-pool
with its first-maximum ties, LRN with PyTorch's alpha = size * the paper's), and their complex
step is exact where central differences are not.
"""

import ast
from pathlib import Path

import numpy as np
import pytest
from reference import torch_forward_backward

import minialexnet
from minialexnet import oracles
from minialexnet.layers import Conv2d, Linear, LocalResponseNorm, MaxPool2d, ReLU, SoftmaxCrossEntropy, col2im, im2col


def equal(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_oracles_import_nothing_of_minialexnet():
    source = Path(minialexnet.__file__).with_name("oracles.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported == {"__future__", "collections.abc", "typing", "numpy"}


def test_the_oracles_equal_the_library_on_non_square_shapes(rng):
    x = rng.standard_normal((2, 3, 9, 7))
    W, b = rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    conv = Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 2), dtype=np.float64)
    conv.params = {"W": W, "b": b}
    equal(oracles.conv(x, W, b, (2, 1), (1, 2)), conv.forward(x))
    col = oracles.im2col(x, 3, 2, (2, 3), (0, 1))
    equal(col, im2col(x, 3, 2, (2, 3), (0, 1)))
    equal(oracles.col2im(col, x.shape, 3, 2, (2, 3), (0, 1)), col2im(col, x.shape, 3, 2, (2, 3), (0, 1)))
    equal(oracles.maxpool(x, 3, 2), MaxPool2d(3, 2).forward(x))
    a = rng.standard_normal((2, 8, 3, 4)) * 30
    equal(oracles.lrn(a), LocalResponseNorm().forward(a))
    equal(oracles.relu(x), ReLU().forward(x))
    logits, labels = rng.standard_normal((5, 4)) * 50, rng.integers(0, 4, 5)
    assert abs(oracles.softmax_cross_entropy(logits, labels) - SoftmaxCrossEntropy().forward(logits, labels)) < 1e-12
    fc = Linear(7, 5, dtype=np.float64)
    inputs = rng.standard_normal((3, 7))
    equal(oracles.linear(inputs, fc.params["W"], fc.params["b"]), fc.forward(inputs))


def test_col2im_is_the_adjoint_of_im2col(rng):
    x = rng.standard_normal((2, 3, 8, 7))
    col = oracles.im2col(x, 3, 2, (2, 1), (1, 0))
    y = rng.standard_normal(col.shape)
    assert abs(np.sum(col * y) - np.sum(x * oracles.col2im(y, x.shape, 3, 2, (2, 1), (1, 0)))) < 1e-12 * np.abs(col * y).sum()


def test_float32_inputs_give_float64_results(rng):
    x = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    W, b = rng.standard_normal((4, 2, 3, 3)).astype(np.float32), np.zeros(4, np.float32)
    for out in (oracles.conv(x, W, b, 1, 1, groups=2), oracles.maxpool(x, 2, 2), oracles.lrn(x), oracles.relu(x), oracles.im2col(x, 3, 3)):
        assert out.dtype == np.float64
    wide = x.astype(np.float64)
    assert np.array_equal(oracles.conv(x, W, b, 1, 1, groups=2), oracles.conv(wide, W.astype(np.float64), b.astype(np.float64), 1, 1, 2))


def test_the_complex_step_is_exact_where_central_differences_are_not(rng):
    a, dout, direction = rng.standard_normal((2, 6, 2, 3)), rng.standard_normal((2, 6, 2, 3)), rng.standard_normal((2, 6, 2, 3))
    layer = LocalResponseNorm(5, alpha=0.5)
    layer.forward(a)
    analytic = float(np.sum(layer.backward(dout) * direction))
    exact = oracles.exact_directional(lambda t: oracles.lrn(t, 5, 0.5, 0.75, 2.0), a, dout, direction)
    assert abs(exact - analytic) < 1e-13 * abs(analytic)


def test_conv_with_groups_equals_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, W, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 4)), rng.standard_normal(6)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(W), torch.tensor(b), (2, 1), (1, 2), groups=2).numpy()
    equal(oracles.conv(x, W, b, (2, 1), (1, 2), groups=2), expected)


def test_maxpool_and_its_first_maximum_ties_equal_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, (2, 3, 9, 8)).astype(np.float64)  # three values: most windows hold ties
    dout = rng.standard_normal(oracles.maxpool(x, (3, 2), (2, 1)).shape)
    out, (dx,) = torch_forward_backward(lambda t: torch.nn.functional.max_pool2d(t, (3, 2), (2, 1)), [x], dout)
    equal(oracles.maxpool(x, (3, 2), (2, 1)), out)
    equal(oracles.maxpool_backward(x, dout, (3, 2), (2, 1)), dx)


@pytest.mark.parametrize("size", [3, 4, 5])
def test_lrn_equals_pytorch_with_alpha_times_size(rng, size):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 7, 3, 2)) * 10
    expected = torch.nn.LocalResponseNorm(size, alpha=size * 0.3, beta=0.75, k=2.0)(torch.tensor(a)).numpy()
    equal(oracles.lrn(a, size, 0.3, 0.75, 2.0), expected)
