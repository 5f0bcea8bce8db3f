import numpy as np
import pytest

from minialexnet.backend import asnumpy
from minialexnet.models import CONFIGS, alexnet, initialize

# ../shared/ANCHORS.md: multiply-adds per layer of the paper's single-tower network
PAPER_MACS = {
    "conv1": 105.4e6,
    "conv2": 447.9e6,
    "conv3": 149.5e6,
    "conv4": 224.3e6,
    "conv5": 149.5e6,
    "fc6": 37.7e6,
    "fc7": 16.8e6,
    "fc8": 4.1e6,
}


def test_paper_parameter_counts_match_the_anchors():
    assert alexnet("paper").num_params == 62_378_344
    assert alexnet("paper-2gpu").num_params == 60_965_224


def test_paper_multiply_adds_match_the_anchors():
    model = alexnet("paper")
    rows = {row["name"]: row for row in model.layer_table()}
    for name, macs in PAPER_MACS.items():
        assert rows[name]["macs"] == pytest.approx(macs, abs=0.05e6)  # the anchors round to 0.1M
    assert 2 * model.macs / 1e9 == pytest.approx(2.271, abs=1e-3)  # GFLOP per image


def test_paper_shapes_follow_figure_2():
    rows = {row["name"]: row["output_shape"] for row in alexnet("paper").layer_table()}
    assert rows["conv1"] == (96, 55, 55)
    assert rows["pool1"] == (96, 27, 27)
    assert rows["pool2"] == (256, 13, 13)
    assert rows["pool5"] == (256, 6, 6)
    assert rows["flatten"] == (9216,)
    assert rows["fc8"] == (1000,)


def test_summary_prints_layers_and_totals():
    text = alexnet("paper").summary()
    assert "62,378,344" in text and "1,135,256,096" in text
    assert "conv1" in text and "96x55x55" in text


def test_two_gpu_split_is_groups_in_conv2_4_5():
    model = alexnet("paper-2gpu")
    assert [model[name].groups for name in ("conv1", "conv2", "conv3", "conv4", "conv5")] == [1, 2, 1, 2, 2]


def test_mini_and_fashion_forward_shapes():
    mini = alexnet("mini")
    x = np.zeros((2, *mini.input_shape), np.float32)
    assert mini.forward(x, train=False).shape == (2, 10)
    fashion = alexnet("fashion")
    assert fashion.input_shape == (1, 227, 227) and fashion.config.num_classes == 10


def test_class_and_channel_overrides():
    model = alexnet("mini", num_classes=4, in_channels=3)
    assert model["conv1"].params["W"].shape[1] == 3 and model["fc8"].params["W"].shape[0] == 4


def test_paper_init_statistics():
    model = alexnet("paper-2gpu", init="paper", seed=3)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        weights = model[name].params["W"]
        assert abs(weights.std() - 0.01) < 0.01 * 0.05, name
        assert abs(weights.mean()) < 1e-3
    for name in ("conv2", "conv4", "conv5", "fc6", "fc7"):
        assert np.all(model[name].params["b"] == 1.0), name
    for name in ("conv1", "conv3", "fc8"):
        assert np.all(model[name].params["b"] == 0.0), name


@pytest.mark.parametrize("scheme,expected_std", [("he", lambda fi, fo: np.sqrt(2 / fi)), ("xavier", lambda fi, fo: np.sqrt(2 / (fi + fo)))])
def test_he_and_xavier_init_statistics(scheme, expected_std):
    model = alexnet("mini", init=scheme, seed=1)
    for name in ("conv2", "conv4", "fc6"):
        weights = model[name].params["W"]
        receptive = int(np.prod(weights.shape[2:])) if weights.ndim > 2 else 1
        fan_in, fan_out = weights.shape[1] * receptive, weights.shape[0] * receptive
        assert weights.std() == pytest.approx(expected_std(fan_in, fan_out), rel=0.05)
        assert np.all(model[name].params["b"] == 0)


def test_same_seed_same_parameters_different_seed_different():
    a, b, c = alexnet("mini", seed=5), alexnet("mini", seed=5), alexnet("mini", seed=6)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["conv1.W"], c.params["conv1.W"])


def test_initialize_keeps_dtype():
    model = alexnet("mini").astype(np.float64)
    initialize(model, "paper", seed=0)
    assert asnumpy(model.params["conv1.W"]).dtype == np.float64


def test_unknown_names_are_explained():
    with pytest.raises(ValueError, match="unknown config 'vgg'; choose one of"):
        alexnet("vgg")
    with pytest.raises(ValueError, match="unknown init 'orthogonal'"):
        alexnet("mini", init="orthogonal")


def test_every_config_builds():
    for name in CONFIGS:
        assert alexnet(name).num_params > 0


def test_winograd_computes_conv2_to_conv5_by_default():
    from minialexnet.fast import Conv2d, WinogradConv2d

    for name in CONFIGS:
        model = alexnet(name)
        assert type(model["conv1"]) is Conv2d
        assert all(isinstance(model[conv], WinogradConv2d) for conv in ("conv2", "conv3", "conv4", "conv5"))
    assert not any(isinstance(layer, WinogradConv2d) for _, layer in alexnet("paper", conv="im2col"))
    everywhere = alexnet("mini", conv="winograd")  # mini's conv1 has stride 1 too
    assert isinstance(everywhere["conv1"], WinogradConv2d)
    assert type(alexnet("paper", conv="winograd")["conv1"]) is Conv2d  # stride 4
    with pytest.raises(ValueError, match="unknown conv_algorithm 'fft'; choose one of auto, im2col, winograd"):
        alexnet("mini", conv="fft")


@pytest.mark.parametrize("config,size", [("mini", 28), ("paper-2gpu", 67)])
def test_conv_algorithms_give_the_same_network(config, size, rng):
    """Same parameters, and (float64) the same features and gradients, whichever algorithm computes the convolutions."""
    models = [alexnet(config, seed=4, conv=algorithm).astype(np.float64) for algorithm in ("im2col", "winograd")]
    for a, b in zip(models[0].params.values(), models[1].params.values(), strict=True):
        assert np.array_equal(a, b)
    x = rng.standard_normal((2, models[0].input_shape[0], size, size))  # 67: the paper's layers on a smaller image
    dout = None
    results = []
    for model in models:
        features = [layer for name, layer in model if name.startswith(("conv", "relu", "norm", "pool"))][:15]
        h = x
        for layer in features:
            h = layer.forward(h)
        dout = rng.standard_normal(h.shape) if dout is None else dout
        grad = dout
        for layer in reversed(features):
            grad = layer.backward(grad)
        assert grad is None  # conv1 skips dx
        results.append((h, {name: layer.grads["W"] for name, layer in model if name.startswith("conv")}))
    (h_a, grads_a), (h_b, grads_b) = results
    assert np.abs(h_a - h_b).max() < 1e-10 * np.abs(h_a).max()
    for name, grad in grads_a.items():
        assert np.abs(grad - grads_b[name]).max() < 1e-9 * np.abs(grad).max(), name


@pytest.mark.parametrize("config", ["mini", "paper-2gpu"])
def test_batch_last_layouts_change_storage_not_results(config, rng):
    """The fast engine's batch-last outputs (fast/layout.py) give the features and gradients of the reference network."""
    from minialexnet.fast.layout import is_batch_last

    models = [alexnet(config, seed=5, engine=engine, conv="im2col").astype(np.float64) for engine in ("fast", "reference")]
    batch_last_outputs = [name for name, layer in models[0] if name.startswith("conv") and layer.batch_last_output]
    assert batch_last_outputs  # both configs store some outputs batch-last (fast/choices.py)
    x = rng.standard_normal((2, models[0].input_shape[0], *(2 * [28 if config == "mini" else 67])))
    results = []
    for model in models:
        features = [(name, layer) for name, layer in model if name.startswith(("conv", "relu", "norm", "pool"))]
        h, layouts = x, {}
        for name, layer in features:
            h = layer.forward(h)
            layouts[name] = is_batch_last(h)
        grad = rng.standard_normal(h.shape) if not results else results[0][2]
        dout = grad
        for _, layer in reversed(features):
            grad = layer.backward(grad)
        results.append((h, {name: layer.grads["W"] for name, layer in model if name.startswith("conv")}, dout, layouts))
    (h_a, grads_a, _, layouts_a), (h_b, grads_b, _, layouts_b) = results
    assert not any(layouts_b.values())
    assert [name for name, stored in layouts_a.items() if stored and name.startswith("conv")] == list(batch_last_outputs)
    assert layouts_a["relu5"] and layouts_a["pool5"]  # the layers after them keep the layout
    assert np.abs(h_a - h_b).max() < 1e-12 * np.abs(h_a).max()
    for name, grad in grads_a.items():
        assert np.abs(grad - grads_b[name]).max() < 1e-10 * np.abs(grad).max(), name
