"""The tick loop: ``run_chunk`` walks one chunk, ``close_all`` ends the data.

Both are re-entrant: when a record buffer or the position table is full they
return a Status with the tick to resume at in ``acct.resume``; the caller
makes room and calls again, and the result is the same as without the stop.
"""

from numba import njit

from .costs import commission
from .equity import mark
from .logbuf import log_equity, room
from .matching import activate, fill_price, process_working
from .positions import close_slot
from .records import LOG_TICKS, LOG_TRADES, ST_BUFFER_FULL, ST_DONE


@njit(cache=True, nogil=True)
def run_chunk(chunk, start, book, logs, inst, params):
    """Process ticks ``start..len(chunk)`` of one chunk for one account."""
    ts, sym, bid, ask = chunk.ts, chunk.sym, chunk.bid, chunk.ask
    acct = book.acct[0]
    prm = params[0]
    level = prm.log_level
    sampled = level >= LOG_TRADES and level < LOG_TICKS
    interval = prm.equity_interval_ns
    orders = book.orders
    n_orders = orders.shape[0]
    for i in range(start, ts.shape[0]):
        t = ts[i]
        s = sym[i]
        if sampled and t >= acct.sample_end:
            if acct.have_sample == 1:
                if not room(logs, acct, 0, 0, 1):
                    acct.resume = i
                    return ST_BUFFER_FULL
                log_equity(logs, acct, acct.last_ts, acct.n_open)
            acct.sample_end = (t // interval + 1) * interval
            acct.have_sample = 1
        r = book.syms[s]
        r.bid = bid[i]
        r.ask = ask[i]
        r.last_ts = t
        if acct.order_cursor < n_orders and orders[acct.order_cursor].act_ts <= t:
            activate(book, t)
        if r.work_head >= 0:
            st = process_working(book, logs, inst, prm, s, t)
            if st != ST_DONE:
                acct.resume = i
                return st
        mark(acct, r, inst[s])
        if level == LOG_TICKS:
            if not room(logs, acct, 0, 0, 1):
                acct.resume = i
                return ST_BUFFER_FULL
            log_equity(logs, acct, t, acct.n_open)
        r.n_ticks += 1
        acct.n_ticks += 1
        acct.last_ts = t
    acct.resume = ts.shape[0]
    return ST_DONE


@njit(cache=True, nogil=True)
def close_all(book, logs, inst, params, reason):
    """Close every open position at its symbol's last quote, by position id.

    Long closes at bid, short at ask; the fill's time is the symbol's last tick.
    """
    acct = book.acct[0]
    prm = params[0]
    for pid in range(acct.n_positions):
        slot = book.slot_of_id[pid]
        if slot < 0:
            continue
        if not room(logs, acct, 1, 1, 0):
            return ST_BUFFER_FULL
        p = book.pos[slot]
        s = p.symbol
        r = book.syms[s]
        side = -p.side
        price = fill_price(side, r.bid, r.ask)
        qty = p.qty_steps
        comm = commission(inst[s], price, qty)
        close_slot(book, logs, inst[s], prm, slot, qty, price, r.last_ts, -1, comm, reason)
        mark(acct, r, inst[s])
    return ST_DONE



@njit(cache=True, nogil=True)
def log_final_equity(book, logs):
    """One equity row with the final state; the caller makes sure there is room."""
    acct = book.acct[0]
    log_equity(logs, acct, acct.last_ts, acct.n_open)
