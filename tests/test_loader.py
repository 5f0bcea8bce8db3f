import numpy as np
import pytest

from minialexnet.data import BatchLoader, Preprocess


def make_loader(n=50, batch_size=16, seed=0, shuffle=True):
    images = (np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 4, 4), np.uint8)).astype(np.uint8)
    labels = np.arange(n) % 10
    pre = Preprocess(input_size=4).fit(images)
    return BatchLoader(images, labels, pre, batch_size, seed=seed, shuffle=shuffle), pre


def test_every_image_once_per_epoch_in_full_and_last_partial_batch():
    loader, pre = make_loader()
    assert len(loader) == 4
    batches = list(loader.epoch(1))
    assert [len(y) for _, y in batches] == [16, 16, 16, 2]
    seen = np.concatenate([np.rint(x[:, 0, 0, 0] + pre.mean_values[0]) for x, _ in batches])
    assert sorted(seen.astype(int).tolist()) == list(range(50))


def test_shuffle_depends_on_seed_and_epoch_only():
    a, _ = make_loader(seed=3)
    b, _ = make_loader(seed=3)
    first = [y.tolist() for _, y in a.epoch(2)]
    assert first == [y.tolist() for _, y in b.epoch(2)]
    assert first != [y.tolist() for _, y in a.epoch(3)]


def test_unshuffled_keeps_order_and_batches_are_float32():
    loader, _ = make_loader(shuffle=False)
    x, y = next(iter(loader))
    assert x.dtype == np.float32 and y.tolist() == list(range(10)) + list(range(6))


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        make_loader(batch_size=0)


def test_resuming_at_a_batch_replays_the_rest_of_the_epoch_exactly():
    """What Ctrl-C relies on: epoch(e, start=k) gives batches k.. of epoch(e), augmentation included."""
    images = np.random.default_rng(0).integers(0, 256, (50, 1, 8, 8), dtype=np.uint8)
    pre = Preprocess(input_size=6, crop_from=7, augment=True, pca_std=0.1).fit(images)
    loader = BatchLoader(images, np.arange(50) % 10, pre, 16, seed=5)
    full = list(loader.epoch(3))
    tail = list(loader.epoch(3, start=2))
    assert len(tail) == 2
    for (x, y), (x_tail, y_tail) in zip(full[2:], tail, strict=True):
        np.testing.assert_array_equal(x, x_tail)
        np.testing.assert_array_equal(y, y_tail)
    assert list(loader.epoch(3, start=len(loader))) == []
    with pytest.raises(ValueError, match="start must be a batch number in \\[0, 4\\]"):
        list(loader.epoch(3, start=5))
