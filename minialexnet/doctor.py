"""``python -m minialexnet.doctor``: the command; the code is ``minialexnet.tools.doctor``."""

import sys

from minialexnet.tools.doctor import main

if __name__ == "__main__":
    sys.exit(main())
