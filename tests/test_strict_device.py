"""The strict device itself (it must refuse what CuPy refuses) and the host<->device transfer budgets it measures.

These run on the strict device on every machine (the ``strict_cupy`` fixture), a GPU one too:
only it counts transfers. What it does not model is listed in its docstring (minialexnet/strict_device/__init__.py);
test_strict_device_api.py holds its API to CuPy's, name by name.
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


def test_numpy_functions_on_device_arrays_are_refused_with_the_xp_advice_and_the_reason(strict_cupy):
    a = strict_cupy.asarray(np.arange(4.0))
    with pytest.raises(TypeError, match=r"numpy.exp was called on a device array; call xp.exp") as error:
        np.exp(a)
    assert "__array_function__" in str(error.value) and "says which device computes" in str(error.value)
    with pytest.raises(TypeError, match=r"numpy.sum was called on a device array"):
        np.sum(a)
    with pytest.raises(TypeError, match=r"numpy.insert was called on a device array; CuPy has no cupy.insert .* use xp.concatenate"):
        np.insert(a, 1, 5.0)
    doubled = np.float32(2) * a  # a NumPy scalar in an operator is fine, as in CuPy
    assert type(doubled) is strict_cupy.ndarray and doubled.dtype == np.float64
    for wrong in (lambda: a.__add__([1.0, 2.0, 3.0, 4.0]), lambda: strict_cupy.maximum(a, [0.0] * 4)):
        with pytest.raises(TypeError, match=r"Unsupported type <class 'list'>"):
            wrong()


def test_numpy_and_list_index_arrays_work_as_on_cupy_and_count_as_transfers(strict_cupy):
    a = strict_cupy.asarray(np.arange(10.0) * 10)
    with strict_device.counting() as transfers:
        picked = a[np.array([0, 2])]
        listed = a[[1, 3, 5]]
        masked = a[np.arange(10) > 6]
        on_device = a[strict_cupy.asarray(np.array([4, 4]))]
    np.testing.assert_array_equal(picked.get(), [0.0, 20.0])
    np.testing.assert_array_equal(listed.get(), [10.0, 30.0, 50.0])
    np.testing.assert_array_equal(masked.get(), [70.0, 80.0, 90.0])
    np.testing.assert_array_equal(on_device.get(), [40.0, 40.0])
    assert transfers.sizes("h2d") == [16, 24, 10, 16] and transfers.count("d2h") == 0  # the last: xp.asarray
    with strict_device.counting() as transfers:
        stacked = strict_cupy.asarray([picked, on_device])  # device arrays: a copy on the device
    np.testing.assert_array_equal(stacked.get(), [[0.0, 20.0], [40.0, 40.0]])
    assert transfers.log == []


def test_where_cupy_computes_something_else_the_stand_in_refuses_and_explains(strict_cupy):
    """CuPy's "Differences between CuPy and NumPy": each one that changes a result is refused (NotPortableError)."""
    a = strict_cupy.asarray(np.arange(6.0).reshape(2, 3))
    with pytest.raises(strict_device.NotPortableError, match=r"index 3 is out of bounds for axis 1 with size 3: .* CuPy wraps it"):
        a[:, strict_cupy.asarray(np.array([0, 3]))]
    with pytest.raises(strict_device.NotPortableError, match=r"out of bounds for axis 0 with size 2"):
        a[np.array([-3])] = 1.0
    np.testing.assert_array_equal(a[:, np.array([-1, 0])].get(), [[2.0, 0.0], [5.0, 3.0]])  # in range, negative: fine
    index = strict_cupy.asarray(np.array([0, 1, 1]))
    total = strict_cupy.zeros(3)
    with pytest.raises(strict_device.NotPortableError, match=r"repeats a position .* cupyx.scatter_add\(a, idx, v\) or xp.add.at"):
        total[index] += strict_cupy.asarray(np.array([1.0, 2.0, 3.0]))
    total[index] = 7.0  # one value: the same whatever the order
    strict_cupy.add.at(total, index, strict_cupy.asarray(np.array([1.0, 2.0, 3.0])))
    import cupyx

    cupyx.scatter_add(total, index, 1.0)
    np.testing.assert_array_equal(total.get(), [9.0, 14.0, 0.0])
    for values, dtype in (([-1.0, 2.0], np.uint8), ([np.inf, 1.0], np.int32), ([np.nan], np.int64), ([3e9], np.int32)):
        with pytest.raises(strict_device.NotPortableError, match=r"casting float64 to .* C leaves that cast undefined"):
            strict_cupy.asarray(np.array(values)).astype(dtype)
    np.testing.assert_array_equal(strict_cupy.asarray(np.array([-0.5, 2.7])).astype(np.int32).get(), [0, 2])  # truncation is defined
    for make in (
        lambda: strict_cupy.asarray([[1], [1, 2]], dtype=object),
        lambda: a.astype(object),
        lambda: strict_cupy.zeros(2, dtype="U3"),
    ):
        with pytest.raises(TypeError, match="CuPy arrays hold numbers and booleans only"):
            make()


def test_the_random_streams_are_seeded_but_not_numpys(strict_cupy):
    draws = strict_cupy.random.default_rng(0).standard_normal(5, dtype=np.float32)
    assert type(draws) is strict_cupy.ndarray and draws.dtype == np.float32
    np.testing.assert_array_equal(strict_cupy.random.default_rng(0).standard_normal(5, dtype=np.float32).get(), draws.get())
    assert not np.allclose(draws.get(), np.random.default_rng(0).standard_normal(5))
    strict_cupy.random.seed(0)
    legacy = strict_cupy.random.rand(5).get()
    np.random.seed(0)
    assert not np.allclose(legacy, np.random.rand(5))
    with pytest.raises(strict_device.NotInCupyError, match=r"CuPy has no cupy.random.Generator.permutation.*xp.random.permutation"):
        strict_cupy.random.default_rng(0).permutation(5)


def test_reductions_give_0d_device_arrays_and_metadata_host_values(strict_cupy):
    a = strict_cupy.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    scalars = (a.sum(), a[1, 2], a.max(), strict_cupy.sum(a), strict_cupy.array_equal(a, a), strict_cupy.allclose(a, a))
    for scalar in (*scalars, strict_cupy.count_nonzero(a), a.argmax()):
        assert type(scalar) is strict_cupy.ndarray and scalar.shape == ()
    assert strict_cupy.ndim(a) == 2 and strict_cupy.shape(a) == (2, 3) and strict_cupy.result_type(a, np.float64) == np.float64
    assert type(strict_cupy.ndim(a)) is int and strict_cupy.isscalar(a) is False
    with strict_device.counting() as transfers:
        assert float(a.sum()) == 15.0 and int(a[1, 2]) == 5 and bool(a[0, 1]) and f"{a[1, 1]:.1f}" == "4.0"
    assert transfers.sizes("d2h") == [4, 4, 4, 4] and transfers.count("h2d") == 0
    with pytest.raises(TypeError):
        range(a[1, 2])  # CuPy arrays have no __index__


def test_what_cupy_has_and_the_stand_in_does_not_model_raises_a_clear_error(strict_cupy):
    with pytest.raises(strict_device.NotModelledError, match="does not model cupy.RawKernel; code that uses it needs a real GPU"):
        strict_cupy.RawKernel  # noqa: B018
    with pytest.raises(strict_device.NotModelledError, match="cupy.cuda.Stream"):
        strict_cupy.cuda.Stream()
    with pytest.raises(strict_device.NotInNumpyError, match="cupy.trapz exists in CuPy 14.2.0 but not in the installed NumPy"):
        strict_cupy.trapz  # noqa: B018


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
