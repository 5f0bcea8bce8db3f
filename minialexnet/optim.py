"""The paper's optimizer and learning-rate schedules. Paper: Section 5 (Details of learning).

Stochastic gradient descent with momentum and weight decay, in the paper's exact form::

    v <- momentum * v - weight_decay * lr * w - lr * dL/dw
    w <- w + v

with momentum 0.9, weight decay 0.0005 and lr 0.01 in the paper. Weight decay enters the
velocity (it is not a separate step) and, as in the paper's formula, applies to every
parameter, biases included. The velocities live on the parameters' device. An engine may
bring its own update with the same state and numbers (``engines.optimizer_class``).

Schedules:

- ``ReduceOnPlateau``: the paper's rule, "divide the learning rate by 10 when the
  validation error rate stopped improving", made precise by a ``patience`` (epochs without
  an improvement larger than ``threshold``) before each division.
- ``StepSchedule``: divide by ``factor`` every ``step_size`` epochs.
- ``CosineSchedule``: not the paper's; half a cosine from the first rate down to zero over a
  run's planned epochs, for a run whose length is fixed in advance (docs/training.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minialexnet.backend import asnumpy, device_of, get_array_module, to_device


class SGD:
    """SGD with momentum and weight decay, as in Section 5. ``step(params, grads)`` updates in place."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 5e-4) -> None:
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError(
                f"SGD: need lr > 0, 0 <= momentum < 1, weight_decay >= 0; got lr={lr}, momentum={momentum}, weight_decay={weight_decay}"
            )
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.velocity: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        """v <- m v - wd lr w - lr g;  w <- w + v, for every named parameter, in place (the gradients are only read)."""
        for name, weight in params.items():
            velocity = self.velocity.get(name)
            if velocity is None:
                velocity = self.velocity[name] = get_array_module(weight).zeros_like(weight)
            velocity *= self.momentum
            velocity -= self.weight_decay * self.lr * weight
            velocity -= self.lr * grads[name]
            weight += velocity

    def state_dict(self) -> dict[str, np.ndarray]:
        """Velocities as host arrays (for checkpoints)."""
        return {name: asnumpy(value) for name, value in self.velocity.items()}

    def load_state_dict(self, state: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        """Restore velocities onto the device of the matching parameters."""
        self.velocity = {}
        for name, value in state.items():
            if name not in params:
                raise ValueError(f"optimizer state has velocity {name!r} but the model has no such parameter")
            if tuple(value.shape) != tuple(params[name].shape):
                raise ValueError(
                    f"optimizer velocity {name}: checkpoint shape {tuple(value.shape)}, model shape {tuple(params[name].shape)}"
                )
            target = params[name]
            self.velocity[name] = to_device(value.astype(target.dtype), device_of(target))


class ReduceOnPlateau:
    """Divide lr by ``factor`` (10) after ``patience`` epochs without a better validation error."""

    def __init__(self, patience: int = 2, factor: float = 10.0, threshold: float = 1e-3, min_lr: float = 1e-6) -> None:
        self.patience, self.factor, self.threshold, self.min_lr = patience, factor, threshold, min_lr
        self.best = float("inf")
        self.bad_epochs = 0

    def step(self, optimizer: SGD, val_error: float) -> float:
        """Record one epoch's validation error; returns the (possibly reduced) learning rate."""
        if val_error < self.best - self.threshold:
            self.best, self.bad_epochs = val_error, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > self.patience:
                optimizer.lr = max(optimizer.lr / self.factor, self.min_lr)
                self.bad_epochs = 0
        return optimizer.lr

    def state_dict(self) -> dict[str, float]:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])


class StepSchedule:
    """Divide lr by ``factor`` every ``step_size`` epochs (the validation error is ignored)."""

    def __init__(self, step_size: int = 10, factor: float = 10.0) -> None:
        self.step_size, self.factor = step_size, factor
        self.epochs = 0

    def step(self, optimizer: SGD, val_error: float) -> float:
        self.epochs += 1
        if self.epochs % self.step_size == 0:
            optimizer.lr /= self.factor
        return optimizer.lr

    def state_dict(self) -> dict[str, float]:
        return {"epochs": self.epochs}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.epochs = int(state["epochs"])


class CosineSchedule:
    """Epoch e (0, 1, ..., epochs - 1) runs at ``lr * (1 + cos(pi * e / epochs)) / 2``: the first at ``lr``, each
    later one lower, the last near zero (the validation error is ignored). ``epochs`` is the run's plan, so a run
    extended on resume follows the longer curve from where it stands; ``lr`` is the first run's rate."""

    def __init__(self, epochs: int, lr: float) -> None:
        self.total, self.base_lr = epochs, float(lr)
        self.epochs = 0

    def step(self, optimizer: SGD, val_error: float) -> float:
        self.epochs += 1
        optimizer.lr = self.base_lr * (1 + math.cos(math.pi * min(self.epochs, self.total) / self.total)) / 2
        return optimizer.lr

    def state_dict(self) -> dict[str, float]:
        return {"epochs": self.epochs, "base_lr": self.base_lr}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.epochs, self.base_lr = int(state["epochs"]), float(state["base_lr"])
