"""The slice-parallel helper, and that every layer using it gives the same numbers on any thread count."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from minialexnet.fast import SGD, Conv2d, LocalResponseNorm, MaxPool2d, ReLU, parallel
from minialexnet.fast.layout import to_batch_last
from minialexnet.threads import get_num_threads, set_num_threads


@pytest.fixture
def threads():
    """Set the thread count for one test and restore the previous one afterwards."""
    before = get_num_threads()
    yield set_num_threads
    set_num_threads(before)


@pytest.fixture
def tiny_slices(monkeypatch):
    """Force many slices even on test-sized arrays."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "SLICE_BYTES", 64)


def test_slices_cover_the_range_once_on_several_threads(threads, tiny_slices):
    threads(2)
    seen = np.zeros(50, dtype=int)
    names = set()

    def work(s: slice) -> None:
        seen[s] += 1
        names.add(threading.current_thread().name)

    parallel.for_each_slice(np, 50, work, 8)
    assert np.all(seen == 1)
    caller = threading.current_thread().name  # works too, beside the pool's threads
    assert all(name.startswith("minialexnet") or name == caller for name in names)


def test_small_work_and_nested_calls_run_once_and_one_thread_runs_slices_on_the_caller(threads, monkeypatch):
    calls = []
    parallel.for_each_slice(np, 10, calls.append, 8)  # 80 bytes: below MIN_PARALLEL_BYTES
    assert calls == [slice(0, 10)]
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "SLICE_BYTES", 16)
    threads(1)
    calls.clear()
    parallel.for_each_slice(np, 10, lambda s: calls.append((s, threading.current_thread().name)), 8)
    assert [s for s, _ in calls] == [slice(2 * k, 2 * k + 2) for k in range(5)]  # still sliced, for the cache
    assert {name for _, name in calls} == {threading.current_thread().name}
    threads(2)
    inner = []
    parallel.for_each_slice(np, 4, lambda s: parallel.for_each_slice(np, 6, inner.append, 1 << 20), 1 << 20)
    assert inner and all(s == slice(0, 6) for s in inner)  # the inner call did not split again


def test_the_pool_follows_a_changed_thread_setting(threads, tiny_slices):
    """minialexnet.threads holds the setting; the pool is made anew at its next use after a change."""
    names = set()
    for count in (2, 3):
        threads(count)
        parallel.for_each_slice(np, 50, lambda s: names.add(threading.current_thread().name), 8)
        assert parallel._state["pool_threads"] == count and parallel._state["pool"]._max_workers == count - 1


def test_an_error_inside_a_slice_reaches_the_caller(threads, tiny_slices):
    threads(2)

    def work(s: slice) -> None:
        if s.start == 0:
            raise RuntimeError("slice failed")

    with pytest.raises(RuntimeError, match="slice failed"):
        parallel.for_each_slice(np, 20, work, 8)


def test_slice_scratch_is_reused_per_thread_and_slot():
    like = np.zeros(1, np.float32)
    a = parallel.slice_scratch(7, (4, 5), like)
    b = parallel.slice_scratch(7, (2, 3), like)
    assert a.dtype == np.float32 and a.shape == (4, 5) and b.shape == (2, 3)
    assert np.shares_memory(a, b)
    c = parallel.slice_scratch(8, (2, 3), like, dtype=bool)
    assert c.dtype == bool and not np.shares_memory(b, c)


def _image_order(layer):
    layer.columns_by_position = False
    return layer


def _run_layer(layer, x, dout):
    out = layer.forward(x)
    return out, layer.backward(dout)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: LocalResponseNorm(), (5, 7, 6, 6)),
        (lambda: MaxPool2d(3, 2), (5, 3, 9, 9)),
        (lambda: ReLU(), (5, 4, 3, 3)),
        (lambda: Conv2d(3, 4, 3, 1, 1, rng=np.random.default_rng(0), dtype=np.float64), (5, 3, 6, 6)),
        (lambda: Conv2d(4, 4, 3, 2, 1, groups=2, keep_columns=False, rng=np.random.default_rng(0), dtype=np.float64), (5, 4, 7, 7)),
        (lambda: _image_order(Conv2d(3, 4, 3, 2, 1, rng=np.random.default_rng(0), dtype=np.float64)), (5, 3, 7, 7)),
    ],
    ids=["lrn", "maxpool", "relu", "conv", "conv-recompute", "conv-image-order"],
)
@pytest.mark.parametrize("batch_last", [False, True], ids=["row-major", "batch-last"])
def test_layers_give_identical_results_on_one_or_two_threads(make, shape, batch_last, threads, tiny_slices, rng):
    x = rng.standard_normal(shape) * 10
    dout = rng.standard_normal(make().output_shape(shape))
    if batch_last:  # stored (C, H, W, N): pool and LRN then slice other axes (layers/layout.py)
        x, dout = to_batch_last(x), to_batch_last(dout)
    threads(1)
    layer = make()
    out_1, dx_1 = _run_layer(layer, x, dout)
    grads_1 = {key: value.copy() for key, value in layer.grads.items()}
    threads(2)
    layer = make()
    out_2, dx_2 = _run_layer(layer, x, dout)
    np.testing.assert_array_equal(out_1, out_2)
    np.testing.assert_array_equal(dx_1, dx_2)
    for key, value in grads_1.items():
        np.testing.assert_array_equal(value, layer.grads[key])


def test_sgd_gives_identical_results_on_one_or_two_threads(threads, tiny_slices, rng):
    start = {"w": rng.standard_normal((6, 5)), "b": rng.standard_normal(6), "view": rng.standard_normal((6, 4))}
    results = []
    for count in (1, 2):
        threads(count)
        params = {key: value.copy() for key, value in start.items()}
        params["view"] = params["view"][:, ::2]  # not contiguous: updated whole, without slices
        assert not params["view"].flags.c_contiguous
        optimizer = SGD(0.1, 0.9, 5e-4)
        for step in range(3):
            grads = {key: np.full(value.shape, 0.5 + step) for key, value in params.items()}
            optimizer.step(params, grads)
        results.append(params)
    for key in start:
        np.testing.assert_array_equal(results[0][key], results[1][key])
        assert not np.array_equal(results[0][key], start[key][:, ::2] if key == "view" else start[key])


def _sum_in_slices(queue) -> None:
    total = np.zeros(64)
    parallel.for_each_slice(np, 64, lambda s: total.__setitem__(s, 1.0), 1 << 20)
    queue.put(float(total.sum()))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_threads(threads):
    import multiprocessing

    threads(2)
    _sum_in_slices(multiprocessing.Queue())  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sum_in_slices, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the child hung or failed using the parent's thread pool"
    assert queue.get(timeout=5) == 64.0


def _openblas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["internal_api"] == "openblas"]


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "transpose_a"),
    [
        ((64, 300), (300, 5000), False),
        ((3000, 64), (64, 900), False),
        ((2, 48, 600), (2, 600, 3000), False),
        ((600, 48), (600, 2000), True),
    ],
)
def test_matmul_in_pieces_is_within_float32_rounding_of_the_exact_product_and_the_same_on_any_thread_count(
    a_shape, b_shape, transpose_a, threads, rng
):
    """What BLAS and float32 guarantee, on any CPU: each sum of K products lies within K u sum|a_k b_k| of the exact one
    (u = 2^-24; bounded here by K eps = 2 K u). How a BLAS blocks a product is its own choice (OpenBLAS's Haswell
    kernels block a whole product and its pieces differently), so pieces and whole agree to that bound, not bit for
    bit; the pieces depend on the shapes alone, so the thread count changes nothing."""
    a = rng.standard_normal(a_shape).astype(np.float32)
    a = a.T if transpose_a else a
    b = rng.standard_normal(b_shape).astype(np.float32)
    assert parallel._matmul_parts(a, b) is not None and len(parallel._matmul_parts(a, b)) > 2  # really cut into pieces
    K = a.shape[-1]
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    bound = K * np.finfo(np.float32).eps * np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    threads(2)
    got = parallel.matmul(a, b)
    assert got.dtype == np.float32 and got.shape == exact.shape
    assert np.all(np.abs(got - exact) <= bound)
    with parallel._one_thread_blas():
        whole = np.matmul(a, b)
    assert np.all(np.abs(got.astype(np.float64) - whole) <= 2 * bound)
    threads(1)
    np.testing.assert_array_equal(parallel.matmul(a, b), got)  # one thread computes the same pieces
    out = np.empty_like(got)
    assert parallel.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_matmul_inside_a_slice_cuts_the_product_as_outside(threads, rng):
    """Called from a slice's work (a layer's thread), the pieces run on that thread, cut the same way."""
    a = rng.standard_normal((64, 300)).astype(np.float32)
    b = rng.standard_normal((300, 5000)).astype(np.float32)
    threads(2)
    outside = parallel.matmul(a, b)
    inside = []
    parallel.run_parts([0, 1], lambda part: inside.append(parallel.matmul(a, b)))
    for got in inside:
        np.testing.assert_array_equal(got, outside)


def test_matmul_runs_the_blas_on_one_thread_inside_and_restores_it_after(threads, monkeypatch, rng):
    if not parallel.one_thread_blas_found():
        pytest.skip("NumPy does not use OpenBLAS here")
    threads(2)
    before = _openblas_threads()
    seen = []
    real_run_parts = parallel.run_parts

    def spy(parts, work):
        seen.append(_openblas_threads())
        real_run_parts(parts, work)

    monkeypatch.setattr(parallel, "run_parts", spy)
    parallel.matmul(rng.standard_normal((256, 512)), rng.standard_normal((512, 512)))
    assert seen == [[1] * len(before)]
    assert _openblas_threads() == before


def test_matmul_without_openblas_is_the_plain_product(monkeypatch, rng):
    monkeypatch.setitem(parallel._state, "blas", type("NoBLAS", (), {"found": False})())
    a, b = rng.standard_normal((3, 40, 50)), rng.standard_normal((3, 50, 60))
    np.testing.assert_array_equal(parallel.matmul(a, b), np.matmul(a, b))
    assert not parallel.one_thread_blas_found()
