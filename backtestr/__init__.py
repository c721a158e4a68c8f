"""backtestr: a vectorised, columnar tick backtester.

``import backtestr`` is light: the driver, polars and the compiled kernels
(numba) are imported the first time one of the names below is used.
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import BacktestrError, ConfigError, DataError, OrdersError  # noqa: E402

_LAZY = {"Config": "config", "load_config": "config", "Result": "run", "run": "run"}

__all__ = ["BacktestrError", "Config", "ConfigError", "DataError", "OrdersError", "Result",
           "load_config", "run", "__version__"]

if TYPE_CHECKING:
    from .config import Config, load_config
    from .run import Result, run


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    """Keeps ``backtestr.run`` the function: importing the submodule ``backtestr.run``
    binds the module to that name in the package, which would hide the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "run" and isinstance(value, ModuleType):
            value = value.run
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
