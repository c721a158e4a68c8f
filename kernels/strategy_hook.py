"""Calling a compiled strategy from the tick loop (docs/strategies.md).

A strategy is one C callback (a ``numba.cfunc``) of the fixed signature
``HOOK_SIG``; the engine takes it as an argument of type ``HOOK_TYPE`` and
calls it through its address, so the engine is compiled once whatever the
strategy. The callback writes its actions as ORDER rows straight into the free
rows of the orders table (after ``acct.n_orders``); ``append`` then stamps
them, checks what the kernel can check and makes them part of the table. A
run without a strategy passes ``noop`` and a header with no timeframe.
"""

import numba
import numpy as np
from numba import cfunc, njit, types

from .enums import (
    A_CLOSE,
    A_NEW,
    BASIS_MID,
    CB_FILL,
    CB_TICK,
    ERR_RAISED,
    NEVER,
    OS_NEW,
    OS_REJECTED,
    R_NONE,
    R_UNKNOWN_REF,
    ST_DONE,
    ST_STRATEGY_ERROR,
)
from .records import ACCOUNT, BAR, ORDER, POSITION, SCTX, SYMBOL, TFRAME, Strat


def _typeof(dtype: np.dtype) -> types.Type:
    return numba.typeof(np.zeros(1, dtype))


# (ctx, acct, syms, orders, pos, ints, tfs, bars, pbuf, sbuf) -> 0, or -1 when the strategy raised
HOOK_ARGS = (_typeof(SCTX), _typeof(ACCOUNT), _typeof(SYMBOL), _typeof(ORDER), _typeof(POSITION),
             numba.typeof(np.zeros(1, np.int64)), _typeof(TFRAME), _typeof(BAR),
             numba.typeof(np.zeros(1, np.uint8)), numba.typeof(np.zeros(1, np.uint8)))
HOOK_SIG = types.int64(*HOOK_ARGS)
HOOK_TYPE = types.FunctionType(HOOK_SIG)


@cfunc(HOOK_SIG, cache=True)
def noop(ctx, acct, syms, orders, pos, ints, tfs, bars, pbuf, sbuf):  # pragma: no cover - never called
    return 0


def new_strat(n_sym: int, lengths: list[int], bounds: list[np.ndarray], keep: int, basis: int,
              on_tick: bool, on_fill: bool, pbuf: np.ndarray, sbuf: np.ndarray, max_actions: int) -> Strat:
    """A strategy's arrays: ``lengths[j]`` ns for a fixed timeframe, 0 for one by ``bounds[j]``."""
    n_tf = len(lengths)
    ctx = np.zeros(1, SCTX)
    c = ctx[0]
    c["n_sym"], c["n_tf"], c["keep"], c["basis"] = n_sym, n_tf, keep, basis
    c["on_tick"], c["on_fill"] = int(on_tick), int(on_fill)
    c["next_close"] = NEVER
    c["max_actions"] = max_actions
    tfs = np.zeros(n_tf, TFRAME)
    at = 0
    for j in range(n_tf):
        tfs[j]["length_ns"] = lengths[j]
        tfs[j]["bounds_at"] = at
        tfs[j]["n_bounds"] = bounds[j].shape[0]
        tfs[j]["next_close"] = NEVER
        at += bounds[j].shape[0]
    all_bounds = np.concatenate(bounds).astype(np.int64) if at else np.zeros(0, np.int64)
    bars = np.zeros(n_tf * n_sym * (1 + keep), BAR)
    return Strat(ctx, tfs, bars, all_bounds, pbuf, sbuf, np.zeros(0, ORDER))


def no_strat(n_sym: int) -> Strat:
    """The arrays of a run without a strategy."""
    return new_strat(n_sym, [], [], 1, BASIS_MID, False, False, np.zeros(1, np.uint8), np.zeros(1, np.uint8), 0)


@njit(cache=True, nogil=True, _nrt=False)
def _link_oco(orders, k, g):
    """Order ``k`` joins OCO group ``g``: after the group's latest member, in a ring in index
    order (the ring an orders table with the same groups gets, backtestr/orders.py)."""
    for j in range(k - 1, -1, -1):
        if orders[j].oco_group == g and orders[j].action == A_NEW:
            nxt = orders[j].oco_next
            orders[k].oco_next = nxt if nxt >= 0 else j  # a group of one becomes a ring of two
            orders[j].oco_next = k
            return
    orders[k].oco_next = -1


@njit(cache=True, nogil=True, _nrt=False)
def append(book, strat, ts, latency):
    """The rows the callback wrote after ``acct.n_orders`` become orders stamped ``ts``: id =
    index, act_ts = ts + max(1 ns, latency); a reference to no earlier order is rejected."""
    c = strat.ctx[0]
    acct = book.acct[0]
    orders = book.orders
    lat = latency if latency > 1 else 1
    for _ in range(c.n_actions):
        k = acct.n_orders
        o = orders[k]
        o.order_id = k
        o.ts = ts
        o.act_ts = ts + lat
        o.parent_id = -1
        o.position_id = -1
        o.next_working = -1
        o.oco_next = -1
        o.ref = -1
        reason = o.reason
        if o.action != A_NEW:
            if o.ref_id >= 0 and o.ref_id < k:
                o.ref = o.ref_id
            elif (o.ref_id >= 0 or o.action != A_CLOSE) and reason == R_NONE:
                reason = R_UNKNOWN_REF
        if o.action == A_NEW and o.oco_group >= 0:
            _link_oco(orders, k, o.oco_group)
        o.reason = reason
        o.status = OS_NEW if reason == R_NONE else OS_REJECTED
        if k < strat.sent.shape[0]:
            strat.sent[k] = o
        acct.n_orders = k + 1
    c.n_actions = 0


@njit(cache=True, nogil=True, _nrt=False)
def _clear(orders, k):
    o = orders[k]
    o.action = 0
    o.type = 0
    o.side = 0
    o.symbol = 0
    o.qty_steps = 0
    o.price_ticks = 0
    o.stop_ticks = 0
    o.reason = 0
    o.ref_id = 0
    o.oco_group = 0
    o.sl_kind = 0
    o.sl_val = 0
    o.tp_kind = 0
    o.tp_val = 0
    o.trail_kind = 0
    o.trail_val = 0
    o.trail_act = 0
    o.trail_step = 0
    o.sizing = 0
    o.size_val = 0
    o.tif = 0
    o.expire_ts = 0


@njit(cache=True, nogil=True, _nrt=False)
def call(book, strat, hook, event, s, tf, ts, latency):
    """Call the strategy for ``event``; its actions are stamped ``ts``."""
    c = strat.ctx[0]
    c.event = event
    c.symbol = s
    c.tf = tf
    c.ts = ts
    c.n_actions = 0
    c.err_code = 0
    rc = hook(strat.ctx, book.acct, book.syms, book.orders, book.pos, book.ints, strat.tfs, strat.bars,
              strat.pbuf, strat.sbuf)
    if rc != 0 or c.err_code != 0:
        if c.err_code == 0:  # a helper that failed set its code (and the timeframe) first
            c.err_code = ERR_RAISED
            c.err_tf = tf
        c.err_event = event
        c.err_ts = ts
        orders = book.orders
        n = book.acct[0].n_orders
        for j in range(c.n_actions):  # nothing half written: the rows stay free
            _clear(orders, n + j)
        c.n_actions = 0
        return ST_STRATEGY_ERROR
    append(book, strat, ts, latency)
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False)
def after_tick(book, strat, hook, s, t, latency):
    """on_fill (when this tick filled something), then on_tick, after the tick is processed."""
    c = strat.ctx[0]
    acct = book.acct[0]
    if c.on_fill == 1 and acct.n_fills != c.seen_fills:
        c.seen_fills = acct.n_fills
        st = call(book, strat, hook, CB_FILL, s, -1, t, latency)
        if st != ST_DONE:
            return st
    if c.on_tick == 1:
        return call(book, strat, hook, CB_TICK, s, -1, t, latency)
    return ST_DONE


def room_needed(strat: Strat) -> int:
    """Free order rows the tick callbacks of one tick need."""
    c = strat.ctx[0]
    return int(c["max_actions"]) * (int(c["on_tick"]) + int(c["on_fill"]))


def no_strategy(n_sym: int) -> tuple:
    """(strat, hook) of a run without a strategy: the last two arguments of run_chunk."""
    return no_strat(n_sym), noop
