"""numba kernels of backtestr, installed as ``backtestr.kernels``."""
