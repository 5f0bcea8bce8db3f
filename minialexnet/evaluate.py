"""``python -m minialexnet.evaluate``: the command; the code is ``minialexnet.training.evaluate``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.training.evaluate"))
