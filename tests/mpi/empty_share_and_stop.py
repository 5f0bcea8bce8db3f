"""Run under ``mpiexec -n 2``: ``train.train_epoch`` itself, on batches of 10 and then 1 image (one rank's share is
empty), against one process; then a SIGTERM seen by rank 1 alone stops both ranks after the same batch.

Rank 0 writes a JSON report to argv[1]: the largest relative difference of any parameter from
the single process (float64), each rank's parameter hash, and the step at which each rank stopped.
"""

import json
import signal
import sys

import numpy as np

from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import alexnet
from minialexnet.multi.distributed import ONE_PROCESS, DataParallel, MPICommunicator
from minialexnet.optim import SGD
from minialexnet.training.cli import Progress
from minialexnet.training.train import EpochState, StopRequest, train_epoch

SIZES = (10, 1, 10)  # the second batch has one image for two ranks


class Batches:
    """The loader's interface (``len``, ``epoch(epoch, start)``); ``signal_at``: set ``stop.signum`` before that batch."""

    def __init__(self, sizes, stop=None, signal_at=None):
        data = np.random.default_rng(7)
        self.batches = [(data.standard_normal((n, 1, 28, 28)), data.integers(0, 10, n)) for n in sizes]
        self.stop, self.signal_at = stop, signal_at

    def __len__(self):
        return len(self.batches)

    def epoch(self, epoch, start=0):
        for step, batch in enumerate(self.batches[start:], start + 1):
            if step == self.signal_at:
                self.stop.signum = signal.SIGTERM
            yield batch


def run(model, loader, stop, parallel=ONE_PROCESS, world=ONE_PROCESS):
    state = EpochState(1)
    finished = train_epoch(
        model, SoftmaxCrossEntropy(), SGD(0.05, 0.9, 5e-4), loader, state, Progress(len(loader), "", False, 0), stop, parallel, world
    )
    return finished, state


def main(report_path):
    comm = MPICommunicator()
    model = alexnet("mini", seed=100 + comm.rank).astype(np.float64)
    parallel = DataParallel(comm, model)
    finished, _ = run(model, Batches(SIZES), StopRequest(enabled=False), parallel, comm)
    hashes = comm.comm.gather(parallel.parameter_hash(), root=0)
    stop = StopRequest(enabled=False)
    stopped_model = alexnet("mini", seed=100).astype(np.float64)
    stopped_parallel = DataParallel(comm, stopped_model)
    loader = Batches(SIZES, stop, signal_at=2 if comm.rank == 1 else None)
    stop_finished, stop_state = run(stopped_model, loader, stop, stopped_parallel, comm)
    stops = comm.comm.gather([stop_finished, stop_state.step, stop.stopping], root=0)
    if comm.rank != 0:
        return
    reference = alexnet("mini", seed=100).astype(np.float64)
    run(reference, Batches(SIZES), StopRequest(enabled=False))
    relative = max(
        float(np.abs(value - reference.params[name]).max() / np.abs(reference.params[name]).max()) for name, value in model.params.items()
    )
    moved = max(float(np.abs(value - alexnet("mini", seed=100).params[name]).max()) for name, value in reference.params.items())
    report = {"finished": finished, "max_relative": relative, "moved": moved, "hashes": hashes, "stops": stops}
    with open(report_path, "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1])
