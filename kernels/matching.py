"""Orders: activation strictly after their time stamp, working queues, fills.

Orders arrive sorted by (act_ts, order_id). An order becomes WORKING on the
first tick with ts >= act_ts (act_ts = ts + max(1 ns, latency)) and a market or
target order fills on the next tick of its own symbol (docs §3).
"""

from numba import njit

from .logbuf import room
from .positions import apply_fill, has_capacity, net_steps
from .records import (
    BUY,
    OS_FILLED,
    OS_NEW,
    OS_NO_ACTION,
    OS_REJECTED,
    OS_WORKING,
    OT_TARGET,
    R_NONE,
    R_QTY_ABOVE_MAX,
    R_QTY_BELOW_MIN,
    R_SIGNAL,
    SELL,
    ST_BUFFER_FULL,
    ST_DONE,
    ST_POSITIONS_FULL,
)


@njit(cache=True, nogil=True)
def activate(book, t):
    """Move every order with act_ts <= t onto its symbol's working queue."""
    orders = book.orders
    acct = book.acct[0]
    c = acct.order_cursor
    n = orders.shape[0]
    while c < n and orders[c].act_ts <= t:
        o = orders[c]
        if o.status == OS_NEW:
            o.status = OS_WORKING
            o.next_working = -1
            r = book.syms[o.symbol]
            if r.work_tail >= 0:
                orders[r.work_tail].next_working = c
            else:
                r.work_head = c
            r.work_tail = c
        c += 1
    acct.order_cursor = c


@njit(cache=True, nogil=True)
def fill_price(side, bid, ask):
    """Buy at ask, sell at bid (SPEC §4); slippage models attach here."""
    return ask if side == BUY else bid


@njit(cache=True, nogil=True)
def _reject(acct, o, reason):
    o.status = OS_REJECTED
    o.reason = reason
    acct.n_rejected += 1


@njit(cache=True, nogil=True)
def execute_market(book, logs, inst, params, k, t):
    """Fill working order ``k`` (market or target) at the current quote."""
    o = book.orders[k]
    s = o.symbol
    acct = book.acct[0]
    if o.type == OT_TARGET:
        delta = o.qty_steps - net_steps(book, s)
        if delta == 0:
            o.status = OS_NO_ACTION
            return
        side = BUY if delta > 0 else SELL
        qty = delta if delta > 0 else -delta
    else:
        side = o.side
        qty = o.qty_steps
    ins = inst[s]
    if qty < ins.min_steps:
        _reject(acct, o, R_QTY_BELOW_MIN)
        return
    if ins.max_steps > 0 and qty > ins.max_steps:
        _reject(acct, o, R_QTY_ABOVE_MAX)
        return
    r = book.syms[s]
    price = fill_price(side, r.bid, r.ask)
    n_before = acct.n_fills
    c_before = acct.commission_minor
    pid = apply_fill(book, logs, ins, params, o.order_id, s, side, qty, price, t, R_SIGNAL)
    o.status = OS_FILLED
    o.side = side
    o.filled_steps += qty
    o.fill_value += price * qty
    o.fill_ts = t
    o.commission_minor += acct.commission_minor - c_before
    o.position_id = pid
    o.reason = R_SIGNAL if acct.n_fills > n_before else R_NONE


@njit(cache=True, nogil=True)
def process_working(book, logs, inst, params, s, t):
    """Fill the working queue of symbol ``s``; stops early when out of room."""
    r = book.syms[s]
    acct = book.acct[0]
    orders = book.orders
    while r.work_head >= 0:
        if not (has_capacity(book) and room(logs, acct, 2, 1, 0)):
            return ST_BUFFER_FULL if has_capacity(book) else ST_POSITIONS_FULL
        k = r.work_head
        execute_market(book, logs, inst, params, k, t)
        r.work_head = orders[k].next_working
        if r.work_head < 0:
            r.work_tail = -1
    return ST_DONE
