"""``python -m minialexnet.train``: the command; the code is ``minialexnet.training.train``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.training.train"))
