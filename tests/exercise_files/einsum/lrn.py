"""An honest xp (NumPy and CuPy) LRN: the channel window as a C x C band matrix M, applied with einsum (backward uses M transposed)."""

from minialexnet.backend import get_array_module
from minialexnet.layers.base import Layer


class LocalResponseNorm(Layer):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _band(self, C, xp):
        c, other = xp.arange(C)[:, None], xp.arange(C)[None, :]
        return ((other >= c - self.size // 2) & (other <= c + (self.size - 1) // 2)).astype(float)  # M[c, c'] = 1 in c's window

    def forward(self, a, train=True):
        xp = get_array_module(a)
        M = self._band(a.shape[1], xp)
        D = self.k + self.alpha * xp.einsum("cd,ndhw->nchw", M, a * a)
        b = a * D ** (-self.beta)
        self.cache = (a, b, D, M)
        return b

    def backward(self, dout):
        xp = get_array_module(dout)
        a, b, D, M = self.cache
        return dout * D ** (-self.beta) - 2 * self.alpha * self.beta * a * xp.einsum("cd,nchw->ndhw", M, dout * b / D)
