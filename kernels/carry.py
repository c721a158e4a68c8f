"""Swap (daily rollover) and perpetual funding (docs/execution.md §7).

A charge is due at the first tick of any symbol at or after its instant; the
positions open then were open across it. Each instant is charged on its own
(a gap over several rollovers charges each with its weekday's multiplier),
each position's amount rounded once: R(base x mult x num / den), base the
steps (points) or price x steps (percent, funding) at the closing-side quote.
The INSTRUMENT rationals carry the tick value and the sign: > 0 is a cost.
"""

import numpy as np
from numba import njit

from .records import SWAP_NONE, SWAP_PERCENT
from .rounding import mul_div_round

DAY = 86_400 * 1_000_000_000
_NEVER = np.iinfo(np.int64).max


@njit(cache=True, nogil=True)
def first_after(t, period, offset):
    """The first instant k*period + offset strictly after t."""
    return ((t - offset) // period + 1) * period + offset


@njit(cache=True, nogil=True)
def weekday(instant):
    """Monday = 0 for the UTC date of ``instant`` (1970-01-01 was a Thursday)."""
    return (instant // DAY + 3) % 7


@njit(cache=True, nogil=True)
def _charge(book, slot, amount):
    if amount == 0:
        return
    p = book.pos[slot]
    p.swap_minor += amount
    acct = book.acct[0]
    acct.swap_minor += amount
    acct.cash_minor -= amount


@njit(cache=True, nogil=True)
def _swap_side(book, x, q, mult, percent, num, den):
    pos = book.pos
    while x >= 0:
        base = pos[x].qty_steps * mult
        if percent:
            base *= q
        _charge(book, x, mul_div_round(base, num, den))
        x = pos[x].list_next


@njit(cache=True, nogil=True)
def _swap(book, ins, s, mult):
    r = book.syms[s]
    pct = ins.swap_kind == SWAP_PERCENT
    _swap_side(book, r.long_head, r.bid, mult, pct, ins.swap_long_num, ins.swap_long_den)
    _swap_side(book, r.short_head, r.ask, mult, pct, ins.swap_short_num, ins.swap_short_den)


@njit(cache=True, nogil=True)
def _funding(book, ins, s):
    r = book.syms[s]
    pos = book.pos
    x = r.long_head
    while x >= 0:
        _charge(book, x, mul_div_round(r.bid * pos[x].qty_steps, ins.fund_num, ins.fund_den))
        x = pos[x].list_next
    x = r.short_head
    while x >= 0:
        _charge(book, x, mul_div_round(-r.ask * pos[x].qty_steps, ins.fund_num, ins.fund_den))
        x = pos[x].list_next


@njit(cache=True, nogil=True)
def carry_due(book, inst, t):
    """Charge every swap and funding instant <= t; returns the next instant."""
    nxt = _NEVER
    for s in range(book.syms.shape[0]):
        r = book.syms[s]
        ins = inst[s]
        if ins.swap_kind != SWAP_NONE:
            if r.next_swap == _NEVER:  # the run's first tick: nothing is open yet
                r.next_swap = first_after(t, DAY, ins.swap_offset_ns)
            while r.next_swap <= t:
                mult = (ins.swap_days >> (4 * weekday(r.next_swap))) & 15
                if mult != 0 and r.n_open > 0:
                    _swap(book, ins, s, mult)
                r.next_swap += DAY
            nxt = min(nxt, r.next_swap)
        if ins.fund_period_ns > 0:
            if r.next_fund == _NEVER:
                r.next_fund = first_after(t, ins.fund_period_ns, ins.fund_offset_ns)
            while r.next_fund <= t:
                if r.n_open > 0:
                    _funding(book, ins, s)
                r.next_fund += ins.fund_period_ns
            nxt = min(nxt, r.next_fund)
    return nxt
