"""``python -m minialexnet.bench``: the command; the code is ``minialexnet.tools.bench``."""

import sys

from minialexnet.tools.bench import main

if __name__ == "__main__":
    sys.exit(main())
