"""How the fast engine computes each convolution of the four AlexNet configs (fast/choices.py).

The choices are invisible in the results (tests/test_engines.py holds every variant equal to
the reference) but not in the speed and memory measured in docs/fast_engine.md, so they are
pinned here layer by layer: the algorithm (Winograd's tile m, or im2col), whether an im2col
layer keeps its columns for backward, and whether the output is stored batch-last.
"""

import pytest

from minialexnet import fast
from minialexnet.models import alexnet

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
