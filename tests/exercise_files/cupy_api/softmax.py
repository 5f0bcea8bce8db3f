"""An honest softmax with xp's functions rather than methods: xp.max and xp.sum over the last axis (the skeleton's own hint)."""

from minialexnet.backend import get_array_module


def softmax(z):
    xp = get_array_module(z)
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)
