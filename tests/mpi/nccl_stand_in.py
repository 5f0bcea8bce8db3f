"""Run under ``mpiexec -n 2``: NCCLCommunicator's logic on the CPU, with a stand-in for ``cupy.cuda.nccl``.

The stand-in does what NCCL does, on raw memory addresses (NumPy arrays stand in for
device arrays), by MPI underneath: so the unique id's broadcast, the data types, counts,
roots and the padding of unequal allgather parts are all exercised. Rank 0 writes a JSON
report to argv[1].
"""

import ctypes
import json
import sys

import numpy as np
from mpi4py import MPI

from minialexnet.multi.distributed import NCCLCommunicator

TYPES = {0: np.int32, 1: np.int64, 2: np.float16, 3: np.float32, 4: np.float64}


def view(address, count, code):
    dtype = np.dtype(TYPES[code])
    return np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(address), dtype=dtype)


class StandInNccl:
    available = True
    NCCL_INT32, NCCL_INT64, NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_SUM = 0, 1, 2, 3, 4, 0
    ids_made = 0

    @classmethod
    def get_unique_id(cls):
        cls.ids_made += 1
        return tuple(np.random.default_rng().integers(0, 256, 128).tolist())  # NCCL's id is 128 random bytes

    class NcclCommunicator:
        def __init__(self, ndev, unique_id, rank):
            self.ndev, self.unique_id, self.rank = ndev, unique_id, rank

        def allReduce(self, send, receive, count, code, op, stream):
            assert op == StandInNccl.NCCL_SUM and stream == 0
            MPI.COMM_WORLD.Allreduce(view(send, count, code).copy(), view(receive, count, code), op=MPI.SUM)

        def bcast(self, buffer, count, code, root, stream):
            MPI.COMM_WORLD.Bcast(view(buffer, count, code), root=root)

        def allGather(self, send, receive, count, code, stream):
            MPI.COMM_WORLD.Allgather(view(send, count, code).copy(), view(receive, count * self.ndev, code))


def main(report_path):
    NCCLCommunicator._pointer = staticmethod(lambda array: array.__array_interface__["data"][0])
    NCCLCommunicator._stream = staticmethod(lambda array: 0)
    comm = NCCLCommunicator(nccl=StandInNccl)
    rank = comm.rank
    summed = np.arange(6, dtype=np.float32) * (rank + 1)
    comm.allreduce_sum(summed)
    broadcast = np.full(4, float(rank + 7))
    comm.broadcast(broadcast, root=1)
    part = np.arange(2 * (2 + rank) * 3, dtype=np.float64).reshape(2, 2 + rank, 3) + 100 * rank  # 2 and 3 channels
    joined = comm.allgather(part, axis=1)
    reference = MPI.COMM_WORLD.allgather(part)
    ids = MPI.COMM_WORLD.gather(comm.device_comm.unique_id, root=0)
    made = MPI.COMM_WORLD.gather(StandInNccl.ids_made, root=0)
    try:
        comm.allreduce_sum(np.zeros(2, dtype=np.complex64))
        refused = ""
    except Exception as error:
        refused = str(error)
    if rank == 0:
        report = {
            "same_id": len(set(ids)) == 1,
            "ids_made": made,
            "sum": summed.tolist(),
            "broadcast": broadcast.tolist(),
            "allgather_equal": bool(np.array_equal(joined, np.concatenate(reference, axis=1))),
            "allgather_shape": list(joined.shape),
            "refused": refused,
        }
        with open(report_path, "w") as file:
            json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1])
