"""The stop signals: Ctrl-C (SIGINT), SIGTERM (a cluster's preemption) and SIGHUP (a closed terminal).

The first one asks training to stop after the current batch, save ``last.npz`` with the
position inside the epoch, and exit 128 + the signal's number; a second one quits at once,
saving nothing (docs/reliability.md, "Signals"). Under MPI every rank agrees after each batch
whether one of them was signalled (``StopRequest.agree``), so all stop after the same batch.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))


class StopRequest:
    """Ctrl-C (SIGINT), SIGTERM or SIGHUP while training: the first asks to stop after the current batch (``signum``
    records which), a second one quits at once (KeyboardInterrupt, nothing saved).

    Installed only in the main thread (signals cannot be caught elsewhere).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.signum = 0  # the signal received by this process
        self.stopping = 0  # the signal all ranks agreed to stop on
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if self.enabled and threading.current_thread() is threading.main_thread():
            self.previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\n{name}: stopping after this batch to save last.npz (a second signal quits without saving)", file=sys.stderr, flush=True)

    def agree(self, world: Any) -> int:
        """Set and return ``stopping``, the signal that stops every rank at this step (0: none): one tiny allreduce of
        each signal's count over ``world`` (every rank's communicator; ``multi.distributed.ONE_PROCESS`` alone).
        Every rank gets the same answer, so all stop after the same batch."""
        counts = world.sum_values(*(float(self.signum == signum) for signum in STOP_SIGNALS))
        self.stopping = next((signum for signum, count in zip(STOP_SIGNALS, counts, strict=True) if count > 0), 0)
        return self.stopping

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)


class StoppedBySignalError(Exception):
    """Training stopped on a signal after saving last.npz; ``code`` is the exit code, 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


STOP_CODES = tuple(128 + signum for signum in STOP_SIGNALS)
