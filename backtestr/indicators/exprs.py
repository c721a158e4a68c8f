"""Indicators as Polars expressions over a bar frame (docs/bars.md §6).

Each returns a Float64 expression, null during the warm-up (the first rows that do
not yet have enough values). Over a frame of several symbols or timeframes, use
``.over("symbol", "timeframe")``.
"""

from __future__ import annotations

import polars as pl


def _col(x: str | pl.Expr) -> pl.Expr:
    return (pl.col(x) if isinstance(x, str) else x).cast(pl.Float64)


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: {n!r} is not a whole number of bars >= 1")
    return n


def _wilder(x: pl.Expr, n: int, first: int) -> pl.Expr:
    """Wilder's smoothing of ``x``: at row ``first`` the mean of the last n values, then
    avg = avg + (x - avg) / n (alpha = 1/n); null before ``first``."""
    i = pl.int_range(pl.len())
    seeded = pl.when(i < first).then(None).when(i == first).then(x.rolling_mean(n)).otherwise(x)
    return seeded.ewm_mean(alpha=1.0 / n, adjust=False, ignore_nulls=True)


def sma(x: str | pl.Expr = "close", n: int = 14) -> pl.Expr:
    """Simple moving average: the mean of the last n values; null for the first n - 1 rows."""
    return _col(x).rolling_mean(_check(n), min_samples=n)


def ema(x: str | pl.Expr = "close", n: int = 14) -> pl.Expr:
    """Exponential moving average, alpha = 2 / (n + 1), not adjusted: ema_0 = x_0,
    ema_t = ema_{t-1} + alpha (x_t - ema_{t-1}); null for the first n - 1 rows."""
    return _col(x).ewm_mean(alpha=2.0 / (_check(n) + 1), adjust=False, min_samples=n)


def rsi(x: str | pl.Expr = "close", n: int = 14) -> pl.Expr:
    """Wilder's relative strength index in 0..100.

    d_t = x_t - x_{t-1}; gain = max(d, 0), loss = max(-d, 0). At row n the averages are
    the means of the n gains and losses of rows 1..n, then Wilder's smoothing;
    RSI = 100 avg_gain / (avg_gain + avg_loss), 50 when both are 0. Null for rows 0..n-1.
    """
    _check(n)
    d = _col(x).diff()
    g = _wilder(d.clip(lower_bound=0.0), n, n)
    lo = _wilder((-d).clip(lower_bound=0.0), n, n)
    return pl.when((g + lo) == 0).then(50.0).otherwise(100.0 * g / (g + lo))


def atr(n: int = 14, high: str | pl.Expr = "high", low: str | pl.Expr = "low",
        close: str | pl.Expr = "close") -> pl.Expr:
    """Wilder's average true range.

    TR_0 = high_0 - low_0; TR_t = max(high_t - low_t, |high_t - close_{t-1}|,
    |low_t - close_{t-1}|). At row n - 1 the ATR is the mean of TR_0..TR_{n-1}, then
    ATR_t = ATR_{t-1} + (TR_t - ATR_{t-1}) / n. Null for the first n - 1 rows.
    """
    _check(n)
    h, lo, c = _col(high), _col(low), _col(close).shift(1)
    tr = pl.max_horizontal(h - lo, (h - c).abs(), (lo - c).abs())
    return _wilder(tr, n, n - 1)


def rolling_high(x: str | pl.Expr = "high", n: int = 14) -> pl.Expr:
    """The highest of the last n values (this row included); null for the first n - 1 rows."""
    return _col(x).rolling_max(_check(n), min_samples=n)


def rolling_low(x: str | pl.Expr = "low", n: int = 14) -> pl.Expr:
    """The lowest of the last n values (this row included); null for the first n - 1 rows."""
    return _col(x).rolling_min(_check(n), min_samples=n)
