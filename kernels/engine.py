"""The tick loop: ``run_chunk`` walks one chunk, ``close_all`` ends the data.

Both are re-entrant: when a record buffer or the position table is full they
return a Status with the tick to resume at in ``acct.resume``; the caller
makes room and calls again, and the result is the same as without the stop.
"""

import numpy as np
from numba import njit

from .costs import commission
from .equity import drawdown_step, frac_threshold, mark, symbol_unrealized
from .logbuf import log_equity, room
from .matching import activate, fill_price, process_working
from .positions import close_slot
from .records import LOG_TICKS, LOG_TRADES, ST_BUFFER_FULL, ST_DONE

_NEVER = np.iinfo(np.int64).max


@njit(cache=True, nogil=True, inline="always")
def _store(acct, unreal, peak, max_dd, max_frac):
    acct.unrealized_minor = unreal
    acct.equity_minor = acct.cash_minor + unreal
    acct.peak_minor = peak
    acct.max_drawdown_minor = max_dd
    acct.max_drawdown_frac = max_frac


@njit(cache=True, nogil=True, inline="always")
def _count(acct, ts, start, i):
    """Count ticks start..i-1 as processed."""
    if i > start:
        acct.n_ticks += i - start
        acct.last_ts = ts[i - 1]


@njit(cache=True, nogil=True, inline="always")
def _stop(acct, ts, start, i, status):
    _count(acct, ts, start, i)
    acct.resume = i
    return status


@njit(cache=True, nogil=True)
def run_chunk(chunk, start, book, logs, inst, params):
    """Process ticks ``start..len(chunk)`` of one chunk for one account.

    The account's marking state is held in locals for the loop and stored back
    before anything else reads it (fills, log rows, return).
    """
    ts, sym, bid, ask = chunk.ts, chunk.sym, chunk.bid, chunk.ask
    acct = book.acct[0]
    prm = params[0]
    level = prm.log_level
    sampled = level >= LOG_TRADES and level < LOG_TICKS
    interval = prm.equity_interval_ns
    orders = book.orders
    n_orders = orders.shape[0]
    next_act = orders[acct.order_cursor].act_ts if acct.order_cursor < n_orders else _NEVER
    sample_end = acct.sample_end if sampled else _NEVER
    cash = acct.cash_minor
    unreal = acct.unrealized_minor
    peak = acct.peak_minor
    max_dd = acct.max_drawdown_minor
    max_frac = acct.max_drawdown_frac
    thr = frac_threshold(max_frac, peak)
    n = ts.shape[0]
    i = start
    while i < n:
        t = ts[i]
        s = sym[i]
        if t >= sample_end:
            _store(acct, unreal, peak, max_dd, max_frac)
            if acct.have_sample == 1:
                if not room(logs, acct, 0, 0, 1):
                    return _stop(acct, ts, start, i, ST_BUFFER_FULL)
                log_equity(logs, acct, ts[i - 1] if i > start else acct.last_ts, acct.n_open)
            sample_end = (t // interval + 1) * interval
            acct.sample_end = sample_end
            acct.have_sample = 1
        r = book.syms[s]
        r.bid = bid[i]
        r.ask = ask[i]
        if next_act <= t:
            activate(book, t)
            next_act = orders[acct.order_cursor].act_ts if acct.order_cursor < n_orders else _NEVER
        if r.work_head >= 0:
            _store(acct, unreal, peak, max_dd, max_frac)
            st = process_working(book, logs, inst, prm, s, t)
            cash = acct.cash_minor
            if st != ST_DONE:
                return _stop(acct, ts, start, i, st)
        m = symbol_unrealized(r, inst[s])
        unreal += m - r.unrealized_minor
        r.unrealized_minor = m
        peak, max_dd, max_frac, thr = drawdown_step(cash + unreal, peak, max_dd, max_frac, thr)
        if level == LOG_TICKS:
            _store(acct, unreal, peak, max_dd, max_frac)
            if not room(logs, acct, 0, 0, 1):
                return _stop(acct, ts, start, i, ST_BUFFER_FULL)
            log_equity(logs, acct, t, acct.n_open)
        r.last_ts = t
        i += 1
    _store(acct, unreal, peak, max_dd, max_frac)
    return _stop(acct, ts, start, n, ST_DONE)


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
