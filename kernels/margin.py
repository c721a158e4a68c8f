"""Used margin, gross exposure and the thresholds of the risk watch (docs/risk.md §1).

Both are per symbol and side aggregates of the exact entry cost, so they change
only when a fill changes a cost or, for a symbol converted at a live rate, when
a quote of its conversion legs changes the rate (``rate_tick``); marking stays
O(1) per tick of a symbol that converts nothing. The watch
turns the margin-call, stop-out and daily-limit levels into equity thresholds
so that step 9 of a tick is two integer comparisons.
"""

from numba import njit

from .books import BIG
from .equity import symbol_unrealized
from .fx import money, set_rate
from .records import BUY
from .rounding import PPM, mul_div_floor


@njit(cache=True, nogil=True, _nrt=False)
def set_watch(acct):
    """watch_lo: the highest armed threshold at or below which step 9 must act;
    watch_hi: while in the margin call state, the level that ends it."""
    lo = acct.so_eq if acct.in_call == 1 else acct.call_eq
    if acct.day_hit == 0 and acct.day_eq > lo:
        lo = acct.day_eq
    acct.watch_lo = lo
    acct.watch_hi = acct.call_eq if acct.in_call == 1 else BIG


@njit(cache=True, nogil=True, _nrt=False)
def arm(acct, prm):
    """Margin-call and stop-out equity thresholds for the used margin U:
    call at equity <= F(U x call_ppm / 10^6), stop-out at equity <= F(U x so_ppm / 10^6)."""
    u = acct.margin_used_minor
    if u > 0:
        acct.call_eq = mul_div_floor(u, prm.call_ppm, PPM)
        acct.so_eq = mul_div_floor(u, prm.so_ppm, PPM)
    else:
        acct.call_eq = -BIG
        acct.so_eq = -BIG
    set_watch(acct)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def update(acct, r, ins, prm):
    """Re-derive a symbol's exposure R(V x C) and margin R(V x m x C) after its cost C changed."""
    c = r.long_cost + r.short_cost
    x = money(c, ins.value_num, ins.value_den, r)
    acct.exposure_minor += x - r.exposure_minor
    r.exposure_minor = x
    if ins.margin_num != 0:
        m = money(c, ins.margin_num, ins.margin_den, r)
        if m != r.margin_minor:
            acct.margin_used_minor += m - r.margin_minor
            r.margin_minor = m
            if acct.margin_used_minor > acct.max_margin_used_minor:
                acct.max_margin_used_minor = acct.margin_used_minor
            arm(acct, prm)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def live_equity(book, inst):
    """Cash plus every symbol's unrealized P&L at its latest quote: the equity the
    checks of an order see, fills and charges earlier in the tick included. O(symbols)."""
    eq = book.acct[0].cash_minor
    for s in range(book.syms.shape[0]):
        eq += symbol_unrealized(book.syms[s], inst[s])
    return eq


@njit(cache=True, nogil=True, _nrt=False)
def in_call(acct, eq):
    """The margin call state at equity ``eq``."""
    return acct.margin_used_minor > 0 and eq <= acct.call_eq


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def notional(ins, r, price, qty):
    """R(V x price x qty) in minor units."""
    return money(price * qty, ins.value_num, ins.value_den, r)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def order_margin(ins, r, price, qty):
    """R(V x m x price x qty): the margin a fill of qty at price needs."""
    if ins.margin_num == 0:
        return 0
    return money(price * qty, ins.margin_num, ins.margin_den, r)


@njit(cache=True, nogil=True, _nrt=False)
def floating(p, r, ins):
    """Unrealized P&L of one open position at its symbol's closing-side quote."""
    u = r.bid * p.qty_steps - p.cost if p.side == BUY else p.cost - r.ask * p.qty_steps
    return money(u, ins.value_num, ins.value_den, r)


@njit(cache=True, nogil=True, _nrt=False)
def rate_tick(book, inst, prm, s):
    """A quote of symbol ``s``, a leg of other symbols' conversions (docs/currency.md §3):
    their live rates, and for those with open positions the unrealized P&L, exposure
    and margin at the new rate. O(symbols)."""
    acct = book.acct[0]
    syms = book.syms
    key = s + 1
    for d in range(syms.shape[0]):
        ins = inst[d]
        if (ins.fx_a == key) | (ins.fx_b == key):
            r = syms[d]
            set_rate(syms, ins, r)
            if (r.long_steps != 0) | (r.short_steps != 0):
                m = symbol_unrealized(r, ins)
                acct.unrealized_minor += m - r.unrealized_minor
                r.unrealized_minor = m
                update(acct, r, ins, prm)
