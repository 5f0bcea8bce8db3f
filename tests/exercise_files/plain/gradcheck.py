"""An honest gradient checker: central differences, kinks found by one-sided differences."""

import numpy as np


def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = np.sum(f(x) * dout)
        flat[i] = original - eps
        minus = np.sum(f(x) * dout)
        flat[i] = original
        out[i] = (plus - minus) / (2 * eps)
    return grad


def _crossed(f, x, dout, eps):
    base = np.sum(f(x) * dout)
    flat = x.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        right = (np.sum(f(x) * dout) - base) / eps
        flat[i] = original - eps
        left = (base - np.sum(f(x) * dout)) / eps
        flat[i] = original
        if abs(right - left) > 1e-3 * max(abs(right), abs(left), 1e-12):
            return True
    return False


def relative_error(a, n):
    scale = max(np.abs(a).max(), np.abs(n).max())
    return 0.0 if scale == 0 else float(np.abs(a - n).max() / scale)


def check_layer(layer, x, eps=1e-6):
    rng = np.random.default_rng(0)
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    analytic = {"dx": dx, **{name: grad.copy() for name, grad in layer.grads.items()}}
    targets = {"dx": x, **layer.params}
    report = {}
    for name, target in targets.items():
        numeric = numerical_gradient(lambda _: layer.forward(x), target, dout, eps)
        report[name] = (relative_error(analytic[name], numeric), _crossed(lambda _: layer.forward(x), target, dout, eps))
    return report
