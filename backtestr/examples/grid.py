"""Hedged grid: many positions open at once, compiled (docs/strategies.md §7).

Run it on a hedging account (``run.account_mode = "hedging"``): each fill
opens a position of its own. At the first tick of a symbol the grid's centre
is that tick's bid; the levels are ``centre ± k·step`` ticks for
``k = 1..levels``. Below the centre a buy limit waits at each level with a
take-profit one step above it, above the centre a sell limit with a
take-profit one step below it (prices in ticks, tagged ``buy_level`` /
``sell_level``). A level is re-armed, with the same limit and take-profit,
once the position its last order opened has closed (``on_fill``): so a level
holds at most one order or one position at a time, and as the price swings
through the grid many positions, long and short, are open together.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtestr.kernels.enums import K_NONE, K_PRICE, OS_FILLED, OT_LIMIT
from backtestr.strategies import Strategy
from backtestr.strategies.context import bid, order_status, position_qty, set_stops, set_tag, submit

MAX_SYMBOLS = 16
MAX_LEVELS = 16  # per side
BUY, SELL = 0, 1  # tag codes: Grid.tags


@njit(_nrt=False)
def arm(ctx, s, j):
    """The order of level slot ``j`` of symbol ``s`` (j < levels: buy k = j + 1, else sell
    k = j - levels + 1): a limit at its level, take-profit one step towards the centre's
    other side."""
    p = ctx.params[0]
    st = ctx.state[0]
    centre = st.centre[s]
    if j < p.levels:
        level = centre - (j + 1) * p.step
        k = submit(ctx, s, 1, p.qty, OT_LIMIT, level, 0.0)
        set_stops(ctx, k, K_NONE, 0.0, K_PRICE, level + p.step)
        set_tag(ctx, k, BUY)
    else:
        level = centre + (j - p.levels + 1) * p.step
        k = submit(ctx, s, -1, p.qty, OT_LIMIT, level, 0.0)
        set_stops(ctx, k, K_NONE, 0.0, K_PRICE, level - p.step)
        set_tag(ctx, k, SELL)
    st.oid[s, j] = k


class Grid(Strategy):
    name = "grid"
    params = {"step": 30, "levels": 4, "qty": 1}
    state = {
        "centre": (np.int64, MAX_SYMBOLS),  # 0 until the symbol's first tick
        "oid": (np.int64, (MAX_SYMBOLS, 2 * MAX_LEVELS)),  # the last order of each level
    }
    max_actions = 2 * MAX_LEVELS
    tags = ("buy_level", "sell_level")

    @staticmethod
    @njit
    def on_tick(ctx, s):
        st = ctx.state[0]
        p = ctx.params[0]
        if st.centre[s] != 0:
            return
        st.centre[s] = bid(ctx, s)
        for j in range(2 * min(p.levels, MAX_LEVELS)):
            arm(ctx, s, j)

    @staticmethod
    @njit
    def on_fill(ctx, s):
        st = ctx.state[0]
        p = ctx.params[0]
        for j in range(2 * min(p.levels, MAX_LEVELS)):
            k = st.oid[s, j]
            # its order filled (in hedging its position's id is the order's) and that position closed
            if order_status(ctx, k) == OS_FILLED and position_qty(ctx, k) == 0:
                arm(ctx, s, j)
