"""Tick momentum with a spread filter and a break-even stop, compiled (docs/strategies.md §7).

Per symbol, after each tick (``on_tick``), prices in ticks, mid = bid + ask
(half ticks, exact):

* the run of the mid: +1, +2, ... while each tick's mid is above the one
  before, -1, -2, ... while below, 0 when unchanged;
* **entry** (flat only): when the run reaches ``+run`` (``-run``) and the
  spread ``ask − bid`` is at most ``max_spread``, buy (sell) ``qty`` lot steps
  at market with a stop-loss ``sl`` and a take-profit ``tp`` ticks away (tag
  ``entry``); a wider spread skips the signal;
* **break-even**: once the closing side of the quote (bid for a long, ask for
  a short) is ``be`` ticks or more in the position's favour from its entry
  price, its stop-loss is moved to the entry price with ``modify`` (once per
  position, tag ``break_even``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtestr.kernels.enums import K_NONE, K_PRICE, K_TICKS
from backtestr.strategies import Strategy
from backtestr.strategies.context import (
    ask,
    bid,
    buy,
    modify,
    position_qty,
    position_slot,
    sell,
    set_stops,
    set_tag,
)

MAX_SYMBOLS = 64
ENTRY, BREAK_EVEN = 0, 1  # tag codes: TickMomentum.tags


@njit(_nrt=False)
def break_even(ctx, s):
    """Move the stop of the symbol's position to its entry price once it is ``be`` ticks in
    profit (a whole number of ticks: entries are single fills)."""
    st = ctx.state[0]
    pid = st.pid[s]
    slot = position_slot(ctx, pid)
    if slot < 0 or st.moved[s] == 1:
        return
    pos = ctx.pos[slot]
    entry = pos.entry_value // pos.entry_steps
    gain = bid(ctx, s) - entry if pos.side > 0 else entry - ask(ctx, s)
    if gain >= ctx.params[0].be:
        k = modify(ctx, pid)
        set_stops(ctx, k, K_PRICE, entry, K_NONE, 0.0)
        set_tag(ctx, k, BREAK_EVEN)
        st.moved[s] = 1


class TickMomentum(Strategy):
    name = "tick_momentum"
    params = {"run": 4, "max_spread": 2, "sl": 30, "tp": 60, "be": 15, "qty": 1}
    state = {
        "mid": (np.int64, MAX_SYMBOLS),  # the previous tick's mid (0 before the first)
        "run": (np.int64, MAX_SYMBOLS),
        "pid": (np.int64, MAX_SYMBOLS),  # the last entry (= its position's id), -1
        "moved": (np.int64, MAX_SYMBOLS),  # its stop is at break-even
    }
    tags = ("entry", "break_even")

    @staticmethod
    @njit
    def on_start(ctx):
        st = ctx.state[0]
        for s in range(MAX_SYMBOLS):
            st.pid[s] = -1

    @staticmethod
    @njit
    def on_tick(ctx, s):
        p = ctx.params[0]
        st = ctx.state[0]
        m = bid(ctx, s) + ask(ctx, s)
        prev = st.mid[s]
        st.mid[s] = m
        if prev == 0:
            return
        r = st.run[s]
        if m > prev:
            r = r + 1 if r > 0 else 1
        elif m < prev:
            r = r - 1 if r < 0 else -1
        else:
            r = 0
        st.run[s] = r
        if st.pid[s] >= 0 and position_qty(ctx, st.pid[s]) != 0:
            break_even(ctx, s)
            return
        if (r != p.run and r != -p.run) or ask(ctx, s) - bid(ctx, s) > p.max_spread:
            return
        k = buy(ctx, s, p.qty) if r > 0 else sell(ctx, s, p.qty)
        set_stops(ctx, k, K_TICKS, p.sl, K_TICKS, p.tp)
        set_tag(ctx, k, ENTRY)
        st.pid[s] = k
        st.moved[s] = 0
