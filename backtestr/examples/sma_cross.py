"""SMA crossover on closed bars, compiled (docs/strategies.md §7).

On each closed bar of its timeframe, per symbol: the mean of the last ``fast``
closes and of the last ``slow`` closes (bar prices of the mid basis, half
ticks; compared exactly, in integers). When the fast mean crosses above the slow one the strategy goes long
``qty`` lot steps, when it crosses below it goes short (netting: a market order
of the difference to the target). The crossing is judged from the sign of
fast - slow at this bar and at the previous bar, kept per symbol in the state.

``sma_signals`` writes the same rules as a Polars computation over the bars,
a signals table stamped at each bar's close: run with ``signals=`` it gives
the same fills as the compiled class (a test checks it).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit

from backtestr.strategies import Strategy
from backtestr.strategies.context import bar_close, buy, n_bars, net_qty, sell

MAX_SYMBOLS = 64
MIN_NS = 60 * 10**9


def sma_signals(ticks: pl.DataFrame, tick_size: dict[str, float], fast: int = 10, slow: int = 30,
                lots: float = 0.01) -> pl.DataFrame:
    """The vectorised SMA crossover over 1-minute bars of ``ticks`` (``ts``, ``symbol``, ``bid``,
    ``ask``): a signals table (``ts`` = the bar's close, ``symbol``, ``target`` = ±``lots``).

    ``tick_size``: per symbol, to hold bar closes as whole half ticks (``bid + ask`` in ticks),
    so the means compare exactly as in the compiled class. A bar counts once a later tick of any
    symbol has closed it (docs/strategies.md §3)."""
    last = ticks["ts"].cast(pl.Int64).max()
    tick = pl.col("symbol").cast(pl.String).replace_strict(tick_size, return_dtype=pl.Float64)
    bars = (ticks.with_columns(t=pl.col("ts").cast(pl.Int64),
                               mid=((pl.col("bid") + pl.col("ask")) / tick).round().cast(pl.Int64))
            .with_columns(close_ts=(pl.col("t") // MIN_NS + 1) * MIN_NS)
            .group_by("symbol", "close_ts", maintain_order=True).agg(pl.col("mid").last().alias("close"))
            .filter(pl.col("close_ts") <= last)  # closed by a later tick
            .sort("symbol", "close_ts"))
    d = (pl.col("close").rolling_sum(fast).over("symbol") * slow
         - pl.col("close").rolling_sum(slow).over("symbol") * fast)
    sig = bars.with_columns(sign=d.sign()).with_columns(prev=pl.col("sign").shift(1).over("symbol"))
    cross = sig.filter(pl.col("sign").is_not_null() & pl.col("prev").is_not_null() & (pl.col("sign") != 0)
                       & (pl.col("prev") != 0) & (pl.col("sign") != pl.col("prev")))
    return cross.select(ts=pl.col("close_ts").cast(pl.Datetime("ns", "UTC")), symbol=pl.col("symbol").cast(pl.String),
                        target=pl.col("sign") * lots).sort("ts", "symbol")


@njit(_nrt=False)  # allocates nothing: called without reference counting (docs/strategies.md §6)
def total(ctx, tf, s, n):
    """Sum of the last ``n`` closes (whole half ticks: exact)."""
    t = 0
    for k in range(n):
        t += bar_close(ctx, tf, s, k)
    return t


class SmaCross(Strategy):
    name = "sma_cross"
    params = {"fast": 10, "slow": 30, "qty": 1}
    state = {"sign": (np.int64, MAX_SYMBOLS)}  # sign of fast - slow at the previous bar, per symbol
    timeframes = ("1m",)
    keep = 200
    basis = "mid"

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        p = ctx.params[0]
        st = ctx.state[0]
        if n_bars(ctx, tf, s) < p.slow:
            return
        # fast mean - slow mean, times fast * slow: exact in integers
        d = total(ctx, tf, s, p.fast) * p.slow - total(ctx, tf, s, p.slow) * p.fast
        sign = 1 if d > 0 else (-1 if d < 0 else 0)
        prev = st.sign[s]
        st.sign[s] = sign
        if prev == 0 or sign == 0 or sign == prev:
            return
        target = p.qty * sign
        delta = target - net_qty(ctx, s)
        if delta > 0:
            buy(ctx, s, delta)
        elif delta < 0:
            sell(ctx, s, -delta)
