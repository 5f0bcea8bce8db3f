"""ONNX export: ``python -m minialexnet.export runs/mini-sample/best.npz --onnx model.onnx``.

Writes the trained network as an ONNX file that ONNX Runtime, a model viewer (Netron) or
any framework with an ONNX importer can run. The graph is built node by node with the
``onnx`` package's helper API (``make_node``, ``make_graph``, ``make_model``), one node per
minialexnet layer, named after it; the parameters become initializers under their
minialexnet names (``conv1.W``). ``onnx`` is an optional dependency
(``pip install "minialexnet[onnx]"``), imported only here.

The graph, opset ``OPSET`` (18, which ONNX Runtime runs), for inference:

====================================  ==========================================
minialexnet                           ONNX node
====================================  ==========================================
Conv2d, WinogradConv2d (groups=G)     Conv(kernel_shape, strides, pads, group=G)
ReLU                                  Relu
LocalResponseNorm(n, alpha, beta, k)  LRN(size=n, alpha=n * alpha, beta, bias=k)
LocalResponseNorm(..., groups=G)      Split(axis=1) -> G LRN -> Concat(axis=1)
MaxPool2d(3, 2)                       MaxPool(kernel_shape, strides): no padding
Dropout                               left out: the identity at test time
Flatten                               Flatten(axis=1): C-order, as minialexnet's
Linear (W is (out, in))               Gemm(transB=1): x W^T + b
====================================  ==========================================

ONNX's LRN, like PyTorch's and Caffe's, divides alpha by n; the paper's (Section 3.3) does
not, so the export multiplies by n. WinogradConv2d is another algorithm for the same
convolution, and a batch-last output (``layers/layout.py``) another memory order for the
same values: neither shows in the file.

Input ``image``: float32 (N, C, s, s), already preprocessed; N is free. Output
``logits``: float32 (N, classes), before the softmax.

The preprocessing the network was trained with travels in the model's ``metadata_props``
(strings): ``preprocessing`` (the recipe in words), ``mean`` (JSON list: per channel, or
the (C, h, w) mean image), ``scale``, ``input_size``, ``crop_from``,
``class_names`` (JSON list), plus ``config`` and ``lrn`` (the alpha convention above). For
uint8 pixels ``p`` of shape (N, C, h, w): ``x = (p - mean) * scale``, then a bilinear resize
(half-pixel centres) to ``crop_from`` and the centre ``input_size`` crop, or straight to
``input_size`` when ``crop_from`` is 0; nothing to resize when h = w = ``input_size``.

The file is written atomically (``training/files.py``): a failed export (a full disk) leaves
any previous file whole and exits 3 with one line naming the file; ``--onnx`` naming the
checkpoint itself is refused (exit 2), as is any unusable checkpoint.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import minialexnet
from minialexnet.backend import asnumpy
from minialexnet.data.transforms import Preprocess
from minialexnet.layers import Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU
from minialexnet.models import AlexNet
from minialexnet.training.checkpoint import Checkpoint, CheckpointError
from minialexnet.training.cli import Parser
from minialexnet.training.files import WRITE_FAILURES, write_atomically

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "image", "logits"
PRODUCER = "minialexnet"  # the model's producer_name: how an earlier export of ours is recognised


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            'the ONNX export needs the onnx package: pip install "minialexnet[onnx]" (or pip install onnx onnxruntime)'
        ) from None
    return onnx


def _nodes(onnx: Any, name: str, layer: Any, source: str) -> tuple[list[Any], list[Any]]:
    """The ONNX nodes and initializers computing ``layer`` on the tensor named ``source``; the last node's output is named ``name``."""
    make = onnx.helper.make_node
    if isinstance(layer, Conv2d):  # WinogradConv2d too: another algorithm, the same convolution
        (PH, PW) = layer.padding
        node = make(
            "Conv",
            [source, f"{name}.W", f"{name}.b"],
            [name],
            name=name,
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.stride),
            pads=[PH, PW, PH, PW],
            group=layer.groups,
        )
    elif isinstance(layer, Linear):
        node = make("Gemm", [source, f"{name}.W", f"{name}.b"], [name], name=name, transB=1)
    elif isinstance(layer, ReLU):
        node = make("Relu", [source], [name], name=name)
    elif isinstance(layer, LocalResponseNorm):
        if layer.size % 2 == 0:
            raise ValueError(
                f"{name}: ONNX's LRN centres an even window of {layer.size} one channel later than minialexnet; use an odd size"
            )
        settings = {"size": layer.size, "alpha": layer.size * layer.alpha, "beta": layer.beta, "bias": layer.k}
        if layer.groups > 1:  # paper-2gpu: each GPU's half of the maps alone (Section 3.2): split, normalise, concatenate
            parts = [f"{name}.part{g}" for g in range(layer.groups)]
            split = make("Split", [source], parts, name=f"{name}.split", axis=1, num_outputs=layer.groups)
            norms = [make("LRN", [part], [f"{part}.lrn"], name=f"{part}.lrn", **settings) for part in parts]
            join = make("Concat", [f"{part}.lrn" for part in parts], [name], name=name, axis=1)
            return [split, *norms, join], []
        node = make("LRN", [source], [name], name=name, **settings)
    elif isinstance(layer, MaxPool2d):
        node = make("MaxPool", [source], [name], name=name, kernel_shape=list(layer.kernel_size), strides=list(layer.stride))
    elif isinstance(layer, Flatten):
        node = make("Flatten", [source], [name], name=name, axis=1)
    else:
        raise ValueError(f"{name}: no ONNX node for {type(layer).__name__}; the export knows AlexNet's layers only")
    weights = [
        onnx.numpy_helper.from_array(np.ascontiguousarray(asnumpy(value), dtype=np.float32), f"{name}.{key}")
        for key, value in layer.params.items()
    ]
    return [node], weights


def preprocessing_metadata(preprocess: Preprocess) -> dict[str, str]:
    """The ``metadata_props`` entries that state ``preprocess`` (module docstring)."""
    scale = {"paper": 1.0, "unit": 1 / 255, "standard": 1 / preprocess.std_value}[preprocess.scale]
    mean = np.asarray(preprocess.mean_values, dtype=np.float64)
    size, crop_from = preprocess.input_size, preprocess.crop_from
    resize = f"bilinear to {crop_from}, then the centre {size}x{size} crop" if crop_from else f"bilinear to {size}x{size}"
    return {
        "preprocessing": f"uint8 pixels p (N, C, h, w): x = (p - mean) * scale, then resize {resize} (half-pixel centres); "
        f"mean: the training set's mean {preprocess.mean}, scale: {preprocess.scale}",
        "mean": json.dumps(mean.tolist()),
        "scale": repr(float(scale)),
        "crop_from": str(crop_from),
    }


def onnx_model(model: AlexNet, preprocess: Preprocess | None = None, class_names: list[str] | None = None) -> Any:
    """``model`` (in float32, dropout left out) as an ``onnx.ModelProto``, checked by ``onnx.checker``."""
    onnx = _onnx()
    helper = onnx.helper
    nodes, weights, source = [], [], INPUT_NAME
    for name, layer in model:
        if isinstance(layer, Dropout):
            continue
        layer_nodes, layer_weights = _nodes(onnx, name, layer, source)
        nodes += layer_nodes
        weights += layer_weights
        source = name
    nodes[-1].output[0] = OUTPUT_NAME  # fc8's output is the graph's
    config = model.config
    image = helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT, ["N", *model.input_shape])
    logits = helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, ["N", config.num_classes])
    graph = helper.make_graph(nodes, f"alexnet_{config.name}", [image], [logits], initializer=weights)
    graph.doc_string = f"AlexNet (Krizhevsky, Sutskever, Hinton 2012), minialexnet config '{config.name}'"
    opset = [helper.make_opsetid("", OPSET)]
    exported = helper.make_model(graph, opset_imports=opset, producer_name=PRODUCER, producer_version=minialexnet.__version__)
    exported.ir_version = helper.find_min_ir_version_for(opset)
    norm = next((layer for _, layer in model if isinstance(layer, LocalResponseNorm)), None)
    metadata = {
        "config": config.name,
        "class_names": json.dumps(class_names if class_names is not None else [str(i) for i in range(config.num_classes)]),
        "input_size": str(config.input_size),
    }
    if norm is not None:
        metadata["lrn"] = (
            f"the paper's LRN, b = a / (k + alpha * sum a^2)^beta with alpha = {norm.alpha:g} NOT divided by size {norm.size}, "
            f"stored as ONNX LRN alpha = size * alpha = {norm.size * norm.alpha:g} (ONNX divides by size)"
        )
    if preprocess is not None:
        metadata.update(preprocessing_metadata(preprocess))
    helper.set_model_props(exported, metadata)
    onnx.checker.check_model(exported, full_check=True)
    return exported


def export_onnx(model: AlexNet, path: str | Path, preprocess: Preprocess | None = None, class_names: list[str] | None = None) -> Path:
    """Write ``model`` to ``path`` as ONNX (``onnx_model``) atomically (``files.write_atomically``: a failure leaves
    the previous file as it was); returns the path. An OSError names ``path``."""
    exported = onnx_model(model, preprocess, class_names)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    return write_atomically(path, lambda file: file.write(exported.SerializeToString()))


def written_by_us(path: Path) -> bool:
    """Whether ``path`` is an ONNX model that minialexnet wrote (it parses and names minialexnet as its producer;
    ``onnx.load`` accepts an empty file, so parsing alone proves nothing)."""
    try:
        return _onnx().load(str(path), load_external_data=False).producer_name == PRODUCER
    except Exception:  # not protobuf, not ONNX, unreadable: not ours
        return False


def export_checkpoint(checkpoint_path: str | Path, onnx_path: str | Path, force: bool = False) -> Path:
    """Export a training checkpoint (``best.npz``) with its preprocessing and class names. Never onto the checkpoint;
    onto an existing file only when it is an earlier export of minialexnet's, or with ``force``."""
    target = Path(onnx_path)
    if target.exists() and target.resolve() == Path(checkpoint_path).resolve():
        raise ValueError(f"--onnx {onnx_path} is the checkpoint itself: writing there would destroy it; choose another file name")
    if target.is_dir():
        raise ValueError(f"--onnx {onnx_path} is a folder; name the file to write (e.g. {target / 'model.onnx'})")
    if target.exists() and not force and not written_by_us(target):
        raise ValueError(
            f"--onnx {onnx_path} exists and is not an ONNX model written by minialexnet: writing there would destroy it; "
            "choose another file name, or pass --force to replace it"
        )
    checkpoint = Checkpoint(checkpoint_path)
    preprocess = checkpoint.preprocess() if checkpoint.meta.preprocess is not None else None
    return export_onnx(checkpoint.build_model(), onnx_path, preprocess, checkpoint.class_names)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m minialexnet.export", description="Export a minialexnet checkpoint to ONNX (needs the [onnx] extra).")
    parser.add_argument("checkpoint", help="a .npz written by minialexnet.train (e.g. runs/mini-sample/best.npz)")
    parser.add_argument("--onnx", required=True, metavar="FILE", help="the ONNX file to write (e.g. model.onnx)")
    parser.add_argument(
        "--force", action="store_true", help="replace FILE even when it is not an earlier minialexnet export (default: refuse)"
    )
    args = parser.parse_args(argv)
    try:
        path = export_checkpoint(args.checkpoint, args.onnx, args.force)
        shape = ", ".join(str(size) for size in Checkpoint(args.checkpoint).build_model().input_shape)
    except OSError as error:
        where = error.filename or args.onnx
        print(f"error: cannot write {where} ({error.strerror or error}); any previous file there is intact", file=sys.stderr)
        return 3 if error.errno in WRITE_FAILURES else 2
    except (CheckpointError, ImportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}: ONNX opset {OPSET}, input {INPUT_NAME!r} float32 (N, {shape}), output {OUTPUT_NAME!r}; preprocessing: metadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
