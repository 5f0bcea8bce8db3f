"""The training command's options: what each one means when it is not given, and which a resume may change.

Every option's parser default is None, meaning "not given": ``with_defaults`` fills in
``DEFAULTS`` (and the config's own learning rate, initialisation and input scale), and a
resumed run fills in the checkpoint's plan first (``resume.resume_options``), so that an
option given explicitly always wins and one not given never overrides what the run was
started with.
"""

from __future__ import annotations

import argparse
from typing import Any

from minialexnet.engines import CONV_ALGORITHMS, ENGINE_CHOICES, ENGINE_HELP
from minialexnet.models import CONFIGS, INIT_SCHEMES, get_config
from minialexnet.training.cli import (
    Parser,
    device_name,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

# What an option means when it is not given; lr, init and scale default to the config's.
DEFAULTS: dict[str, Any] = {
    "device": "cpu",
    "config": "mini",
    "conv": "auto",
    "data": "sample",
    "epochs": 8,
    "batch_size": 128,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "schedule": "plateau",
    "patience": 2,
    "step_size": 10,
    "seed": 0,
    "augment": False,
    "dropout": 0.5,
    "eval_crops": 1,
    "mean": "pixel",
    "val_fraction": 0.0,
    "progress_every": 20,
    "overwrite": False,
    "distributed": False,
    "towers": 1,
}
# What an option means when it is not given, for a dataset and config that have a recipe of their own (the key):
# chosen on a held-out part of the training set for this data and this network (docs/training.md, "Fashion-MNIST in
# ten minutes"). Options given explicitly win; a resumed run keeps the plan it started with.
RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("fashion-mnist", "mini"): {"epochs": 8, "schedule": "step", "step_size": 6, "dropout": 0.0, "val_fraction": 0.1},
}


def option_flag(key: str) -> str:
    """The option as typed on the command line: ``step_size`` -> ``--step-size``."""
    return "--" + key.replace("_", "-")


def recipe_words(data: str, config: str) -> str:
    """The recipe of ``data`` with ``config`` as the options that give it (``--epochs 9 --schedule cosine ...``)."""
    words = (
        f"{option_flag(key)} {value:g}" if isinstance(value, float) else f"{option_flag(key)} {value}"
        for key, value in RECIPES[(data, config)].items()
    )
    return " ".join(words)


def build_parser() -> Parser:
    """The options; every default is None ("not given", see the module docstring), the help says what it means."""
    parser = Parser(
        prog="python -m minialexnet.train",
        description="Train AlexNet (Krizhevsky et al. 2012) with the paper's recipe. With no options: "
        "the 'mini' config on the built-in Fashion-MNIST sample, on the CPU.",
    )
    add, D = parser.add_argument, DEFAULTS
    add("--device", type=device_name, help=f"cpu, gpu or gpu:N (default: {D['device']})")
    add("--config", choices=sorted(CONFIGS), help=f"network size, see minialexnet.models (default: {D['config']})")
    add("--engine", choices=ENGINE_CHOICES, default="auto", help=ENGINE_HELP)
    add(
        "--conv",
        choices=CONV_ALGORITHMS,
        help="convolution algorithm: auto (Winograd for conv2-5, im2col for conv1), im2col, or winograd wherever the stride is 1 "
        f"(default: {D['conv']})",
    )
    add(
        "--data",
        help="sample (built in), fashion-mnist (searched or downloaded; with the mini config it brings its own recipe, options.RECIPES: "
        f"{recipe_words('fashion-mnist', 'mini')}), cifar10:PATH or a folder of class folders (default: {D['data']})",
    )
    add("--epochs", type=positive_int, help=f"total number of epochs; a resumed run continues up to this number (default: {D['epochs']})")
    add("--batch-size", type=positive_int, help=f"images per SGD step (default: {D['batch_size']}, as in the paper)")
    add("--lr", type=positive_float, help="initial learning rate (default: the config's; the paper: 0.01, mini: 0.02)")
    add("--momentum", type=fraction, help=f"SGD momentum (default: {D['momentum']}, as in the paper)")
    add(
        "--weight-decay",
        type=non_negative_float,
        help=f"weight decay inside the velocity update (default: {D['weight_decay']:g}, as in the paper)",
    )
    add(
        "--init",
        choices=INIT_SCHEMES,
        help="weight initialisation (default: the config's; paper: N(0, 0.01), biases 1 in conv2/4/5, fc6, fc7)",
    )
    add(
        "--schedule",
        choices=("plateau", "step", "cosine", "none"),
        help="plateau: divide lr by 10 when validation error stops improving, as in the paper; step: by 10 every --step-size "
        f"epochs; cosine: half a cosine from --lr to zero over --epochs (default: {D['schedule']})",
    )
    add(
        "--patience",
        type=positive_int,
        help=f"epochs without improvement before the plateau schedule divides lr by 10 (default: {D['patience']})",
    )
    add("--step-size", type=positive_int, help=f"epochs between divisions for the step schedule (default: {D['step_size']})")
    add("--seed", type=non_negative_int, help=f"seeds initialisation, shuffling, augmentation and dropout (default: {D['seed']})")
    add("--out", help="output folder (default: a fresh runs/<config>-<data>[-N]; a resumed run: its checkpoint's folder)")
    add("--overwrite", action="store_true", default=None, help="let a new run replace the run already in --out")
    add("--resume", metavar="CKPT", help="continue from a checkpoint (e.g. runs/x/last.npz), mid-epoch if it was saved by Ctrl-C")
    add("--augment", action=argparse.BooleanOptionalAction, help="random crops, flips and PCA colour noise, Section 4.1 (default: off)")
    add(
        "--dropout",
        type=fraction,
        help=f"probability of dropping each output of fc6 and fc7 in training, Section 4.2 (default: {D['dropout']:g}, as in the paper)",
    )
    add(
        "--eval-crops",
        type=int,
        choices=(1, 10),
        help=f"evaluate with the centre crop or the paper's 10 crops (default: {D['eval_crops']})",
    )
    add(
        "--scale",
        choices=("paper", "unit", "standard"),
        help="paper: 0..255 minus the mean; unit: (x - mean)/255; standard: (x - mean)/std "
        "(default: the config's; paper, or standard for mini)",
    )
    add("--mean", choices=("pixel", "image"), help=f"subtract the mean pixel or the mean image of the training set (default: {D['mean']})")
    add(
        "--val-fraction",
        type=fraction,
        help=f"hold out this fraction of the training set for validation; 0 validates on the test split (default: {D['val_fraction']:g})",
    )
    add("--limit", type=positive_int, metavar="N", help="use N training images (and N/5 test images), for quick runs (default: all)")
    add(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bars; --no-progress: no bar, no lines (default: a bar on a terminal)",
    )
    add(
        "--progress-every",
        type=non_negative_int,
        metavar="N",
        help=f"without a bar, print a progress line every N batches; 0: never (default: {D['progress_every']})",
    )
    add(
        "--distributed",
        action="store_true",
        default=None,
        help="data-parallel SGD over the ranks of an MPI job (mpiexec -n K python -m minialexnet.train --distributed); "
        "--batch-size stays the global batch",
    )
    add(
        "--towers",
        type=int,
        choices=(1, 2),
        help="2: the paper's two towers (Section 3.2) on two ranks, with --config paper-2gpu (mpiexec -n 2; "
        f"with --distributed, 2 x K ranks) (default: {D['towers']})",
    )
    return parser


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every option not given (None) replaced by its meaning: the recipe's for its data and config
    (``RECIPES``), else ``DEFAULTS``; lr, init and scale by the config's."""
    given = {key: value for key, value in vars(args).items() if value is not None}
    recipe = RECIPES.get((given.get("data", DEFAULTS["data"]), given.get("config", DEFAULTS["config"])), {})
    options = {**vars(args), **DEFAULTS, **recipe, **given}
    config = get_config(options["config"])
    for key, value in (("lr", config.default_lr), ("init", config.default_init), ("scale", config.default_scale)):
        if options.get(key) is None:
            options[key] = value
    return argparse.Namespace(**options)
