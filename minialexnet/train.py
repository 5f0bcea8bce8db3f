"""``python -m minialexnet.train``: the command; the code is ``minialexnet.training.train``."""

import sys

from minialexnet.training.train import main

if __name__ == "__main__":
    sys.exit(main())
