"""What a compiled strategy sees and does: the context and its njit helpers.

A callback gets ``ctx`` (a ``Ctx``: arrays of the account's state, the
strategy's bars, its parameter and state records) and calls these helpers;
they are plain ``@njit`` functions compiled into the strategy's callback.
Units are the kernel's: prices in ticks (bars of the mid basis in half ticks),
quantities in lot steps, money in minor units, time in ns UTC
(docs/strategies.md §2, §4).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..kernels.enums import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    BASIS_MID,
    ERR_ACTIONS,
    ERR_BARS,
    ERR_SYMBOL,
    K_NONE,
    OS_NEW,
    OS_WORKING,
    OT_LIMIT,
    OT_MARKET,
    OT_STOP,
    OT_STOP_LIMIT,
    R_EXPIRY_PAST,
    R_NONE,
    R_OFF_STEP,
    R_OFF_TICK,
    R_QTY_BELOW_MIN,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from ..kernels.gtd import add_expiry, drop_expiry

# info: the SCTX header row array; params/state: one-row arrays of the strategy's own dtypes
Ctx = namedtuple("Ctx", ["info", "acct", "syms", "orders", "pos", "ints", "tfs", "bars", "params", "state"])

_TOL = 1e-6

# ------------------------------------------------------------------ the moment


@njit(_nrt=False)
def now(ctx):
    """The time actions of this call are stamped with (a bar's ts_close, the tick's ts)."""
    return ctx.info[0].ts


@njit(_nrt=False)
def bid(ctx, s):
    """The last bid of symbol ``s`` in ticks (0 before its first tick)."""
    return ctx.syms[s].bid


@njit(_nrt=False)
def ask(ctx, s):
    return ctx.syms[s].ask


@njit(_nrt=False)
def n_symbols(ctx):
    return ctx.info[0].n_sym


# ------------------------------------------------------------------ bars


@njit(_nrt=False)
def n_bars(ctx, tf, s):
    """Closed bars of timeframe ``tf`` and symbol ``s`` that can be read (at most keep)."""
    c = ctx.info[0]
    n = ctx.bars[tf * c.n_sym + s].n_closed
    return n if n < c.keep else c.keep


@njit(_nrt=False)
def bar(ctx, tf, s, back):
    """The closed bar ``back`` bars ago (0 = the latest closed bar) of (tf, s), a BAR record.

    Asking for a bar beyond those kept, or not yet closed, is an error of the strategy."""
    c = ctx.info[0]
    r = ctx.bars[tf * c.n_sym + s]
    if back < 0 or back >= c.keep or back >= r.n_closed:
        c.err_code = ERR_BARS
        c.err_tf = tf
        raise IndexError("bar not kept")
    idx = (r.n_closed - 1 - back) % c.keep
    return ctx.bars[c.n_tf * c.n_sym + (tf * c.n_sym + s) * c.keep + idx]


@njit(_nrt=False)
def bar_close(ctx, tf, s, back):
    return bar(ctx, tf, s, back).close


@njit(_nrt=False)
def to_ticks(ctx, x):
    """A bar price (half ticks for the mid basis) in ticks, as a float."""
    return x / 2.0 if ctx.info[0].basis == BASIS_MID else x * 1.0


# ------------------------------------------------------------------ positions and orders


@njit(_nrt=False)
def net_qty(ctx, s):
    """Signed net position of symbol ``s`` in lot steps (long minus short)."""
    r = ctx.syms[s]
    return r.long_steps - r.short_steps


@njit(_nrt=False)
def position_slot(ctx, pid):
    """Row of ``ctx.pos`` of open position ``pid`` (the id of the order that opened it), -1."""
    if pid < 0 or pid >= ctx.acct[0].n_orders:
        return -1
    return ctx.ints[ctx.acct[0].slot_at + pid]


@njit(_nrt=False)
def position_qty(ctx, pid):
    """Signed open quantity of position ``pid`` in lot steps, 0 when it is not open."""
    slot = position_slot(ctx, pid)
    if slot < 0:
        return 0
    p = ctx.pos[slot]
    return p.qty_steps * p.side


@njit(_nrt=False)
def oldest_position(ctx, s, side):
    """Id of the oldest open position of symbol ``s`` on ``side`` (1 long, -1 short), -1."""
    r = ctx.syms[s]
    slot = r.long_head if side > 0 else r.short_head
    return ctx.pos[slot].position_id if slot >= 0 else -1


@njit(_nrt=False)
def order_status(ctx, oid):
    """Status code of order ``oid`` (OrderStatus), -1 for an id no order has yet."""
    if oid < 0 or oid >= ctx.acct[0].n_orders:
        return -1
    return ctx.orders[oid].status


@njit(_nrt=False)
def is_working(ctx, oid):
    st = order_status(ctx, oid)
    return st in (OS_WORKING, OS_NEW)


# ------------------------------------------------------------------ account


@njit(_nrt=False)
def cash(ctx):
    return ctx.acct[0].cash_minor


@njit(_nrt=False)
def equity(ctx):
    return ctx.acct[0].equity_minor


@njit(_nrt=False)
def used_margin(ctx):
    return ctx.acct[0].margin_used_minor


@njit(_nrt=False)
def free_margin(ctx):
    a = ctx.acct[0]
    return a.equity_minor - a.margin_used_minor


@njit(_nrt=False)
def margin_level(ctx):
    """Equity / used margin (a ratio, 1.0 = 100 %); inf when no margin is used."""
    a = ctx.acct[0]
    return np.inf if a.margin_used_minor <= 0 else a.equity_minor / a.margin_used_minor


# ------------------------------------------------------------------ actions


@njit(_nrt=False)
def _row(ctx):
    """The next free row of the action buffer (the order id it will get)."""
    c = ctx.info[0]
    if c.n_actions >= c.max_actions:
        c.err_code = ERR_ACTIONS
        raise IndexError("action buffer full")
    k = ctx.acct[0].n_orders + c.n_actions
    c.n_actions += 1
    o = ctx.orders[k]
    o.ref_id = -1
    o.oco_group = -1
    o.reason = R_NONE
    o.tag_code = 0
    o.tif = TIF_GTC
    o.expire_ts = 0
    return k


@njit(_nrt=False)
def _whole(x):
    """(round(x), True when x is a whole number)."""
    q = np.rint(x)
    return np.int64(q), abs(x - q) <= _TOL


@njit(_nrt=False)
def _qty(o, qty, allow_zero):
    q, ok = _whole(qty)
    if not ok:
        o.reason = R_OFF_STEP
    elif q < 0 or (q == 0 and not allow_zero):
        o.reason = R_QTY_BELOW_MIN
    o.qty_steps = q if ok else 0


@njit(_nrt=False)
def _price(o, x):
    """Ticks of a price given in ticks; OFF_TICK when it is not a whole number."""
    p, ok = _whole(x)
    if not ok and (o.reason == R_NONE or o.reason == R_EXPIRY_PAST):  # off_tick comes first
        o.reason = R_OFF_TICK
    return p if ok else 0


@njit(_nrt=False)
def _symbol(ctx, s):
    c = ctx.info[0]
    if s < 0 or s >= c.n_sym:
        c.err_code = ERR_SYMBOL
        raise IndexError("unknown symbol index")


@njit(_nrt=False)
def submit(ctx, s, side, qty, otype=OT_MARKET, price=0.0, stop=0.0):
    """A new order; returns its id. ``side`` 1 buy, -1 sell; ``qty`` in lot steps; ``price``
    (limit, stop-limit) and ``stop`` (stop, stop-limit) in ticks."""
    _symbol(ctx, s)
    k = _row(ctx)
    o = ctx.orders[k]
    o.action = A_NEW
    o.symbol = s
    o.side = 1 if side > 0 else -1
    o.type = otype
    _qty(o, qty, False)
    o.price_ticks = _price(o, price) if otype in (OT_LIMIT, OT_STOP_LIMIT) else 0
    o.stop_ticks = _price(o, stop) if otype in (OT_STOP, OT_STOP_LIMIT) else 0
    return k


@njit(_nrt=False)
def buy(ctx, s, qty):
    return submit(ctx, s, 1, qty, OT_MARKET, 0.0, 0.0)


@njit(_nrt=False)
def sell(ctx, s, qty):
    return submit(ctx, s, -1, qty, OT_MARKET, 0.0, 0.0)


@njit(_nrt=False)
def _own(ctx, oid):
    """Order ``oid`` must be one written by this call."""
    n = ctx.acct[0].n_orders
    c = ctx.info[0]
    if oid < n or oid >= n + c.n_actions:
        c.err_code = ERR_ACTIONS
        raise IndexError("not an action of this call")
    return ctx.orders[oid]


@njit(_nrt=False)
def set_stops(ctx, oid, sl_kind, sl, tp_kind, tp):
    """Stop-loss and take-profit of an order of this call: kinds StopKind (PRICE: ticks,
    TICKS: distance in ticks, PPM: parts per million of the entry), NONE for none."""
    o = _own(ctx, oid)
    o.sl_kind = sl_kind
    o.tp_kind = tp_kind
    o.sl_val = _price(o, sl) if sl_kind != K_NONE else 0
    o.tp_val = _price(o, tp) if tp_kind != K_NONE else 0


@njit(_nrt=False)
def set_trail(ctx, oid, kind, dist, activation=0, step=0):
    """Trailing stop of an order of this call: ``dist`` in ticks (TICKS) or ppm (PPM)."""
    o = _own(ctx, oid)
    o.trail_kind = kind
    o.trail_val = _price(o, dist)
    o.trail_act = activation
    o.trail_step = step


@njit(_nrt=False)
def set_oco(ctx, oid, group):
    """The order joins OCO group ``group`` (>= 0): one fill cancels the others."""
    _own(ctx, oid).oco_group = group


@njit(_nrt=False)
def set_sizing(ctx, oid, sizing, size):
    """Sizing rule (Sizing) and amount (minor units for notional, ppm for percents)."""
    o = _own(ctx, oid)
    o.sizing = sizing
    o.size_val = size


@njit(_nrt=False)
def set_tif(ctx, oid, tif):
    """TIF_GTC (the default) or TIF_IOC; good-till-date is set with set_expiry (not followed
    by set_tif)."""
    o = _own(ctx, oid)
    if (tif != TIF_GTC and tif != TIF_IOC) or o.tif == TIF_GTD:
        ctx.info[0].err_code = ERR_ACTIONS
        raise ValueError("time in force")
    o.tif = tif


@njit(_nrt=False)
def set_expiry(ctx, oid, ts):
    """Good-till-date: new order ``oid`` of this call works on ticks with time < ``ts`` (ns UTC)
    and then expires (reason ``expiry``); ``ts`` not after ``now(ctx)`` rejects the order
    (``expiry_past``), as for a table order."""
    o = _own(ctx, oid)
    if o.action != A_NEW:
        ctx.info[0].err_code = ERR_ACTIONS
        raise ValueError("expiry on a row that is not a new order")
    if o.tif == TIF_GTD:  # set again: the new expiry replaces the first
        drop_expiry(ctx.acct, ctx.ints, oid)
        if o.reason == R_EXPIRY_PAST:
            o.reason = R_NONE
    o.tif = TIF_GTD
    o.expire_ts = ts
    if ts <= now(ctx):
        if o.reason == R_NONE:
            o.reason = R_EXPIRY_PAST
        return
    if not add_expiry(ctx.acct, ctx.ints, ctx.orders, oid):
        ctx.info[0].err_code = ERR_ACTIONS
        raise IndexError("expiry list full")


@njit(_nrt=False)
def set_tag(ctx, oid, tag):
    """Tag code ``tag`` (>= 0) of an order of this call: the orders log shows the strategy's
    ``tags[tag]`` (the number itself beyond them) in its ``tag`` column; statistics by tag."""
    o = _own(ctx, oid)
    if tag < 0:
        ctx.info[0].err_code = ERR_ACTIONS
        raise ValueError("negative tag")
    o.tag_code = tag + 1


@njit(_nrt=False)
def _ref_row(ctx, action, ref):
    """A new action row ``action`` on order (or position) ``ref``, in its symbol; its row index."""
    k = _row(ctx)
    o = ctx.orders[k]
    o.action = action
    o.ref_id = ref
    o.symbol = ctx.orders[ref].symbol if 0 <= ref < ctx.acct[0].n_orders else 0
    o.type = OT_MARKET
    return k


@njit(_nrt=False)
def modify(ctx, ref, price=0.0, stop=0.0, qty=0.0):
    """Modify working order (or the stops of open position) ``ref``; 0 = unchanged.
    Stops are changed with set_stops/set_trail on the returned id."""
    k = _ref_row(ctx, A_MODIFY, ref)
    o = ctx.orders[k]
    _qty(o, qty, True)
    o.price_ticks = _price(o, price)
    o.stop_ticks = _price(o, stop)
    return k


@njit(_nrt=False)
def cancel(ctx, ref):
    """Cancel working order ``ref``."""
    return _ref_row(ctx, A_CANCEL, ref)


@njit(_nrt=False)
def close(ctx, pid, qty=0.0):
    """Close open position ``pid`` (all of it, or ``qty`` lot steps) at market."""
    k = _ref_row(ctx, A_CLOSE, pid)
    _qty(ctx.orders[k], qty, True)
    return k


@njit(_nrt=False)
def close_symbol(ctx, s):
    """Close every open position of symbol ``s`` at market, oldest first."""
    _symbol(ctx, s)
    k = _row(ctx)
    o = ctx.orders[k]
    o.action = A_CLOSE
    o.symbol = s
    o.type = OT_MARKET
    return k
