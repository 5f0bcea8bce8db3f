"""An honest xp solution (loops; tests/test_exercises.py edits it into mistakes): softmax cross-entropy (Section 3.5).

loss = mean over n of (logsumexp(z[n]) - z[n, y[n]]);  dz = (p - onehot(y)) / N
"""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class SoftmaxCrossEntropy(Layer):
    def forward(self, logits, labels):
        xp = get_array_module(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)  # exp cannot overflow
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        N = logits.shape[0]
        self.cache = (xp.exp(log_probs), labels)
        return float(-log_probs[xp.arange(N), labels].mean())

    def backward(self):
        probs, labels = self.cache
        xp = get_array_module(probs)
        N = probs.shape[0]
        dlogits = probs.copy()
        dlogits[xp.arange(N), labels] -= 1.0
        return dlogits / N
