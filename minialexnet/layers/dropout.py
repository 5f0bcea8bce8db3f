"""Dropout on the outputs of fc6 and fc7. Paper: Section 4.2. Fast twin: ``minialexnet/fast/dropout.py``.

Notation: x the input, any shape (N, ...); p the probability of DROPPING a unit (0.5 in
the paper); mask[n, j] = 1 with probability 1 - p, else 0.

Inverted dropout: while training, out = x * mask / (1 - p); in evaluation, out = x.
The paper instead keeps out = x * mask while training and multiplies by 1 - p = 0.5 at
test time. Both give the test-time network the same expected activations as the
training-time ones; the inverted form does the rescaling during training, so the
evaluated network is just the plain network (no test-time factor to forget), and the
learned weights differ only by that constant factor.

Shapes: x (N, ...) -> out (same). Backward: dx = dout * mask / (1 - p).

The mask comes from a counter-based hash of (seed, mask number, image, unit), not from a
random stream (``layers/counter_hash.py``): it is drawn where x lives, the same on the CPU
and a GPU, independent of how a batch is split across processes, and its state is two
integers a checkpoint can hold (``get_rng_state``/``set_rng_state``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.layers.counter_hash import uniform_bits

_IDENTITY = "identity"  # what forward keeps when it drops nothing (evaluation, or p = 0)


class Dropout(Layer):
    """Inverted dropout, ``p`` = probability of dropping. Section 4.2. Identity when train=False.

    ``row_offset``: the position of this batch's first image in the global batch (0 unless
    the batch is one process's share of a larger one).
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping and must be in [0, 1), got {p!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Dropout: seed must be a non-negative int or None, got {seed!r}")
        self.p = float(p)
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else int(seed)
        self.masks_drawn = 0
        self.row_offset = 0

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

    def _mask_key(self) -> tuple[int, int]:
        """The key of the next mask: a hash of (seed, masks drawn so far)."""
        key = np.random.SeedSequence([self.seed, self.masks_drawn]).generate_state(2)
        self.masks_drawn += 1
        return int(key[0]), int(key[1])

    def _draw_mask(self, x: Any) -> Any:
        """mask (shape of x): 1 / (1 - p) where a unit is kept, 0 where it is dropped."""
        N = x.shape[0]
        bits = uniform_bits(get_array_module(x), N, x.size // max(N, 1), self._mask_key(), self.row_offset)
        return ((bits >= self._threshold()) * x.dtype.type(1.0 / (1.0 - self.p))).astype(x.dtype).reshape(x.shape)

    def _threshold(self) -> np.uint32:
        """A unit is dropped when its uniform 32-bit value is below p * 2**32."""
        return np.uint32(min(round(self.p * 2**32), 2**32 - 1))

    def forward(self, x: Any, train: bool = True) -> Any:
        if not train or self.p == 0.0:
            return self._keep_for_backward(_IDENTITY, x)
        mask = self._draw_mask(x)
        return self._keep_for_backward(mask, x * mask)

    def backward(self, dout: Any) -> Any:
        mask = self._cache_for_backward(dout)
        self.cache = None
        return dout if mask is _IDENTITY else dout * mask

    def get_rng_state(self) -> dict:
        return {"seed": self.seed, "masks_drawn": self.masks_drawn}

    def set_rng_state(self, state: dict) -> None:
        if not isinstance(state, dict) or set(state) != {"seed", "masks_drawn"}:
            got = sorted(state) if isinstance(state, dict) else repr(state)
            raise ValueError(
                f"{self.name}: not a dropout state {{'seed', 'masks_drawn'}} (got {got}); a checkpoint written before "
                "minialexnet drew masks by hashing cannot resume: start the run afresh"
            )
        self.seed, self.masks_drawn = int(state["seed"]), int(state["masks_drawn"])
