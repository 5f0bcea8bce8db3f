"""SGD for the GPU engine: optim.SGD's update (Section 5) in one kernel pass over each parameter."""

from __future__ import annotations

from typing import Any

from minialexnet import optim
from minialexnet.backend import get_array_module
from minialexnet.cuda.launch import launch


class SGD(optim.SGD):
    """optim.SGD with ``step`` as one ``sgd_update`` launch a parameter (instead of five elementwise passes); same state, same numbers."""

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        for name, weight in params.items():
            velocity = self.velocity.get(name)
            if velocity is None:
                velocity = self.velocity[name] = get_array_module(weight).zeros_like(weight)
            grad = grads[name] if grads[name].flags.c_contiguous else grads[name].copy()
            lr, momentum, weight_decay = (weight.dtype.type(value) for value in (self.lr, self.momentum, self.weight_decay))
            launch("sgd_update", weight.size, weight, grad, velocity, weight.size, lr, momentum, weight_decay)
