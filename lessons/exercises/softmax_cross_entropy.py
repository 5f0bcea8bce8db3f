"""Exercise: the softmax cross-entropy backward pass (Section 3.5).

loss = mean over n of -log softmax(z[n])[y[n]], with logits z (N, K) and labels y (N,).
Write ``backward(dout)``: return dloss/dz times the scalar dout (shape (N, K)).
Check it with:  python -m minialexnet.exercises check softmax_cross_entropy
"""

import numpy as np

from minialexnet.layers.base import Layer


class SoftmaxCrossEntropy(Layer):
    def forward(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.cache = (probs, labels)
        return float(-np.log(probs[np.arange(len(labels)), labels]).mean())

    def backward(self, dout=1.0):
        probs, labels = self.cache
        N = probs.shape[0]
        # TODO: return dout * dloss/dlogits. Remember the loss is a MEAN over the batch.
        raise NotImplementedError("write SoftmaxCrossEntropy.backward")
