"""Run under ``mpiexec -n 2K``: one SGD step of paper-2gpu's two towers against the single-process network.

With 2 ranks the two towers take the whole batch; with 4, two pairs of towers train
data-parallel on halves of it (Towers and DataParallel, as train.py combines them).
float64, dropout on, 67x67 input (the paper's layers on a smaller image, so the test is
fast), 10 classes. Rank 0 writes a JSON report to argv[1]: the largest relative
difference of the logits (its pair's share), of every parameter gradient and of every
updated parameter, and where the exchanges were placed.
"""

import dataclasses
import json
import sys

import numpy as np

from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import alexnet, get_config
from minialexnet.multi.distributed import DataParallel, MPICommunicator
from minialexnet.multi.towers import Towers
from minialexnet.optim import SGD

CONFIG = dataclasses.replace(get_config("paper-2gpu"), input_size=67, num_classes=10)


def step(model, optimizer, x, y, parallel=None):
    """Forward, loss, backward (and allreduce), one SGD step; returns (logits, gradients before the step)."""
    global_count = len(y)
    if parallel is not None:
        x, y = parallel.local_batch(x, y)
    loss_layer = SoftmaxCrossEntropy()
    logits = model.forward(x, train=True)
    loss_layer.forward(logits, y)
    model.backward(loss_layer.backward())
    if parallel is not None:
        parallel.allreduce_gradients(len(y), global_count)
    grads = {name: value.copy() for name, value in model.grads.items()}
    optimizer.step(model.params, model.grads)
    return logits, grads


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def main(report_path):
    comm = MPICommunicator()
    data = np.random.default_rng(5)
    x, y = data.standard_normal((4, 3, 67, 67)) * 60, data.integers(0, 10, 4)
    optimizer = SGD(0.01, 0.9, 5e-4)
    towers = Towers(comm, 2, alexnet(CONFIG, seed=3).astype(np.float64), optimizer)
    tower = towers.tower
    logits, grads = step(tower, optimizer, x, y, DataParallel(towers.data_comm, tower))
    whole_grads = {name: towers.tower_comm.allgather(value, axis=0) for name, value in grads.items()}
    whole, _ = towers.whole()
    if comm.rank != 0:
        return
    single = alexnet(CONFIG, seed=3).astype(np.float64)
    before = {name: value.copy() for name, value in single.params.items()}
    single_logits, single_grads = step(single, SGD(0.01, 0.9, 5e-4), x, y)
    single_logits = single_logits[: len(logits)]  # rank 0's pair took the first share
    report = {
        "exchanges": [name for name, _ in tower if name.startswith("to_")],
        "logits": relative(logits, single_logits),
        "grads": max(relative(whole_grads[name], value) for name, value in single_grads.items()),
        "params": max(relative(whole.params[name], value) for name, value in single.params.items()),
        "moved": max(float(np.abs(value - before[name]).max()) for name, value in single.params.items()),
        "tower_params": sum(int(value.size) for value in tower.params.values()),
        "single_params": single.num_params,
    }
    with open(report_path, "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1])
