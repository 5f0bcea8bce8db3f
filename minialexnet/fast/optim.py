"""SGD on all the CPU's cores. Twin of ``minialexnet.optim.SGD`` (Section 5): the same update,
state and numbers.

What it changes: a large parameter is updated a slice at a time on every core
(parallel.py), with one small per-thread scratch array for the terms, so a slice's five
operations run in cache and no temporary the size of AlexNet's 62M parameters (250 MB) is
ever allocated.
"""

from __future__ import annotations

from typing import Any

from minialexnet import optim
from minialexnet.backend import get_array_module
from minialexnet.fast.parallel import for_each_slice, slice_scratch


class SGD(optim.SGD):
    """optim.SGD with ``step`` done in slices on every core, with scratch reused per thread; the same numbers."""

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        for name, weight in params.items():
            grad = grads[name]
            xp = get_array_module(weight)
            velocity = self.velocity.get(name)
            if velocity is None:
                velocity = self.velocity[name] = xp.zeros_like(weight)
            if not all(a.flags.c_contiguous for a in (weight, grad, velocity)):
                self._update(weight, grad, velocity)
                continue
            w, g, v = weight.reshape(-1), grad.reshape(-1), velocity.reshape(-1)
            for_each_slice(xp, w.size, lambda s, w=w, g=g, v=v: self._update(w[s], g[s], v[s]), 3 * w.itemsize)

    def _update(self, weight: Any, grad: Any, velocity: Any) -> None:
        """The reference update on one (slice of a) parameter, in place, its terms in this thread's scratch."""
        xp = get_array_module(weight)
        term = xp.multiply(weight, -self.weight_decay * self.lr, out=slice_scratch("term", weight.shape, weight))
        velocity *= self.momentum
        velocity += term  # m v - wd lr w
        xp.multiply(grad, -self.lr, out=term)
        velocity += term  # m v - wd lr w - lr g
        weight += velocity
