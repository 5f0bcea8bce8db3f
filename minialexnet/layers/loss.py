"""Softmax cross-entropy: the 1000-way (here K-way) softmax of fc8. Paper: Section 3.5.

Notation: N batch size, K classes; z the logits (N, K); y the labels (N,), integers in
[0, K); p = softmax(z) row by row.

    loss = mean over n of -log p[n, y[n]]
         = mean over n of (logsumexp(z[n]) - z[n, y[n]])

logsumexp is computed as m + log(sum(exp(z - m))) with m the row maximum, so logits of
+-1e4 give finite values. Backward: dloss/dz = (p - onehot(y)) / N.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input


class SoftmaxCrossEntropy(Layer):
    """forward(logits (N, K), labels (N,)) -> mean loss (Python float); backward() -> dlogits (N, K)."""

    def check_forward(self, logits: Any, labels: Any) -> Any:
        """The one-line errors for logits or labels forward cannot take (checks.py); every engine's forward calls this
        first. Returns the labels as an array of the logits' module (NumPy or CuPy)."""
        check_input(self, logits, 2, layout="(N, K)")
        labels = get_array_module(logits).asarray(labels)
        N, K = logits.shape
        if labels.shape != (N,):
            raise ValueError(f"{self.name}: expected labels of shape ({N},) for logits {tuple(logits.shape)}, got {tuple(labels.shape)}")
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{self.name}: labels must be integer class indices, got dtype {labels.dtype}")
        low, high = int(labels.min()), int(labels.max())  # N >= 1: check_input refuses an empty batch
        bad = low if low < 0 else high if high >= K else None
        if bad is not None:
            raise ValueError(f"{self.name}: label {bad} is outside [0, {K}) for {K} classes")
        return labels

    def forward(self, logits: Any, labels: Any) -> float:  # type: ignore[override]
        labels = self.check_forward(logits, labels)
        xp = get_array_module(logits)
        N = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_norm = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_norm
        rows = xp.arange(N)
        loss = -log_probs[rows, labels].mean()
        self.cache = (log_probs, labels)
        return float(loss)

    def backward(self, dout: Any = None) -> Any:
        """Gradient of the mean loss w.r.t. the logits, times ``dout`` (a scalar, default 1)."""
        log_probs, labels = self._cache_for_backward(None)
        xp = get_array_module(log_probs)
        N = log_probs.shape[0]
        dlogits = xp.exp(log_probs)
        dlogits[xp.arange(N), labels] -= 1.0
        dlogits /= N
        if dout is not None:
            dlogits *= dout
        return dlogits

    def predict_proba(self, logits: Any) -> Any:
        """Softmax probabilities of ``logits`` (N, K), computed stably."""
        xp = get_array_module(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
