"""The risk desk: pre-trade checks, the trading day and step 9 of a tick (docs/risk.md).

``pre_trade`` runs every check of §3 on an order as it acts, in the rule
book's order, and sizes it (§2); it returns the rejection reason or R_NONE.
``day_roll`` re-arms the daily loss limit at a trading-day boundary.
``step9`` runs after marking when the equity crossed a watched threshold:
margin call, the stop-out sequence, the daily limit.
"""

import numpy as np

from .books import BIG
from .breaker import passed, tripped
from .enums import NEVER
from .equity import mark
from .events import ev_room, log_event
from .execution import quote
from .fx import rate_missing, set_rate
from .jit import njit
from .logbuf import room
from .margin import floating, in_call, live_equity, notional, order_margin, set_watch, track_level
from .positions import close_at_market
from .records import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    BUY,
    EV_DAILY_LIMIT,
    EV_MARGIN_CALL,
    EV_STOP_OUT,
    MODE_HEDGING,
    OT_LIMIT,
    OT_MARKET,
    OT_TARGET,
    R_BREAKER,
    R_DAILY_LOSS,
    R_MARGIN_CALL,
    R_MAX_EXPOSURE,
    R_MAX_NOTIONAL,
    R_MAX_POSITIONS,
    R_MAX_POSITIONS_SYMBOL,
    R_MAX_QTY,
    R_NO_MARGIN,
    R_NO_QUOTE,
    R_NONE,
    R_PRICE_SANITY,
    R_RATE_LIMIT,
    R_SIZE_ZERO,
    R_STOP_OUT,
    SELL,
    ST_BUFFER_FULL,
    ST_DONE,
    SZ_QTY,
)
from .rounding import PPM, mul_div_round
from .sizing import size

# ------------------------------------------------------------------ checks 1-2


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _rate_ok(book, prm, t):
    """Check 1: at most max_orders orders passed it in (t - order_window, t]."""
    n_max = prm.max_orders
    if n_max <= 0:
        return True
    acct = book.acct[0]
    ring = book.ints
    b = acct.ring_at
    if acct.ring_n == n_max:
        if ring[b + acct.ring_head] > t - prm.order_window_ns:
            return False
        ring[b + acct.ring_head] = t
        acct.ring_head = (acct.ring_head + 1) % n_max
    else:
        ring[b + (acct.ring_head + acct.ring_n) % n_max] = t
        acct.ring_n += 1
    return True


@njit(cache=True, nogil=True, _nrt=False)
def _sane(prm, r, p):
    """Check 2 for price p: |2p - (bid + ask)| x 10^6 <= dev_ppm x (bid + ask)."""
    if p <= 0 or r.bid <= 0:
        return True
    two_mid = r.bid + r.ask
    d = 2 * p - two_mid
    if d < 0:
        d = -d
    return d * PPM <= prm.max_dev_ppm * two_mid


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _prices_sane(book, prm, o):
    if prm.max_dev_ppm <= 0:
        return True
    if o.action == A_MODIFY:
        if o.ref < 0:
            return True
        r = book.syms[book.orders[o.ref].symbol]
    elif o.action == A_CANCEL or o.action == A_CLOSE or o.type == OT_MARKET or o.type == OT_TARGET:
        return True
    else:
        r = book.syms[o.symbol]
    return _sane(prm, r, o.price_ticks) and _sane(prm, r, o.stop_ticks)


# ---------------------------------------------------------------- checks 3-11


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def day_hit_now(logs, acct, prm, t, eq):
    """The daily limit is hit (latching it, one event row, when equity ``eq`` reached it now)."""
    if acct.day_hit == 1:
        return True
    if eq <= acct.day_eq:
        acct.day_hit = 1
        acct.n_daily_hits += 1
        log_event(logs, acct, prm, t, EV_DAILY_LIMIT, R_DAILY_LOSS, -1, 0, -1, -1, -1, 0, 0,
                  acct.day_start_eq, eq)
        set_watch(acct)
        return True
    return False


@njit(cache=True, nogil=True, _nrt=False)
def _pct_limit(eq, ppm):
    return mul_div_round(eq, ppm, PPM)


@njit(cache=True, nogil=True, _nrt=False)
def _reduces_only(r, side, qty):
    """Netting: a fill of ``qty`` on ``side`` only reduces (or exactly closes) the net position."""
    net = r.long_steps - r.short_steps
    return net != 0 and side * net < 0 and qty <= (net if net > 0 else -net)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _exposure(prm, r, o):
    """(adds exposure, opens a new position, side, qty) of a new order acting now (§3)."""
    net = r.long_steps - r.short_steps
    a_net = net if net > 0 else -net
    hedging = prm.account_mode == MODE_HEDGING
    if o.type == OT_TARGET:
        delta = o.qty_steps - net
        side = BUY if delta > 0 else SELL
        qty = delta if delta > 0 else -delta
        a_tgt = o.qty_steps if o.qty_steps > 0 else -o.qty_steps
        flips = o.qty_steps != 0 and net != 0 and (o.qty_steps > 0) != (net > 0)
        adds = a_tgt > a_net or flips
        return adds, adds and (hedging or net == 0 or flips), side, qty
    if not hedging and o.sizing == SZ_QTY and _reduces_only(r, o.side, o.qty_steps):
        return False, False, o.side, o.qty_steps
    return True, hedging or net == 0 or o.side * net < 0, o.side, o.qty_steps


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _ref_price(r, o, side):
    """P: the limit price, the stop, or the opening-side quote (0 without a quote)."""
    if o.type == OT_LIMIT:
        return o.price_ticks
    if o.type == OT_MARKET or o.type == OT_TARGET:
        return quote(side, r)
    return o.stop_ticks


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _adding_checks(book, logs, inst, prm, o, t):
    acct = book.acct[0]
    ins = inst[o.symbol]
    r = book.syms[o.symbol]
    adds, opens, side, qty = _exposure(prm, r, o)
    if not adds:
        return R_NONE
    if tripped(acct, t):
        return R_BREAKER
    eq = live_equity(book, inst)
    if day_hit_now(logs, acct, prm, t, eq):
        return R_DAILY_LOSS
    if in_call(acct, eq):
        return R_MARGIN_CALL
    price = _ref_price(r, o, side)
    quoted = r.bid > 0  # the symbol has had a tick
    if ins.fx_a > 0:  # the live rate now; none while a leg has had no tick (docs/currency.md §3)
        set_rate(book.syms, ins, r)
        if rate_missing(r, ins):
            return R_NO_QUOTE
    if o.sizing != SZ_QTY:
        q = size(acct, prm, ins, r, o, price if quoted else 0, eq)
        if q < 0:
            return -q
        if q == 0:
            return R_SIZE_ZERO
        o.qty_steps = q
        qty = q
        if opens and prm.account_mode != MODE_HEDGING:  # netting: judged on the sized quantity
            opens = not _reduces_only(r, o.side, qty)
    need_price = (prm.max_notional_minor > 0 or prm.max_notional_ppm > 0 or prm.max_exposure_minor > 0
                  or prm.max_exposure_ppm > 0 or ins.margin_num != 0)
    if need_price and not quoted:
        return R_NO_QUOTE
    if ins.risk_max_steps > 0 and qty > ins.risk_max_steps:
        return R_MAX_QTY
    value = notional(ins, r, price, qty) if need_price else 0
    if (prm.max_notional_minor > 0 and value > prm.max_notional_minor) or (
            prm.max_notional_ppm > 0 and value > _pct_limit(eq, prm.max_notional_ppm)):
        return R_MAX_NOTIONAL
    if opens:
        if prm.max_positions > 0 and acct.n_open >= prm.max_positions:
            return R_MAX_POSITIONS
        if prm.max_positions_sym > 0 and r.n_open >= prm.max_positions_sym:
            return R_MAX_POSITIONS_SYMBOL
    x = acct.exposure_minor + value
    if (prm.max_exposure_minor > 0 and x > prm.max_exposure_minor) or (
            prm.max_exposure_ppm > 0 and x > _pct_limit(eq, prm.max_exposure_ppm)):
        return R_MAX_EXPOSURE
    if ins.margin_num != 0 and order_margin(ins, r, price, qty) > eq - acct.margin_used_minor:
        return R_NO_MARGIN
    return R_NONE


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def pre_trade(book, logs, inst, prm, k, t):
    """Every check of docs/risk.md §3 on order ``k`` acting at ``t``; R_NONE when it passes.

    Writes at most one event row (the daily limit being hit)."""
    o = book.orders[k]
    acct = book.acct[0]
    if not _rate_ok(book, prm, t):
        return R_RATE_LIMIT
    if not _prices_sane(book, prm, o):
        return R_PRICE_SANITY
    if o.action == A_NEW:
        why = _adding_checks(book, logs, inst, prm, o, t)
        if why != R_NONE:
            return why
    passed(acct)
    return R_NONE


@njit(cache=True, nogil=True, _nrt=False)
def fill_refused(book, inst, prm, o, side, qty, price):
    """A triggered pending order's fill that adds exposure: refused in the margin call
    state (R_MARGIN_CALL) or when its margin exceeds the free margin (R_NO_MARGIN)."""
    ins = inst[o.symbol]
    if ins.margin_num == 0:
        return R_NONE
    if ins.fx_a > 0:
        set_rate(book.syms, ins, book.syms[o.symbol])
    acct = book.acct[0]
    # a sized order always adds exposure (docs/risk.md §3), as in the pre-trade checks
    if prm.account_mode != MODE_HEDGING and o.sizing == SZ_QTY and _reduces_only(book.syms[o.symbol], side, qty):
        return R_NONE
    eq = live_equity(book, inst)
    if in_call(acct, eq):
        return R_MARGIN_CALL
    if order_margin(ins, book.syms[o.symbol], price, qty) > eq - acct.margin_used_minor:
        return R_NO_MARGIN
    return R_NONE


# ------------------------------------------------------------ the trading day


@njit(cache=True, nogil=True, _nrt=False)
def day_roll(book, prm, t):
    """First tick at or after a trading-day boundary (or of the run): re-arm the limit."""
    acct = book.acct[0]
    days = book.ints[acct.days_at:acct.days_at + acct.n_days]
    c = np.searchsorted(days, t, side="right")
    acct.next_day = days[c] if c < days.shape[0] else NEVER
    d = acct.equity_minor
    acct.day_start_eq = d
    lim = BIG
    if prm.daily_loss_minor > 0:
        lim = prm.daily_loss_minor
    if prm.daily_loss_ppm > 0:
        lim = min(lim, mul_div_round(d, prm.daily_loss_ppm, PPM))
    acct.day_eq = d - lim
    acct.day_hit = 0
    set_watch(acct)


# --------------------------------------------------------------------- step 9


@njit(cache=True, nogil=True, _nrt=False)
def _worst(book, inst):
    """Slot of the open position with the smallest floating P&L, oldest on ties."""
    best = -1
    worst_u = 0
    seq = 0
    for slot in range(book.pos.shape[0]):
        p = book.pos[slot]
        if p.is_open == 1:
            u = floating(p, book.syms[p.symbol], inst[p.symbol])
            if best < 0 or u < worst_u or (u == worst_u and p.open_seq < seq):
                best = slot
                worst_u = u
                seq = p.open_seq
    return best


@njit(cache=True, nogil=True, _nrt=False)
def step9(book, logs, inst, prm, t):
    """Margin call, stop-out sequence and daily limit after the tick's marking (§1, §3, §6)."""
    acct = book.acct[0]
    if not ev_room(logs, acct, prm, 2):
        return ST_BUFFER_FULL
    eq = acct.equity_minor
    track_level(acct)  # the lowest margin level (docs/currency.md §6)
    if in_call(acct, eq):
        if acct.in_call == 0:
            acct.in_call = 1
            acct.n_margin_calls += 1
            log_event(logs, acct, prm, t, EV_MARGIN_CALL, R_MARGIN_CALL, -1, 0, -1, -1, -1, 0, 0,
                      eq, acct.margin_used_minor)
    else:
        acct.in_call = 0
    # so_ppm < 0: no stop-out (a fills replay makes no fills of its own, docs/fills.md)
    while prm.so_ppm >= 0 and acct.margin_used_minor > 0 and acct.equity_minor <= acct.so_eq and acct.n_open > 0:
        if not room(logs, acct, 1, 1, 0) or not ev_room(logs, acct, prm, 4):
            set_watch(acct)
            return ST_BUFFER_FULL
        slot = _worst(book, inst)
        p = book.pos[slot]
        s = p.symbol
        r = book.syms[s]
        ins = inst[s]
        qty = p.qty_steps
        pid, parent, pside = p.position_id, p.parent_id, p.side
        before = acct.equity_minor
        price = close_at_market(book, logs, inst, prm, slot, qty, t, -1, R_STOP_OUT)
        mark(acct, r, ins)
        acct.n_stop_outs += 1
        log_event(logs, acct, prm, t, EV_STOP_OUT, R_STOP_OUT, s, pside, pid, -1, parent, qty, price,
                  before, acct.equity_minor)
    if not in_call(acct, acct.equity_minor):
        acct.in_call = 0
    day_hit_now(logs, acct, prm, t, acct.equity_minor)
    set_watch(acct)
    return ST_DONE
