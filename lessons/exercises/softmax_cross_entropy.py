"""Exercise: softmax cross-entropy, the loss on fc8 (Section 3.5), forward and backward.

Notation: N batch size, K classes; z the logits (N, K); y the labels (N,), integers in [0, K).

    p[n, k] = exp(z[n, k]) / sum_j exp(z[n, j])          softmax, row by row
    loss    = (1/N) sum_n -log p[n, y[n]]                 a Python float: the MEAN over the batch

exp overflows for logits of a few hundred: softmax does not change when a constant is
subtracted from a row, so subtract each row's maximum first.
Backward (no argument: the loss is the last layer, dL/dloss = 1): return dL/dz (N, K).
Differentiate -log p[n, y[n]] with respect to z[n, k] (two cases: k = y[n] and k != y[n]),
then remember the 1/N of the mean.

The check also runs it on the strict device (CuPy's rules, no GPU needed). Written with
``xp = get_array_module(x)`` (from minialexnet.backend) instead of ``np``, it runs on a GPU
too, and the check says so; NumPy-only code passes with a note naming the call that
would fail on CuPy.

Check it:  ``exercises.check("softmax_cross_entropy")``
"""

import numpy as np

from minialexnet.layers.base import Layer


class SoftmaxCrossEntropy(Layer):
    def forward(self, logits, labels):
        """logits (N, K), labels (N,) ints -> the mean loss (float)."""
        # ---- your code ----
        raise NotImplementedError("write SoftmaxCrossEntropy.forward")
        # ---- end of your code ----

    def backward(self):
        """-> dlogits (N, K), the gradient of the mean loss."""
        # ---- your code ----
        raise NotImplementedError("write SoftmaxCrossEntropy.backward")
        # ---- end of your code ----
