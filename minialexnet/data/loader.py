"""Mini-batches: a seeded shuffle per epoch, uint8 batches moved to the device, then preprocessed.

The shuffle order of epoch e comes from ``numpy.random.default_rng([seed, e])`` and the
augmentation choices of its batch b from ``numpy.random.default_rng([seed, e, b])``: pure
functions of (seed, epoch, batch), so a run resumed at epoch e, or at batch b of epoch e
(``epoch(e, start=b)``, after Ctrl-C), replays exactly what an uninterrupted run would have
done. Images travel to the device as uint8 (four times fewer bytes than float32) and are
converted, resized and cropped there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minialexnet.backend import to_device
from minialexnet.data.transforms import Preprocess


class BatchLoader:
    """Iterate ``(x, labels)`` batches of a split on ``device``; ``len()`` is batches per epoch."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        preprocess: Preprocess,
        batch_size: int = 128,
        *,
        shuffle: bool = True,
        train: bool = True,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(images) == 0:
            raise ValueError("cannot make batches of an empty split")
        self.images, self.labels, self.preprocess = images, labels, preprocess
        self.batch_size, self.shuffle, self.train, self.seed, self.device = batch_size, shuffle, train, seed, device

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[tuple[Any, Any]]:
        """The batches of one epoch, in the order fixed by (seed, epoch), from batch number ``start`` on."""
        if not 0 <= start <= len(self):
            raise ValueError(f"start must be a batch number in [0, {len(self)}], got {start}")
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.labels)) if self.shuffle else np.arange(len(self.labels))
        for batch in range(start, len(self)):
            index = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            rng = np.random.default_rng([self.seed, epoch, batch])
            x = self.preprocess(self.images[index], self.device, train=self.train, rng=rng)
            yield x, to_device(self.labels[index], self.device)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self.epoch(0)
