"""Indicators over bars (docs/bars.md §6).

``backtestr.indicators`` holds Polars expressions over a bar frame (``sma``, ``ema``,
``atr``, ``rsi``, ``rolling_high``, ``rolling_low``); ``backtestr.indicators.incremental``
holds the same indicators as O(1) numba updates for use inside ``@njit`` code.
"""

from .exprs import atr, ema, rolling_high, rolling_low, rsi, sma

__all__ = ["atr", "ema", "rolling_high", "rolling_low", "rsi", "sma"]
