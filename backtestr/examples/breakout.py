"""Multi-timeframe breakout, compiled (docs/strategies.md §7).

Per symbol, at the close of each 15-minute bar:

* **time exit**: a position opened ``hold_hours`` or more ago (its entry order's
  stamp) is closed at market, tagged ``time_exit``;
* **entry** (flat only): the daily trend is the sign of the last closed daily
  close minus the mean of the last ``days`` daily closes (days from the
  session start, 17:00 New York); the bar breaks out up when its close is above
  the highest high of the ``n`` bars before it, down when below their lowest
  low. A break up in an up trend buys ``qty`` lot steps (tag ``long``), a break
  down in a down trend sells (tag ``short``); a break against the trend is not
  taken;
* **stop**: the entry carries a stop-loss ``atr_mult`` times the 15-minute
  ATR(``atr_n``) away (Wilder's, ``backtestr.indicators.incremental``; in whole
  ticks, at least 1).

Only closed bars are read: a daily bar is seen after its day has closed, a
15-minute bar after its 15 minutes (docs/strategies.md §3).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtestr.indicators.incremental import atr_update
from backtestr.kernels.enums import K_NONE, K_TICKS
from backtestr.strategies import Strategy
from backtestr.strategies.context import (
    bar,
    bar_close,
    buy,
    close,
    n_bars,
    now,
    position_qty,
    sell,
    set_stops,
    set_tag,
)

MAX_SYMBOLS = 64
DAY, M15 = 0, 1  # timeframe indices
LONG, SHORT, TIME_EXIT = 0, 1, 2  # tag codes: Breakout.tags
HOUR_NS = 3600 * 10**9


@njit(_nrt=False)
def daily_trend(ctx, s, days):
    """+1 when the last closed daily close is above the mean of the last ``days`` closes, -1
    below, 0 when equal or fewer than ``days`` days have closed (exact, in half ticks)."""
    if n_bars(ctx, DAY, s) < days:
        return 0
    t = 0
    for k in range(days):
        t += bar_close(ctx, DAY, s, k)
    d = bar_close(ctx, DAY, s, 0) * days - t
    return 1 if d > 0 else (-1 if d < 0 else 0)


@njit(_nrt=False)
def channel(ctx, s, n):
    """(highest high, lowest low) of the ``n`` 15-minute bars before the latest one."""
    hi = bar(ctx, M15, s, 1).high
    lo = bar(ctx, M15, s, 1).low
    for k in range(2, n + 1):
        b = bar(ctx, M15, s, k)
        hi = max(hi, b.high)
        lo = min(lo, b.low)
    return hi, lo


class Breakout(Strategy):
    name = "breakout"
    params = {"n": 20, "days": 5, "atr_n": 14, "atr_mult": 2.0, "hold_hours": 8, "qty": 1}
    state = {
        "atr": (np.float64, (MAX_SYMBOLS, 4)),  # ATR states (incremental.atr_update layout)
        "pid": (np.int64, MAX_SYMBOLS),  # the entry order (= position id) of the symbol, -1
        "entry_ts": (np.int64, MAX_SYMBOLS),  # its stamp
    }
    timeframes = ("1d", "15m")  # the daily bar is reported before a 15m bar closing with it
    keep = 64
    basis = "mid"
    tags = ("long", "short", "time_exit")

    @staticmethod
    @njit
    def on_start(ctx):
        st = ctx.state[0]
        p = ctx.params[0]
        for s in range(MAX_SYMBOLS):
            st.atr[s, 0] = p.atr_n
            st.pid[s] = -1

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        if tf != M15:
            return
        p = ctx.params[0]
        st = ctx.state[0]
        b = bar(ctx, M15, s, 0)
        atr = atr_update(st.atr[s], b.high / 2.0, b.low / 2.0, b.close / 2.0)  # mid basis: half ticks
        if st.pid[s] >= 0 and position_qty(ctx, st.pid[s]) != 0:
            if now(ctx) - st.entry_ts[s] >= p.hold_hours * HOUR_NS:
                set_tag(ctx, close(ctx, st.pid[s], 0), TIME_EXIT)
                st.pid[s] = -1
            return
        if n_bars(ctx, M15, s) < p.n + 1 or not atr > 0:
            return
        trend = daily_trend(ctx, s, p.days)
        hi, lo = channel(ctx, s, p.n)
        if b.close > hi and trend > 0:
            k = buy(ctx, s, p.qty)
            set_tag(ctx, k, LONG)
        elif b.close < lo and trend < 0:
            k = sell(ctx, s, p.qty)
            set_tag(ctx, k, SHORT)
        else:
            return
        set_stops(ctx, k, K_TICKS, max(1.0, np.floor(p.atr_mult * atr)), K_NONE, 0.0)
        st.pid[s] = k
        st.entry_ts[s] = now(ctx)
