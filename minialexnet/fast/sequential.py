"""A chain of named layers that share one set of named buffers. Twin of ``minialexnet.layers.sequential.Sequential``.

What it changes: every fast layer in the chain (nested chains too) borrows its
intermediates (``FastLayer.borrow``) from one ``ScratchSlots`` of the network, so the
network holds one "product" buffer instead of one per layer.
"""

from __future__ import annotations

from minialexnet.fast.parallel import ScratchSlots
from minialexnet.layers import sequential as reference
from minialexnet.layers.base import Layer


class Sequential(reference.Sequential):
    """The reference Sequential whose layers share the network's buffers (module docstring)."""

    def __init__(self, *layers: Layer | tuple[str, Layer]) -> None:
        super().__init__(*layers)
        share_buffers(self)


def share_buffers(network: reference.Sequential, shared: ScratchSlots | None = None) -> None:
    """Let every layer of ``network`` (nested chains too) borrow from ``shared`` (new when None): one set per network."""
    shared = ScratchSlots() if shared is None else shared
    network.shared = shared
    for _, layer in network:
        if isinstance(layer, reference.Sequential):
            share_buffers(layer, shared)
        else:
            layer.shared = shared
