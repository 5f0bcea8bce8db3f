"""Exercise: the training loop and the evaluation (Section 5).

One epoch of minibatch SGD (Section 5: batches of 128 in the paper):
  1. shuffle: a new random order of the N images every epoch, drawn from ``rng``
     (rng.permutation, not np.random: the same rng must give the same order, so that a run
     can be repeated);
  2. walk through that order in batches of at most batch_size images (every image exactly
     once per epoch, the last batch may be smaller); for each batch: the model's forward
     in training mode (dropout on), the loss layer's forward on the logits and the batch's
     labels (the batch's mean loss), the loss layer's backward, the model's backward with
     that gradient (it fills model.grads), and one optimizer step on model.params and
     model.grads;
  3. return the epoch's mean loss: each batch's mean loss weighted by its size.

evaluate: the accuracy, a fraction in [0, 1]: how often the largest logit is the label's,
measured in batches with the model in evaluation mode (train=False: dropout off), without
backward passes or updates.

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
