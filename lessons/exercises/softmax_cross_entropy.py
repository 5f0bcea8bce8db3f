"""Exercise: softmax cross-entropy, the loss on fc8 (Section 3.5), forward and backward.

Notation: N batch size, K classes; z the logits (N, K); y the labels (N,), integers in [0, K).

    p[n, k] = exp(z[n, k]) / sum_j exp(z[n, j])          softmax, row by row
    loss    = (1/N) sum_n -log p[n, y[n]]                 a Python float: the MEAN over the batch

exp overflows for logits of a few hundred: softmax does not change when a constant is
subtracted from a row, so subtract each row's maximum first.
Backward (no argument: the loss is the last layer, dL/dloss = 1): return dL/dz (N, K).
Differentiate -log p[n, y[n]] with respect to z[n, k] (two cases: k = y[n] and k != y[n]),
then remember the 1/N of the mean.

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("softmax_cross_entropy")``
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class SoftmaxCrossEntropy(Layer):
    def forward(self, logits, labels):
        """logits (N, K), labels (N,) ints -> the mean loss (float)."""
        xp = get_array_module(logits)  # numpy or cupy, as logits is: write xp.<function> where NumPy code writes np.
        # ---- your code ----
        raise NotImplementedError("write SoftmaxCrossEntropy.forward")
        # ---- end of your code ----

    def backward(self):
        """-> dlogits (N, K), the gradient of the mean loss. xp: get_array_module of an array you kept in self.cache."""
        # ---- your code ----
        raise NotImplementedError("write SoftmaxCrossEntropy.backward")
        # ---- end of your code ----
