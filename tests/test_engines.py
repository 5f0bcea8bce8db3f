"""The engines: every fast layer equals its reference twin in float64, the reference layers equal naive
loops and numerical gradients, and a few training steps of the two engines agree."""

import numpy as np
import pytest
from reference import rel_err

from minialexnet import fast, layers, oracles
from minialexnet.backend import asnumpy, to_device
from minialexnet.engines import ENGINE_CHOICES, engine_module, optimizer_class, resolve
from minialexnet.fast.layout import is_batch_last, to_batch_last
from minialexnet.gradcheck import check_layer
from minialexnet.models import alexnet
from minialexnet.optim import SGD

# (name, factory taking an engine module, input shape): non-square, odd and even sizes, groups 1 and 2
CASES = [
    ("conv", lambda m: m.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), rng=np.random.default_rng(0), dtype=np.float64), (3, 3, 9, 7)),
    ("conv-groups2", lambda m: m.Conv2d(4, 6, 5, padding=2, groups=2, rng=np.random.default_rng(0), dtype=np.float64), (2, 4, 8, 11)),
    ("conv-stride4", lambda m: m.Conv2d(2, 4, 11, stride=4, rng=np.random.default_rng(0), dtype=np.float64), (2, 2, 27, 31)),
    ("relu", lambda m: m.ReLU(), (3, 5, 6, 4)),
    ("lrn-size5", lambda m: m.LocalResponseNorm(5, alpha=0.3, beta=0.75, k=2.0), (2, 7, 5, 6)),
    ("lrn-size4", lambda m: m.LocalResponseNorm(4, alpha=0.2, beta=0.6, k=1.5), (3, 6, 4, 5)),
    ("lrn-groups2", lambda m: m.LocalResponseNorm(3, alpha=0.4, beta=0.75, k=2.0, groups=2), (2, 8, 3, 5)),
    ("pool", lambda m: m.MaxPool2d(3, 2), (3, 4, 9, 11)),
    ("pool-2x3", lambda m: m.MaxPool2d((2, 3), (1, 2)), (2, 3, 7, 10)),
    ("dropout", lambda m: m.Dropout(0.4, seed=7), (5, 13)),
    ("linear", lambda m: m.Linear(13, 6, rng=np.random.default_rng(0), dtype=np.float64), (5, 13)),
]


def _twins(make):
    reference, fast_layer = make(layers), make(fast)
    fast_layer.params = {key: value.copy() for key, value in reference.params.items()}
    return reference, fast_layer


def _input(name, shape, rng):
    x = rng.standard_normal(shape)
    if name.startswith("pool"):  # distinct values: no ties, one maximum per window
        x = rng.permutation(x.size).reshape(shape) / x.size + 0.01 * x
    return x


LAYOUT_CASES = [(*case, layout) for case in CASES for layout in ("row-major", "batch-last") if layout == "row-major" or len(case[2]) == 4]


@pytest.mark.parametrize("name, make, shape, layout", LAYOUT_CASES, ids=[f"{case[0]}-{case[3]}" for case in LAYOUT_CASES])
def test_fast_layer_equals_its_reference_twin(name, make, shape, layout, rng):
    """Forward, dx and parameter gradients; the fast layer gets its input stored batch-last (fast/layout.py) or row-major."""
    reference, fast_layer = _twins(make)
    x, dout_shape = _input(name, shape, rng), reference.output_shape(shape)
    dout = rng.standard_normal(dout_shape)
    out = reference.forward(x)
    assert out.shape == dout_shape
    dx = reference.backward(dout)
    fast_x, fast_dout = (to_batch_last(x), to_batch_last(dout)) if layout == "batch-last" else (x, dout)
    assert rel_err(fast_layer.forward(fast_x), out) < 1e-12
    assert rel_err(fast_layer.backward(fast_dout), dx) < 1e-12
    for key, grad in reference.grads.items():
        assert rel_err(fast_layer.grads[key], grad) < 1e-12, key


@pytest.mark.parametrize("batch_last_output", [False, True])
@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_the_fast_engines_hidden_choices_equal_the_reference(algorithm, batch_last_output, rng):
    """Winograd and batch-last outputs (fast/choices.py picks them per layer) against the reference Conv2d."""
    C, F, N, H, W = 4, 6, 3, 9, 7
    reference = layers.Conv2d(C, F, 3, padding=1, groups=2, rng=np.random.default_rng(0), dtype=np.float64)
    options = {"batch_last_output": batch_last_output, "dtype": np.float64}
    if algorithm == "winograd":
        fast_layer = fast.WinogradConv2d(C, F, 3, 1, 1, 2, **options)
    else:
        fast_layer = fast.Conv2d(C, F, 3, 1, 1, 2, keep_columns=False, **options)
    fast_layer.params = {key: value.copy() for key, value in reference.params.items()}
    x, dout = rng.standard_normal((N, C, H, W)), rng.standard_normal((N, F, H, W))
    out = fast_layer.forward(x)
    assert is_batch_last(out) == batch_last_output
    assert rel_err(out, reference.forward(x)) < 1e-12
    assert rel_err(fast_layer.backward(dout), reference.backward(dout)) < 1e-12
    assert rel_err(fast_layer.grads["W"], reference.grads["W"]) < 1e-12


def test_reference_layers_equal_naive_loops(rng):
    x = rng.standard_normal((2, 4, 9, 8))
    conv = layers.Conv2d(4, 6, (3, 4), stride=(2, 1), padding=(1, 2), groups=2, rng=rng, dtype=np.float64)
    conv.params["b"] = rng.standard_normal(6)
    expected = oracles.conv(x, conv.params["W"], conv.params["b"], (2, 1), (1, 2), groups=2)
    assert rel_err(conv.forward(x), expected) < 1e-13
    for size in (4, 5):  # even sizes: the window is c - size//2 .. c + (size-1)//2
        lrn = layers.LocalResponseNorm(size, alpha=0.3, beta=0.75, k=2.0)
        assert rel_err(lrn.forward(x), oracles.lrn(x, size, 0.3, 0.75, 2.0)) < 1e-14
    pool = layers.MaxPool2d(3, 2)
    dout = rng.standard_normal(pool.output_shape(x.shape))
    assert rel_err(pool.forward(x), oracles.maxpool(x)) == 0
    assert rel_err(pool.backward(dout), oracles.maxpool_backward(x, dout)) < 1e-15  # overlapping windows add in another order


def test_reference_pool_sends_a_tie_to_the_first_maximum_in_row_major_order():
    x = np.zeros((1, 1, 2, 2))
    pool = layers.MaxPool2d(2, 1)
    pool.forward(x)
    assert pool.backward(np.ones((1, 1, 1, 1)))[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


GRADIENT_CASES = [case for case in CASES if case[0] not in ("relu", "pool", "pool-2x3")]


@pytest.mark.parametrize("name, make, shape", GRADIENT_CASES, ids=[case[0] for case in GRADIENT_CASES])
def test_reference_layers_pass_the_gradient_check(name, make, shape, rng):
    report = check_layer(make(layers), rng.standard_normal(shape))
    assert report.passed, report


@pytest.mark.parametrize("name, make, shape", CASES[:8], ids=[case[0] for case in CASES[:8]])
def test_reference_layers_give_the_same_values_on_the_gpu_path(name, make, shape, device, rng):
    """The reference is written once against xp: on the GPU (the strict device without one) it computes the same."""
    host, on_device = make(layers), make(layers).to(device)
    x, dout = _input(name, shape, rng), rng.standard_normal(host.output_shape(shape))
    assert rel_err(asnumpy(on_device.forward(to_device(x, device))), host.forward(x)) < 1e-13
    assert rel_err(asnumpy(on_device.backward(to_device(dout, device))), host.backward(dout)) < 1e-13


def test_a_few_training_steps_of_the_two_engines_agree(rng):
    """mini, float64, a small batch, four SGD steps with dropout: the weights agree to ~1e-10."""
    models = {engine: alexnet("mini", seed=3, engine=engine).astype(np.float64) for engine in ("reference", "fast")}
    assert type(models["fast"]["conv2"]) is fast.WinogradConv2d and type(models["reference"]["conv2"]) is layers.Conv2d
    loss = layers.SoftmaxCrossEntropy()
    optimizers = {engine: SGD(0.02, 0.9, 5e-4) for engine in models}
    for _ in range(4):
        x, y = rng.standard_normal((6, 1, 28, 28)), rng.integers(0, 10, 6)
        losses = {}
        for engine, model in models.items():
            losses[engine] = loss.forward(model.forward(x, train=True), y)
            model.backward(loss.backward())
            optimizers[engine].step(model.params, model.grads)
        assert losses["fast"] == pytest.approx(losses["reference"], rel=1e-10)
    for name, value in models["reference"].params.items():
        assert rel_err(models["fast"].params[name], value) < 1e-10, name


def test_auto_is_fast_on_the_cpu_and_reference_on_a_gpu_even_where_the_cuda_engine_could_run(monkeypatch):
    """Until a GPU run has shown the cuda engine equal to the reference and faster, it is asked for by name."""
    from minialexnet import backend, cuda

    assert ENGINE_CHOICES == ("auto", "reference", "fast", "cuda")
    assert resolve("auto", "cpu") == "fast" and resolve("reference", "cpu") == "reference"
    assert engine_module("auto") is fast
    monkeypatch.setattr(backend, "gpu_available", lambda: True)  # a visible GPU, numba-cuda seeing it too
    monkeypatch.setattr(cuda, "available", lambda: True)
    assert cuda.available() and backend.gpu_available()
    for device in ("gpu", "gpu:0", "gpu:1"):
        assert resolve("auto", device) == "reference"
    assert engine_module("auto", "gpu") is layers and optimizer_class("auto", "gpu") is SGD
    assert resolve("cuda", "gpu") == "cuda" and engine_module("cuda", "gpu") is cuda
    with pytest.raises(ValueError, match="unknown engine 'cuda2'; choose one of auto, reference, fast, cuda"):
        resolve("cuda2")
    with pytest.raises(ValueError, match="the cuda engine runs on a GPU: add --device gpu"):
        resolve("cuda", "cpu")


def test_each_engine_gets_its_own_update_or_the_reference_sgd():
    from minialexnet import cuda

    assert optimizer_class("reference") is SGD and optimizer_class("fast") is fast.SGD and fast.SGD is not SGD
    assert optimizer_class("cuda", "gpu") is cuda.SGD and cuda.SGD is not SGD


def test_the_cuda_conv_takes_the_reference_constructor_only():
    """Its docstring says so: the fast engine's two options are refused, not ignored."""
    from minialexnet import cuda

    assert cuda.Conv2d(3, 4, 3, 2, 1, 1).stride == (2, 2)
    for option in ("keep_columns", "batch_last_output"):
        with pytest.raises(TypeError, match=option):
            cuda.Conv2d(3, 4, 3, **{option: False})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fast_sgd_equals_the_reference_sgd(dtype, rng):
    """Slices on every core, the terms in per-thread scratch: the same numbers as optim.SGD's plain update."""
    start = {"W": rng.standard_normal((300, 500)).astype(dtype), "b": rng.standard_normal(7).astype(dtype)}
    start["strided"] = rng.standard_normal((40, 60)).astype(dtype)[:, ::3]  # not contiguous: updated whole
    results = []
    for optimizer in (SGD(0.05, 0.9, 5e-4), fast.SGD(0.05, 0.9, 5e-4)):
        params = {key: value.copy() for key, value in start.items()}
        params["strided"] = np.repeat(start["strided"], 3, axis=1)[:, ::3]
        for step in range(3):
            grads = {key: np.random.default_rng(step).standard_normal(value.shape).astype(dtype) for key, value in params.items()}
            optimizer.step(params, grads)
        results.append((params, optimizer.velocity))
    (params_ref, velocity_ref), (params_fast, velocity_fast) = results
    assert params_fast["W"].size * 3 * params_fast["W"].itemsize > 1 << 20  # large enough to be sliced
    for key in start:
        assert params_fast[key].dtype == dtype
        np.testing.assert_array_equal(params_fast[key], params_ref[key])
        np.testing.assert_array_equal(velocity_fast[key], velocity_ref[key])
        assert not np.array_equal(params_fast[key], start[key])


def test_a_run_resumes_on_the_other_engine_with_another_conv(tmp_path):
    """Checkpoints do not record the engine, and --conv is no longer fixed on resume."""
    from minialexnet.training import train

    common = ["--limit", "60", "--batch-size", "30", "--seed", "2", "--out", str(tmp_path)]
    first = train.run(train.build_parser().parse_args([*common, "--epochs", "1", "--engine", "fast"]))
    resumed = train.run(
        train.build_parser().parse_args(
            [*common, "--epochs", "2", "--engine", "reference", "--conv", "im2col", "--resume", str(tmp_path / "last.npz")]
        )
    )
    assert type(first["model"]["conv2"]) is fast.WinogradConv2d and type(resumed["model"]["conv2"]) is layers.Conv2d
    assert [row["epoch"] for row in resumed["history"]] == [1, 2]
    assert resumed["history"][0]["train_loss"] == first["history"][0]["train_loss"]
