"""Grading the loops over the data: lesson 7's training loop and lesson 12's data-parallel step.

- ``train_loop`` (lesson 7): one epoch and ``evaluate`` on a small problem whose last batch is
  smaller, watched call by call (every image once, shuffled by ``rng``, forward, loss,
  backward, step per batch, the loss weighted by batch size).
- ``data_parallel`` (lesson 12): one step split over K shares of an uneven batch must give the
  gradients of one process on the whole batch (relative 1e-12), on layers that reuse their
  gradient arrays as the fast engine's do.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.harness import StudentError, Watch, attribute, near
from minialexnet.layers import Dropout, Flatten, Linear, ReLU, Sequential, SoftmaxCrossEntropy
from minialexnet.optim import SGD

# ---------------------------------------------------------------- the training loop (lesson 7), on a small problem

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


# ---------------------------------------------------------------- the data-parallel step (lesson 12)


class _BufferedLinear(Linear):
    """Linear whose backward writes its gradients into the same two arrays every time, as the fast engine's layers do:
    a reference to model.grads kept from one share is overwritten by the next share's backward."""

    def backward(self, dout: Any) -> Any:
        buffers = dict(self.grads)
        dx = super().backward(dout)
        for key, buffer in buffers.items():
            buffer[...] = self.grads[key]
        self.grads = buffers
        return dx


def _network(rng: np.random.Generator) -> Sequential:
    return Sequential(
        ("fc1", _BufferedLinear(5, 6, rng=rng, dtype=np.float64)),
        ("relu", ReLU()),
        ("fc2", _BufferedLinear(6, 3, rng=rng, dtype=np.float64)),
    )


def grade_data_parallel(module: ModuleType, seed: int) -> float:
    rng = np.random.default_rng(seed)
    step = attribute(module, "data_parallel_grads")
    watch = Watch(module, library=())
    worst = 0.0
    for N, ranks in ((10, 3), (7, 2), (4, 4), (6, 1)):
        images, labels = rng.standard_normal((N, 5)), rng.integers(0, 3, N)
        one, many = _network(np.random.default_rng(seed)), _network(np.random.default_rng(seed))
        loss_layer = SoftmaxCrossEntropy()
        expected_loss = loss_layer.forward(one.forward(images, train=True), labels)
        one.backward(loss_layer.backward())
        expected = {key: value.copy() for key, value in one.grads.items()}
        result = watch.call("data_parallel_grads", step, many, SoftmaxCrossEntropy(), images.copy(), labels.copy(), ranks)
        if not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[1], dict):
            raise StudentError("data_parallel_grads must return (loss, grads): the batch's mean loss and a dict like model.grads")
        loss, grads = result
        setting = f"[a batch of {N} over {ranks} ranks]"
        if sorted(grads) != sorted(expected):
            raise StudentError(f"grads has {sorted(grads)}, expected model.grads' names {sorted(expected)} {setting}")
        errors = {key: float(np.abs(np.asarray(grads[key]) - value).max() / np.abs(value).max()) for key, value in expected.items()}
        if max(errors.values()) > 1e-12:
            key = max(errors, key=errors.get)
            shares = np.array_split(np.arange(N), ranks)
            last = _last_share(shares[-1], images, labels, seed)
            weight = len(shares[-1]) / N
            if any(np.allclose(np.asarray(grads[key]), factor * last[key], rtol=1e-12) for factor in (1.0, 1 / weight)):
                raise StudentError(
                    f"grads are the last share's only: the next backward overwrites model.grads in place (this network's layers "
                    f"reuse their gradient arrays, as the fast engine's do), so copy them (value.copy()) after each share {setting}"
                )
            raise StudentError(
                f"grads[{key!r}] differs from one process's on the whole batch (relative {errors[key]:.1e}): "
                f"each rank's loss is the mean over "
                f"its share, so weight rank r's gradient by its share n_r / N (unequal shares here) {setting}"
            )
        if not near(float(loss), float(expected_loss)):
            raise StudentError(
                f"the loss {float(loss):.6g} is not the batch's mean {expected_loss:.6g}: weight each share's mean by n_r / N {setting}"
            )
        worst = max(worst, *errors.values())
    return worst


def _last_share(share: np.ndarray, images: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    model, loss_layer = _network(np.random.default_rng(seed)), SoftmaxCrossEntropy()
    loss_layer.forward(model.forward(images[share], train=True), labels[share])
    model.backward(loss_layer.backward())
    return {key: value * len(share) / len(images) for key, value in model.grads.items()}
