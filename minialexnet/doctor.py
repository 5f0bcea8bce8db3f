"""``python -m minialexnet.doctor``: the command; the code is ``minialexnet.tools.doctor``."""

import sys

from minialexnet.commands import run

if __name__ == "__main__":
    sys.exit(run("minialexnet.tools.doctor"))
