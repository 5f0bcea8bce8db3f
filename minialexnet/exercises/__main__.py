"""``python -m minialexnet.exercises check [NAME ...] | status [--dir DIR] [--solutions]``."""

import sys

from minialexnet.exercises import main

sys.exit(main())
