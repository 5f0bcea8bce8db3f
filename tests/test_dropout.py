import numpy as np
import pytest

from minialexnet.backend import asnumpy, to_device
from minialexnet.fast import Dropout
from minialexnet.gradcheck import check_layer


def test_p_is_the_drop_probability_and_kept_units_are_scaled(device):
    layer = Dropout(p=0.25, seed=0)
    x = to_device(np.ones((400, 500), np.float32), device)
    out = asnumpy(layer.forward(x, train=True))
    kept = out != 0
    assert abs(1 - kept.mean() - 0.25) < 0.005
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert out.dtype == np.float32
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved


def test_eval_is_identity():
    layer = Dropout(0.5, seed=0)
    x = np.arange(6.0)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones(6)), np.ones(6))


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, seed=3)
    out = layer.forward(np.ones((10, 10)))
    dx = layer.backward(np.full((10, 10), 3.0))
    np.testing.assert_array_equal(dx, out * 3.0)


def test_same_seed_same_mask_and_state_replay():
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    x = np.ones((8, 16))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    state = a.get_rng_state()
    first = a.forward(x)
    a.set_rng_state(state)
    np.testing.assert_array_equal(a.forward(x), first)
    assert not np.array_equal(a.forward(x), first)


def test_gradient_check(rng, device):
    report = check_layer(Dropout(0.5, seed=1).to(device), to_device(rng.standard_normal((6, 9)), device))
    assert report.passed, report.table()


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_bad_p(p):
    with pytest.raises(ValueError, match="probability of dropping"):
        Dropout(p)


def test_mask_does_not_depend_on_how_the_batch_is_split():
    """Shares of a batch, each with its row_offset, draw exactly the whole batch's mask (data parallelism)."""
    whole = Dropout(0.5, seed=11).forward(np.ones((10, 7)))
    parts = []
    for start, stop in ((0, 3), (3, 4), (4, 10)):
        share = Dropout(0.5, seed=11)
        share.row_offset = start
        parts.append(share.forward(np.ones((stop - start, 7))))
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_masks_are_uncorrelated_across_units_images_and_steps():
    layer = Dropout(0.5, seed=5)
    masks = np.stack([layer.forward(np.ones((64, 256))) != 0 for _ in range(4)]).astype(np.float64)
    assert abs(masks.mean() - 0.5) < 0.01
    centred = masks.reshape(4, -1) - masks.mean()
    between_steps = np.corrcoef(centred)[np.triu_indices(4, 1)]
    assert np.abs(between_steps).max() < 0.02
    neighbours = [np.corrcoef(masks[0, :, :-1].ravel(), masks[0, :, 1:].ravel())[0, 1]]  # unit j and j + 1
    neighbours.append(np.corrcoef(masks[0, :-1].ravel(), masks[0, 1:].ravel())[0, 1])  # image n and n + 1
    assert np.abs(neighbours).max() < 0.03


def test_seeds_give_different_masks_and_state_is_two_integers():
    a, b = Dropout(0.5, seed=1), Dropout(0.5, seed=2)
    x = np.ones((16, 32))
    assert (a.forward(x) != b.forward(x)).mean() > 0.4
    assert a.get_rng_state() == {"seed": 1, "masks_drawn": 1}


def test_old_generator_state_is_refused_with_advice():
    with pytest.raises(ValueError, match="start the run afresh"):
        Dropout(0.5, seed=0).set_rng_state({"bit_generator": "PCG64", "state": {}})


def test_backward_before_forward_and_a_wrong_dout_say_what_to_do():
    layer = Dropout(0.5, seed=0)
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones(3))
    layer.forward(np.ones((2, 3)), train=False)
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\) but forward's output had shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))
