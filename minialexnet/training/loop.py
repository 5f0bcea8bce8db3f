"""The epoch loop: forward, loss, backward, the update, for each batch of one epoch.

It reads like the course's own ``train_loop`` (lesson 7), with three additions a real run
needs: it stops on NaN (``TrainingDivergedError``), it keeps the epoch's running figures in
an ``EpochState`` (what a checkpoint saved mid-epoch records), and it asks after every batch
whether a signal wants it to stop (``signals.StopRequest``). Many processes change nothing
here: ``parallel`` hands this rank its share of each batch and adds the ranks' gradients up
(``multi.distributed.DataParallel``), and for one process it is ``ONE_PROCESS``, which does
nothing.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Protocol

from minialexnet.backend import get_array_module
from minialexnet.data import BatchLoader
from minialexnet.layers import Sequential, SoftmaxCrossEntropy
from minialexnet.multi.distributed import ONE_PROCESS
from minialexnet.optim import SGD
from minialexnet.training.cli import Progress
from minialexnet.training.evaluate import topk_correct
from minialexnet.training.signals import StopRequest


class TrainingDivergedError(RuntimeError):
    """The loss, a gradient or a parameter became NaN or infinite."""


class Parallel(Protocol):
    """What the loop asks of the processes it runs in (``DataParallel``, or ``ONE_PROCESS``)."""

    def local_batch(self, x: Any, y: Any) -> tuple[Any, Any]: ...
    def skip_empty_share(self) -> None: ...
    def allreduce_gradients(self, local_count: int, global_count: int) -> None: ...
    def sum_values(self, *values: float) -> tuple[float, ...]: ...


@dataclasses.dataclass
class EpochState:
    """Where training stands inside an epoch: what a mid-epoch checkpoint records (meta ``mid_epoch``)."""

    epoch: int
    step: int = 0  # batches done
    seen: int = 0  # images done (by this rank)
    loss_sum: float = 0.0
    top1: int = 0
    top5: int = 0
    seconds: float = 0.0

    def record(self, loss: float, logits: Any, labels: Any) -> None:
        """Add one batch's loss and correct predictions."""
        self.seen += len(labels)
        self.loss_sum += loss * len(labels)
        self.top1 += topk_correct(logits, labels, 1)
        self.top5 += topk_correct(logits, labels, 5)

    def figures(self) -> dict[str, str]:
        """The running figures a progress line shows."""
        seen = max(self.seen, 1)
        return {"loss": f"{self.loss_sum / seen:.3f}", "acc": f"{self.top1 / seen:.3f}", "img_s": f"{self.seen / self.seconds:.0f}"}


def first_non_finite(arrays: dict[str, Any]) -> str | None:
    """The name of the first array holding a NaN or an infinity, else None.

    Cheap enough for every step: one sum per array and one transfer to the host in all (a
    NaN or an infinity anywhere makes the total non-finite); the names are searched only
    when it is.
    """
    if not arrays:
        return None
    if math.isfinite(float(sum(get_array_module(a).sum(a) for a in arrays.values()))):
        return None
    return next(name for name, a in arrays.items() if not bool(get_array_module(a).isfinite(a).all()))


def train_epoch(
    model: Sequential,
    loss_layer: SoftmaxCrossEntropy,
    optimizer: SGD,
    loader: BatchLoader,
    state: EpochState,
    progress: Progress,
    stop: StopRequest,
    parallel: Parallel = ONE_PROCESS,
    world: Parallel = ONE_PROCESS,
) -> bool:
    """Train on the batches of ``state.epoch`` from batch ``state.step`` on, updating ``state`` (dropout on).

    Returns True at the end of the epoch, False when a signal asked to stop (``stop.stopping`` says which,
    ``state`` where). Raises TrainingDivergedError on a non-finite loss or gradient. ``parallel``: this rank's
    share of each batch and the sum of the ranks' gradients; ``world``: where all ranks agree whether to stop.
    """
    model.train()
    started = time.perf_counter() - state.seconds
    for x, y in loader.epoch(state.epoch, start=state.step):
        step, batch_size = state.step + 1, len(y)
        x, y = parallel.local_batch(x, y)
        if len(y):
            logits = model.forward(x, train=True)
            loss = loss_layer.forward(logits, y)
            if not math.isfinite(loss):
                raise TrainingDivergedError(f"the loss became {loss} at epoch {state.epoch}, step {step}")
            model.backward(loss_layer.backward())
        else:
            parallel.skip_empty_share()  # a batch smaller than the ranks: this rank adds a zero gradient
        parallel.allreduce_gradients(len(y), batch_size)  # before the check, so that every rank stops together
        bad = first_non_finite(model.grads)
        if bad is not None:
            raise TrainingDivergedError(f"the gradient of {bad} became non-finite at epoch {state.epoch}, step {step}")
        optimizer.step(model.params, model.grads)
        if len(y):
            state.record(loss, logits, y)
        state.step, state.seconds = step, time.perf_counter() - started
        progress.update(step, **state.figures())
        if stop.agree(world):
            return False
    return True
