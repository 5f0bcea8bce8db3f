"""``python -m minialexnet.export``: the command; the code is ``minialexnet.tools.export``."""

import sys

from minialexnet.tools.export import main

if __name__ == "__main__":
    sys.exit(main())
