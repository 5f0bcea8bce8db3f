"""``python -m minialexnet.predict``: the command; the code is ``minialexnet.training.predict``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.training.predict"))
