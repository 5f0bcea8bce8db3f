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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minialexnet.backend import asnumpy, get_array_module, to_device


class Layer:
    """Base class: parameter bookkeeping shared by all layers."""

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

    def _check_input(self, x: Any, rank: int | None = None, channels: int | None = None, layout: str = "") -> None:
        """Raise ValueError naming this layer unless ``x`` is a non-empty floating-point array of ``rank``
        dimensions (any rank when None) with ``channels`` channels. Attribute checks only: no pass over x."""
        if not hasattr(x, "ndim") or not hasattr(x, "dtype"):
            got = type(x).__name__
            raise ValueError(f"{self.name}: expected a NumPy or CuPy array, got {got}; convert it, e.g. numpy.asarray(x, numpy.float32)")
        if x.dtype.kind != "f":
            raise ValueError(f"{self.name}: input has dtype {x.dtype}, layers compute in floats; cast the input: x.astype(numpy.float32)")
        expected = layout or f"{rank} dimensions"
        if rank is not None and x.ndim != rank:
            raise ValueError(f"{self.name}: expected input of shape {expected}, got shape {tuple(x.shape)}")
        if x.ndim and x.shape[0] == 0:
            raise ValueError(f"{self.name}: got an empty batch (shape {tuple(x.shape)}); pass at least one example")
        if channels is not None and x.shape[1] != channels:
            raise ValueError(f"{self.name}: expected {channels} input channels, shape {expected}, got shape {tuple(x.shape)}")

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

    def _require_params_like(self, x: Any) -> None:
        """Raise ValueError when the input's dtype or device differs from the parameters'."""
        for key, value in self.params.items():
            if value.dtype != x.dtype:
                raise ValueError(
                    f"{self.name}: input dtype {x.dtype} differs from parameter {key} dtype {value.dtype}; "
                    f"cast the input (x.astype(numpy.{value.dtype})), or the layer with .astype(numpy.{x.dtype})"
                )
            if get_array_module(value) is not get_array_module(x):
                raise ValueError(
                    f"{self.name}: input and parameter {key} are on different devices; call .to(device) on the layer or move the input"
                )


def host_copy(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """NumPy copies of a parameter dict (for checkpoints and comparisons)."""
    return {key: asnumpy(value).copy() for key, value in params.items()}
