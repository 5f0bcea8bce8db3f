"""Honest nearest neighbours: xp.argpartition picks the k closest unsorted, xp.take_along_axis and xp.argsort order them."""

from minialexnet.backend import get_array_module


def nearest(query, reference, k):
    xp = get_array_module(query)
    distances = xp.sum(query**2, axis=1)[:, None] - 2 * query @ reference.T + xp.sum(reference**2, axis=1)[None, :]
    if k < distances.shape[1]:
        closest = xp.argpartition(distances, k - 1, axis=1)[:, :k]
    else:
        closest = xp.broadcast_to(xp.arange(distances.shape[1]), distances.shape)
    order = xp.argsort(xp.take_along_axis(distances, closest, axis=1), axis=1)
    return xp.take_along_axis(closest, order, axis=1)
