"""The paper's two towers on two ranks: model parallelism. Paper: Section 3.2 and Figure 2.

The paper put half of every layer on each of two GPUs: half the kernels of each
convolutional layer, half the neurons of each fully connected layer. "The GPUs
communicate only in certain layers": conv3 takes all the kernel maps of conv2 (from both
GPUs), and each fully connected layer takes all the neurons of the layer below. conv2,
conv4 and conv5 see only their own GPU's maps (``groups=2`` in the ``paper-2gpu``
config), and so do the response normalisations (``LocalResponseNorm(groups=2)``).

``tower_network(model, comm)`` cuts such a network into its T towers (T = comm.size) and
returns this rank's tower: every convolution and fully connected layer keeps the
rank's part of its output units (filters / neurons [r F/T, (r+1) F/T)) and, where the
layer needs every unit of the layer below, a ``TowerExchange`` is put in front of it.
Walking the layers, the activations are either *split* (each tower holds its units) or
*replicated* (every tower holds all of them)::

    layer                 needs                            output
    conv, groups = G      split if G is a multiple of T,    split
                          replicated if G = 1
    fc                    replicated                        split
    LRN, groups = G       split needs G a multiple of T     as its input
    dropout               replicated (its mask numbers      replicated
                          the units of the whole layer)
    ReLU, pool, flatten   either                            as its input

For ``paper-2gpu`` that puts exchanges at the input of conv3, fc6, fc7 (before drop6,
which every tower then applies to all 4096 units with the single process's mask) and
fc8 (before drop7), and one after fc8 to give every tower all the logits for the loss.

Forward, an exchange joins the towers' parts along axis 1 (an allgather, in rank order:
flattening keeps channel-major order, so the parts of pool5 join into fc6's input).
Backward, the gradient each tower holds for the joined activations is only its own
layers' share of the truth (dL/dx = sum over towers of their paths' contributions), so the
exchange sums it over the towers (an allreduce) and keeps its own part. The last
exchange is the exception: the loss is computed identically on every tower, so its
gradient is already whole there (``sum_gradients=False``).

Every tower then updates its own parameters with the same SGD, and the T towers together
hold exactly the parameters of the single-process network (``gather_parameters``).

Training (``Towers``, used by ``python -m minialexnet.train --towers 2``): with T x K ranks,
ranks 2k and 2k + 1 form the k-th pair of towers and the pairs train data-parallel
(distributed.py) over the ranks that hold the same tower; checkpoints hold the whole
network, so they are the same as a single process's.
"""

from __future__ import annotations

import copy
from typing import Any

from minialexnet.backend import get_array_module
from minialexnet.layers import Conv2d, Dropout, Layer, Linear, LocalResponseNorm
from minialexnet.models import AlexNet
from minialexnet.multi.distributed import DistributedError, MPICommunicator
from minialexnet.optim import SGD


class TowerExchange(Layer):
    """Where the towers communicate. Shapes: x (N, c, ...) -> out (N, T c, ...), the towers' parts in rank order.

    Backward: dout (N, T c, ...) -> this tower's part (N, c, ...) of dout summed over the
    towers (``sum_gradients=True``), or of dout itself when every tower holds the whole
    gradient already (after the last layer).
    """

    def __init__(self, comm: MPICommunicator, sum_gradients: bool = True) -> None:
        super().__init__()
        self.comm, self.sum_gradients = comm, sum_gradients

    def __repr__(self) -> str:
        return f"TowerExchange(towers={self.comm.size}, sum_gradients={self.sum_gradients})"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], input_shape[1] * self.comm.size, *input_shape[2:])

    def forward(self, x: Any, train: bool = True) -> Any:
        self.cache = x.shape[1]
        return self.comm.allgather(x, axis=1)

    def backward(self, dout: Any) -> Any:
        part = self.cache
        own = slice(self.comm.rank * part, (self.comm.rank + 1) * part)
        if not self.sum_gradients:
            return get_array_module(dout).ascontiguousarray(dout[:, own])
        total = get_array_module(dout).array(dout, order="C", copy=True)  # summed in place: never into dout itself
        self.comm.allreduce_sum(total)
        return total[:, own]


def _own_units(layer: Layer, count: int, towers: int, rank: int) -> slice:
    if count % towers:
        raise DistributedError(f"{layer.name}: {count} units cannot be split into {towers} equal towers; use a config whose widths divide")
    part = count // towers
    return slice(rank * part, (rank + 1) * part)


def _tower_part(layer: Layer, towers: int, rank: int, split_input: bool) -> Layer:
    """This tower's copy of ``layer``: its part of the output units (and of the input channels when the input is split)."""
    part = copy.copy(layer)
    part.cache, part.workspace = None, {}
    if isinstance(layer, (Conv2d, Linear)):
        count = layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        own = _own_units(layer, count, towers, rank)
        part.params = {key: value[own].copy() for key, value in layer.params.items()}
        part.grads = {key: get_array_module(value).zeros_like(value) for key, value in part.params.items()}
        if isinstance(layer, Linear):
            part.out_features = own.stop - own.start
        else:
            part.out_channels, part.groups = own.stop - own.start, max(layer.groups // towers, 1)
            part.in_channels = layer.in_channels // towers if split_input else layer.in_channels
    elif isinstance(layer, LocalResponseNorm):
        part.groups = layer.groups // towers
    return part


def _needs_whole_input(layer: Layer, towers: int) -> bool:
    """True for layers that read every unit of the layer below (a split input must be exchanged first)."""
    if isinstance(layer, Conv2d):
        if layer.groups % towers and layer.groups != 1:
            raise DistributedError(f"{layer.name}: groups={layer.groups} cannot be split into {towers} towers")
        return layer.groups == 1
    if isinstance(layer, LocalResponseNorm) and layer.groups % towers:
        raise DistributedError(
            f"{layer.name} normalises across all {towers} towers' channels (groups={layer.groups}); "
            f"build the network with LRN groups={towers} (the paper-2gpu config) to split it into towers"
        )
    return isinstance(layer, (Linear, Dropout))


def tower_network(model: AlexNet, comm: MPICommunicator) -> AlexNet:
    """This rank's tower of ``model`` (e.g. ``alexnet("paper-2gpu")``), with ``TowerExchange`` layers where the towers communicate.

    Every rank must pass the same model (same config and seed); the tower takes its copy
    of the parameters. Raises DistributedError when a layer cannot be split.
    """
    towers, rank = comm.size, comm.rank
    layers: list[tuple[str, Layer]] = []
    split = False  # the input image is replicated on every tower
    for name, layer in model:
        if split and _needs_whole_input(layer, towers):
            layers.append((f"to_{name}", TowerExchange(comm)))
            split = False
        layers.append((name, _tower_part(layer, towers, rank, split)))
        split = split or isinstance(layer, (Conv2d, Linear))
    if split:
        layers.append(("to_loss", TowerExchange(comm, sum_gradients=False)))
    return AlexNet(model.config, *layers)


def gather_parameters(tower: AlexNet, comm: MPICommunicator) -> dict[str, Any]:
    """The whole network's parameters, joined from every tower's part (output units are the first axis of W and b)."""
    return {name: comm.allgather(value, axis=0) for name, value in tower.params.items()}


class Towers:
    """One rank's part of a run of ``towers`` towers (``comm.size`` = towers x K ranks): its tower, its data-parallel peers.

    Cuts ``model`` (the whole network, with any resumed parameters and dropout state) and
    the optimizer's velocities to this rank's tower; ``whole()`` joins them back (a
    collective: every rank must call it) for checkpoints and plots.
    """

    def __init__(self, comm: MPICommunicator, towers: int, model: AlexNet, optimizer: SGD) -> None:
        if comm.size % towers:
            raise DistributedError(f"--towers {towers} needs a multiple of {towers} ranks (mpiexec -n {towers} or more), got {comm.size}")
        self.tower_comm = comm.split(comm.rank // towers, comm.rank)  # the pair (for two towers) that shares the batch
        self.data_comm = comm.split(comm.rank % towers, comm.rank)  # the ranks that hold the same tower
        self.whole_model, self.optimizer = model, optimizer
        self.tower = tower_network(model, self.tower_comm)
        optimizer.velocity = {name: self._own(name, value) for name, value in optimizer.velocity.items()}

    def _own(self, name: str, whole: Any) -> Any:
        """This tower's rows of a whole-network array (its output units come first, as in ``_tower_part``)."""
        count = self.tower.params[name].shape[0]
        return whole[self.tower_comm.rank * count : (self.tower_comm.rank + 1) * count].copy()

    def whole(self) -> tuple[AlexNet, dict[str, Any]]:
        """(the whole network with the towers' current parameters, its velocities), on every rank."""
        self.whole_model.set_params(gather_parameters(self.tower, self.tower_comm))
        velocities = {name: self.tower_comm.allgather(value, axis=0) for name, value in self.optimizer.velocity.items()}
        return self.whole_model, velocities
