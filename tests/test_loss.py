import math

import numpy as np
import pytest
from reference import rel_err

from minialexnet.backend import to_device
from minialexnet.gradcheck import check_layer
from minialexnet.layers import SoftmaxCrossEntropy


def naive_loss(logits, labels):
    total = 0.0
    for row, label in zip(logits, labels, strict=True):
        total += -math.log(math.exp(row[label]) / sum(math.exp(v) for v in row))
    return total / len(labels)


def test_loss_value_and_gradient(rng, device):
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    layer = SoftmaxCrossEntropy()
    loss = layer.forward(to_device(logits, device), to_device(labels, device))
    assert isinstance(loss, float)
    assert loss == pytest.approx(naive_loss(logits, labels), rel=1e-13)
    report = check_layer(layer, to_device(logits, device), to_device(labels, device))
    assert report.passed, report.table()


def test_gradient_is_softmax_minus_onehot_over_n(rng):
    logits = rng.standard_normal((3, 4))
    labels = np.array([2, 0, 3])
    layer = SoftmaxCrossEntropy()
    layer.forward(logits, labels)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(3), labels] -= 1
    np.testing.assert_allclose(layer.backward(), probs / 3, rtol=1e-13)


def test_huge_logits_stay_finite():
    layer = SoftmaxCrossEntropy()
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=np.float32)
    loss = layer.forward(logits, np.array([1, 1]))
    assert math.isfinite(loss) and loss == pytest.approx(1e4, rel=1e-6)
    assert np.all(np.isfinite(layer.backward()))


def test_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    logits = rng.standard_normal((6, 5)) * 4
    labels = rng.integers(0, 5, size=6)
    layer = SoftmaxCrossEntropy()
    loss = layer.forward(logits, labels)
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    assert abs(loss - expected.item()) / abs(expected.item()) < 1e-10
    assert rel_err(layer.backward(), t.grad.numpy()) < 1e-10


@pytest.mark.parametrize(
    "labels,match",
    [([0, 5], "label 5 is outside"), ([-1, 0], "label -1 is outside"), ([0.0, 1.0], "integer class indices"), ([0], "labels of shape")],
)
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxCrossEntropy().forward(np.zeros((2, 5)), np.array(labels))
