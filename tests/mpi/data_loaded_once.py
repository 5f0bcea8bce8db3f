"""Run under ``mpiexec -n 2``: ``train --distributed`` with ``load_dataset`` wrapped to log when each rank starts and
ends reading the data (argv[1]: the log; argv[2]: the output folder). Rank 0 takes a second, as a download would:
the other rank must not start before rank 0 is done."""

import sys
import time

from mpi4py import MPI

from minialexnet.training import train

original = train.load_dataset


def logged_load(name):
    rank = MPI.COMM_WORLD.Get_rank()
    with open(sys.argv[1], "a") as log:
        log.write(f"start {rank}\n")
    if rank == 0:
        time.sleep(1.0)  # a download
    dataset = original(name)
    with open(sys.argv[1], "a") as log:
        log.write(f"end {rank}\n")
    return dataset


train.load_dataset = logged_load
sys.exit(train.main(["--distributed", "--limit", "64", "--batch-size", "64", "--epochs", "1", "--out", sys.argv[2]]))
