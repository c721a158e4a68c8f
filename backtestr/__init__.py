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

_LAZY = {"Config": "config", "load_config": "config", "Result": "run", "run": "run", "bars": "bars",
         "StatsSettings": "analytics", "plot": "analytics", "stats": "analytics", "write_report": "analytics",
         "sweep": "sweep"}

__all__ = ["BacktestrError", "Config", "ConfigError", "DataError", "OrdersError", "Result", "StatsSettings",
           "bars", "load_config", "plot", "run", "stats", "sweep", "write_report", "__version__"]

if TYPE_CHECKING:
    from .analytics import StatsSettings, plot, stats, write_report
    from .bars import bars
    from .config import Config, load_config
    from .run import Result, run
    from .sweep import sweep


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


_SHADOWED = ("run", "bars", "sweep")


class _Package(ModuleType):
    """Keeps ``backtestr.run``, ``backtestr.bars`` and ``backtestr.sweep`` the functions:
    importing the submodule of that name binds the module to it in the package, which
    would hide the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
