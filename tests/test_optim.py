import math

import numpy as np
import pytest

from minialexnet.backend import asnumpy, to_device
from minialexnet.optim import SGD, CosineSchedule, ReduceOnPlateau, StepSchedule


def test_update_matches_the_papers_formula_by_hand(device):
    # v1 = 0.9*0 - 0.0005*0.1*2 - 0.1*0.5 = -0.0501; w1 = 2 - 0.0501 = 1.9499
    # v2 = 0.9*(-0.0501) - 0.0005*0.1*1.9499 - 0.1*(-1) = 0.054812505; w2 = 2.004712505
    params = {"w": to_device(np.array([2.0]), device)}
    optimizer = SGD(lr=0.1, momentum=0.9, weight_decay=0.0005)
    optimizer.step(params, {"w": to_device(np.array([0.5]), device)})
    assert asnumpy(params["w"])[0] == pytest.approx(1.9499, abs=1e-15)
    assert asnumpy(optimizer.velocity["w"])[0] == pytest.approx(-0.0501, abs=1e-15)
    optimizer.step(params, {"w": to_device(np.array([-1.0]), device)})
    assert asnumpy(optimizer.velocity["w"])[0] == pytest.approx(0.054812505, abs=1e-15)
    assert asnumpy(params["w"])[0] == pytest.approx(2.004712505, abs=1e-15)


def test_update_is_in_place_and_keeps_dtype():
    weight = np.ones(3, np.float32)
    params = {"w": weight}
    SGD().step(params, {"w": np.ones(3, np.float32)})
    assert params["w"] is weight and weight.dtype == np.float32
    assert np.all(weight < 1)


def test_state_round_trip():
    params = {"w": np.ones(2)}
    a = SGD()
    a.step(params, {"w": np.array([1.0, -1.0])})
    b = SGD()
    b.load_state_dict(a.state_dict(), params)
    np.testing.assert_array_equal(b.velocity["w"], a.velocity["w"])
    with pytest.raises(ValueError, match=r"optimizer velocity w: checkpoint shape \(2,\), model shape \(3,\)"):
        b.load_state_dict(a.state_dict(), {"w": np.ones(3)})


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="lr > 0"):
        SGD(lr=0)


def test_plateau_divides_by_ten_after_patience():
    optimizer = SGD(lr=0.01)
    schedule = ReduceOnPlateau(patience=1)
    assert schedule.step(optimizer, 0.5) == 0.01
    assert schedule.step(optimizer, 0.4) == 0.01  # improved
    assert schedule.step(optimizer, 0.4) == 0.01  # 1 bad epoch: within patience
    assert schedule.step(optimizer, 0.41) == pytest.approx(0.001)  # 2nd bad epoch: divide
    assert schedule.step(optimizer, 0.3) == pytest.approx(0.001)


def test_step_schedule():
    optimizer = SGD(lr=1.0)
    schedule = StepSchedule(step_size=2)
    assert [schedule.step(optimizer, 0.0) for _ in range(4)] == [1.0, 0.1, 0.1, pytest.approx(0.01)]


def test_step_leaves_the_gradients_untouched():
    grad = np.arange(6, dtype=np.float32).reshape(2, 3)
    SGD().step({"w": np.ones((2, 3), np.float32)}, {"w": grad})
    np.testing.assert_array_equal(grad, np.arange(6, dtype=np.float32).reshape(2, 3))


def test_cosine_schedule_runs_half_a_cosine_over_the_planned_epochs_and_resumes_on_its_curve():
    optimizer = SGD(lr=0.1)
    schedule = CosineSchedule(epochs=4, lr=0.1)
    rates = [optimizer.lr] + [schedule.step(optimizer, 0.5) for _ in range(3)]  # the rate each of the 4 epochs runs at
    assert rates == pytest.approx([0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    assert rates[1] == pytest.approx(0.1 * (2 + 2**0.5) / 4) and rates[3] < rates[2] < rates[1] < rates[0]
    resumed, later = CosineSchedule(epochs=8, lr=rates[3]), SGD(lr=rates[3])  # resumed with --epochs 8: the longer curve
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.step(later, 0.5) == pytest.approx(0.1 * (1 + math.cos(math.pi * 4 / 8)) / 2)  # from the first run's lr
