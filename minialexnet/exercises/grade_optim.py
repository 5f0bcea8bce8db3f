"""Grading the optimizer's exercises: the paper's SGD (lesson 7) and its learning-rate schedule (lesson 8).

- ``sgd``: five steps over a schedule whose learning rate drops by 10 twice, against
  v <- m v - wd lr w - lr g; w <- w + v (Section 5), the usual variants named when they are
  what was written (PyTorch's form among them).
- ``schedule``: "divide the learning rate by 10 when the validation error stops improving"
  (Section 5), against the grader's own rule on a fixed error curve.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from minialexnet.exercises.harness import StudentError, Watch, as_array, attribute, build, near
from minialexnet.gradcheck import DEFAULT_THRESHOLD, relative_error

# ---------------------------------------------------------------- SGD (lesson 7): five steps against the formula


def _sgd_trajectory(params: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]], m: float, wd: float, rule: str) -> list:
    """Parameters after each step (at the learning rates of ``SGD_SCHEDULE``) under ``rule`` ("paper" or a typical mistake)."""
    w = {key: value.copy() for key, value in params.items()}
    v = {key: np.zeros_like(value) for key, value in params.items()}
    after = []
    for lr, g in zip(SGD_SCHEDULE, grads, strict=True):
        for key in w:
            if rule == "fresh velocity":
                v[key] = np.zeros_like(w[key])
            if rule == "pytorch":  # v <- m v + g + wd w;  w <- w - lr v: the paper's update only while lr is constant
                v[key] = m * v[key] + g[key] + wd * w[key]
                w[key] = w[key] - lr * v[key]
                continue
            decay = {"no weight decay": 0.0, "decay without lr": wd * w[key]}.get(rule, wd * lr * w[key])
            v[key] = m * v[key] - decay - lr * g[key]
            w[key] = w[key] - v[key] if rule == "minus velocity" else w[key] + v[key]
        after.append({key: value.copy() for key, value in w.items()})
    return after


SGD_SCHEDULE = (0.1, 0.1, 0.01, 0.01, 0.001)  # the paper's schedule in miniature: lr / 10 twice (Section 5)
SGD_MISTAKES = {
    "no weight decay": "the weight decay term is missing: v <- m v - wd lr w - lr g",
    "decay without lr": "the weight decay term must be multiplied by lr as well: - wd * lr * w",
    "fresh velocity": "the velocity must persist between steps: keep one per parameter name in self.velocity",
    "minus velocity": "you subtracted the velocity: w <- w + v (v already holds the minus sign)",
    "pytorch": (
        "this is PyTorch's form (v <- m v + g; w <- w - lr v): it equals the paper's only while lr stays fixed; after lr / 10 "
        "the old velocity still moves w at the old rate. Write the paper's: v <- m v - wd lr w - lr g; w <- w + v"
    ),
}


def grade_sgd(module: ModuleType, seed: int) -> float:
    """Five steps with the learning rate divided by 10 twice in between (``optimizer.lr`` set, as a schedule does)."""
    rng = np.random.default_rng(seed)
    m, wd = 0.8, 0.05  # distinct values, so that a mix-up shows
    optimizer = build("SGD(lr, momentum, weight_decay)", lambda: attribute(module, "SGD")(lr=SGD_SCHEDULE[0], momentum=m, weight_decay=wd))
    watch = Watch(module)
    start = {"fc.W": rng.standard_normal((3, 4)), "fc.b": rng.standard_normal(3)}
    grads = [{key: rng.standard_normal(value.shape) for key, value in start.items()} for _ in SGD_SCHEDULE]
    params = {key: value.copy() for key, value in start.items()}
    arrays = dict(params)
    got = []
    for step, (lr, g) in enumerate(zip(SGD_SCHEDULE, grads, strict=True), 1):
        optimizer.lr = lr
        given = {key: value.copy() for key, value in g.items()}
        watch.call("SGD.step", optimizer.step, params, given)
        if any(not np.array_equal(given[key], g[key]) for key in g):
            raise StudentError("SGD.step changed the gradients: only read them")
        for key, array in arrays.items():
            if params.get(key) is not array:
                raise StudentError(f"SGD.step replaced params[{key!r}] by a new array: update it in place (w += v) so the model sees it")
        got.append({key: as_array(f"params[{key!r}] after step {step}", value, start[key].shape).copy() for key, value in params.items()})
    expected = _sgd_trajectory(start, grads, m, wd, "paper")
    steps = range(len(SGD_SCHEDULE))
    errors = [relative_error(got[s][key], expected[s][key]) for s in steps for key in start]
    if max(errors) < DEFAULT_THRESHOLD:
        return max(errors)
    variants = {rule: _sgd_trajectory(start, grads, m, wd, rule) for rule in SGD_MISTAKES}
    for rule, hint in SGD_MISTAKES.items():
        if all(relative_error(got[s][key], variants[rule][s][key]) < 1e-9 for s in steps for key in start):
            raise StudentError(hint)
    for key in start:  # one parameter under a mistake, the others right (no weight decay on the biases, say)
        if not all(relative_error(got[s][other], expected[s][other]) < 1e-9 for s in steps for other in start if other != key):
            continue
        for rule, hint in SGD_MISTAKES.items():
            if all(relative_error(got[s][key], variants[rule][s][key]) < 1e-9 for s in steps):
                every = " (the paper decays every parameter, the biases too)" if rule == "no weight decay" else ""
                raise StudentError(f"params[{key!r}] alone is wrong: {hint}{every}")
    first_wrong = next(s for s in steps if any(relative_error(got[s][key], expected[s][key]) >= DEFAULT_THRESHOLD for key in start))
    raise StudentError(
        f"step {first_wrong + 1} (lr {SGD_SCHEDULE[first_wrong]}) differs from v <- m v - wd lr w - lr g; w <- w + v "
        f"(relative error {max(errors):.1e})"
    )


# ---------------------------------------------------------------- the plateau schedule (lesson 8)

ERRORS = (0.50, 0.40, 0.35, 0.3499, 0.36, 0.352, 0.30, 0.31, 0.32, 0.33, 0.29, 0.2895, 0.2893, 0.2891)


def _schedule(errors: tuple[float, ...], lr: float, patience: int, threshold: float) -> list[float]:
    """lr after each epoch: divided by 10 once ``patience`` epochs in a row failed to beat the best by ``threshold``."""
    best, waited, rates = float("inf"), 0, []
    for error in errors:
        if error < best - threshold:
            best, waited = error, 0
        else:
            waited += 1
            if waited > patience:
                lr, waited = lr / 10, 0
        rates.append(lr)
    return rates


class _Optimizer:
    def __init__(self, lr: float) -> None:
        self.lr = lr


def grade_schedule(module: ModuleType, seed: int) -> float:
    watch = Watch(module)
    for patience, threshold in ((2, 1e-3), (1, 0.0), (3, 0.01)):
        schedule = build(
            f"ReduceOnPlateau(patience={patience}, threshold={threshold})",
            lambda p=patience, t=threshold: attribute(module, "ReduceOnPlateau")(patience=p, threshold=t),
        )
        optimizer, expected = _Optimizer(0.01), _schedule(ERRORS, 0.01, patience, threshold)
        for epoch, (error, wanted) in enumerate(zip(ERRORS, expected, strict=True), 1):
            returned = watch.call("ReduceOnPlateau.step", schedule.step, optimizer, error)
            if not near(optimizer.lr, wanted):
                raise StudentError(
                    f"with patience {patience} and threshold {threshold}, after epoch {epoch} (validation errors {list(ERRORS[:epoch])}) "
                    f"lr is {optimizer.lr:g}, expected {wanted:g}: divide lr by 10 once the error has not beaten the best by more than "
                    "threshold for more than patience epochs in a row, then count again"
                )
            if returned is None or not near(float(returned), wanted):
                raise StudentError(f"ReduceOnPlateau.step returned {returned!r}: return the learning rate it leaves in optimizer.lr")
    return float("nan")
