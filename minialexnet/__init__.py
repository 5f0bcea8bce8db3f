"""minialexnet: AlexNet (Krizhevsky, Sutskever, Hinton, 2012) from scratch, on NumPy or CuPy."""

from minialexnet.backend import DeviceUnavailableError, asnumpy, get_array_module, to_device

__version__ = "0.1.0"

__all__ = ["DeviceUnavailableError", "__version__", "asnumpy", "get_array_module", "to_device"]
