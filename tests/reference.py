"""Helpers the tests share: the relative error, a top-1 comparison that allows float32 near-ties, PyTorch's gradients.

The float64 oracles (the paper's formulas as plain loops, sharing no code with the layers)
are ``minialexnet/oracles.py``, which the course's grader uses too.
"""

from __future__ import annotations

import numpy as np

from minialexnet.backend import asnumpy


def torch_forward_backward(function, inputs, dout):
    """Run ``function`` (of torch tensors) on float64 copies of ``inputs`` with autograd.

    Returns (output, [gradient of <output, dout> for each input]) as NumPy arrays.
    """
    import torch

    tensors = [torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True) for value in inputs]
    out = function(*tensors)
    out.backward(torch.tensor(np.asarray(dout, dtype=np.float64)))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def rel_err(a, b):
    """Largest absolute difference over the largest magnitude (the gradcheck's measure); device arrays are copied to the host."""
    a = asnumpy(a).astype(np.float64)
    b = asnumpy(b).astype(np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def assert_same_top1(ours, theirs, margin):
    """The two sets of logits pick the same class for every row whose two largest logits (in ``ours``) differ by more
    than ``margin``: float32 rounding may flip a near tie, and nothing else."""
    ours, theirs = np.asarray(asnumpy(ours), dtype=np.float64), np.asarray(asnumpy(theirs), dtype=np.float64)
    top_two = np.sort(ours, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > margin
    assert clear.mean() > 0.9, "almost every row is a near tie: the comparison would prove nothing"
    np.testing.assert_array_equal(ours.argmax(axis=1)[clear], theirs.argmax(axis=1)[clear])
