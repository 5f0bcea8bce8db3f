"""How the fast engine computes each convolution (fast/choices.py), chosen by the layer's geometry.

The choices are invisible in the results (tests/test_engines.py holds every variant equal to
the reference) but not in the speed and memory measured in docs/fast_engine.md, so they are
pinned here for the four configs layer by layer: the algorithm (Winograd's tile m, or
im2col), whether an im2col layer keeps its columns for backward, and whether the output is
stored batch-last.
"""

import dataclasses

import pytest

from minialexnet import fast
from minialexnet.fast.choices import LARGE_OUTPUT, WINOGRAD_MIN_CHANNELS, ConvChoice, choose_conv
from minialexnet.models import alexnet, get_config

# per conv layer: ("winograd", m, batch-last output) or ("im2col", keeps its columns, batch-last output)
MINI = {
    "auto": [("im2col", True, True), ("winograd", 4, True), ("winograd", 2, True), ("winograd", 2, True), ("winograd", 2, True)],
    "im2col": [("im2col", True, True)] * 5,
    "winograd": [("winograd", 4, True), ("winograd", 4, True), ("winograd", 2, True), ("winograd", 2, True), ("winograd", 2, True)],
}
LARGE = {  # the 227x227 configs: paper, paper-2gpu, fashion
    "auto": [("im2col", False, False), ("winograd", 4, False), ("winograd", 2, True), ("winograd", 2, True), ("winograd", 2, True)],
    "im2col": [("im2col", False, False), ("im2col", False, False), ("im2col", True, True), ("im2col", True, True), ("im2col", True, True)],
}
LARGE["winograd"] = LARGE["auto"]  # conv1 has stride 4: im2col whatever is asked
CHOSEN = {"mini": MINI, "fashion": LARGE, "paper": LARGE, "paper-2gpu": LARGE}


def conv_choices(model) -> list[tuple]:
    """What the fast engine built for conv1 to conv5 of ``model``."""
    rows = []
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        layer = model[name]
        if type(layer) is fast.WinogradConv2d:
            rows.append(("winograd", layer.tile, layer.batch_last_output))
        else:
            assert type(layer) is fast.Conv2d, name
            rows.append(("im2col", layer.keep_columns, layer.batch_last_output))
    return rows


@pytest.mark.parametrize("conv", ["auto", "im2col", "winograd"])
@pytest.mark.parametrize("config", list(CHOSEN))
def test_each_config_gets_the_measured_choices(config, conv):
    model = alexnet(config, engine="fast", conv=conv)
    assert conv_choices(model) == CHOSEN[config][conv]
    assert [model[f"conv{k}"].need_input_grad for k in range(1, 6)] == [False, True, True, True, True]


def test_the_choices_follow_the_geometry_not_the_configs_name():
    """A config of another name gets the choices of its layers' shapes (the 227x227 ones were every unknown name's)."""
    for config, expected in (("mini", MINI["auto"]), ("paper", LARGE["auto"])):
        renamed = dataclasses.replace(get_config(config), name=f"my-{config}")
        assert conv_choices(alexnet(renamed, engine="fast")) == expected


def test_winograd_needs_stride_one_and_enough_channels_per_group():
    def algorithm(in_channels, stride=1, groups=1, conv="auto"):
        return choose_conv(in_channels, 32, 3, stride, 1, groups, 13, conv).algorithm

    assert algorithm(WINOGRAD_MIN_CHANNELS) == "winograd" and algorithm(WINOGRAD_MIN_CHANNELS - 1) == "im2col"
    assert algorithm(2 * WINOGRAD_MIN_CHANNELS, groups=2) == "winograd" and algorithm(WINOGRAD_MIN_CHANNELS, groups=2) == "im2col"
    assert algorithm(64, stride=2) == "im2col" and algorithm(64, stride=(1, 2)) == "im2col"
    assert algorithm(1, conv="winograd") == "winograd" and algorithm(64, stride=2, conv="winograd") == "im2col"
    assert algorithm(64, conv="im2col") == "im2col"
    with pytest.raises(ValueError, match="unknown conv_algorithm 'fft'; choose one of auto, im2col, winograd"):
        alexnet("mini", engine="fast", conv="fft")


def test_large_outputs_rebuild_their_columns_and_stay_row_major():
    """Large: more than LARGE_OUTPUT numbers per image, here F * OH * OW with 3x3 kernels and padding 1."""
    assert 32 * 64 * 64 == LARGE_OUTPUT
    assert choose_conv(8, 32, 3, 1, 1, 1, 64) == ConvChoice("im2col", recompute_columns=False, batch_last_output=True)
    assert choose_conv(8, 32, 3, 1, 1, 1, (64, 65)) == ConvChoice("im2col", recompute_columns=True, batch_last_output=False)
    assert choose_conv(8, 32, 3, 2, 1, 1, 128) == ConvChoice("im2col", recompute_columns=False, batch_last_output=True)


def test_summary_shows_the_algorithm_of_each_convolution():
    def algorithms(model):
        lines = model.summary().splitlines()
        return {line.split()[0]: line.rsplit("  ", 1)[1] for line in lines if line.startswith("conv")}

    expected = {"conv1": "im2col", "conv2": "winograd F(4x4, 5x5)", **{f"conv{k}": "winograd F(2x2, 3x3)" for k in (3, 4, 5)}}
    assert algorithms(alexnet("mini", engine="fast")) == expected
    assert algorithms(alexnet("mini", engine="reference")) == dict.fromkeys(expected, "im2col")
    assert alexnet("mini").summary().splitlines()[1].endswith("mult-adds  algorithm")
