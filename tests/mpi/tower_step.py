"""Run under ``mpiexec -n 2``: one SGD step of paper-2gpu's two towers (one per rank) against the single-process network.

float64, dropout on, 67x67 input (the paper's layers on a smaller image, so the test is
fast), 10 classes. Rank 0 writes a JSON report to argv[1]: the largest relative
difference of the logits, of every parameter gradient and of every updated parameter,
and where the exchanges were placed.
"""

import dataclasses
import json
import sys

import numpy as np

from minialexnet.distributed import MPICommunicator
from minialexnet.layers import SoftmaxCrossEntropy
from minialexnet.models import alexnet, get_config
from minialexnet.optim import SGD
from minialexnet.towers import gather_parameters, tower_network

CONFIG = dataclasses.replace(get_config("paper-2gpu"), input_size=67, num_classes=10)


def step(model, x, y):
    """Forward, loss, backward, one SGD step; returns (logits, gradients before the step)."""
    loss_layer = SoftmaxCrossEntropy()
    logits = model.forward(x, train=True)
    loss_layer.forward(logits, y)
    model.backward(loss_layer.backward())
    grads = {name: value.copy() for name, value in model.grads.items()}
    SGD(0.01, 0.9, 5e-4).step(model.params, model.grads)
    return logits, grads


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def main(report_path):
    comm = MPICommunicator()
    data = np.random.default_rng(5)
    x, y = data.standard_normal((4, 3, 67, 67)) * 60, data.integers(0, 10, 4)
    tower = tower_network(alexnet(CONFIG, seed=3).astype(np.float64), comm)
    logits, grads = step(tower, x, y)
    whole_grads = {name: comm.allgather(value, axis=0) for name, value in grads.items()}
    whole_params = gather_parameters(tower, comm)
    if comm.rank != 0:
        return
    single = alexnet(CONFIG, seed=3).astype(np.float64)
    before = {name: value.copy() for name, value in single.params.items()}
    single_logits, single_grads = step(single, x, y)
    report = {
        "exchanges": [name for name, _ in tower if name.startswith("to_")],
        "logits": relative(logits, single_logits),
        "grads": max(relative(whole_grads[name], value) for name, value in single_grads.items()),
        "params": max(relative(whole_params[name], value) for name, value in single.params.items()),
        "moved": max(float(np.abs(value - before[name]).max()) for name, value in single.params.items()),
        "tower_params": sum(int(value.size) for value in tower.params.values()),
        "single_params": single.num_params,
    }
    with open(report_path, "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1])
