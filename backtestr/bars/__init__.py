"""Bars from ticks (docs/bars.md): ``bars()`` in Python, ``backtestr data bars`` on the command line."""

from .build import DEFAULT_TIMEFRAMES, bars

__all__ = ["DEFAULT_TIMEFRAMES", "bars"]
