"""Local response normalization, exactly as the paper writes it. Paper: Section 3.3.
Fast twin: ``minialexnet/fast/lrn.py``.

Notation::

    N, C, H, W       batch, channels, height, width
    a                the input (ReLU output of conv1 or conv2), shape (N, C, H, W)
    n                size: how many adjacent channels form the window (5 in the paper)
    k, alpha, beta   constants (2, 1e-4, 0.75 in the paper)
    S[c]             sum of a[c']**2 over the window c' = c - n//2 .. c + (n-1)//2, clipped to
                     the channels 0 .. C-1 (n = 5: c-2 .. c+2; an even n = 4: c-2 .. c+1)
    D[c]             k + alpha * S[c]
    b[c]             a[c] / D[c]**beta          (the output, shape (N, C, H, W))

Groups (Section 3.2): with ``groups=G`` the channels form G equal blocks and each window is
clipped to its own block, as when each of the paper's two GPUs normalises its own maps.

Alpha is NOT divided by n; PyTorch's ``nn.LocalResponseNorm(n, alpha=n * alpha, beta, k)``
computes the same.

Backward, with g = dL/db and b[c] / D[c] = a[c] * D[c]**(-beta - 1)::

    dL/da[j] = g[j] * D[j]**-beta  -  2 alpha beta a[j] * sum over c whose window holds j of g[c] b[c] / D[c]

The first term is the direct path a[j] -> b[j]; the second how a[j] enlarges its
neighbours' denominators. "c whose window holds j" is the window with its sides swapped
(c = j - (n-1)//2 .. j + n//2): the adjoint of the window sum.
"""

from __future__ import annotations

from typing import Any

from minialexnet.layers.base import Layer
from minialexnet.layers.checks import check_input


def window_sum(v: Any, before: int, after: int, groups: int = 1) -> Any:
    """out[:, c] = sum of v[:, c'] for c' = c - before .. c + after, clipped to c's block of C / groups channels."""
    C = v.shape[1] // groups
    out = v.copy()
    for first in range(0, v.shape[1], C):
        for shift in range(1, before + 1):
            out[:, first + shift : first + C] += v[:, first : first + C - shift]
        for shift in range(1, after + 1):
            out[:, first : first + C - shift] += v[:, first + shift : first + C]
    return out


class LocalResponseNorm(Layer):
    """b = a / (k + alpha * window sum of a**2) ** beta. Shapes: (N, C, H, W) -> same. No parameters. Section 3.3."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, groups: int = 1) -> None:
        super().__init__()
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"LocalResponseNorm: groups must be a positive int, got {groups!r}")
        if alpha < 0 or beta < 0 or k <= 0:
            raise ValueError(f"LocalResponseNorm: need alpha >= 0, beta >= 0 and k > 0, got alpha={alpha}, beta={beta}, k={k}")
        self.size, self.alpha, self.beta, self.k, self.groups = size, float(alpha), float(beta), float(k), groups
        self.before, self.after = size // 2, (size - 1) // 2

    def __repr__(self) -> str:
        groups = f", groups={self.groups}" if self.groups != 1 else ""
        return f"LocalResponseNorm(size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}{groups})"

    def check_forward(self, x: Any) -> None:
        """The one-line errors for an input forward cannot take (checks.py); every engine's forward calls this first."""
        check_input(self, x, 4, layout="(N, C, H, W)")
        if x.shape[1] % self.groups:
            raise ValueError(f"{self.name}: {x.shape[1]} channels cannot form {self.groups} equal groups; use a divisor of the channels")

    def forward(self, x: Any, train: bool = True) -> Any:
        self.check_forward(x)
        D = self.k + self.alpha * window_sum(x * x, self.before, self.after, self.groups)
        out = x / D**self.beta
        return self._keep_for_backward((x, out, D), out)

    def backward(self, dout: Any) -> Any:
        a, b, D = self._cache_for_backward(dout)
        neighbour = window_sum(dout * b / D, self.after, self.before, self.groups)  # the sides swapped
        self.cache = None
        return dout / D**self.beta - 2.0 * self.alpha * self.beta * a * neighbour
