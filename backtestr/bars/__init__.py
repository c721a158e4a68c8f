"""Bars from ticks (docs/bars.md): ``bars()`` in Python, ``backtestr data bars`` on the command line.

Importing this package is light; ``bars`` loads the reader and the kernel when first used.
"""

from typing import TYPE_CHECKING, Any

DEFAULT_TIMEFRAMES = ("1m", "15m", "1h", "1d")

__all__ = ["DEFAULT_TIMEFRAMES", "bars", "read_bars"]

if TYPE_CHECKING:
    from .archive import read_bars
    from .build import bars


def __getattr__(name: str) -> Any:
    if name == "bars":
        from .build import bars

        return bars
    if name == "read_bars":
        from .archive import read_bars

        return read_bars
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
