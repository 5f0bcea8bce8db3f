"""Checkpoints: one ``.npz`` file holding everything needed to resume or to predict.

Contents (all plain arrays, read back with ``allow_pickle=False``)::

    param/<layer>.<name>      the model's parameters ("param/conv1.W")
    velocity/<layer>.<name>   the optimizer's velocities
    preprocess/<name>         the training set's mean, std and colour PCA
    meta                      a JSON string: config, epoch, class names, learning rate,
                              schedule and random-generator states, metric history

Files are written atomically: to a temporary file in the same folder, then renamed over
the target, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.backend import asnumpy
from minialexnet.data.transforms import Preprocess
from minialexnet.models import AlexNet, AlexNetConfig, ConvSpec, alexnet

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used (unreadable, or made for another model)."""


def config_to_dict(config: AlexNetConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(data: dict[str, Any]) -> AlexNetConfig:
    fields = dict(data)
    fields["convs"] = tuple(ConvSpec(**conv) for conv in data["convs"])
    fields["fc"] = tuple(data["fc"])
    return AlexNetConfig(**fields)


def save_checkpoint(
    path: str | Path, model: AlexNet, meta: dict[str, Any], velocities: dict[str, Any] | None = None, preprocess: Preprocess | None = None
) -> Path:
    """Write ``model`` (+ velocities, preprocessing, ``meta``) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {f"param/{k}": asnumpy(v) for k, v in model.params.items()}
    arrays.update({f"velocity/{k}": asnumpy(v) for k, v in (velocities or {}).items()})
    full_meta = {"format": FORMAT_VERSION, "config": config_to_dict(model.config), **meta}
    if preprocess is not None:
        arrays.update({f"preprocess/{k}": v for k, v in preprocess.state().items()})
        full_meta["preprocess"] = preprocess.settings()
    arrays["meta"] = np.array(json.dumps(full_meta))
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class Checkpoint:
    """A loaded checkpoint: ``meta`` (dict), ``params``, ``velocities``, ``preprocess_state``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with np.load(self.path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise CheckpointError(f"{self.path}: no such checkpoint") from None
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{self.path}: not a readable minialexnet checkpoint ({error})") from None
        if "meta" not in arrays:
            raise CheckpointError(f"{self.path}: not a minialexnet checkpoint (no 'meta' entry)")
        self.meta: dict[str, Any] = json.loads(str(arrays.pop("meta")))
        self.params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
        self.velocities = {k.removeprefix("velocity/"): v for k, v in arrays.items() if k.startswith("velocity/")}
        self.preprocess_state = {k.removeprefix("preprocess/"): v for k, v in arrays.items() if k.startswith("preprocess/")}

    @property
    def config(self) -> AlexNetConfig:
        return config_from_dict(self.meta["config"])

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("class_names", [str(i) for i in range(self.config.num_classes)]))

    def preprocess(self) -> Preprocess:
        if "preprocess" not in self.meta:
            raise CheckpointError(f"{self.path}: holds no preprocessing statistics")
        return Preprocess.from_state(self.meta["preprocess"], self.preprocess_state)

    def load_into(self, model: AlexNet) -> None:
        """Copy the parameters into ``model``, refusing any name or shape mismatch."""
        for name, value in model.params.items():
            if name not in self.params:
                raise CheckpointError(f"{self.path}: has no parameter {name} (made for config '{self.meta['config']['name']}')")
            if tuple(self.params[name].shape) != tuple(value.shape):
                raise CheckpointError(
                    f"{self.path}: parameter {name} has shape {tuple(self.params[name].shape)} in the checkpoint "
                    f"but {tuple(value.shape)} in the model (checkpoint config '{self.meta['config']['name']}', "
                    f"model config '{model.config.name}')"
                )
        extra = sorted(set(self.params) - set(model.params))
        if extra:
            raise CheckpointError(f"{self.path}: parameters {', '.join(extra)} do not exist in the model")
        from minialexnet.backend import device_of, to_device

        model.set_params({name: to_device(self.params[name].astype(value.dtype), device_of(value)) for name, value in model.params.items()})

    def build_model(self, device: str = "cpu") -> AlexNet:
        """A new model of the checkpoint's config, with its parameters, on ``device``."""
        model = alexnet(self.config).to(device)
        self.load_into(model)
        if "rng" in self.meta:
            model.set_rng_state(self.meta["rng"])
        return model
