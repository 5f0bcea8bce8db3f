"""``python -m minialexnet.predict``: the command; the code is ``minialexnet.training.predict``."""

import sys

from minialexnet.training.predict import main

if __name__ == "__main__":
    sys.exit(main())
