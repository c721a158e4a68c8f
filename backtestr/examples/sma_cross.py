"""SMA crossover on closed bars, compiled (docs/strategies.md §7).

On each closed bar of its timeframe, per symbol: the mean of the last ``fast``
closes and of the last ``slow`` closes (bar prices of the mid basis, half
ticks; compared exactly, in integers). When the fast mean crosses above the slow one the strategy goes long
``qty`` lot steps, when it crosses below it goes short (netting: a market order
of the difference to the target). The crossing is judged from the sign of
fast - slow at this bar and at the previous bar, kept per symbol in the state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtestr.strategies import Strategy
from backtestr.strategies.context import bar_close, buy, n_bars, net_qty, sell

MAX_SYMBOLS = 64


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
