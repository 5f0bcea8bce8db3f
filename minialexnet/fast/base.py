"""What the fast layers add to the reference ``Layer`` (layers/base.py): reused buffers.

Twin of ``minialexnet.layers.base.Layer``. Large arrays are kept between steps and
reused when their shape allows: allocating hundreds of megabytes afresh every step costs
the operating system more time than filling them (docs/fast_engine.md).

- ``self.scratch(name, ...)`` is the layer's own buffer ``name`` (for what backward reads,
  such as the convolution's column matrix ``col``).
- ``self.borrow(name, ...)`` is the network's shared buffer ``name`` (``product``,
  ``columns``, ``partial_product``), valid only until the method that borrowed it returns
  (for intermediates such as a transposed copy of the gradient), so the network holds one
  of each name instead of one per layer. Outputs are always new arrays.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.fast.parallel import ScratchSlots
from minialexnet.layers.base import Layer


class FastLayer(Layer):
    """A mixin before a reference layer class, ``class ReLU(FastLayer, reference.ReLU)``: adds the reused buffers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace: dict[str, Any] = {}
        self.shared = ScratchSlots()  # a fast Sequential replaces it with the network's own

    def to(self, device: str) -> Layer:
        super().to(device)
        self.workspace = {}
        self.shared.buffers.clear()
        return self

    def astype(self, dtype: Any) -> Layer:
        super().astype(dtype)
        self.workspace = {}
        self.shared.buffers.clear()
        return self

    def scratch(self, name: str, shape: tuple[int, ...], like: Any) -> Any:
        """An uninitialised array of ``shape`` with the dtype and device of ``like``, reused between calls."""
        xp = get_array_module(like)
        buffer = self.workspace.get(name)
        if buffer is None or buffer.shape != tuple(shape) or buffer.dtype != like.dtype or get_array_module(buffer) is not xp:
            buffer = self.workspace[name] = xp.empty(shape, dtype=like.dtype)
        return buffer

    def borrow(self, name: str, shape: tuple[int, ...], like: Any) -> Any:
        """The network's shared buffer ``name``, as an array of ``shape``: valid only until the calling method returns.

        Never keep it in ``self.cache`` and never return it (or a view of it): the next
        layer borrows the same memory.
        """
        return self.shared.get(name, shape, like)

    def reusable_grad(self, name: str, like: Any) -> Any:
        """The existing gradient array ``name`` if a result like ``like`` can be written into it, else None."""
        grad = self.grads.get(name)
        if grad is None or grad.dtype != like.dtype or get_array_module(grad) is not get_array_module(like) or not grad.flags.c_contiguous:
            return None
        return grad
