"""Reference solution: the library's gradient checker, minialexnet/gradcheck.py (read it), in the exercise's shape.

The library finds kink crossings by the layer's ``kink_state()`` (ReLU's signs, max-pool's
winners) instead of one-sided differences.
"""

from minialexnet import gradcheck
from minialexnet.gradcheck import numerical_gradient

__all__ = ["check_layer", "numerical_gradient"]


def check_layer(layer, x, eps=1e-6):
    report = gradcheck.check_layer(layer, x, eps=eps)
    return {row.tensor: (row.error, bool(row.note)) for row in report.rows}
