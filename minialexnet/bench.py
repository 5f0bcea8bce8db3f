"""``python -m minialexnet.bench``: the command; the code is ``minialexnet.tools.bench``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.tools.bench"))
