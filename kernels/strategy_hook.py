"""Calling a compiled strategy from the tick loop (docs/strategies.md).

A strategy is one C callback (a ``numba.cfunc``) of the fixed signature
``HOOK_SIG``; the engine takes it as an argument of type ``HOOK_TYPE`` and
calls it through its address, so the engine is compiled once whatever the
strategy. The callback gets one pointer: a table of ``N_VIEWS`` (address,
length) pairs, the arrays of the context in the order of ``VIEWS``, built on
the caller's stack by ``pack``; the callback sees them as arrays again
(backtestr/strategies/compile.py) without copying. One argument instead of
ten arrays (about seventy machine words) per call. The callback writes its
actions as ORDER rows straight into the free rows of the orders table (after
``acct.n_orders``); ``append`` then stamps them, checks what the kernel can
check and makes them part of the table. A run without a strategy passes
``noop`` and a header with no timeframe.
"""

import numpy as np
from llvmlite import ir
from numba import cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

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
from .records import BAR, ORDER, SCTX, TFRAME, Strat

# The table the callback gets: (tuple, field) of each array, in this order; entry k is
# (address of the first row, number of rows) at words 2k and 2k + 1.
VIEWS = (("strat", "ctx"), ("book", "acct"), ("book", "syms"), ("book", "orders"), ("book", "pos"),
         ("book", "ints"), ("strat", "tfs"), ("strat", "bars"), ("strat", "pbuf"), ("strat", "sbuf"))
N_VIEWS = len(VIEWS)

# (table) -> 0, or -1 when the strategy raised
HOOK_SIG = types.int64(types.CPointer(types.int64))
HOOK_TYPE = types.FunctionType(HOOK_SIG)


@intrinsic
def pack(typingctx, book, strat):
    """The table of ``VIEWS`` for ``book`` and ``strat``, on the stack of the calling function
    (valid while it runs; the arrays do not move during a kernel call)."""
    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        table = cgutils.alloca_once(builder, i64, size=2 * N_VIEWS, name="strategy_views")
        tups = {"book": (sig.args[0], args[0]), "strat": (sig.args[1], args[1])}
        for k, (tup, field) in enumerate(VIEWS):
            tupty, tupval = tups[tup]
            at = tupty.fields.index(field)
            ary = make_array(tupty.types[at])(context, builder, builder.extract_value(tupval, at))
            builder.store(builder.ptrtoint(ary.data, i64), builder.gep(table, [cgutils.int32_t(2 * k)]))
            builder.store(builder.extract_value(ary.shape, 0), builder.gep(table, [cgutils.int32_t(2 * k + 1)]))
        return table

    return types.CPointer(types.int64)(book, strat), codegen


@cfunc(HOOK_SIG, cache=True)
def noop(views):  # pragma: no cover - never called
    return 0


def sources(lengths: list[int], bounds: list[np.ndarray]) -> dict[int, int]:
    """Timeframe -> the timeframe whose closed bars build it: the shortest fixed one built tick by
    tick whose buckets nest in it (its length divides the other's length, or every session
    boundary). Every bar of it is then the fold of the bars of the other one it covers, exactly:
    the tick loop folds each tick into the bars of these shorter timeframes only."""
    out: dict[int, int] = {}
    built: list[int] = []  # fixed timeframes built tick by tick, shortest first
    order = sorted(range(len(lengths)), key=lambda j: (lengths[j] <= 0, lengths[j], j))
    for j in order:
        for f in built:
            n = lengths[f]
            if (lengths[j] > 0 and lengths[j] % n == 0) or (
                    lengths[j] <= 0 and bounds[j].shape[0] > 0 and not np.any(bounds[j] % n)):
                out[j] = f
                break
        else:
            if lengths[j] > 0:
                built.append(j)
    return out


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
        tfs[j]["folded"] = NEVER
        tfs[j]["source"] = -1
        at += bounds[j].shape[0]
    for j, f in sources(lengths, bounds).items():
        tfs[j]["source"] = f
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


@njit(cache=True, nogil=True, inline="always")
def _begin(c, event, s, tf, ts):
    c.event = event
    c.symbol = s
    c.tf = tf
    c.ts = ts
    c.n_actions = 0
    c.err_code = 0


@njit(cache=True, nogil=True, _nrt=False)
def finish_call(book, strat, rc, event, tf, ts, latency):
    """After the callback returned ``rc``: its error is recorded and its rows freed, or its
    actions are appended, stamped ``ts``."""
    c = strat.ctx[0]
    if rc < 0 or c.err_code != 0:
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
def call(book, strat, hook, event, s, tf, ts, latency):
    """Call the strategy for ``event``; its actions are stamped ``ts``."""
    _begin(strat.ctx[0], event, s, tf, ts)
    return finish_call(book, strat, hook(pack(book, strat)), event, tf, ts, latency)


@njit(cache=True, nogil=True, inline="always")
def tick_quiet(c, hook, views, s, t):
    """on_tick of symbol ``s`` at ``t`` through a table ``pack`` built once per kernel call:
    0 when the callback did nothing more to handle, else what ``finish`` takes as ``rc``
    (-1 raised, 1 actions or a helper's error). Takes no array (no reference counting)."""
    if c.on_tick == 0:
        return 0
    _begin(c, CB_TICK, s, -1, t)
    rc = hook(views)
    if rc == 0 and (c.n_actions != 0 or c.err_code != 0):
        return 1
    return rc


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
