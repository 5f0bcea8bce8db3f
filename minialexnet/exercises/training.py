"""Grading the chain rule (Sequential), the SGD step and the training loop."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.harness import BATCH, FORWARD_TOLERANCE, StudentError, Watch, as_array, attribute, build, near
from minialexnet.gradcheck import DEFAULT_THRESHOLD, numerical_gradient, relative_error
from minialexnet.layers import Dropout, Flatten, Layer, Linear, ReLU, Sequential, SoftmaxCrossEntropy
from minialexnet.optim import SGD

# ---------------------------------------------------------------- sequential: the chain rule, with probe layers


class _Probe(Layer):
    """A grader's layer that logs its calls: "scale" (x * w), "tanh", or "shift" (x + b)."""

    def __init__(self, kind: str, size: int, log: list[tuple[str, str, Any]], rng: np.random.Generator) -> None:
        super().__init__()
        self.kind, self.log = kind, log
        self.params = {"scale": {"w": rng.standard_normal(size)}, "tanh": {}, "shift": {"b": rng.standard_normal(size)}}[kind]
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x: Any, train: bool = True) -> Any:
        self.log.append(("forward", self.kind, train))
        self.cache = x
        if self.kind == "scale":
            return x * self.params["w"]
        return np.tanh(x) if self.kind == "tanh" else x + self.params["b"]

    def backward(self, dout: Any) -> Any:
        self.log.append(("backward", self.kind, np.array(dout, copy=True)))
        x = self.cache
        if self.kind == "scale":
            self.grads["w"] = (dout * x).sum(axis=0)
            return dout * self.params["w"]
        if self.kind == "tanh":
            return dout * (1 - np.tanh(x) ** 2)
        self.grads["b"] = dout.sum(axis=0)
        return dout.copy()


def grade_sequential(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    log: list[tuple[str, str, Any]] = []
    kinds = ("scale", "tanh", "shift")
    probes = [_Probe(kind, 4, log, rng) for kind in kinds]
    model = build("Sequential(...)", lambda: attribute(module, "Sequential")(*zip(kinds, probes, strict=True)))
    watch = Watch(module)
    x = rng.standard_normal((BATCH, 4))
    w, b = probes[0].params["w"], probes[2].params["b"]
    expected = np.tanh(x * w) + b
    for train in (True, False):
        log.clear()
        out = watch.call("Sequential.forward", model.forward, x.copy(), train=train)
        order = [kind for call, kind, _ in log if call == "forward"]
        if order != list(kinds):
            raise StudentError(f"forward called the layers {order}: go through the list once, first to last ({list(kinds)})")
        if any(flag is not train for _, _, flag in log):
            raise StudentError(f"forward(x, train={train}) must pass train={train} on to every layer (dropout depends on it)")
        out = as_array("Sequential.forward's output", out, expected.shape)
        if relative_error(out, expected) > FORWARD_TOLERANCE:
            raise StudentError("Sequential.forward does not return the last layer's output")
    watch.call("Sequential.forward", model.forward, x.copy(), train=True)
    log.clear()
    dout = rng.standard_normal(expected.shape)
    given = dout.copy()
    dx = watch.call("Sequential.backward", model.backward, given, in_backward=True)
    if not np.array_equal(given, dout):
        raise StudentError("Sequential.backward changed dout in place: dout belongs to the caller")
    if any(call == "forward" for call, _, _ in log):
        raise StudentError("Sequential.backward called a layer's forward: backward only goes back, through each layer's backward")
    order = [kind for _, kind, _ in log]
    if order != list(reversed(kinds)):
        raise StudentError(f"backward called the layers {order}: each once, in reverse order ({list(reversed(kinds))})")
    upstream = {kind: received for _, kind, received in log}
    dtanh = dout * (1 - np.tanh(x * w) ** 2)
    for kind, wanted in (("tanh", dout), ("scale", dtanh)):
        if relative_error(upstream[kind], wanted) > FORWARD_TOLERANCE:
            after = kinds[kinds.index(kind) + 1]
            raise StudentError(
                f"layer {kind!r} got the wrong dout: pass each layer the gradient returned by the layer after it ({after!r})"
            )
    dx = as_array("Sequential.backward's dx", dx, x.shape)
    numeric = numerical_gradient(lambda _: np.tanh(x * w) + b, x, dout)
    error = relative_error(dx, numeric)
    if error > DEFAULT_THRESHOLD:
        raise StudentError(f"Sequential.backward must return the first layer's dx (relative error {error:.1e})")
    grads = getattr(model, "grads", {})
    if sorted(grads) != ["scale.w", "shift.b"]:
        raise StudentError(f'Sequential.grads has {sorted(grads)}: expected "<layer>.<key>" names ["scale.w", "shift.b"]')
    return max(error, relative_error(grads["shift.b"], dout.sum(axis=0)))


# ---------------------------------------------------------------- SGD: three steps against the formula


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


# ---------------------------------------------------------------- the training loop, on a small problem

TRAIN_BATCH, EVALUATE_BATCH, EPOCHS = 16, 25, 12  # 60 images: batches of 16, 16, 16, 12


class WatchedModel(Sequential):
    """A small classifier that logs the batches it is given and the calls made on it."""

    def __init__(self, log: list[tuple[Any, ...]], rng: np.random.Generator) -> None:
        super().__init__(
            ("flatten", Flatten()),
            ("fc1", Linear(4, 16, rng=rng, dtype=np.float64)),
            ("relu", ReLU()),
            ("drop", Dropout(0.2, seed=0)),
            ("fc2", Linear(16, 3, rng=rng, dtype=np.float64)),
        )
        self.log = log

    def forward(self, x: Any, train: bool | None = None) -> Any:
        self.log.append(("forward", np.array(x, copy=True), self.training if train is None else train))
        return super().forward(x, train)

    def backward(self, dout: Any) -> Any:
        self.log.append(("backward",))
        return super().backward(dout)


class WatchedLoss(SoftmaxCrossEntropy):
    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.log = log

    def forward(self, logits: Any, labels: Any) -> float:  # type: ignore[override]
        loss = super().forward(logits, labels)
        self.log.append(("loss", np.array(labels, copy=True), loss))
        return loss


class WatchedSGD(SGD):
    def __init__(self, log: list[tuple[Any, ...]], model: Sequential) -> None:
        super().__init__(lr=0.1, momentum=0.9, weight_decay=5e-4)
        self.log, self.model = log, model

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        self.log.append(("step", sorted(params) == sorted(self.model.params) and sorted(grads) == sorted(self.model.params)))
        super().step(params, grads)


def _problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """60 images of 1 x 2 x 2 pixels in 3 well separated classes, each image distinct."""
    rng = np.random.default_rng(seed)
    labels = np.arange(60) % 3
    centres = rng.standard_normal((3, 1, 2, 2)) * 3
    return centres[labels] + 0.5 * rng.standard_normal((60, 1, 2, 2)), labels


def _which_images(batches: list[np.ndarray], images: np.ndarray) -> list[int]:
    index = {image.tobytes(): n for n, image in enumerate(images)}
    return [index.get(np.ascontiguousarray(image, dtype=np.float64).tobytes(), -1) for batch in batches for image in batch]


def _float(what: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise StudentError(f"{what} returned {type(value).__name__}: return a float") from None


def _check_epoch(log: list[tuple[Any, ...]], images: np.ndarray, labels: np.ndarray, batch_size: int, value: float) -> None:
    """One epoch's calls: every image once, shuffled, forward/loss/backward/step per batch, the mean loss returned."""
    forwards = [entry for entry in log if entry[0] == "forward"]
    batches, used = len(forwards), _which_images([entry[1] for entry in forwards], images)
    if -1 in used:
        raise StudentError("train_epoch gave the model images that are not in the training set (changed or reshaped?)")
    missing = sorted(set(range(len(images))) - set(used))
    if missing:
        raise StudentError(
            f"{len(missing)} of {len(images)} images were never used in the epoch (the last, smaller batch?): every image once"
        )
    if len(used) != len(images):
        raise StudentError(f"the epoch used {len(used)} images for {len(images)}: every image exactly once")
    if any(len(entry[1]) > batch_size for entry in forwards):
        raise StudentError("a batch held more than batch_size images")
    if not all(entry[2] for entry in forwards):
        raise StudentError("train_epoch must call model.forward(x, train=True): dropout is on in training")
    calls = [entry[0] for entry in log]
    if calls.count("step") != batches:
        raise StudentError(f"optimizer.step was called {calls.count('step')} times for {batches} batches: once per batch")
    if calls.count("backward") != batches or calls.count("loss") != batches:
        raise StudentError(
            f"{batches} batches but {calls.count('loss')} losses and {calls.count('backward')} backward passes: one each per batch"
        )
    if calls != ["forward", "loss", "backward", "step"] * batches:
        raise StudentError("each batch must run forward, loss, backward, step in this order")
    if not all(entry[1] for entry in log if entry[0] == "step"):
        raise StudentError("optimizer.step must get model.params and model.grads")
    if not np.array_equal(np.concatenate([entry[1] for entry in log if entry[0] == "loss"]), labels[used]):
        raise StudentError("the labels given to the loss do not belong to the images: index both with the same permutation")
    if used == sorted(used):
        raise StudentError("the images came in their stored order: shuffle them each epoch with rng.permutation")
    batch_losses = [(len(entry[1]), entry[2]) for entry in log if entry[0] == "loss"]
    weighted = sum(n * loss for n, loss in batch_losses) / len(images)
    plain = sum(loss for _, loss in batch_losses) / len(batch_losses)
    if near(value, plain) and not near(value, weighted):
        raise StudentError(
            f"train_epoch returned {value:.6g}, the plain mean of the batch losses: weight each by its batch's size "
            f"(the last batch is smaller), {weighted:.6g}"
        )
    if not near(value, weighted):
        raise StudentError(f"train_epoch returned {value:.6g}, but the epoch's mean loss was {weighted:.6g}")


def _check_evaluate(log: list[tuple[Any, ...]], model: Sequential, images: np.ndarray, labels: np.ndarray, accuracy: float) -> None:
    """evaluate's calls: eval mode, batches, every image once, no updates, the right fraction."""
    forwards = [entry for entry in log if entry[0] == "forward"]
    if any(entry[0] in ("backward", "step") for entry in log):
        raise StudentError("evaluate must not call backward or the optimizer: it only measures")
    if not forwards or any(entry[2] for entry in forwards):
        raise StudentError("evaluate must call model.forward(x, train=False): dropout is off when measuring")
    if any(len(entry[1]) > EVALUATE_BATCH for entry in forwards):
        raise StudentError("evaluate gave the model more than batch_size images at once: work in batches")
    if sorted(_which_images([entry[1] for entry in forwards], images)) != list(range(len(images))):
        raise StudentError("evaluate must look at every image exactly once")
    expected = float(np.mean(np.argmax(Sequential.forward(model, images, train=False), axis=1) == labels))
    if near(accuracy, 100 * expected) and expected > 0:
        raise StudentError("evaluate returned a percentage: return the fraction in [0, 1]")
    if not near(accuracy, expected):
        raise StudentError(f"evaluate returned {accuracy:.4g}, but the model classifies {expected:.4g} of the images correctly")


def grade_train_loop(module: ModuleType, seed: int) -> float:
    train_epoch, evaluate = attribute(module, "train_epoch"), attribute(module, "evaluate")
    images, labels = _problem(seed)
    log: list[tuple[Any, ...]] = []
    model = WatchedModel(log, np.random.default_rng(seed))
    loss_layer, optimizer = WatchedLoss(log), WatchedSGD(log, model)
    watch = Watch(module, library=("minialexnet.train", "minialexnet.evaluate"))  # the model and optimizer are the library's
    orders, losses = [], []
    for epoch in range(EPOCHS):
        log.clear()
        rng = np.random.default_rng(epoch)
        value = _float(
            "train_epoch",
            watch.call("train_epoch", train_epoch, model, loss_layer, optimizer, images.copy(), labels.copy(), TRAIN_BATCH, rng),
        )
        if epoch == 0:
            _check_epoch(log, images, labels, TRAIN_BATCH, value)
        orders.append(_which_images([entry[1] for entry in log if entry[0] == "forward"], images))
        if epoch == 1 and orders[1] == orders[0]:
            raise StudentError("every epoch used the same order: draw a new permutation each epoch from rng")
        losses.append(value)
    log.clear()
    watch.call(
        "train_epoch", train_epoch, model, loss_layer, optimizer, images.copy(), labels.copy(), TRAIN_BATCH, np.random.default_rng(0)
    )
    if _which_images([entry[1] for entry in log if entry[0] == "forward"], images) != orders[0]:
        raise StudentError(
            "the same rng (np.random.default_rng(0)) gave another order the second time: shuffle with the rng argument, "
            "rng.permutation(len(images)), not np.random's global state, so that a run can be repeated"
        )
    if not losses[-1] < 0.5 * losses[0]:
        raise StudentError(f"the loss did not go down: {losses[0]:.3g} in the first epoch, {losses[-1]:.3g} in epoch {EPOCHS}")
    log.clear()
    accuracy = _float("evaluate", watch.call("evaluate", evaluate, model, images.copy(), labels.copy(), EVALUATE_BATCH))
    _check_evaluate(log, model, images, labels, accuracy)
    return float("nan")  # nothing is compared to a tolerance
