"""Used margin, gross exposure and the thresholds of the risk watch (docs/risk.md §1).

Both are per symbol and side aggregates of the exact entry cost, so they change
only when a fill changes a cost or, for a symbol converted at a live rate, when
a quote of its conversion legs changes the rate (``remark``); marking stays
O(1) per tick of a symbol that converts nothing. The watch
turns the margin-call, stop-out and daily-limit levels into equity thresholds
so that step 9 of a tick is two integer comparisons.
"""

import numpy as np

from .books import BIG
from .equity import symbol_unrealized
from .fx import money, put_rate, rate_from
from .jit import njit
from .records import BUY
from .rounding import PPM, mul_div_floor


@njit(cache=True, nogil=True, _nrt=False)
def set_watch(acct):
    """watch_lo: the highest armed threshold at or below which step 9 must act (a new
    lowest margin level included); watch_hi: while in the margin call state, the level
    that ends it."""
    lo = acct.so_eq if acct.in_call == 1 else acct.call_eq
    if acct.day_hit == 0 and acct.day_eq > lo:
        lo = acct.day_eq
    if acct.level_eq > lo:
        lo = acct.level_eq
    acct.watch_lo = lo
    acct.watch_hi = acct.call_eq if acct.in_call == 1 else BIG


@njit(cache=True, nogil=True, _nrt=False)
def _level_watch(acct):
    """level_eq: the largest equity whose margin level (equity / U) is below the lowest seen,
    ceil(min_level x U) - 1; any equity before the first level; none without margin. A float
    bound (the level is analytics): at worst one extra step 9 next to the bound."""
    u = acct.margin_used_minor
    if u <= 0:
        acct.level_eq = -BIG
    elif acct.have_level == 0:
        acct.level_eq = BIG
    else:
        x = acct.min_level * u
        acct.level_eq = np.int64(np.ceil(x)) - 1 if -4e18 < x < 4e18 else (BIG if x > 0 else -BIG)


@njit(cache=True, nogil=True, _nrt=False)
def track_level(acct):
    """At step 9: record the margin level at this equity when it is the lowest so far."""
    u = acct.margin_used_minor
    if u > 0:
        lvl = acct.equity_minor / u
        if acct.have_level == 0 or lvl < acct.min_level:
            acct.min_level = lvl
            acct.have_level = 1
    _level_watch(acct)


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
    _level_watch(acct)
    set_watch(acct)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _hedged(ins, lq, lc, sq, sc):
    """(amount, extra denominator) the margin rational applies to: cost (rate) or steps
    (fixed), the smaller side of opposite positions (by steps) at hedge_num / hedge_den."""
    if ins.margin_kind == 1:
        lc = lq
        sc = sq
    if ins.hedge_num == ins.hedge_den:
        return lc + sc, 1
    if lq >= sq:
        return lc * ins.hedge_den + sc * ins.hedge_num, ins.hedge_den
    return sc * ins.hedge_den + lc * ins.hedge_num, ins.hedge_den


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _exposure(acct, r, ins):
    """Re-derive a symbol's exposure R(V x C) (docs/risk.md §1)."""
    x = money(r.long_cost + r.short_cost, ins.value_num, ins.value_den, r)
    acct.exposure_minor += x - r.exposure_minor
    r.exposure_minor = x


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _margin(acct, r, ins, prm):
    """Re-derive a symbol's margin (docs/risk.md §1, docs/currency.md §6); the thresholds
    are armed again only when it changed."""
    a, d = _hedged(ins, r.long_steps, r.long_cost, r.short_steps, r.short_cost)
    m = money(a, ins.margin_num, ins.margin_den * d, r)
    if m != r.margin_minor:
        acct.margin_used_minor += m - r.margin_minor
        r.margin_minor = m
        arm(acct, prm)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def update(acct, r, ins, prm):
    """Re-derive a symbol's exposure R(V x C) and margin (docs/risk.md §1, docs/currency.md §6)
    after its positions or its conversion rate changed."""
    _exposure(acct, r, ins)
    if ins.margin_num != 0:
        _margin(acct, r, ins, prm)
    # the largest after any fill (docs/risk.md §7), a fill of a symbol without margin included: the others'
    # margins may have moved with a rate since the last fill
    if acct.margin_used_minor > acct.max_margin_used_minor:
        acct.max_margin_used_minor = acct.margin_used_minor


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
    """R(V x m x price x qty), or R(fixed x qty): the margin a fill of qty at price needs
    on its own (a hedge it would form is not deducted: docs/currency.md §6)."""
    if ins.margin_num == 0:
        return 0
    return money(qty if ins.margin_kind == 1 else price * qty, ins.margin_num, ins.margin_den, r)


@njit(cache=True, nogil=True, _nrt=False)
def floating(p, r, ins):
    """Unrealized P&L of one open position at its symbol's closing-side quote."""
    u = r.bid * p.qty_steps - p.cost if p.side == BUY else p.cost - r.ask * p.qty_steps
    return money(u, ins.value_num, ins.value_den, r)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def remark(acct, r, ins, prm, qa, qb, own):
    """A quote of a leg of the symbol's conversion (docs/currency.md §3; ``qa``, ``qb``: its
    legs' latest quotes, the tick loop calls this for each symbol of the quoted one's
    INSTRUMENT fx_feeds): with open positions and a rate this quote changed, the symbol gets
    the new rate and its unrealized P&L and, when read (a margin, an exposure limit), its
    margin and exposure at it. Returns the change of the account's unrealized P&L, which the
    caller keeps; ``own``: the quoted symbol itself, left to the tick's own marking. A mid
    that did not move changes nothing; a flat symbol's rate is set when it is next needed
    (an order's checks, a fill). Records only, no array: an array passed to an inlined
    function costs reference counting on every call (docs/architecture.md §7)."""
    if (r.long_steps == 0) & (r.short_steps == 0):
        return np.int64(0)
    num, den = rate_from(ins, qa, qb)
    if (num == r.fx_num) & (den == r.fx_den):
        return np.int64(0)
    put_rate(ins, r, num, den)
    du = np.int64(0)
    if not own:
        m = symbol_unrealized(r, ins)
        du = m - r.unrealized_minor
        r.unrealized_minor = m
    if ins.margin_num != 0:
        _margin(acct, r, ins, prm)
    if (prm.max_exposure_minor > 0) | (prm.max_exposure_ppm > 0):
        _exposure(acct, r, ins)
    return du
