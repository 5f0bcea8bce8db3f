"""The contract every layer follows (CS231n-style, written down before any code).

- ``layer.forward(x, train=True)`` returns the output and keeps in ``self.cache`` exactly
  what ``backward`` will need.
- ``layer.backward(dout)`` takes the gradient of the loss with respect to the output and
  returns the gradient with respect to the input. It fills ``layer.grads``.
- Parameters live in ``layer.params`` (name -> array), gradients in ``layer.grads`` under
  the same names. ``layer.to(device)`` and ``layer.astype(dtype)`` move or cast them.
- The input's dtype is the compute dtype: float32 for training, float64 for gradient
  checks. No layer allocates float64 buffers for a float32 input.
- ``layer.output_shape(input_shape)`` gives the output's shape without running forward;
  ``layer.kink_state()`` tells the gradient checker which branch a piecewise-linear layer took.
- Layers that make random choices (dropout) expose ``get_rng_state``/``set_rng_state``
  so a gradient check can replay the same mask and a checkpoint can resume the same run.
- A wrong call gets one line naming the layer and what to do. Each layer's
  ``check_forward(x)`` holds the checks of its input (built from ``layers/checks.py``);
  forward calls it before any arithmetic, and the engines' twins call the same method, so
  an engine overrides the arithmetic only. The cache's checks (backward before forward, a
  ``dout`` of the wrong shape) are below.
"""

from __future__ import annotations

from typing import Any

from minialexnet.backend import to_device


class Layer:
    """Base class: the parameters, their gradients and the cache backward reads."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.cache: Any = None
        self.out_shape: tuple[int, ...] = ()
        self.name: str = type(self).__name__

    def forward(self, x: Any, train: bool = True) -> Any:
        raise NotImplementedError

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError

    def __call__(self, x: Any, train: bool = True) -> Any:
        return self.forward(x, train=train)

    def to(self, device: str) -> Layer:
        """Move parameters and gradients to ``device`` ("cpu", "gpu", "gpu:N"); returns self."""
        self.params = {key: to_device(value, device) for key, value in self.params.items()}
        self.grads = {key: to_device(value, device) for key, value in self.grads.items()}
        self.cache = None
        return self

    def astype(self, dtype: Any) -> Layer:
        """Cast parameters and gradients to ``dtype`` (e.g. numpy.float64); returns self."""
        self.params = {key: value.astype(dtype) for key, value in self.params.items()}
        self.grads = {key: value.astype(dtype) for key, value in self.grads.items()}
        self.cache = None
        return self

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape for an input of ``input_shape`` (the same, unless overridden)."""
        return tuple(input_shape)

    def zero_grads(self) -> None:
        """Set every gradient to zero (gradients are overwritten by backward, not accumulated)."""
        for value in self.grads.values():
            value[...] = 0

    def kink_state(self) -> Any:
        """For piecewise-linear layers, the branch taken in the last forward (None otherwise).

        The gradient checker compares it between x + eps*v and x - eps*v: a change means
        the finite difference straddles a kink and the input must be redrawn.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _keep_for_backward(self, cache: Any, out: Any) -> Any:
        """Keep ``cache`` for backward and remember the output's shape (``dout`` must have it); returns ``out``."""
        self.cache, self.out_shape = cache, tuple(out.shape)
        return out

    def _cache_for_backward(self, dout: Any) -> Any:
        """What forward kept, after checking that forward ran and that ``dout`` has the shape of its output.

        ``dout=None``: no upstream gradient to check (the loss layer, which ends the chain).
        """
        if self.cache is None:
            raise RuntimeError(f"{self.name}: backward() called before forward(); run forward(x) first (each forward allows one backward)")
        if dout is None:
            return self.cache
        if not hasattr(dout, "shape"):
            raise ValueError(f"{self.name}: dout must be an array like forward's output, got {type(dout).__name__}")
        if tuple(dout.shape) != self.out_shape:
            raise ValueError(
                f"{self.name}: dout has shape {tuple(dout.shape)} but forward's output had shape {self.out_shape}; "
                "pass the gradient of the loss with respect to this layer's output"
            )
        return self.cache
