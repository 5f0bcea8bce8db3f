"""Deliberately NumPy-only (np on the device's arrays: rejected by the strict-device run): softmax cross-entropy (Section 3.5).

loss = mean over n of (logsumexp(z[n]) - z[n, y[n]]);  dz = (p - onehot(y)) / N
"""

import numpy as np

from minialexnet.layers.base import Layer


class SoftmaxCrossEntropy(Layer):
    def forward(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)  # exp cannot overflow
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        N = logits.shape[0]
        self.cache = (np.exp(log_probs), labels)
        return float(-log_probs[np.arange(N), labels].mean())

    def backward(self):
        probs, labels = self.cache
        N = probs.shape[0]
        dlogits = probs.copy()
        dlogits[np.arange(N), labels] -= 1.0
        return dlogits / N
