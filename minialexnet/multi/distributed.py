"""Training on many processes: data-parallel SGD over MPI, NCCL on GPUs. Paper: Section 3.2.

Launch K copies of the same program with an MPI launcher; each copy is a *rank*::

    mpiexec -n K python -m minialexnet.train --distributed [--device gpu] ...
    srun -n K python -m minialexnet.train --distributed ...            (Slurm)

Data parallelism (``DataParallel``), as ChainerMN and Horovod do it:

- every rank holds a full replica of the network; rank 0's initial parameters are
  broadcast, so the replicas start equal;
- every rank draws the same per-epoch order, and rank r takes its contiguous share of
  each global batch of B images (``share``: the shares differ by at most one image);
- dropout (layers/counter_hash.py) draws mask rows by a hash of the *global* image number, so
  a rank that sets ``row_offset`` to its share's start drops exactly the units one
  process would drop for those images;
- the loss is the mean over the global batch, L = sum_r (B_r / B) L_r, with L_r the mean
  over rank r's B_r images, so dL/dw = sum_r (B_r / B) dL_r/dw: each rank scales its
  gradient by B_r / B, packs all of them into one flat buffer and one allreduce (a sum
  over the ranks) leaves the global gradient on every rank;
- the SGD update then runs identically everywhere on the same summed gradient, so the
  replicas stay equal (the tests check them bit for bit, by a hash of the parameters).

Evaluation is sharded the same way and its sums are reduced. Rank 0 alone prints,
writes metrics, plots and checkpoints; the checkpoint does not depend on K (the
parameters, velocities and dropout counters are the same on every rank), so a run may
resume with another number of ranks.

Communicators: ``MPICommunicator`` moves host (NumPy) arrays through mpi4py.
``NCCLCommunicator`` moves GPU (CuPy) arrays through NVIDIA's NCCL (``cupy.cuda.nccl``):
rank 0 makes NCCL's unique id and MPI broadcasts it, then NCCL talks GPU to GPU (NVLink,
PCIe or InfiniBand) without a copy through the host. Both have the same methods, so the
training code does not know which one it holds.

A rank that fails (an exception, a NaN loss, a second Ctrl-C) calls ``MPI_Abort``, which ends the
whole job at once: the other ranks would otherwise wait forever in their next allreduce.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minialexnet.backend import get_array_module, parse_device

MPI_INSTALL_HINT = 'install the MPI extra: pip install -e ".[mpi]" (mpi4py and the mpich wheel, which brings mpiexec)'
ABORT_GRACE_S = 1.0  # before MPI_Abort: the launcher forwards the failing rank's last messages (it dropped them without)
NCCL_INSTALL_HINT = "install NCCL for CuPy: pip install nvidia-nccl-cu12 (CUDA 12) or nvidia-nccl-cu13 (CUDA 13)"


class DistributedError(RuntimeError):
    """A multi-process run cannot start or continue; the message says why and what to do."""


def import_mpi() -> Any:
    """mpi4py's ``MPI`` module (importing it initialises MPI), or DistributedError with the install command."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(f"a distributed run needs mpi4py ({error}); {MPI_INSTALL_HINT}") from None
    return MPI


def import_nccl() -> Any:
    """CuPy's ``nccl`` module, or DistributedError saying which wheel is missing."""
    try:
        from cupy.cuda import nccl
    except ImportError as error:
        raise DistributedError(f"a distributed GPU run needs CuPy's NCCL binding ({error}); {NCCL_INSTALL_HINT}") from None
    if not getattr(nccl, "available", False):
        raise DistributedError(f"CuPy cannot find the NCCL library; {NCCL_INSTALL_HINT}")
    return nccl


def share(n: int, rank: int, size: int) -> slice:
    """Rank ``rank``'s contiguous part of n items split over ``size`` ranks: lengths differ by at most one."""
    return slice(n * rank // size, n * (rank + 1) // size)


class MPICommunicator:
    """Collectives on host (NumPy) arrays through mpi4py. ``comm``: an mpi4py communicator (default: all ranks)."""

    def __init__(self, comm: Any = None) -> None:
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    @property
    def local_rank(self) -> int:
        """This rank's number among the ranks on the same machine (which GPU it takes)."""
        return self.comm.Split_type(self.MPI.COMM_TYPE_SHARED).Get_rank()

    def allreduce_sum(self, buffer: Any) -> None:
        """Replace ``buffer`` (contiguous) by its sum over all ranks, in place."""
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)

    def broadcast(self, buffer: Any, root: int = 0) -> None:
        """Overwrite ``buffer`` (contiguous) with rank ``root``'s, in place."""
        self.comm.Bcast(buffer, root=root)

    def allgather(self, x: Any, axis: int = 1) -> Any:
        """Every rank's ``x`` joined along ``axis`` in rank order (the parts may differ in length there)."""
        part = np.ascontiguousarray(np.moveaxis(x, axis, 0))
        lengths = [int(n) for n in self.comm.allgather(part.shape[0])]
        joined = np.empty((sum(lengths), *part.shape[1:]), dtype=x.dtype)
        item = int(np.prod(part.shape[1:]))
        self.comm.Allgatherv(part, (joined, [n * item for n in lengths]))
        return np.ascontiguousarray(np.moveaxis(joined, 0, axis))

    def sum_values(self, *values: float) -> tuple[float, ...]:
        """The sums over all ranks of a few host numbers (metrics), in one small allreduce."""
        total = np.array(values, dtype=np.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, total, op=self.MPI.SUM)
        return tuple(float(value) for value in total)

    def split(self, color: int, key: int) -> MPICommunicator:
        """A communicator of the ranks that pass the same ``color``, numbered in the order of ``key`` (collective)."""
        return type(self)(self.comm.Split(color, key))

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        """End every rank of the job now (MPI_Abort): no rank is left waiting in a collective."""
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(ABORT_GRACE_S)
        self.comm.Abort(code)


_NCCL_TYPES = {
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
    "int32": "NCCL_INT32",
    "int64": "NCCL_INT64",
}


class NCCLCommunicator(MPICommunicator):
    """Collectives on GPU (CuPy) arrays through NCCL; host numbers (``sum_values``) and ``abort`` still go through MPI.

    Rank 0 creates NCCL's unique id and MPI broadcasts it to the others; then every rank
    joins the NCCL communicator (one GPU per rank). ``nccl``: the module to use (default
    ``cupy.cuda.nccl``; the tests pass a stand-in).
    """

    def __init__(self, comm: Any = None, nccl: Any = None) -> None:
        super().__init__(comm)
        self.nccl = import_nccl() if nccl is None else nccl
        unique_id = self.nccl.get_unique_id() if self.rank == 0 else None
        unique_id = self.comm.bcast(unique_id, root=0)
        self.device_comm = self.nccl.NcclCommunicator(self.size, unique_id, self.rank)

    def _type(self, array: Any) -> int:
        name = _NCCL_TYPES.get(np.dtype(array.dtype).name)
        if name is None:
            raise DistributedError(f"NCCL cannot reduce {array.dtype} arrays; use float16, float32, float64, int32 or int64")
        return getattr(self.nccl, name)

    @staticmethod
    def _pointer(array: Any) -> int:
        """The device address of a contiguous CuPy array (what NCCL takes)."""
        return array.data.ptr

    @staticmethod
    def _stream(array: Any) -> int:
        """The CUDA stream the array's work is queued on: NCCL runs in order with it."""
        return get_array_module(array).cuda.get_current_stream().ptr

    def allreduce_sum(self, buffer: Any) -> None:
        ptr = self._pointer(buffer)
        self.device_comm.allReduce(ptr, ptr, buffer.size, self._type(buffer), self.nccl.NCCL_SUM, self._stream(buffer))

    def broadcast(self, buffer: Any, root: int = 0) -> None:
        self.device_comm.bcast(self._pointer(buffer), buffer.size, self._type(buffer), root, self._stream(buffer))

    def allgather(self, x: Any, axis: int = 1) -> Any:
        """As MPICommunicator.allgather; NCCL needs equal parts, so a shorter part is padded and trimmed after."""
        xp = get_array_module(x)
        lengths = [int(n) for n in self.comm.allgather(x.shape[axis])]
        longest = max(lengths)
        parts = xp.moveaxis(x, axis, 0)
        padded = xp.zeros((longest, *parts.shape[1:]), dtype=x.dtype)
        padded[: lengths[self.rank]] = parts
        joined = xp.empty((self.size, *padded.shape), dtype=x.dtype)
        send, receive = self._pointer(padded), self._pointer(joined)
        self.device_comm.allGather(send, receive, padded.size, self._type(padded), self._stream(padded))
        whole = xp.concatenate([joined[r, :n] for r, n in enumerate(lengths)])
        return xp.ascontiguousarray(xp.moveaxis(whole, 0, axis))


def setup(device: str) -> tuple[MPICommunicator, str]:
    """Join the MPI job: (communicator, this rank's device). Ranks other than 0 stop printing.

    ``gpu`` becomes ``gpu:(local rank mod device count)``, one GPU per rank on each machine,
    and the communicator is then NCCL's; on the CPU it is MPI's.
    """
    comm = MPICommunicator()
    silence_other_ranks(comm)
    kind, index = parse_device(device)
    if kind == "gpu":
        from minialexnet.backend import get_cupy, use_device

        device = device if index is not None else f"gpu:{comm.local_rank % get_cupy().cuda.runtime.getDeviceCount()}"
        use_device(device)
        comm = NCCLCommunicator()
    if comm.rank == 0:
        print(f"distributed: {comm.size} ranks over {'NCCL' if kind == 'gpu' else 'MPI'}; rank 0 on {device}", file=sys.stderr)
    return comm, device


def _dropouts(model: Any) -> Iterator[Any]:
    from minialexnet.layers import Dropout

    return (layer for _, layer in model if isinstance(layer, Dropout))


class OneProcess:
    """What ``DataParallel`` and a communicator offer the training loop, for one process alone: every batch is this
    process's, there is nothing to add up, and it is rank 0 of 1. The loop is then the course's own, with no
    ``if distributed`` anywhere."""

    rank, size = 0, 1

    def local_batch(self, x: Any, y: Any) -> tuple[Any, Any]:
        return x, y

    def skip_empty_share(self) -> None:
        """Never called: one process's share of a batch is the whole batch, never empty."""

    def allreduce_gradients(self, local_count: int, global_count: int) -> None:
        """The gradients are already the batch's."""

    def evaluate(self, evaluate: Callable[..., dict[str, float]], *args: Any, **kwargs: Any) -> dict[str, float]:
        return evaluate(*args, **kwargs)

    def sum_values(self, *values: float) -> tuple[float, ...]:
        return tuple(float(value) for value in values)

    def barrier(self) -> None:
        """Nobody to wait for."""


ONE_PROCESS = OneProcess()


class DataParallel:
    """Data-parallel SGD of ``model`` over ``comm``'s ranks (the recipe is in the module docstring).

    Per step: ``x, y = dp.local_batch(x, y)`` (this rank's share; sets dropout's row
    offset), forward and backward as usual, ``dp.allreduce_gradients(local, global)``,
    then the optimizer step. The parameters are broadcast from rank 0 when it is made.
    """

    def __init__(self, comm: MPICommunicator, model: Any) -> None:
        self.comm, self.model = comm, model
        self.flat: Any = None
        self.broadcast_parameters()

    @property
    def is_root(self) -> bool:
        return self.comm.rank == 0

    def _flat_buffer(self, like: Any) -> Any:
        count = sum(int(value.size) for value in self.model.params.values())
        if (
            self.flat is None
            or self.flat.size != count
            or self.flat.dtype != like.dtype
            or get_array_module(self.flat) is not get_array_module(like)
        ):
            self.flat = get_array_module(like).empty(count, dtype=like.dtype)
        return self.flat

    def _pack(self, arrays: dict[str, Any], scale: float = 1.0) -> Any:
        flat = self._flat_buffer(next(iter(arrays.values())))
        offset = 0
        for value in arrays.values():
            get_array_module(value).multiply(value.reshape(-1), scale, out=flat[offset : offset + value.size])
            offset += value.size
        return flat

    def _unpack(self, flat: Any, arrays: dict[str, Any]) -> None:
        offset = 0
        for value in arrays.values():
            value[...] = flat[offset : offset + value.size].reshape(value.shape)
            offset += value.size

    def broadcast_parameters(self) -> None:
        """Give every replica rank 0's parameters (one flat broadcast) and dropout state (seeds and mask counters)."""
        params = self.model.params
        flat = self._pack(params)
        self.comm.broadcast(flat, root=0)
        self._unpack(flat, params)
        self.model.set_rng_state(self.comm.comm.bcast(self.model.get_rng_state(), root=0))

    def local_batch(self, x: Any, y: Any) -> tuple[Any, Any]:
        """This rank's contiguous share of the global batch (x, y); dropout then draws the share's rows of the global mask.

        The share is empty when the batch has fewer images than there are ranks: that rank then
        adds a zero gradient (``skip_empty_share``), and the step is still one process's.
        """
        part = share(len(y), self.comm.rank, self.comm.size)
        for dropout in _dropouts(self.model):
            dropout.row_offset = part.start
        return x[part], y[part]

    def skip_empty_share(self) -> None:
        """The step of a rank whose share is empty: zero gradients, and each dropout counts the mask that one forward
        pass would have drawn, so that its next masks stay those of the other ranks."""
        self.model.zero_grads()
        for dropout in _dropouts(self.model):
            dropout.masks_drawn += 1

    def allreduce_gradients(self, local_count: int, global_count: int) -> None:
        """Replace every gradient by the gradient of the global batch's mean loss (one flat allreduce)."""
        grads = self.model.grads
        flat = self._pack(grads, local_count / global_count)
        self.comm.allreduce_sum(flat)
        self._unpack(flat, grads)

    def evaluate(self, evaluate: Callable[..., dict[str, float]], model: Any, images: np.ndarray, labels: np.ndarray, *args: Any,
                 **kwargs: Any) -> dict[str, float]:  # fmt: skip
        """``evaluate`` (training.evaluate.evaluate_model, its arguments after it) on this rank's share of the images,
        its means combined over all ranks."""
        part = share(len(labels), self.comm.rank, self.comm.size)
        count = part.stop - part.start
        result = evaluate(model, images[part], labels[part], *args, **kwargs) if count else {}
        keys = ("loss", "top1_error", "top5_error")
        sums = self.comm.sum_values(count, *(result.get(key, 0.0) * count for key in keys))
        return {key: total / sums[0] for key, total in zip(keys, sums[1:], strict=True)}

    def sum_values(self, *values: float) -> tuple[float, ...]:
        return self.comm.sum_values(*values)

    def parameter_hash(self) -> str:
        """A SHA-256 of this replica's parameters (equal on every rank when the replicas are identical)."""
        import hashlib

        from minialexnet.backend import asnumpy

        digest = hashlib.sha256()
        for name, value in sorted(self.model.params.items()):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(asnumpy(value)).tobytes())
        return digest.hexdigest()


def silence_other_ranks(comm: MPICommunicator) -> None:
    """Rank 0 alone prints: the other ranks' standard output goes to /dev/null (errors still reach stderr; the notes
    that go there are printed by rank 0 alone)."""
    if comm.rank != 0:
        sys.stdout = open(os.devnull, "w")


def end_job_on_failure(comm_factory: Callable[[], MPICommunicator], main: Callable[[], int], agreed: tuple[int, ...] = ()) -> int:
    """Run ``main``; if it fails on this rank (an exception, or a non-zero exit code), end every rank of the job.

    Without this, the other ranks would wait forever for this one in their next collective.
    The exit codes in ``agreed``, returned by ``main``, are not failures: every rank returns
    them together (a stop on a signal that the ranks agreed on, after saving), so no rank is
    left waiting. An exception always is one.
    """
    failed = False
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C on this rank: it quits now, so must every rank
        code, failed = 130, True
    except BaseException:
        traceback.print_exc()
        code, failed = 1, True
    if failed or (code and code not in agreed):
        print(f"error: rank {comm_factory().rank} failed (exit code {code}): ending all ranks of the job", file=sys.stderr)
        comm_factory().abort(code)
    return code
