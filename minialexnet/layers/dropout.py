"""Dropout on the outputs of fc6 and fc7. Paper: Section 4.2.

Notation: x the input, any shape; p the probability of DROPPING a unit (0.5 in the
paper); mask[i] = 1 with probability 1 - p, else 0.

Inverted dropout: while training, out = x * mask / (1 - p); in evaluation, out = x.
The paper instead keeps out = x * mask while training and multiplies by 1 - p = 0.5 at
test time. Both give the test-time network the same expected activations as the
training-time ones; the inverted form does the rescaling during training, so the
evaluated network is just the plain network (no test-time factor to forget), and the
learned weights differ only by that constant factor.

Shapes: x (any) -> out (same). Backward: dx = dout * mask / (1 - p).
Masks come from a seedable generator kept by the layer, so a run is reproducible and a
gradient check can replay one mask (``get_rng_state``/``set_rng_state``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout, ``p`` = probability of dropping. Section 4.2. Identity when train=False."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping and must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

    def _draw_mask(self, x: Any) -> Any:
        xp = get_array_module(x)
        # uniform numbers are drawn on the host so CPU and GPU runs with one seed drop the
        # same units; for the fc layers' (N, 4096) this is a small transfer.
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        return xp.asarray(keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p)))

    def forward(self, x: Any, train: bool = True) -> Any:
        if not train or self.p == 0.0:
            self.cache = None
            return x
        mask = self._draw_mask(x)
        self.cache = mask
        return x * mask

    def backward(self, dout: Any) -> Any:
        mask = self.cache
        return dout if mask is None else dout * mask

    def get_rng_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_rng_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
