"""Checkpoints: one ``.npz`` file holding everything needed to resume or to predict.

Contents (all plain arrays, read back with ``allow_pickle=False``)::

    param/<layer>.<name>      the model's parameters ("param/conv1.W")
    velocity/<layer>.<name>   the optimizer's velocities
    preprocess/<name>         the training set's mean, std and colour PCA
    meta                      a JSON string: ``RunMeta``, with its format version

The file format is one idea in one place, as llm.c keeps ``save_state`` beside
``load_state``: ``RunMeta`` is the schema of ``meta`` (every field named and typed),
``save_checkpoint`` the one writer and ``Checkpoint`` the one reader that train, evaluate,
predict and export all use. ``FORMAT_VERSION`` says which schema a file follows: 1 (before
2026-12-07) lacks the epochs and ``eval_crops`` in its plan and loads as before; a file of
a newer format than this version reads is refused in one line.

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

PREPROCESS_ARRAYS = ("mean_values", "std_value", "pca_eigvals", "pca_eigvecs")
REMEDY = "use another checkpoint (best.npz and last.npz of a run are independent copies) or train again"
FORMAT_VERSION = 2  # 2: the plan in "options" holds epochs and eval_crops (2026-12-07); 1: it does not


class CheckpointError(ValueError):
    """A checkpoint cannot be used (unreadable, or made for another model)."""


def config_to_dict(config: AlexNetConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_from_dict(data: dict[str, Any]) -> AlexNetConfig:
    fields = dict(data)
    fields["convs"] = tuple(ConvSpec(**conv) for conv in data["convs"])
    fields["fc"] = tuple(data["fc"])
    return AlexNetConfig(**fields)


@dataclasses.dataclass
class RunMeta:
    """What a checkpoint holds beside its arrays (the ``meta`` entry). A training run fills every field; a network
    saved by hand needs none but ``config`` (which ``save_checkpoint`` takes from the model)."""

    config: AlexNetConfig | None = None
    format: int = FORMAT_VERSION
    epoch: int = 0  # epochs done
    mid_epoch: dict[str, Any] | None = None  # where a signal stopped training inside the next epoch (loop.EpochState)
    lr: float | None = None  # the learning rate reached, after the schedule's divisions
    rng: dict[str, Any] | None = None  # the dropout layers' generators
    schedule: dict[str, Any] | None = None  # the learning-rate schedule's state
    history: list[dict[str, float]] | None = None  # one row of metrics per epoch (metrics.csv)
    best_val_error: float | None = None
    best_epoch: int | None = None  # the epoch best.npz holds (not in files written before 2026-12-07; readers ignore it)
    class_names: list[str] | None = None
    image_shape: list[int] | None = None  # (C, H, W) of the training images
    data: str | None = None  # the --data the run trained on
    seed: int | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # the run's plan (training.resume.PLAN)
    preprocess: dict[str, Any] | None = None  # Preprocess.settings(), beside the preprocess/ arrays

    def to_json(self) -> str:
        fields = dataclasses.asdict(self)
        fields["config"] = config_to_dict(self.config) if self.config is not None else None
        return json.dumps({**fields, "format": FORMAT_VERSION})

    @classmethod
    def from_json(cls, text: str, path: Path) -> RunMeta:
        """The meta of the checkpoint at ``path``; CheckpointError naming the file for anything unusable."""
        try:
            fields = json.loads(text)
        except ValueError as error:
            raise CheckpointError(f"{path}: its 'meta' entry is not valid JSON ({error}); {REMEDY}") from None
        if not isinstance(fields, dict) or "config" not in fields:
            raise CheckpointError(f"{path}: its 'meta' entry has no 'config' (not written by minialexnet.train?); {REMEDY}")
        version = fields.get("format", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise CheckpointError(
                f"{path}: checkpoint format {version} is newer than this minialexnet reads (formats 1 to {FORMAT_VERSION}); "
                "upgrade minialexnet to use it"
            )
        try:
            config = config_from_dict(fields["config"])
        except (TypeError, KeyError, ValueError) as error:
            raise CheckpointError(f"{path}: its 'meta' config does not describe an AlexNet ({error!r}); {REMEDY}") from None
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**{key: value for key, value in fields.items() if key in known}, "config": config, "format": version})


def save_checkpoint(
    path: str | Path,
    model: AlexNet,
    meta: RunMeta | None = None,
    velocities: dict[str, Any] | None = None,
    preprocess: Preprocess | None = None,
) -> Path:
    """Write ``model`` (+ ``meta``, velocities, preprocessing) to ``path`` atomically: the one writer of the format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dataclasses.replace(meta or RunMeta(), config=model.config, preprocess=preprocess.settings() if preprocess else None)
    arrays: dict[str, np.ndarray] = {f"param/{k}": asnumpy(v) for k, v in model.params.items()}
    arrays.update({f"velocity/{k}": asnumpy(v) for k, v in (velocities or {}).items()})
    if preprocess is not None:
        arrays.update({f"preprocess/{k}": v for k, v in preprocess.state().items()})
    arrays["meta"] = np.array(meta.to_json())
    return write_atomically(path, lambda file: np.savez(file, **arrays))


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
    """A loaded checkpoint: ``meta`` (``RunMeta``), ``config``, ``params``, ``velocities``, ``preprocess_state``; the
    one reader of the format."""

    def __init__(self, path: str | Path) -> None:
        """Read and check the file; CheckpointError (one line naming it) for anything unusable."""
        self.path = Path(path)
        arrays = _read_arrays(self.path)
        if "meta" not in arrays:
            raise CheckpointError(f"{self.path}: not a minialexnet checkpoint (no 'meta' entry)")
        self.meta = RunMeta.from_json(str(arrays.pop("meta")), self.path)
        self.config: AlexNetConfig = self.meta.config
        self.params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
        self.velocities = {k.removeprefix("velocity/"): v for k, v in arrays.items() if k.startswith("velocity/")}
        self.preprocess_state = {k.removeprefix("preprocess/"): v for k, v in arrays.items() if k.startswith("preprocess/")}
        for kind, named in (("parameter", self.params), ("velocity", self.velocities)):
            for name, value in named.items():
                if value.dtype.kind != "f":
                    raise CheckpointError(f"{self.path}: {kind} {name} has dtype {value.dtype}, not floating point; {REMEDY}")

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.class_names or [str(i) for i in range(self.config.num_classes)])

    def preprocess(self) -> Preprocess:
        missing = [f"preprocess/{name}" for name in PREPROCESS_ARRAYS if name not in self.preprocess_state]
        if self.meta.preprocess is None or missing:
            what = ", ".join(missing) if missing else "the preprocessing settings in 'meta'"
            raise CheckpointError(f"{self.path}: lacks {what}, so images cannot be prepared as in training; {REMEDY}")
        self._check_preprocess_arrays()
        try:
            return Preprocess.from_state(self.meta.preprocess, self.preprocess_state)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{self.path}: its preprocessing settings are unusable ({error}); {REMEDY}") from None

    def _check_preprocess_arrays(self) -> None:
        """Each preprocessing array must be floating point of the shape the config's C channels give it."""
        if not isinstance(self.meta.preprocess, dict):
            raise CheckpointError(f"{self.path}: its preprocessing settings are not a JSON object; {REMEDY}")
        C = self.config.in_channels
        image_mean = self.meta.preprocess.get("mean") == "image"
        mean_shape = tuple(self.meta.image_shape or self.preprocess_state["mean_values"].shape) if image_mean else (C,)
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
        if self.meta.rng is not None:
            model.set_rng_state(self.meta.rng)
        return model
