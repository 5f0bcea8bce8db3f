"""Exercise: the training loop and the evaluation (Section 5).

One epoch of minibatch SGD:
  1. shuffle: a new order of the N images each epoch, rng.permutation(N);
  2. for each batch of at most batch_size images in that order (every image once per epoch):
       logits = model.forward(x, train=True)          (dropout on)
       loss   = loss_layer.forward(logits, y)          (the mean over the batch)
       model.backward(loss_layer.backward())           (fills model.grads)
       optimizer.step(model.params, model.grads)       (once per batch)
  3. return the mean loss over the epoch, each batch weighted by its size.

evaluate: the accuracy (a fraction in [0, 1]) of argmax(logits) against the labels, in
batches, with model.forward(x, train=False) (dropout off; no backward, no update).

model: a Sequential (forward, backward, params, grads); images (N, ...) and labels (N,)
NumPy arrays; rng a np.random.Generator.

Check it:  ``exercises.check("train_loop")``
"""

import numpy as np


def train_epoch(model, loss_layer, optimizer, images, labels, batch_size, rng):
    """One epoch over (images, labels); returns the mean training loss (float)."""
    # ---- your code ----
    raise NotImplementedError("write train_epoch")
    # ---- end of your code ----


def evaluate(model, images, labels, batch_size=256):
    """The fraction of images whose predicted class (argmax of the logits) is the label."""
    # ---- your code ----
    raise NotImplementedError("write evaluate")
    # ---- end of your code ----
