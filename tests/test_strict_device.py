"""The strict device itself (it must refuse what CuPy refuses) and the host<->device transfer budgets it measures.

These run on the strict device on every machine (the ``strict_cupy`` fixture), a GPU one too:
only it counts transfers. What it does not model is listed in ``strict_device.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from minialexnet import backend, strict_device
from minialexnet.backend import DeviceUnavailableError, asnumpy, device_of, get_array_module, synchronize, to_device
from minialexnet.data import BatchLoader, load_sample
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import alexnet
from minialexnet.optim import SGD
from minialexnet.training.cli import Progress
from minialexnet.training.evaluate import evaluate_model
from minialexnet.training.train import EpochState, StopRequest, build_parser, make_preprocess, train_epoch, with_defaults


def test_backend_takes_it_for_cupy(strict_cupy):
    a = to_device(np.arange(6.0).reshape(2, 3), "gpu")
    assert type(a) is strict_cupy.ndarray and get_array_module(a) is strict_cupy
    assert device_of(a) == "gpu:0" and backend.gpu_available()
    assert isinstance(asnumpy(a), np.ndarray) and to_device(a, "gpu:0") is a
    synchronize(strict_cupy)
    with pytest.raises(DeviceUnavailableError, match="CUDA device 1 was requested but only 1"):
        to_device(np.zeros(2), "gpu:1")


def test_implicit_conversion_to_numpy_raises_cupys_type_error(strict_cupy):
    a = strict_cupy.asarray(np.ones((2, 2)))
    for convert in (np.asarray, np.array, lambda v: v.__array__(), lambda v: np.float64(0) + np.zeros(2) + v):
        with pytest.raises(TypeError, match=r"Implicit conversion to a NumPy array is not allowed|Unsupported type"):
            convert(a)
    with pytest.raises(TypeError, match=r"Unsupported type <class 'numpy.ndarray'>"):
        a + np.ones((2, 2))
    with pytest.raises(TypeError, match=r"Unsupported type <class 'numpy.ndarray'>"):
        np.ones((2, 2)) * a
    with pytest.raises(TypeError, match=r"Unsupported type <class 'numpy.ndarray'>"):
        strict_cupy.matmul(a, np.eye(2))
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[0] = np.zeros(2)


def test_numpy_functions_and_numpy_indices_are_refused_with_the_xp_advice(strict_cupy):
    a = strict_cupy.asarray(np.arange(4.0))
    with pytest.raises(TypeError, match=r"numpy.exp was called on a device array; call xp.exp"):
        np.exp(a)
    with pytest.raises(TypeError, match=r"numpy.sum was called on a device array"):
        np.sum(a)
    with pytest.raises(TypeError, match="index into a device array"):
        a[np.array([0, 2])]
    with pytest.raises(TypeError, match="index into a device array"):
        a[[0, 2]]
    picked = a[strict_cupy.asarray(np.array([0, 2]))]
    np.testing.assert_array_equal(picked.get(), [0.0, 2.0])
    doubled = np.float32(2) * a  # a NumPy scalar in an operator is fine, as in CuPy
    assert type(doubled) is strict_cupy.ndarray and doubled.dtype == np.float64


def test_scalars_come_out_as_0d_device_arrays(strict_cupy):
    a = strict_cupy.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    for scalar in (a.sum(), a[1, 2], a.max(), strict_cupy.sum(a), strict_cupy.array_equal(a, a)):
        assert type(scalar) is strict_cupy.ndarray and scalar.shape == ()
    with strict_device.counting() as transfers:
        assert float(a.sum()) == 15.0 and int(a[1, 2]) == 5 and bool(a[0, 1]) and f"{a[1, 1]:.1f}" == "4.0"
    assert transfers.sizes("d2h") == [4, 4, 4, 4] and transfers.count("h2d") == 0
    with pytest.raises(TypeError):
        range(a[1, 2])  # CuPy arrays have no __index__


def test_unmodelled_cupy_api_raises_a_clear_error(strict_cupy):
    a = strict_cupy.zeros(3)
    with pytest.raises(strict_device.NotModelledError, match="strict device does not model cupy.random"):
        strict_cupy.random.default_rng(0)
    with pytest.raises(strict_device.NotModelledError, match="strict device does not model cupy.ndarray.nonzero"):
        a.nonzero()
    with pytest.raises(strict_device.NotModelledError, match="cupy.cuda.Stream"):
        strict_cupy.cuda.Stream()


def test_memory_pool_counts_live_arrays(strict_cupy):
    pool = strict_cupy.get_default_memory_pool()
    before = pool.used_bytes()
    a = strict_cupy.empty((1024,), dtype=np.float32)
    assert pool.used_bytes() == before + 4096 and pool.total_bytes() >= pool.used_bytes()
    del a
    assert pool.used_bytes() == before


def _train_epoch(model, loss, optimizer, loader, epoch):
    """train.py's epoch loop, without a progress bar or a Ctrl-C handler."""
    assert train_epoch(model, loss, optimizer, loader, EpochState(epoch), Progress(len(loader), "", False, 0), StopRequest(enabled=False))


def _mini(augment: bool):
    """The mini model on the strict device, its preprocessing, loss and optimizer, after one warm-up step."""
    data = load_sample()
    args = with_defaults(build_parser().parse_args(["--augment"] if augment else []))
    model = alexnet("mini", seed=0).to("gpu")
    preprocess = make_preprocess(model, data, args)
    loss, optimizer = SoftmaxCrossEntropy(), SGD(0.01)
    images, labels = data.train_images[:128], data.train_labels[:128]
    _train_epoch(model, loss, optimizer, BatchLoader(images, labels, preprocess, 128, device="gpu"), 1)
    return data, model, preprocess, loss, optimizer, images, labels


@pytest.mark.parametrize("augment", [False, True])
def test_transfer_budget_of_one_training_step(strict_cupy, augment):
    """mini, batch 128, as train.py runs it: the batch (uint8) and labels in, six scalars out.

    The scalars: the loss, the labels' minimum and maximum (the loss checks them), the sum of
    all gradients (non-finite when any gradient is: the divergence check), the top-1 and top-5
    counts. With augmentation also the PCA colour shifts (N x C alphas drawn on the host, 512
    bytes) and the crop offsets (3 N int32, 1536 bytes).
    """
    _, model, preprocess, loss, optimizer, images, labels = _mini(augment)
    with strict_device.counting() as transfers:
        _train_epoch(model, loss, optimizer, BatchLoader(images, labels, preprocess, 128, seed=1, device="gpu"), 2)
    extra = [512, 1536] if augment else []
    assert sorted(transfers.sizes("h2d")) == sorted([images.nbytes, labels.nbytes, *extra]), transfers.log
    assert transfers.count("d2h") == 6 and transfers.bytes("d2h") <= 48, transfers.log


@pytest.mark.parametrize("crops", [1, 10])
def test_transfer_budget_of_one_evaluation_batch(strict_cupy, crops):
    """One batch of 64 test images: the batch and labels in, the loss and the top-1/top-5 counts out (and the
    labels' range with one crop); with 10 crops also each crop's offsets (3 x 64 int32)."""
    data, model, preprocess, *_ = _mini(augment=True)
    images, labels = data.test_images[:64], data.test_labels[:64]
    evaluate_model(model, images, labels, preprocess, "gpu", batch_size=64, eval_crops=crops)  # warm-up: the resize matrices go once
    with strict_device.counting() as transfers:
        evaluate_model(model, images, labels, preprocess, "gpu", batch_size=64, eval_crops=crops)
    assert sorted(transfers.sizes("h2d")) == sorted([images.nbytes, labels.nbytes, *[3 * 64 * 4] * crops]), transfers.log
    assert transfers.count("d2h") == (5 if crops == 1 else 3) and transfers.bytes("d2h") <= 40, transfers.log
