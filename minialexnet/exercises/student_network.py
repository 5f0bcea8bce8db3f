"""The student's own small AlexNet, for the lessons after 7: their code where its check passes, the library's elsewhere.

``student_pieces()`` grades each piece quietly and loads the student's module where it
passes and the reference solution (``lessons/solutions``, the library's layer in float64)
where it does not, and says which. ``student_network(pieces)`` assembles lesson 7's network
from them (Figure 2 in miniature: conv -> ReLU -> LRN -> 3x3/2 max-pool -> grouped conv ->
ReLU -> max-pool -> fc -> ReLU -> dropout -> fc, on 1x28x28 images); ``train_student_network``
trains it with the student's loop, SGD and plateau schedule (Section 5).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from minialexnet.exercises.files import load, solutions_dir
from minialexnet.exercises.grading import check
from minialexnet.layers import Flatten

PIECES = ("linear", "relu", "softmax_cross_entropy", "conv", "maxpool", "lrn", "dropout", "sequential", "sgd", "train_loop", "schedule")


def student_pieces(quiet: bool = False) -> dict[str, ModuleType]:
    """Each piece's module: the student's where its check passes, else the reference solution; prints which unless quiet."""
    modules, fallbacks = {}, []
    for name in PIECES:
        passed = check(name, quiet=True).passed
        modules[name] = load(name) if passed else load(name, solutions_dir())
        if not passed:
            fallbacks.append(name)
    if not quiet:
        mine = [name for name in PIECES if name not in fallbacks]
        print("yours:", ", ".join(mine) or "none yet")
        print("the library's, until yours passes its check:", ", ".join(fallbacks) or "none")
    return modules


def student_network(pieces: dict[str, ModuleType], seed: int = 0) -> Any:
    """Lesson 7's small AlexNet from ``pieces``: input (N, 1, 28, 28) -> logits (N, 10); conv2 has groups=2 (Section 3.2)."""
    rng = np.random.default_rng(seed)
    Conv2d, ReLU, Linear = pieces["conv"].Conv2d, pieces["relu"].ReLU, pieces["linear"].Linear
    fc8 = Linear(64, 10, rng=rng)
    fc8.params["W"] *= 0.01  # logits near 0 at the start: the first loss is ln 10 (lesson 7's sanity check 1)
    return pieces["sequential"].Sequential(
        ("conv1", Conv2d(1, 8, 5, padding=2, rng=rng)),
        ("relu1", ReLU()),
        ("norm1", pieces["lrn"].LocalResponseNorm()),
        ("pool1", pieces["maxpool"].MaxPool2d(3, 2)),
        ("conv2", Conv2d(8, 16, 3, padding=1, groups=2, rng=rng)),
        ("relu2", ReLU()),
        ("pool2", pieces["maxpool"].MaxPool2d(3, 2)),
        ("flatten", Flatten()),
        ("fc6", Linear(16 * 6 * 6, 64, rng=rng)),
        ("relu6", ReLU()),
        ("drop6", pieces["dropout"].Dropout(0.5, seed=seed)),
        ("fc8", fc8),
    )


def train_student_network(
    pieces: dict[str, ModuleType],
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    epochs: int,
    lr: float = 0.02,
    seed: int = 0,
    on_epoch: Callable[[list[dict[str, float]]], None] | None = None,
) -> tuple[Any, list[dict[str, float]]]:
    """Train ``student_network`` with the pieces' loop, SGD (momentum 0.9, weight decay 5e-4) and plateau schedule.

    Returns the network and one row per epoch, named as train's (``training.history``): ``epoch``,
    ``train_loss``, ``val_top1_error`` and the ``lr`` used. ``on_epoch``, when given, is handed the
    rows so far after every epoch (lesson 8 draws them with ``plots.LiveCurves``).
    """
    network, loop = student_network(pieces, seed), pieces["train_loop"]
    loss_layer = pieces["softmax_cross_entropy"].SoftmaxCrossEntropy()
    optimizer = pieces["sgd"].SGD(lr=lr, momentum=0.9, weight_decay=5e-4)
    schedule = pieces["schedule"].ReduceOnPlateau(patience=0)
    rng, history = np.random.default_rng(seed), []
    for epoch in range(1, epochs + 1):
        used = optimizer.lr
        loss = loop.train_epoch(network, loss_layer, optimizer, *train, 50, rng)
        error = 1.0 - float(loop.evaluate(network, *validation))
        schedule.step(optimizer, error)
        history.append({"epoch": epoch, "train_loss": float(loss), "val_top1_error": error, "lr": used})
        if on_epoch is not None:
            on_epoch(history)
    return network, history
