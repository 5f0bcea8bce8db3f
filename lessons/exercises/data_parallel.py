"""Exercise (lesson 12): one data-parallel step, without MPI.

K ranks each take a share of the batch: np.array_split(np.arange(N), ranks) (shares may be
unequal: 10 images on 3 ranks are 4, 3 and 3). Each rank runs forward (train=True), the loss
(the mean over ITS share) and backward on its share. An allreduce then sums what the ranks
send. What must each rank send so that the sum is the gradient of the whole batch's mean
loss? (Write the batch's loss as the shares' losses combined.)

Return (loss, grads): the whole batch's mean loss and a dict with model.grads' names.
Careful: model.grads holds the arrays the NEXT backward overwrites (the fast engine's layers,
and the check's, write into the same arrays every time): copy what you keep.

Check it:  ``exercises.check("data_parallel")``
"""

import numpy as np


def data_parallel_grads(model, loss_layer, images, labels, ranks):
    """-> (the batch's mean loss, {name: the batch's gradient}) computed share by share."""
    shares = np.array_split(np.arange(len(images)), ranks)
    # ---- your code ----
    raise NotImplementedError("write data_parallel_grads")
    # ---- end of your code ----
