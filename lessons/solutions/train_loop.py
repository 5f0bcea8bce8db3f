"""Reference solution: one epoch of minibatch SGD, and the accuracy (Section 5).
(minialexnet/training/ holds the full loop: checkpoints, schedules, towers.)
"""

import numpy as np


def train_epoch(model, loss_layer, optimizer, images, labels, batch_size, rng):
    order = rng.permutation(len(images))
    total = 0.0
    for start in range(0, len(images), batch_size):
        batch = order[start : start + batch_size]
        logits = model.forward(images[batch], train=True)
        loss = loss_layer.forward(logits, labels[batch])
        model.backward(loss_layer.backward())
        optimizer.step(model.params, model.grads)
        total += loss * len(batch)
    return total / len(images)


def evaluate(model, images, labels, batch_size=256):
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model.forward(images[start : start + batch_size], train=False)
        correct += int(np.sum(np.argmax(logits, axis=1) == labels[start : start + batch_size]))
    return correct / len(images)
