"""Used margin, gross exposure and the thresholds of the risk watch (docs/risk.md §1).

Both are per symbol and side aggregates of the exact entry cost, so they change
only when a fill changes a cost, and marking stays O(1) per tick. The watch
turns the margin-call, stop-out and daily-limit levels into equity thresholds
so that step 9 of a tick is two integer comparisons.
"""

from .books import BIG
from .equity import symbol_unrealized
from .jit import njit
from .records import BUY
from .rounding import PPM, mul_div_floor, mul_div_round


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
    x = mul_div_round(c, ins.value_num, ins.value_den)
    acct.exposure_minor += x - r.exposure_minor
    r.exposure_minor = x
    if ins.margin_num != 0:
        m = mul_div_round(c, ins.margin_num, ins.margin_den)
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
def notional(ins, price, qty):
    """R(V x price x qty) in minor units."""
    return mul_div_round(price * qty, ins.value_num, ins.value_den)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def order_margin(ins, price, qty):
    """R(V x m x price x qty): the margin a fill of qty at price needs."""
    if ins.margin_num == 0:
        return 0
    return mul_div_round(price * qty, ins.margin_num, ins.margin_den)


@njit(cache=True, nogil=True, _nrt=False)
def floating(p, r, ins):
    """Unrealized P&L of one open position at its symbol's closing-side quote."""
    u = r.bid * p.qty_steps - p.cost if p.side == BUY else p.cost - r.ask * p.qty_steps
    return mul_div_round(u, ins.value_num, ins.value_den)
