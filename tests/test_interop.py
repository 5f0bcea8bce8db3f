"""minialexnet.interop: the PyTorch twin computes the same logits and gradients; state_dicts cross both ways unchanged."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from reference import rel_err

from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import CONFIGS, alexnet
from minialexnet.tools.interop import from_state_dict, load_state_dict, state_dict, to_torch, torch_name

torch = pytest.importorskip("torch")

# the 227x227 configs (58-62M parameters) at batch 1 in float64: about 10 s each on two cores
BATCH = {"mini": 4}
# inputs at the scale each config trains on (0..255 minus the mean, or standardised); He
# weights keep the activations large enough that LRN's alpha term matters (alpha * sum a^2
# of order k), so a wrong alpha convention would show
INPUT_SCALE = {"mini": 20.0}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def twins(request):
    config = request.param
    model = alexnet(config, seed=5, init="he", dtype=np.float64)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((BATCH.get(config, 1), *model.input_shape)) * INPUT_SCALE.get(config, 60.0)
    y = rng.integers(0, model.config.num_classes, len(x))
    return model, to_torch(model), x, y


def test_twin_computes_the_same_logits_and_gradients_in_float64(twins):
    model, twin, x, y = twins
    loss = SoftmaxCrossEntropy()
    ours = model.forward(x, train=False)  # eval: dropout is the identity in both
    loss.forward(ours, y)
    model.backward(loss.backward())
    twin.eval().zero_grad()
    theirs = twin(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(theirs, torch.from_numpy(y)).backward()
    assert rel_err(ours, theirs.detach().numpy()) < 1e-10
    gradients = dict(twin.named_parameters())
    for name, grad in model.grads.items():
        assert rel_err(grad, gradients[torch_name(name)].grad.numpy()) < 1e-10, name


def test_round_trip_through_pytorch_is_bit_identical(twins):
    model, twin, _, _ = twins
    original = {name: value.copy() for name, value in model.params.items()}
    model.set_params({name: np.zeros_like(value) for name, value in original.items()})
    load_state_dict(model, twin.state_dict())
    for name, value in model.params.items():
        assert value.dtype == np.float64 and np.array_equal(value, original[name]), name


def test_twin_follows_the_layer_names_and_the_lrn_convention():
    model = alexnet("mini", seed=1)
    twin = to_torch(model)
    assert [name for name, _ in twin.named_children()] == [name for name, _ in model]
    assert list(twin.state_dict()) == list(state_dict(model)) == [torch_name(name) for name in model.params]
    assert twin.norm1.alpha == pytest.approx(5 * model["norm1"].alpha)  # PyTorch divides by size, the paper does not
    assert twin[0].weight.dtype == torch.float32 and twin.drop6.p == 0.5


def test_from_state_dict_builds_the_same_network(rng):
    model = alexnet("mini", seed=2)
    copy = from_state_dict(to_torch(model), "mini", conv="im2col")  # another algorithm, the same weights
    assert copy.config.num_classes == 10 and next(iter(copy.params.values())).dtype == np.float32
    assert all(np.array_equal(copy.params[name], value) for name, value in model.params.items())
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    assert rel_err(copy.forward(x, train=False), model.forward(x, train=False)) < 1e-5
    eleven = from_state_dict({**state_dict(model), "fc8.weight": torch.zeros(11, 512), "fc8.bias": torch.zeros(11)}, "mini")
    assert eleven.config.num_classes == 11


def test_wrong_shapes_and_names_are_reported():
    model = alexnet("mini", seed=0)
    state = state_dict(model)
    with pytest.raises(ValueError, match=r"conv2\.weight has shape \(48, 12, 5, 5\) but the model's conv2\.W has shape \(48, 24, 5, 5\)"):
        load_state_dict(model, {**state, "conv2.weight": torch.zeros(48, 12, 5, 5)})
    del state["fc8.bias"]
    with pytest.raises(ValueError, match=r"missing fc8\.bias; unexpected features\.0\.weight"):
        load_state_dict(model, {**state, "features.0.weight": torch.zeros(1)})


def test_torch_is_imported_only_when_used(monkeypatch):
    modules = "minialexnet.tools.interop, minialexnet.tools.export, minialexnet.tools.bench"
    code = f"import sys, {modules}; print('torch' in sys.modules, 'onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["False", "False"]
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch(alexnet("mini"))
