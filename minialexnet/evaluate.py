"""``python -m minialexnet.evaluate``: the command; the code is ``minialexnet.training.evaluate``."""

import sys

from minialexnet.training.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
