"""Checkpoints: one ``.npz`` file holding everything needed to resume or to predict.

Contents (all plain arrays, read back with ``allow_pickle=False``)::

    param/<layer>.<name>      the model's parameters ("param/conv1.W")
    velocity/<layer>.<name>   the optimizer's velocities
    preprocess/<name>         the training set's mean, std and colour PCA
    meta                      a JSON string: config, epoch, class names, learning rate,
                              schedule and random-generator states, metric history

Files are written atomically (``files.write_atomically``): to a temporary file in the same
folder, then renamed over the target, so an interrupted save never leaves a half-written
checkpoint. Reading checks everything before it is used: a damaged file (truncated, empty,
a flipped byte), a file that is not a checkpoint, a ``meta`` that is not JSON or has no
config, missing preprocessing arrays, preprocessing arrays or velocities of the wrong shape
or type, velocities without a parameter, non-float parameters and a symlink loop each raise
a one-line ``CheckpointError`` naming the file. Pickled (object) arrays are never loaded.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from minialexnet.backend import asnumpy
from minialexnet.data.transforms import Preprocess
from minialexnet.models import AlexNet, AlexNetConfig, ConvSpec, alexnet
from minialexnet.training.files import write_atomically

FORMAT_VERSION = 2  # 2: meta 'options' holds the run's whole plan (train.PLAN); 1: without epochs and eval_crops


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
    return write_atomically(path, lambda file: np.savez(file, **arrays))


PREPROCESS_ARRAYS = ("mean_values", "std_value", "pca_eigvals", "pca_eigvecs")
REMEDY = "use another checkpoint (best.npz and last.npz of a run are independent copies) or train again"


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, with pickles refused; CheckpointError for anything unreadable."""
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise CheckpointError(f"{path}: is a loop of symbolic links (it points back to itself); pass the real checkpoint") from None
        magic = b""  # np.load below reports it
    if magic and not magic.startswith((b"PK", b"\x93NUMPY")):  # neither a zip (.npz) nor .npy data: NumPy would try a pickle
        raise CheckpointError(f"{path}: not a minialexnet checkpoint (not an .npz file); {REMEDY}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as data:
                return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder; pass the checkpoint file inside it (e.g. {path}/last.npz)") from None
    except ValueError as error:
        if "pickle" in str(error) or "Object arrays" in str(error):
            # NumPy's own message advises loading it unsafely: never pass that on
            raise CheckpointError(
                f"{path}: holds a pickled (object) array, which minialexnet never loads (checkpoints hold plain arrays); {REMEDY}"
            ) from None
        raise CheckpointError(f"{path}: damaged or not a minialexnet checkpoint ({error}); {REMEDY}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise CheckpointError(f"{path}: damaged (truncated or corrupted: {error or type(error).__name__}); {REMEDY}") from None
    raise CheckpointError(f"{path}: is a single NumPy array (.npy data), not a minialexnet checkpoint; {REMEDY}")


class Checkpoint:
    """A loaded checkpoint: ``meta`` (dict), ``params``, ``velocities``, ``preprocess_state``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        arrays = _read_arrays(self.path)
        if "meta" not in arrays:
            raise CheckpointError(f"{self.path}: not a minialexnet checkpoint (no 'meta' entry)")
        try:
            self.meta: dict[str, Any] = json.loads(str(arrays.pop("meta")))
        except ValueError as error:
            raise CheckpointError(f"{self.path}: its 'meta' entry is not valid JSON ({error}); {REMEDY}") from None
        if not isinstance(self.meta, dict) or "config" not in self.meta:
            raise CheckpointError(f"{self.path}: its 'meta' entry has no 'config' (not written by minialexnet.train?); {REMEDY}")
        try:
            self.config: AlexNetConfig = config_from_dict(self.meta["config"])
        except (TypeError, KeyError, ValueError) as error:
            raise CheckpointError(f"{self.path}: its 'meta' config does not describe an AlexNet ({error!r}); {REMEDY}") from None
        self.params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
        self.velocities = {k.removeprefix("velocity/"): v for k, v in arrays.items() if k.startswith("velocity/")}
        self.preprocess_state = {k.removeprefix("preprocess/"): v for k, v in arrays.items() if k.startswith("preprocess/")}
        for kind, named in (("parameter", self.params), ("velocity", self.velocities)):
            for name, value in named.items():
                if value.dtype.kind != "f":
                    raise CheckpointError(f"{self.path}: {kind} {name} has dtype {value.dtype}, not floating point; {REMEDY}")

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("class_names", [str(i) for i in range(self.config.num_classes)]))

    def preprocess(self) -> Preprocess:
        missing = [f"preprocess/{name}" for name in PREPROCESS_ARRAYS if name not in self.preprocess_state]
        if "preprocess" not in self.meta or missing:
            what = ", ".join(missing) if missing else "the preprocessing settings in 'meta'"
            raise CheckpointError(f"{self.path}: lacks {what}, so images cannot be prepared as in training; {REMEDY}")
        self._check_preprocess_arrays()
        try:
            return Preprocess.from_state(self.meta["preprocess"], self.preprocess_state)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{self.path}: its preprocessing settings are unusable ({error}); {REMEDY}") from None

    def _check_preprocess_arrays(self) -> None:
        """Each preprocessing array must be floating point of the shape the config's C channels give it."""
        if not isinstance(self.meta["preprocess"], dict):
            raise CheckpointError(f"{self.path}: its preprocessing settings are not a JSON object; {REMEDY}")
        C = self.config.in_channels
        image_mean = self.meta["preprocess"].get("mean") == "image"
        mean_shape = tuple(self.meta.get("image_shape", self.preprocess_state["mean_values"].shape)) if image_mean else (C,)
        expected = {"mean_values": mean_shape, "std_value": (), "pca_eigvals": (C,), "pca_eigvecs": (C, C)}
        for name, shape in expected.items():
            value = self.preprocess_state[name]
            if value.dtype.kind != "f" or tuple(value.shape) != shape or (name == "mean_values" and shape[:1] != (C,)):
                raise CheckpointError(
                    f"{self.path}: preprocess/{name} is {value.dtype} of shape {tuple(value.shape)}, not floating point of shape "
                    f"{shape}; {REMEDY}"
                )

    def load_velocities(self, optimizer: Any, model: AlexNet) -> None:
        """Give ``optimizer`` (optim.SGD) the checkpoint's velocities, refusing one the model has no parameter for or
        one of another shape."""
        for name, value in self.velocities.items():
            if name not in model.params:
                raise CheckpointError(f"{self.path}: holds velocity/{name}, but the model has no parameter {name}; {REMEDY}")
            if tuple(value.shape) != tuple(model.params[name].shape):
                raise CheckpointError(
                    f"{self.path}: velocity/{name} has shape {tuple(value.shape)}, but parameter {name} has shape "
                    f"{tuple(model.params[name].shape)}; {REMEDY}"
                )
        optimizer.load_state_dict(self.velocities, model.params)

    def load_into(self, model: AlexNet) -> None:
        """Copy the parameters into ``model``, refusing any name or shape mismatch."""
        for name, value in model.params.items():
            if name not in self.params:
                raise CheckpointError(f"{self.path}: has no parameter {name} (made for config '{self.config.name}')")
            if tuple(self.params[name].shape) != tuple(value.shape):
                raise CheckpointError(
                    f"{self.path}: parameter {name} has shape {tuple(self.params[name].shape)} in the checkpoint "
                    f"but {tuple(value.shape)} in the model (checkpoint config '{self.config.name}', "
                    f"model config '{model.config.name}')"
                )
        extra = sorted(set(self.params) - set(model.params))
        if extra:
            raise CheckpointError(f"{self.path}: parameters {', '.join(extra)} do not exist in the model")
        from minialexnet.backend import device_of, to_device

        model.set_params({name: to_device(self.params[name].astype(value.dtype), device_of(value)) for name, value in model.params.items()})

    def build_model(self, device: str = "cpu", engine: str = "auto") -> AlexNet:
        """A new model of the checkpoint's config, with its parameters, on ``device``, computed by ``engine``."""
        model = alexnet(self.config, engine=engine, device=device).to(device)
        self.load_into(model)
        if "rng" in self.meta:
            model.set_rng_state(self.meta["rng"])
        return model
