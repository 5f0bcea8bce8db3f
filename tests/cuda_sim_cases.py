"""The GPU engine (minialexnet/cuda) run in numba's simulator, on the strict device, against the reference layers.

Run by tests/test_cuda_sim.py in a process of its own with NUMBA_ENABLE_CUDASIM=1 (the variable
holds for a whole process, and the compile tests need it off); not collected by the main run
(the file name does not start with ``test_``). Shapes are small, non-square and odd: the
simulator runs one Python thread per CUDA thread. Float64 throughout (the simulator computes
in NumPy, so it allows it), compared to 1e-12 relative; one float32 case to float32 rounding.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from minialexnet import cuda as engine
from minialexnet import layers as reference
from minialexnet import oracles, strict_device
from minialexnet.backend import asnumpy

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("runs in numba's simulator: tests/test_cuda_sim.py starts it with NUMBA_ENABLE_CUDASIM=1", allow_module_level=True)


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    return strict_device.install(monkeypatch)


def same_layers(make):
    """(reference layer, engine layer) built by ``make(module)`` with equal parameters, both on the strict device."""
    ref, new = make(reference), make(engine)
    new.params = {key: value.copy() for key, value in ref.params.items()}
    return ref.to("gpu"), new.to("gpu")


def both_passes(ref, new, x, rng, tolerance=1e-12):
    """Forward and backward of both on x with the same random dout; asserts out, dx and every gradient agree."""
    cupy = strict_device.cupy
    out_ref, out_new = ref.forward(cupy.asarray(x)), new.forward(cupy.asarray(x))
    np.testing.assert_allclose(asnumpy(out_new), asnumpy(out_ref), rtol=tolerance, atol=tolerance)
    dout = rng.standard_normal(out_ref.shape).astype(x.dtype)
    dx_ref, dx_new = ref.backward(cupy.asarray(dout)), new.backward(cupy.asarray(dout))
    if dx_ref is None:
        assert dx_new is None
    else:
        np.testing.assert_allclose(asnumpy(dx_new), asnumpy(dx_ref), rtol=tolerance, atol=tolerance)
    for key in ref.grads:
        np.testing.assert_allclose(asnumpy(new.grads[key]), asnumpy(ref.grads[key]), rtol=tolerance, atol=tolerance)
    return asnumpy(out_new)


@pytest.mark.parametrize(
    "C, F, kernel, stride, padding, groups, H, W",
    [(3, 4, 3, 1, 1, 1, 7, 5), (4, 6, (3, 2), (2, 1), (1, 0), 2, 9, 6), (2, 4, (2, 3), 3, 2, 2, 5, 8)],
)
def test_conv2d_im2col_epilogue_and_col2im_equal_the_reference_and_a_naive_loop(C, F, kernel, stride, padding, groups, H, W):
    rng = np.random.default_rng(1)
    ref, new = same_layers(lambda m: m.Conv2d(C, F, kernel, stride, padding, groups, rng=np.random.default_rng(2), dtype=np.float64))
    ref.params["b"][...] = strict_device.cupy.asarray(rng.standard_normal(F))
    new.params["b"] = ref.params["b"].copy()
    x = rng.standard_normal((2, C, H, W))
    out = both_passes(ref, new, x, rng)
    naive = oracles.conv(x, asnumpy(ref.params["W"]), asnumpy(ref.params["b"]), ref.stride, ref.padding, groups)
    np.testing.assert_allclose(out, naive, rtol=1e-12, atol=1e-12)


def test_a_first_conv_skips_dx():
    rng = np.random.default_rng(3)
    ref, new = same_layers(lambda m: m.Conv2d(1, 3, 3, 2, 1, need_input_grad=False, rng=np.random.default_rng(4), dtype=np.float64))
    both_passes(ref, new, rng.standard_normal((3, 1, 7, 6)), rng)


@pytest.mark.parametrize("size, groups", [(5, 1), (5, 2), (4, 2), (3, 1)])
def test_lrn_forward_and_backward_equal_the_reference(size, groups):
    rng = np.random.default_rng(5)
    ref, new = same_layers(lambda m: m.LocalResponseNorm(size, alpha=0.3, beta=0.75, k=2.0, groups=groups))
    both_passes(ref, new, rng.standard_normal((2, 6, 3, 5)) * 2, rng)


@pytest.mark.parametrize("kernel, stride, H, W", [(3, 2, 7, 9), ((2, 3), (1, 2), 5, 8), (2, 2, 6, 5)])
def test_maxpool_with_ties_sends_each_gradient_to_the_first_maximum_as_the_reference(kernel, stride, H, W):
    rng = np.random.default_rng(6)
    ref, new = same_layers(lambda m: m.MaxPool2d(kernel, stride))
    x = rng.integers(0, 3, (2, 3, H, W)).astype(np.float64)  # three values: most windows hold ties
    out = both_passes(ref, new, x, rng)
    np.testing.assert_array_equal(out, oracles.maxpool(x, ref.kernel_size, ref.stride))


def test_relu_alone_equals_the_reference():
    rng = np.random.default_rng(7)
    ref, new = same_layers(lambda m: m.ReLU())
    both_passes(ref, new, rng.standard_normal((3, 5, 2)), rng)


@pytest.mark.parametrize("row_offset", [0, 7])
def test_dropout_draws_the_reference_mask_from_the_same_hash(row_offset):
    rng = np.random.default_rng(8)
    ref, new = same_layers(lambda m: m.Dropout(0.4, seed=11))
    ref.row_offset = new.row_offset = row_offset
    for _ in range(2):  # the second mask too: masks_drawn advances alike
        out = both_passes(ref, new, rng.standard_normal((5, 37)) + 3.0, rng, tolerance=0)
    assert 0.25 < (out == 0).mean() < 0.55
    assert new.get_rng_state() == ref.get_rng_state() == {"seed": 11, "masks_drawn": 2}


def test_linear_equals_the_reference():
    rng = np.random.default_rng(9)
    ref, new = same_layers(lambda m: m.Linear(7, 5, rng=np.random.default_rng(10), dtype=np.float64))
    both_passes(ref, new, rng.standard_normal((3, 7)), rng)


def test_softmax_cross_entropy_loss_and_gradient_equal_the_reference():
    rng = np.random.default_rng(12)
    cupy = strict_device.cupy
    logits, labels = rng.standard_normal((4, 7)) * 30, np.array([6, 0, 3, 3])
    ref, new = reference.SoftmaxCrossEntropy(), engine.SoftmaxCrossEntropy()
    loss_ref, loss_new = ref.forward(cupy.asarray(logits), cupy.asarray(labels)), new.forward(cupy.asarray(logits), cupy.asarray(labels))
    assert loss_new == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(asnumpy(new.backward(2.0)), asnumpy(ref.backward(2.0)), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"label 7 is outside \[0, 7\)"):
        new.forward(cupy.asarray(logits), cupy.asarray(np.array([0, 7, 1, 1])))


def test_float32_conv_and_lrn_agree_to_float32_rounding():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    ref, new = same_layers(lambda m: m.Conv2d(4, 6, 3, 1, 1, 2, rng=np.random.default_rng(14), dtype=np.float32))
    both_passes(ref, new, x, rng, tolerance=1e-5)  # different summation orders: a few float32 roundings
    ref, new = same_layers(lambda m: m.LocalResponseNorm(5, alpha=0.2, groups=2))
    both_passes(ref, new, x * 3, rng, tolerance=1e-5)


def micro_network(module, seed: int, container=None):
    """Every layer type: 1x12x12 input, 4 and 8 channels, groups 2, LRN, two max-pools, fc layers with dropout.

    ``container``: the Sequential class holding the layers (default: the module's own).
    """
    rng = np.random.default_rng(seed)
    kw = {"dtype": np.float64}
    return (container or module.Sequential)(
        ("conv1", module.Conv2d(1, 4, 3, stride=1, padding=1, need_input_grad=False, rng=rng, **kw)),
        ("relu1", module.ReLU()),
        ("norm1", module.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0, groups=2)),
        ("pool1", module.MaxPool2d(3, 2)),  # 12 -> 5
        ("conv2", module.Conv2d(4, 8, 3, stride=1, padding=1, groups=2, rng=rng, **kw)),
        ("relu2", module.ReLU()),
        ("pool2", module.MaxPool2d(3, 2)),  # 5 -> 2
        ("flatten", module.Flatten()),
        ("fc1", module.Linear(32, 10, rng=rng, **kw)),
        ("relu3", module.ReLU()),
        ("drop1", module.Dropout(0.5, seed=5)),
        ("fc2", module.Linear(10, 3, rng=rng, **kw)),
    )


def training_step(module, optimizer_class, x, labels, net=None):
    """One SGD step of the micro network built from ``module``: (loss, parameters after, launches counted on the strict device)."""
    cupy = strict_device.cupy
    net = (net or micro_network(module, seed=21)).to("gpu")
    loss_layer, optimizer = module.SoftmaxCrossEntropy(), optimizer_class(lr=0.05, momentum=0.9, weight_decay=5e-4)
    x, labels = cupy.asarray(x), cupy.asarray(labels)
    for _ in range(2):  # the second step uses the velocity of the first
        with strict_device.counting_launches() as launches:
            loss = loss_layer.forward(net.forward(x, train=True), labels)
            net.backward(loss_layer.backward())
            optimizer.step(net.params, net.grads)
    return loss, {key: asnumpy(value) for key, value in net.params.items()}, launches


def test_a_whole_training_step_of_the_micro_network_equals_the_reference_engine_and_launches_fewer_kernels():
    from minialexnet.optim import SGD

    rng = np.random.default_rng(22)
    x, labels = rng.standard_normal((3, 1, 12, 12)) * 3, np.array([2, 0, 1])
    loss_ref, params_ref, launches_ref = training_step(reference, SGD, x, labels)
    loss_new, params_new, launches_new = training_step(engine, engine.SGD, x, labels)
    assert loss_new == pytest.approx(loss_ref, rel=1e-12)
    assert sorted(params_new) == sorted(params_ref)
    for key in params_ref:
        np.testing.assert_allclose(params_new[key], params_ref[key], rtol=1e-11, atol=1e-13, err_msg=key)
    # the cuda engine's step: conv1 (im2col, 1 product, epilogue; backward: output_grad, bias sum, 1 dW product),
    # LRN 1 + 1, pools 2 + 2, conv2 (im2col, 2 products, epilogue; output_grad, bias sum, 2 dW, 2 dcol, col2im), fc1 and
    # fc2 (product, epilogue; output_grad, dW, bias sum, dx), dropout 1 + 1 (dout * mask), loss (labels cast, kernel,
    # sum, min, max), SGD one launch for each of the 8 parameters
    conv1, conv2, fc = 3 + 3, 4 + 7, 2 + 4
    expected = conv1 + 2 + 4 + conv2 + 2 * fc + 2 + 5 + 8
    print(
        f"\nlaunches in one training step of the micro network: reference engine {launches_ref.count()}, cuda engine {launches_new.count()}"
    )
    print("cuda engine:", " ".join(launches_new.log))
    assert launches_new.count() == expected, launches_new.log
    assert launches_ref.count() > 3 * launches_new.count()


def test_fuse_gives_a_reference_sequential_of_engine_layers_the_same_step_and_launches():
    from minialexnet.optim import SGD

    rng = np.random.default_rng(23)
    x, labels = rng.standard_normal((2, 1, 12, 12)), np.array([1, 2])
    loss_ref, params_ref, _ = training_step(reference, SGD, x, labels)
    unfused = micro_network(engine, seed=21, container=reference.Sequential)
    _, _, launches_unfused = training_step(engine, engine.SGD, x, labels, net=unfused)
    fused = engine.fuse(micro_network(engine, seed=21, container=reference.Sequential))
    loss_new, params_new, launches_new = training_step(engine, engine.SGD, x, labels, net=fused)
    assert loss_new == pytest.approx(loss_ref, rel=1e-12)
    for key in params_ref:
        np.testing.assert_allclose(params_new[key], params_ref[key], rtol=1e-11, atol=1e-13, err_msg=key)
    assert launches_unfused.count() - launches_new.count() == 6  # three ReLUs, forward and backward
    assert "relu_forward" in launches_unfused.log and "relu_forward" not in launches_new.log


def test_the_doctor_steps_the_cuda_engine_against_the_cpu_reference_and_gives_its_verdict(monkeypatch):
    """``python -m minialexnet.doctor`` on a GPU: one SGD step of each engine (the cuda one here in the simulator, with a
    visible GPU faked), each against the reference engine in float64 on the CPU; a wrong kernel is a FAIL."""
    import time

    from minialexnet.tools import doctor

    monkeypatch.setattr(engine, "available", lambda: True)
    started = time.perf_counter()
    checks = {check.name: check for check in doctor.engine_checks("gpu:0")}
    assert time.perf_counter() - started < 120  # in the simulator: one Python thread per CUDA thread
    assert checks["engine reference"].status == "ok" and checks["engine cuda"].status == "ok", checks
    assert "--engine cuda may be tried" in checks["engine cuda"].detail
    error = float(checks["engine cuda"].detail.split("max relative error ")[1].split(" ")[0])
    assert error < 1e-5
    original = engine.LocalResponseNorm.backward
    monkeypatch.setattr(engine.LocalResponseNorm, "backward", lambda self, dout: original(self, dout) * 1.001)
    checks = {check.name: check for check in doctor.engine_checks("gpu:0")}
    assert checks["engine reference"].status == "ok" and checks["engine cuda"].status == "FAIL"
    assert "keep --engine reference" in checks["engine cuda"].advice
