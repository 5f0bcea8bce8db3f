"""minialexnet: AlexNet (Krizhevsky, Sutskever, Hinton, 2012) from scratch, on NumPy or CuPy."""

import os
import sys

# OpenBLAS's worker threads keep spinning on the CPU for up to 2**28 cycles after every
# matrix product, which takes a core away from the elementwise work that follows (see
# parallel.py). Ask them to sleep at once, unless the user chose otherwise. OpenBLAS reads
# this when NumPy first loads it, so it only takes effect if minialexnet is imported first.
NUMPY_LOADED_FIRST = "numpy" in sys.modules
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from minialexnet.backend import DeviceUnavailableError, asnumpy, get_array_module, to_device  # noqa: E402 (after the setting above)

__version__ = "0.1.0"

__all__ = ["DeviceUnavailableError", "__version__", "asnumpy", "get_array_module", "to_device"]
