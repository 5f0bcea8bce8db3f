"""Run under ``mpiexec -n K``: ``python -m minialexnet.train`` with argv[1:] (``-m`` would need a module path)."""

import sys

from minialexnet import train

if __name__ == "__main__":
    sys.exit(train.main(sys.argv[1:]))
