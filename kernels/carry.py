"""Swap (daily rollover) and perpetual funding (docs/execution.md §7).

A charge is due at the first tick of any symbol at or after its instant; the
positions open then were open across it. Each instant is charged on its own
(a gap over several rollovers charges each with its weekday's multiplier),
each position's amount rounded once: R(base x mult x num / den), base the
steps (points) or price x steps (percent, funding) at the closing-side quote;
a funding rate from the data is one more factor, R(base x rate x num / den).
The INSTRUMENT rationals carry the tick value and the sign: > 0 is a cost.
"""

from .enums import NEVER
from .events import ev_room, log_position_event
from .fx import money
from .jit import njit
from .records import EV_FUNDING, EV_SWAP, NO_RATE, R_NONE, ST_BUFFER_FULL, ST_DONE, SWAP_NONE, SWAP_PERCENT
from .rounding import mul3_div_round

DAY = 86_400 * 1_000_000_000


@njit(cache=True, nogil=True, _nrt=False)
def first_after(t, period, offset):
    """The first instant k*period + offset strictly after t."""
    return ((t - offset) // period + 1) * period + offset


@njit(cache=True, nogil=True, _nrt=False)
def weekday(instant):
    """Monday = 0 for the UTC date of ``instant`` (1970-01-01 was a Thursday)."""
    return (instant // DAY + 3) % 7


@njit(cache=True, nogil=True, _nrt=False)
def _charge(book, logs, prm, slot, amount, ev, t):
    if amount == 0:
        return
    p = book.pos[slot]
    before = p.swap_minor
    p.swap_minor += amount
    acct = book.acct[0]
    acct.swap_minor += amount
    acct.cash_minor -= amount
    log_position_event(logs, acct, prm, t, ev, R_NONE, p, -1, p.qty_steps, 0, before, p.swap_minor)


@njit(cache=True, nogil=True, _nrt=False)
def _swap_side(book, logs, prm, r, x, q, mult, percent, num, den, t):
    pos = book.pos
    while x >= 0:
        base = pos[x].qty_steps * mult
        if percent:
            base *= q
        _charge(book, logs, prm, x, money(base, num, den, r), EV_SWAP, t)
        x = pos[x].list_next


@njit(cache=True, nogil=True, _nrt=False)
def _swap(book, logs, prm, ins, s, mult, t):
    r = book.syms[s]
    pct = ins.swap_kind == SWAP_PERCENT
    _swap_side(book, logs, prm, r, r.long_head, r.bid, mult, pct, ins.swap_long_num, ins.swap_long_den, t)
    _swap_side(book, logs, prm, r, r.short_head, r.ask, mult, pct, ins.swap_short_num, ins.swap_short_den, t)


@njit(cache=True, nogil=True, _nrt=False)
def _fund_amount(base, ins, rate, r):
    """R(base x num/den) for a constant rate; R(base x rate x num/den) for the data's rate;
    times the live conversion rate of symbol record ``r`` (docs/currency.md)."""
    if ins.fund_column == 1:
        if r.fx_den != 0:
            return money(base * rate, ins.fund_num, ins.fund_den, r)
        return mul3_div_round(base, rate, ins.fund_num, ins.fund_den)
    return money(base, ins.fund_num, ins.fund_den, r)


@njit(cache=True, nogil=True, _nrt=False)
def _funding(book, logs, prm, ins, s, t):
    r = book.syms[s]
    rate = r.fund_rate
    if ins.fund_column == 1 and rate == NO_RATE:  # the data has given no rate yet: nothing is due
        return
    pos = book.pos
    x = r.long_head
    while x >= 0:
        _charge(book, logs, prm, x, _fund_amount(r.bid * pos[x].qty_steps, ins, rate, r), EV_FUNDING, t)
        x = pos[x].list_next
    x = r.short_head
    while x >= 0:
        _charge(book, logs, prm, x, _fund_amount(-r.ask * pos[x].qty_steps, ins, rate, r), EV_FUNDING, t)
        x = pos[x].list_next


@njit(cache=True, nogil=True, _nrt=False)
def carry_due(book, logs, inst, prm, t):
    """Charge every swap and funding instant <= t and set ``acct.next_carry``.

    Each instant first makes sure the events buffer holds one row per open
    position of the symbol; when it does not, BUFFER_FULL, and a call after
    making room goes on from that instant.
    """
    acct = book.acct[0]
    nxt = NEVER
    for s in range(book.syms.shape[0]):
        r = book.syms[s]
        ins = inst[s]
        if ins.swap_kind != SWAP_NONE:
            if r.next_swap == NEVER:  # the run's first tick: nothing is open yet
                r.next_swap = first_after(t, DAY, ins.swap_offset_ns)
            while r.next_swap <= t:
                mult = (ins.swap_days >> (4 * weekday(r.next_swap))) & 15
                if mult != 0 and r.n_open > 0:
                    if not ev_room(logs, acct, prm, r.n_open):
                        return ST_BUFFER_FULL
                    _swap(book, logs, prm, ins, s, mult, t)
                r.next_swap += DAY
            nxt = min(nxt, r.next_swap)
        if ins.fund_period_ns > 0:
            if r.next_fund == NEVER:
                r.next_fund = first_after(t, ins.fund_period_ns, ins.fund_offset_ns)
            while r.next_fund <= t:
                if r.n_open > 0:
                    if not ev_room(logs, acct, prm, r.n_open):
                        return ST_BUFFER_FULL
                    _funding(book, logs, prm, ins, s, t)
                r.next_fund += ins.fund_period_ns
            nxt = min(nxt, r.next_fund)
    acct.next_carry = nxt
    return ST_DONE
