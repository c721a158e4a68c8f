"""What a tick triggers: pending entries, then position exits, then trailing.

Called only when the tick's quote is past one of its symbol's thresholds
(books.refresh), so a tick that triggers nothing never comes here. Each loop
looks at the heap roots, acts on one, and looks again; every fill first checks
that there is room, so the caller can stop, make room and re-run the tick.
Order (docs/execution.md §6): stop entries (buy, sell), then limit entries
(buy, sell), each best price first and ties by order index; then stop-losses
(long, short), then take-profits (long, short), worst stop first.
"""

from .books import add_pending, refresh
from .breaker import reject
from .costs import commission
from .events import ev_room
from .execution import limit_fill_price, stop_fill_price, through
from .heaps import key, pop
from .jit import njit
from .logbuf import room
from .matching import fill_order, ready
from .positions import close_slot
from .records import (
    BUY,
    OS_WORKING,
    OT_STOP,
    OT_STOP_LIMIT,
    R_NONE,
    R_STOP_LOSS,
    R_TAKE_PROFIT,
    R_TRAILING,
    SELL,
    ST_BUFFER_FULL,
    ST_DONE,
)
from .risk import fill_refused
from .stops import trail_pass


@njit(cache=True, nogil=True, _nrt=False)
def _triggered(book, logs, inst, prm, k, t):
    """Order ``k`` has just left its heap because the quote reached it."""
    o = book.orders[k]
    if o.status != OS_WORKING:
        return
    if o.type == OT_STOP_LIMIT and o.stage == 0:
        o.stage = 1
        add_pending(book, prm, k)
        return
    r = book.syms[o.symbol]
    if o.type == OT_STOP:
        price = stop_fill_price(prm, r, o.side, o.stop_ticks, o.qty_steps, book.acct[0].n_fills)
    else:
        price = limit_fill_price(prm, r, o.side, o.price_ticks)
    why = fill_refused(book, inst, prm, o, o.side, o.qty_steps, price)
    if why != R_NONE:
        reject(book, logs, prm, o, why, t)
        return
    fill_order(book, logs, inst, prm, k, o.side, o.qty_steps, price, t)


@njit(cache=True, nogil=True, _nrt=False)
def pending_pass(book, logs, inst, prm, s, t):
    """Fill the pending entry orders of symbol ``s`` that the quote reached."""
    r = book.syms[s]
    ON = book.ints
    b = book.acct[0].onode_at
    w = through(prm)
    while True:
        if r.h_buy_stop >= 0 and r.ask >= key(ON, b, r.h_buy_stop):
            k = r.h_buy_stop
        elif r.h_sell_stop >= 0 and r.bid <= -key(ON, b, r.h_sell_stop):
            k = r.h_sell_stop
        elif r.h_buy_limit >= 0 and r.ask <= -key(ON, b, r.h_buy_limit) - w:
            k = r.h_buy_limit
        elif r.h_sell_limit >= 0 and r.bid >= key(ON, b, r.h_sell_limit) + w:
            k = r.h_sell_limit
        else:
            break
        st = ready(book, logs, prm, s)
        if st != ST_DONE:
            return st
        if k == r.h_buy_stop:
            r.h_buy_stop = pop(ON, b, k)
        elif k == r.h_sell_stop:
            r.h_sell_stop = pop(ON, b, k)
        elif k == r.h_buy_limit:
            r.h_buy_limit = pop(ON, b, k)
        else:
            r.h_sell_limit = pop(ON, b, k)
        _triggered(book, logs, inst, prm, k, t)
    refresh(book, prm, s)
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False)
def exit_pass(book, logs, inst, prm, s, t):
    """Close the positions of symbol ``s`` whose stop or take-profit the quote reached."""
    r = book.syms[s]
    N = book.ints
    w = through(prm)
    ins = inst[s]
    acct = book.acct[0]
    sb, tb = acct.psl_at, acct.ptp_at
    while True:
        is_stop = True
        if r.h_long_sl >= 0 and r.bid <= -key(N, sb, r.h_long_sl):
            slot = r.h_long_sl
            level = -key(N, sb, slot)
        elif r.h_short_sl >= 0 and r.ask >= key(N, sb, r.h_short_sl):
            slot = r.h_short_sl
            level = key(N, sb, slot)
        elif r.h_long_tp >= 0 and r.bid >= key(N, tb, r.h_long_tp) + w:
            slot = r.h_long_tp
            level = key(N, tb, slot)
            is_stop = False
        elif r.h_short_tp >= 0 and r.ask <= -key(N, tb, r.h_short_tp) - w:
            slot = r.h_short_tp
            level = -key(N, tb, slot)
            is_stop = False
        else:
            break
        if not room(logs, acct, 1, 1, 0) or not ev_room(logs, acct, prm, 2):
            return ST_BUFFER_FULL
        p = book.pos[slot]
        side = SELL if p.side == BUY else BUY
        qty = p.qty_steps
        if is_stop:
            trailing = p.trail_state == 2 and p.trail_stop != 0 and (
                p.trail_stop > p.sl_ticks if p.side == BUY else (p.sl_ticks == 0 or p.trail_stop < p.sl_ticks))
            reason = R_TRAILING if trailing else R_STOP_LOSS
            price = stop_fill_price(prm, r, side, level, qty, acct.n_fills)
        else:
            reason = R_TAKE_PROFIT
            price = limit_fill_price(prm, r, side, level)
        comm = commission(ins, r, price, qty)
        close_slot(book, logs, ins, prm, slot, qty, price, t, -1, comm, reason)
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False)
def on_trigger(book, logs, inst, prm, s, t):
    """The slow path of a tick whose quote passed a threshold of symbol ``s``."""
    st = pending_pass(book, logs, inst, prm, s, t)
    if st != ST_DONE:
        return st
    st = exit_pass(book, logs, inst, prm, s, t)
    if st != ST_DONE:
        return st
    r = book.syms[s]
    if r.bid >= r.trail_bid or r.ask <= r.trail_ask:
        if not ev_room(logs, book.acct[0], prm, r.n_open):
            return ST_BUFFER_FULL
        trail_pass(book, logs, prm, s, t)
    return ST_DONE
