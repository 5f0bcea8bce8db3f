"""The paper's two towers on two ranks (minialexnet/towers.py) compute the single-process paper-2gpu network."""

import json
from types import SimpleNamespace

import pytest
from mpirun import run_ranks

from minialexnet.models import alexnet
from minialexnet.multi.distributed import DistributedError
from minialexnet.multi.towers import TowerExchange, tower_network
from minialexnet.training.checkpoint import Checkpoint


@pytest.mark.parametrize("ranks", [2, 4])
def test_two_towers_give_the_logits_gradients_and_updated_weights_of_one_process(ranks, tmp_path):
    """float64, dropout on, 67x67 input: one SGD step against paper-2gpu in one process, to 1e-12.
    4 ranks: two pairs of towers, data-parallel over halves of the batch (2 x K)."""
    report_path = tmp_path / "report.json"
    result = run_ranks(ranks, "tower_step.py", str(report_path), timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["exchanges"] == ["to_conv3", "to_fc6", "to_drop6", "to_drop7", "to_loss"]  # Figure 2's crossings
    assert report["logits"] < 1e-12
    assert report["grads"] < 1e-12
    assert report["params"] < 1e-12
    assert report["moved"] > 1e-3  # the step changed the weights
    assert 2 * report["tower_params"] == report["single_params"]  # each rank holds half the network


def _two_towers(rank):
    return SimpleNamespace(rank=rank, size=2)  # enough to cut the network; no messages are sent


def test_tower_layers_hold_half_of_every_layer():
    model = alexnet("paper-2gpu", seed=1)
    tower = tower_network(model, _two_towers(1))
    assert tower["conv1"].params["W"].shape == (48, 3, 11, 11)
    assert (tower["conv1"].params["W"] == model["conv1"].params["W"][48:]).all()  # rank 1 holds the second half
    assert tower["conv2"].params["W"].shape == (128, 48, 5, 5) and tower["conv2"].groups == 1
    assert tower["conv3"].in_channels == 256 and tower["conv3"].out_channels == 192
    assert tower["conv4"].in_channels == 192 and tower["norm1"].groups == 1
    assert tower["fc6"].params["W"].shape == (2048, 9216) and tower["fc8"].params["W"].shape == (500, 4096)
    assert isinstance(tower["to_fc6"], TowerExchange) and not tower["to_loss"].sum_gradients
    assert tower.output_shape((1, 3, 227, 227)) == (1, 1000)


def test_a_network_whose_lrn_crosses_the_towers_is_refused_with_advice():
    with pytest.raises(
        DistributedError, match="norm1 normalises across all 2 towers' channels .* LRN groups=2 \\(the paper-2gpu config\\)"
    ):
        tower_network(alexnet("paper"), _two_towers(0))


def test_train_cli_with_two_towers_writes_a_whole_network_checkpoint(tmp_path):
    """mpiexec -n 2 python -m minialexnet.train --towers 2 --config paper-2gpu: rank 0 saves the joined network."""
    out = tmp_path / "run"
    args = ["--towers", "2", "--config", "paper-2gpu", "--limit", "32", "--batch-size", "16", "--epochs", "1", "--out", str(out)]
    result = run_ranks(2, "minialexnet.train", *args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("epoch   1/1") == 1
    checkpoint = Checkpoint(out / "last.npz")
    single = alexnet(checkpoint.config)
    assert f"training 'paper-2gpu' ({single.num_params:,} parameters)" in result.stdout  # the whole network's, not a tower's
    assert {name: value.shape for name, value in checkpoint.params.items()} == {name: value.shape for name, value in single.params.items()}
    assert {name: value.shape for name, value in checkpoint.velocities.items()} == {
        name: value.shape for name, value in single.params.items()
    }
    assert checkpoint.meta.rng["drop6"]["masks_drawn"] == 2  # two steps, one mask each, the same on both towers
