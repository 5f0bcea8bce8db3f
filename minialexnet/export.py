"""``python -m minialexnet.export``: the command; the code is ``minialexnet.tools.export``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.tools.export"))
