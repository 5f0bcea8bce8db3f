"""Reference solution: one data-parallel step, share by share (what minialexnet/multi/distributed.py does over MPI).

The batch's mean loss is sum over r of (n_r / N) * (rank r's mean loss), so rank r sends its
gradient times n_r / N and the allreduce sums them.
"""

import numpy as np


def data_parallel_grads(model, loss_layer, images, labels, ranks):
    shares = np.array_split(np.arange(len(images)), ranks)
    loss, grads = 0.0, {key: np.zeros_like(value) for key, value in model.params.items()}
    for share in shares:
        weight = len(share) / len(images)
        loss += weight * loss_layer.forward(model.forward(images[share], train=True), labels[share])
        model.backward(loss_layer.backward())
        for key, value in model.grads.items():
            grads[key] += weight * value
    return loss, grads
