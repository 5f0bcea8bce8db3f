"""Run under ``mpiexec -n K``: ``python -m minialexnet.train --distributed`` in which the last rank fails at its third step.

argv[1] says how: ``nan`` (its loss becomes NaN: TrainingDivergedError on that rank only),
``interrupt`` (it receives SIGINT, as from Ctrl-C) or ``kill`` (SIGKILL: it vanishes without
a word). argv[2:] are passed to the trainer. After ``nan`` or ``kill`` the other ranks are
waiting in their next allreduce, and the job must still end within seconds; after
``interrupt`` every rank stops after the same step (the ranks agree on it) and rank 0 saves.
"""

import os
import signal
import sys

from mpi4py import MPI

from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.training import train


def fail_at_third_step(how):
    forward, calls = SoftmaxCrossEntropy.forward, [0]

    def failing(self, logits, labels):
        calls[0] += 1
        if calls[0] == 3:
            if how == "nan":
                return float("nan")
            os.kill(os.getpid(), {"interrupt": signal.SIGINT, "kill": signal.SIGKILL}[how])
        return forward(self, logits, labels)

    SoftmaxCrossEntropy.forward = failing


if __name__ == "__main__":
    if MPI.COMM_WORLD.Get_rank() == MPI.COMM_WORLD.Get_size() - 1:
        fail_at_third_step(sys.argv[1])
    sys.exit(train.main(sys.argv[2:]))
