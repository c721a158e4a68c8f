"""Orders: activation strictly after their time stamp, actions, the working queue.

Orders arrive sorted by (act_ts, input order); internal index ``k`` is the
position in that array. On the first tick with ts >= act_ts an order acts
(docs/execution.md §2, §3, §6): modify and cancel take effect at once; a new
limit, stop or stop-limit order joins its symbol's book (books.py); market,
target, close and IOC orders join the symbol's FIFO and are executed on the
next tick of their own symbol.
"""

from .books import add_pending, remove_pending
from .breaker import reject
from .events import ev_room, log_position_event, log_rejected
from .execution import limit_fill_price, limit_hit, market_price, stop_fill_price, stop_hit
from .jit import njit
from .logbuf import room
from .positions import apply_fill, capacity, close_at_market, net_steps, slot_of
from .records import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    BUY,
    EV_MODIFIED,
    K_NONE,
    K_REMOVE,
    MODE_HEDGING,
    OS_APPLIED,
    OS_CANCELLED,
    OS_EXPIRED,
    OS_FILLED,
    OS_NEW,
    OS_NO_ACTION,
    OS_REJECTED,
    OS_WORKING,
    OT_FILL,
    OT_LIMIT,
    OT_MARKET,
    OT_STOP,
    OT_TARGET,
    R_BAD_STOPS,
    R_CANCELLED,
    R_EXPIRY,
    R_IOC,
    R_NONE,
    R_NOT_WORKING,
    R_NOTHING_TO_CLOSE,
    R_OCO,
    R_QTY_ABOVE_MAX,
    R_QTY_BELOW_MIN,
    R_SIGNAL,
    R_STOP_LOSS,
    R_TAKE_PROFIT,
    R_TRAILING,
    R_UNKNOWN_REF,
    SELL,
    ST_BUFFER_FULL,
    ST_DONE,
    TIF_GTD,
    TIF_IOC,
)
from .replay import replay_fill
from .risk import pre_trade
from .rounding import round_half_even_div
from .stops import effective_trail, resolve, set_stops, sides_ok

EVENTS_PER_FILL = 4  # a reversal's two position events, a breaker trip, or a refusal and a trip
EVENTS_PER_ORDER = 5  # rejected + trip, or up to three modified; + the daily limit being hit


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def ready(book, logs, prm, s):
    """ST_DONE when one more fill of symbol ``s`` fits (a position slot, stack room,
    two fill rows, a closed row and its events), else the status that asks for room."""
    st = capacity(book, s)
    if st != ST_DONE:
        return st
    acct = book.acct[0]
    if not room(logs, acct, 2, 1, 0) or not ev_room(logs, acct, prm, EVENTS_PER_FILL):
        return ST_BUFFER_FULL
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False)
def entry_price(o, price, stop):
    """The price a pending order's stops are checked against: its stop for a stop
    order, else its limit price (docs/execution.md §4)."""
    return stop if o.type == OT_STOP else price


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _has_stops(o):
    return o.sl_kind != K_NONE or o.tp_kind != K_NONE or o.trail_kind != K_NONE


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def stops_ok(o, side, entry):
    """The order's SL/TP on the right side of ``entry`` (docs §4)."""
    sl = resolve(o.sl_kind, o.sl_val, side, entry, True, 0)
    tp = resolve(o.tp_kind, o.tp_val, side, entry, False, 0)
    return sides_ok(side, sl, tp, entry)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def qty_ok(book, logs, prm, o, ins, qty, t):
    if qty < ins.min_steps:
        reject(book, logs, prm, o, R_QTY_BELOW_MIN, t)
        return False
    if ins.max_steps > 0 and qty > ins.max_steps:
        reject(book, logs, prm, o, R_QTY_ABOVE_MAX, t)
        return False
    return True


@njit(cache=True, nogil=True, _nrt=False)
def _cancel_oco(book, prm, k):
    orders = book.orders
    j = orders[k].oco_next
    while j >= 0 and j != k:
        o = orders[j]
        if o.status == OS_WORKING:
            remove_pending(book, prm, j)
            o.status = OS_CANCELLED
            o.reason = R_OCO
        j = o.oco_next


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _record(o, acct, status, side, qty, price, t, c_before):
    """Order record ``o`` after a fill of ``qty`` at ``price`` (commission since ``c_before``)."""
    o.status = status
    o.side = side
    o.filled_steps += qty
    o.fill_value += price * qty
    o.fill_ts = t
    o.commission_minor += acct.commission_minor - c_before


@njit(cache=True, nogil=True, _nrt=False)
def fill_order(book, logs, inst, prm, k, side, qty, price, t):
    """Fill ``qty`` of order ``k``: the position, the order's record, its stops, OCO.

    Needs ready() == ST_DONE.
    """
    o = book.orders[k]
    s = o.symbol
    acct = book.acct[0]
    c_before = acct.commission_minor
    n_before = acct.n_fills
    slot = apply_fill(book, logs, inst[s], prm, k, s, side, qty, price, t, R_SIGNAL)
    _record(o, acct, OS_FILLED, side, qty, price, t, c_before)
    o.reason = R_SIGNAL if acct.n_fills > n_before else R_NONE
    if slot >= 0 and _has_stops(o):
        p = book.pos[slot]
        sl = resolve(o.sl_kind, o.sl_val, side, price, True, p.sl_ticks)
        tp = resolve(o.tp_kind, o.tp_val, side, price, False, p.tp_ticks)
        set_stops(book, prm, slot, sl, tp, o.trail_kind, o.trail_val, o.trail_act, o.trail_step, price)
    if o.oco_next >= 0:
        _cancel_oco(book, prm, k)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _enqueue(book, k):
    orders = book.orders
    o = orders[k]
    o.next_working = -1
    r = book.syms[o.symbol]
    if r.work_tail >= 0:
        orders[r.work_tail].next_working = k
    else:
        r.work_head = k
    r.work_tail = k


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _modify(book, logs, prm, k, t):
    """Apply modify order ``k`` to the working order or open position it names."""
    orders = book.orders
    acct = book.acct[0]
    m = orders[k]
    j = m.ref
    if j < 0:
        reject(book, logs, prm, m, R_UNKNOWN_REF, t)
        return
    o = orders[j]
    if o.status == OS_WORKING:
        price = m.price_ticks if m.price_ticks > 0 else o.price_ticks
        stop = m.stop_ticks if m.stop_ticks > 0 else o.stop_ticks
        entry = 0 if o.type == OT_MARKET or o.type == OT_TARGET else entry_price(o, price, stop)
        sl_kind = m.sl_kind if m.sl_kind != K_NONE else o.sl_kind
        sl_val = m.sl_val if m.sl_kind != K_NONE else o.sl_val
        tp_kind = m.tp_kind if m.tp_kind != K_NONE else o.tp_kind
        tp_val = m.tp_val if m.tp_kind != K_NONE else o.tp_val
        if entry > 0:
            sl = resolve(sl_kind, sl_val, o.side, entry, True, 0)
            tp = resolve(tp_kind, tp_val, o.side, entry, False, 0)
            if not sides_ok(o.side, sl, tp, entry):
                reject(book, logs, prm, m, R_BAD_STOPS, t)
                return
        remove_pending(book, prm, j)
        o.price_ticks = price
        o.stop_ticks = stop
        if m.qty_steps > 0:
            o.qty_steps = m.qty_steps
        # a stop removed from a working order is one it no longer carries: when it fills, the
        # position keeps its own (docs/execution.md §2, §4)
        o.sl_kind = K_NONE if sl_kind == K_REMOVE else sl_kind
        o.sl_val = 0 if sl_kind == K_REMOVE else sl_val
        o.tp_kind = K_NONE if tp_kind == K_REMOVE else tp_kind
        o.tp_val = 0 if tp_kind == K_REMOVE else tp_val
        if m.trail_kind == K_REMOVE:
            o.trail_kind = K_NONE
            o.trail_val = 0
            o.trail_act = 0
            o.trail_step = 0
        elif m.trail_kind != K_NONE:
            o.trail_kind = m.trail_kind
            o.trail_val = m.trail_val
            o.trail_act = m.trail_act
            o.trail_step = m.trail_step
        if o.type != OT_MARKET and o.type != OT_TARGET and o.tif != TIF_IOC:
            add_pending(book, prm, j)
        m.status = OS_APPLIED
        return
    slot = slot_of(book, j)
    if slot < 0:
        reject(book, logs, prm, m, R_NOT_WORKING, t)
        return
    p = book.pos[slot]
    r = book.syms[p.symbol]
    entry = round_half_even_div(p.entry_value, p.entry_steps)
    sl = resolve(m.sl_kind, m.sl_val, p.side, entry, True, p.sl_ticks)
    tp = resolve(m.tp_kind, m.tp_val, p.side, entry, False, p.tp_ticks)
    q = r.bid if p.side == BUY else r.ask
    if not sides_ok(p.side, sl, tp, q):
        reject(book, logs, prm, m, R_BAD_STOPS, t)
        return
    sl0, tp0, tr0 = p.sl_ticks, p.tp_ticks, effective_trail(p)
    set_stops(book, prm, slot, sl, tp, m.trail_kind, m.trail_val, m.trail_act, m.trail_step, entry)
    m.status = OS_APPLIED
    m.position_id = p.position_id
    for reason, before, after in ((R_STOP_LOSS, sl0, p.sl_ticks), (R_TAKE_PROFIT, tp0, p.tp_ticks),
                                  (R_TRAILING, tr0, effective_trail(p))):
        if before != after:
            log_position_event(logs, acct, prm, t, EV_MODIFIED, reason, p, m.order_id, p.qty_steps, 0,
                               before, after)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _cancel(book, logs, prm, k, t):
    orders = book.orders
    m = orders[k]
    j = m.ref
    if j < 0:
        reject(book, logs, prm, m, R_UNKNOWN_REF, t)
        return
    o = orders[j]
    if o.status != OS_WORKING:
        reject(book, logs, prm, m, R_NOT_WORKING, t)
        return
    remove_pending(book, prm, j)
    o.status = OS_CANCELLED
    o.reason = R_CANCELLED
    m.status = OS_APPLIED


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _new(book, logs, inst, prm, k, t):
    """A new order acts: checks, then the FIFO or its symbol's book."""
    o = book.orders[k]
    if o.type == OT_MARKET or o.type == OT_TARGET:
        o.status = OS_WORKING
        _enqueue(book, k)
        return
    if not qty_ok(book, logs, prm, o, inst[o.symbol], o.qty_steps, t):
        return
    entry = entry_price(o, o.price_ticks, o.stop_ticks)
    if not stops_ok(o, o.side, entry):
        reject(book, logs, prm, o, R_BAD_STOPS, t)
        return
    o.status = OS_WORKING
    o.stage = 0
    if o.tif == TIF_IOC:
        _enqueue(book, k)
    else:
        add_pending(book, prm, k)


@njit(cache=True, nogil=True, _nrt=False)
def activate(book, logs, inst, prm, t):
    """Every order with act_ts <= t acts, in index order, after the pre-trade checks."""
    orders = book.orders
    acct = book.acct[0]
    c = acct.order_cursor
    n = acct.n_orders
    while c < n and orders[c].act_ts <= t:
        if not ev_room(logs, acct, prm, EVENTS_PER_ORDER):
            acct.order_cursor = c
            return ST_BUFFER_FULL
        o = orders[c]
        if o.status == OS_NEW and o.action == A_NEW and o.tif == TIF_GTD and o.expire_ts <= t:
            o.status = OS_EXPIRED  # expired before it could act: no checks
            o.reason = R_EXPIRY
        elif o.status == OS_REJECTED:  # refused when the input was read: logged when it would act
            log_rejected(logs, acct, prm, o, o.reason, t)
        elif o.status == OS_NEW and o.type == OT_FILL:  # has happened: no pre-trade check (docs/fills.md)
            o.status = OS_WORKING
            _enqueue(book, c)
        elif o.status == OS_NEW:
            why = pre_trade(book, logs, inst, prm, c, t)
            if why != R_NONE:
                reject(book, logs, prm, o, why, t)
            elif o.action == A_MODIFY:
                _modify(book, logs, prm, c, t)
            elif o.action == A_CANCEL:
                _cancel(book, logs, prm, c, t)
            elif o.action == A_CLOSE:
                o.status = OS_WORKING
                _enqueue(book, c)
            else:
                _new(book, logs, inst, prm, c, t)
        c += 1
    acct.order_cursor = c
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False)
def expire(book, prm, t):
    """GTD orders with expire_ts <= t that are still working expire."""
    acct = book.acct[0]
    orders = book.orders
    ex = book.ints
    e0 = acct.expiry_at
    c = acct.expire_cursor
    while c < acct.n_expiry and orders[ex[e0 + c]].expire_ts <= t:
        k = ex[e0 + c]
        o = orders[k]
        if o.status == OS_WORKING:
            remove_pending(book, prm, k)
            o.status = OS_EXPIRED
            o.reason = R_EXPIRY
        c += 1
    acct.expire_cursor = c


@njit(cache=True, nogil=True, _nrt=False)
def _close_fill(book, logs, inst, prm, k, slot, qty, t, status):
    """Order ``k`` closes ``qty`` of the position in ``slot`` at market; its record follows."""
    o = book.orders[k]
    acct = book.acct[0]
    p = book.pos[slot]
    side = -p.side
    c_before = acct.commission_minor
    pid = p.position_id
    price = close_at_market(book, logs, inst, prm, slot, qty, t, o.order_id, R_SIGNAL)
    _record(o, acct, status, side, qty, price, t, c_before)
    o.reason = R_SIGNAL
    o.position_id = pid


@njit(cache=True, nogil=True, _nrt=False)
def _close_step(book, logs, inst, prm, k, t):
    """One fill of close order ``k``; True when the order is finished."""
    o = book.orders[k]
    s = o.symbol
    r = book.syms[s]
    if o.ref >= 0:
        slot = slot_of(book, o.ref)
        if slot < 0 or book.pos[slot].symbol != s:
            if o.filled_steps == 0:
                reject(book, logs, prm, o, R_NOT_WORKING if slot < 0 else R_UNKNOWN_REF, t)
            return True
        qty = book.pos[slot].qty_steps
        if o.qty_steps > 0 and o.qty_steps < qty:
            qty = o.qty_steps
        last = True
    else:
        slot = r.long_head
        if slot < 0 or (r.short_head >= 0 and book.pos[r.short_head].open_seq < book.pos[slot].open_seq):
            slot = r.short_head
        if slot < 0:
            if o.filled_steps == 0:
                reject(book, logs, prm, o, R_NOTHING_TO_CLOSE, t)
            else:
                o.status = OS_FILLED
            return True
        qty = book.pos[slot].qty_steps
        last = False
    _close_fill(book, logs, inst, prm, k, slot, qty, t, OS_FILLED if last else OS_WORKING)
    return last


@njit(cache=True, nogil=True, _nrt=False)
def _target_step(book, logs, inst, prm, k, t):
    """One fill of target order ``k``; True when the order is finished."""
    o = book.orders[k]
    s = o.symbol
    acct = book.acct[0]
    r = book.syms[s]
    delta = o.qty_steps - net_steps(book, s)
    if delta == 0:
        if o.filled_steps == 0:
            o.status = OS_NO_ACTION
        else:
            o.status = OS_FILLED
        return True
    side = BUY if delta > 0 else SELL
    qty = delta if delta > 0 else -delta
    if o.filled_steps == 0 and not qty_ok(book, logs, prm, o, inst[s], qty, t):
        return True
    if prm.account_mode == MODE_HEDGING:
        slot = r.short_head if side == BUY else r.long_head
        if slot >= 0:
            q_open = book.pos[slot].qty_steps
            _close_fill(book, logs, inst, prm, k, slot, qty if qty < q_open else q_open, t, OS_WORKING)
            return False
    price = market_price(prm, r, side, qty, acct.n_fills)
    fill_order(book, logs, inst, prm, k, side, qty, price, t)
    return True


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _execute(book, logs, inst, prm, k, t):
    """One step of queued order ``k`` at its symbol's tick; True when it is done."""
    o = book.orders[k]
    acct = book.acct[0]
    if o.status != OS_WORKING:
        return True
    if o.action == A_CLOSE:
        return _close_step(book, logs, inst, prm, k, t)
    if o.type == OT_TARGET:
        return _target_step(book, logs, inst, prm, k, t)
    if o.type == OT_FILL:
        replay_fill(book, logs, inst, prm, k, t)
        return True
    r = book.syms[o.symbol]
    side = o.side
    qty = o.qty_steps
    if o.type == OT_MARKET:
        if not qty_ok(book, logs, prm, o, inst[o.symbol], qty, t):
            return True
        price = market_price(prm, r, side, qty, acct.n_fills)
        if _has_stops(o) and not stops_ok(o, side, price):
            reject(book, logs, prm, o, R_BAD_STOPS, t)
            return True
        fill_order(book, logs, inst, prm, k, side, qty, price, t)
        return True
    # IOC limit / stop / stop-limit: this tick or never
    price = -1
    if o.type == OT_LIMIT:
        if limit_hit(prm, side, o.price_ticks, r):
            price = limit_fill_price(prm, r, side, o.price_ticks)
    elif o.type == OT_STOP:
        if stop_hit(side, o.stop_ticks, r):
            price = stop_fill_price(prm, r, side, o.stop_ticks, qty, acct.n_fills)
    elif stop_hit(side, o.stop_ticks, r) and limit_hit(prm, side, o.price_ticks, r):
        price = limit_fill_price(prm, r, side, o.price_ticks)
    if price < 0:
        o.status = OS_CANCELLED
        o.reason = R_IOC
        return True
    fill_order(book, logs, inst, prm, k, side, qty, price, t)
    return True


@njit(cache=True, nogil=True, _nrt=False)
def process_working(book, logs, inst, prm, s, t):
    """Execute the FIFO of symbol ``s``; stops early when out of room."""
    r = book.syms[s]
    orders = book.orders
    while r.work_head >= 0:
        st = ready(book, logs, prm, s)
        if st != ST_DONE:
            return st
        k = r.work_head
        if _execute(book, logs, inst, prm, k, t):
            r.work_head = orders[k].next_working
            if r.work_head < 0:
                r.work_tail = -1
    return ST_DONE
