"""Run under ``mpiexec -n K``: three data-parallel SGD steps of ``mini`` (float64, dropout on) against one process.

Every rank starts from its own seed, so the broadcast of rank 0's parameters and dropout
state is part of what is tested. Rank 0 also trains a single-process copy on the whole
batches and writes a JSON report to argv[1]: the largest relative difference of any
parameter, each rank's parameter hash, and the share sizes.
"""

import json
import sys

import numpy as np

from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import alexnet
from minialexnet.multi.distributed import DataParallel, MPICommunicator, share
from minialexnet.optim import SGD

BATCH, STEPS = 10, 3  # 10 images: the shares differ by one image for K = 3 and 4


def train(model, batches, parallel=None):
    """The steps of train.train_epoch: share, forward, loss, backward, allreduce, SGD."""
    loss_layer, optimizer = SoftmaxCrossEntropy(), SGD(0.05, 0.9, 5e-4)
    for x, y in batches:
        global_count = len(y)
        if parallel is not None:
            x, y = parallel.local_batch(x, y)
        loss_layer.forward(model.forward(x, train=True), y)
        model.backward(loss_layer.backward())
        if parallel is not None:
            parallel.allreduce_gradients(len(y), global_count)
        optimizer.step(model.params, model.grads)


def main(report_path):
    comm = MPICommunicator()
    data = np.random.default_rng(7)
    batches = [(data.standard_normal((BATCH, 1, 28, 28)), data.integers(0, 10, BATCH)) for _ in range(STEPS)]
    model = alexnet("mini", seed=100 + comm.rank).astype(np.float64)  # rank 0's parameters and dropout seeds must win
    parallel = DataParallel(comm, model)
    train(model, batches, parallel)
    hashes = comm.comm.gather(parallel.parameter_hash(), root=0)
    if comm.rank != 0:
        return
    reference = alexnet("mini", seed=100).astype(np.float64)
    train(reference, batches)
    relative = {
        name: float(np.abs(value - reference.params[name]).max() / np.abs(reference.params[name]).max())
        for name, value in model.params.items()
    }
    moved = max(float(np.abs(value - alexnet("mini", seed=100).params[name]).max()) for name, value in reference.params.items())
    shares = [share(BATCH, r, comm.size).stop - share(BATCH, r, comm.size).start for r in range(comm.size)]
    report = {"ranks": comm.size, "max_relative": max(relative.values()), "hashes": hashes, "shares": shares, "moved": moved}
    with open(report_path, "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1])
