"""The tick loop: ``run_chunk`` walks one chunk, ``close_all`` ends the data.

Both are re-entrant: when a record buffer or the position table is full they
return a Status with the tick to resume at in ``acct.resume``; the caller
makes room and calls again, and the result is the same as without the stop.
"""

import numpy as np
from numba import njit

from .bars_live import close_bars, fold, open_bar, weights
from .breaker import reset_due
from .carry import carry_due
from .enums import CB_TICK, NEVER
from .equity import drawdown_step, frac_threshold, mark, unrealized_at
from .events import ev_room
from .excursion import finish
from .excursion import tick as excursion_tick
from .logbuf import log_equity, room
from .margin import floating, remark
from .matching import activate, expire, process_working
from .positions import close_at_market, slot_of
from .records import LOG_TICKS, LOG_TRADES, NO_RATE, SLIP_SIZE, ST_BUFFER_FULL, ST_DONE, ST_ORDERS_FULL
from .risk import day_roll, step9
from .strategy_hook import after_tick, call, finish_call, pack, tick_quiet
from .triggers import on_trigger


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


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _next_event(book):
    """The earliest time at which an order acts, an order expires, a carry is due,
    a trading day starts or the breaker's cooldown ends."""
    acct = book.acct[0]
    orders = book.orders
    nxt = min(acct.next_carry, acct.next_day)
    if acct.breaker_until > 0:
        nxt = min(nxt, acct.breaker_until)
    if acct.order_cursor < acct.n_orders:
        nxt = min(nxt, orders[acct.order_cursor].act_ts)
    if acct.expire_cursor < acct.n_expiry:
        nxt = min(nxt, orders[book.ints[acct.expiry_at + acct.expire_cursor]].expire_ts)
    return nxt


@njit(cache=True, nogil=True, inline="always")
def _reload(acct):
    """Cash and the risk watch after a slow path changed them."""
    return acct.cash_minor, acct.watch_lo, acct.watch_hi


@njit(cache=True, nogil=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)
def _housekeeping(book, logs, inst, prm, t):
    """Steps 0-3 of a tick (docs/execution.md §6, docs/risk.md §6): the trading day and
    the breaker's cooldown, carry, expiry, orders acting. Re-entrant: each part
    moves its own cursor, so a call after BUFFER_FULL goes on where it stopped."""
    acct = book.acct[0]
    if t >= acct.next_day:
        day_roll(book, prm, t)
    if acct.breaker_until > 0 and t >= acct.breaker_until:
        if not ev_room(logs, acct, prm, 1):
            return ST_BUFFER_FULL
        reset_due(logs, acct, prm, t)
    if t >= acct.next_carry:
        st = carry_due(book, logs, inst, prm, t)
        if st != ST_DONE:
            return st
    expire(book, prm, t)
    return activate(book, logs, inst, prm, t)


@njit(cache=True, nogil=True, inline="always")
def _quote(r, b, a):
    """Step 1: the tick's quote becomes the symbol's last quote (its sizes: below, before any
    fill reads them). Takes no array: an array or a tuple of arrays passed to an inlined
    function costs reference counting on every tick (docs/architecture.md §7)."""
    r.bid = b
    r.ask = a
    excursion_tick(r, b, a)  # branch-free; reset by the next opening when flat


@njit(cache=True, nogil=True, inline="always")
def _idle(r):
    """No working order and no pending entry order on the symbol (flat: no position stop)."""
    return ((r.work_head < 0) & (r.h_buy_stop < 0) & (r.h_sell_stop < 0) & (r.h_buy_limit < 0)
            & (r.h_sell_limit < 0))


@njit(cache=True, nogil=True, inline="always")
def _first_at(ts, lo, n, x):
    """The first index in lo..n-1 with ts >= x (n when none): a binary search of sorted ts."""
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[np.uint64(mid)] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def run_chunk(chunk, start, book, logs, inst, params, strat, hook):
    """Process ticks ``start..len(chunk)`` of one chunk for one account.

    The account's marking state is held in locals for the loop and stored back
    before anything else reads it (fills, log rows, return). ``strat``/``hook``:
    the strategy's arrays and callback (kernels/strategy_hook.py; a header with
    no timeframe and no tick callback for a run without a strategy).
    """
    ts, sym, bid, ask = chunk.ts, chunk.sym, chunk.bid, chunk.ask
    n = ts.shape[0]
    acct = book.acct[0]
    prm = params[0]
    # quote sizes are read only by the size slippage model
    sizes = prm.slip_kind == SLIP_SIZE and chunk.bid_size.shape[0] == n and chunk.ask_size.shape[0] == n
    rates = chunk.funding.shape[0] == n  # funding rates from the data (instruments with funding_rate "column")
    level = prm.log_level
    sampled = level >= LOG_TRADES and level < LOG_TICKS
    interval = prm.equity_interval_ns
    next_ev = _next_event(book)
    sample_end = acct.sample_end if sampled else NEVER
    cash = acct.cash_minor
    unreal = acct.unrealized_minor
    peak = acct.peak_minor
    max_dd = acct.max_drawdown_minor
    max_frac = acct.max_drawdown_frac
    thr = frac_threshold(max_frac, peak)
    watch_lo = acct.watch_lo
    watch_hi = acct.watch_hi
    syms = book.syms
    # the strategy's arrays and the orders table's size out of their tuples once: taking an
    # array out of a tuple inside the loop costs reference counting on every tick
    s_ctx, s_tfs, s_bars, s_bounds = strat.ctx, strat.tfs, strat.bars, strat.bounds
    cap = book.orders.shape[0]  # grows only between kernel calls
    sc = s_ctx[0]
    latency = prm.latency_ns
    has_bars = sc.n_tf > 0
    tick_cb = sc.on_tick == 1 or sc.on_fill == 1
    strat_on = has_bars or tick_cb
    reserve = sc.max_actions * (sc.on_tick + sc.on_fill)  # order rows the tick callbacks need
    views = pack(book, strat)  # what the callback sees, built once (the arrays do not move in here)
    n_tf, n_ss = sc.n_tf, np.uint64(sc.n_sym)
    w_bid, w_ask = weights(sc)
    bar_next = sc.next_close
    nxt = min(min(next_ev, sample_end), bar_next)  # the earliest of the three: one compare per tick
    pend = acct.remark_pending_minor
    # skipping a flat book's quiet ticks: one symbol (its quote is the only state they change),
    # no strategy, no per-tick rows, no funding rates from the data, no quote sizes
    quiet_ok = syms.shape[0] == 1 and not strat_on and level < LOG_TICKS and not rates and not sizes
    i = start
    while i < n:
        iu = np.uint64(i)  # unsigned indices: no wraparound code (i, s >= 0)
        t = ts[iu]
        s = sym[iu]
        su = np.uint64(s)
        r = syms[su]
        b = bid[iu]
        a = ask[iu]
        if t >= nxt and t >= bar_next:  # bars closed by this tick, before it is processed
            _store(acct, unreal, peak, max_dd, max_frac)
            st = close_bars(book, strat, hook, t, latency, reserve)
            bar_next = sc.next_close
            next_ev = _next_event(book)
            if st != ST_DONE:
                return _stop(acct, ts, start, i, st)
        _quote(r, b, a)
        ins = inst[su]
        # a rate moved: re-mark the open symbols converted through it (flat: a symbol's rate is
        # set when it is needed, and the first test, predictable, is all a flat book pays); their
        # P&L joins the account's at the tick's marking, after steps 0-3, which see it as last marked
        du = pend  # a re-mark of this tick made before a stop (run_chunk resumes at the tick)
        if acct.n_open > 0 and ins.fx_feeds != 0:
            feeds = ins.fx_feeds
            d = 0
            while feeds != 0:  # each symbol converted through this one (bit d: symbol d)
                if feeds & 1:
                    di = inst[d]
                    du += remark(acct, syms[d], di, prm, syms[di.fx_a - 1], syms[max(di.fx_b, 1) - 1], d == s)
                feeds >>= 1
                d += 1
            watch_lo, watch_hi = acct.watch_lo, acct.watch_hi  # a margin at the new rate re-arms
        if t >= nxt:
            if t >= sample_end:  # the equity row of the interval before this tick
                _store(acct, unreal, peak, max_dd, max_frac)
                if acct.have_sample == 1:
                    if not room(logs, acct, 0, 0, 1):
                        acct.remark_pending_minor = du
                        return _stop(acct, ts, start, i, ST_BUFFER_FULL)
                    log_equity(logs, acct, ts[i - 1] if i > start else acct.last_ts, acct.n_open)
                sample_end = (t // interval + 1) * interval
                acct.sample_end = sample_end
                acct.have_sample = 1
            if t >= next_ev:
                _store(acct, unreal, peak, max_dd, max_frac)
                st = _housekeeping(book, logs, inst, prm, t)
                cash, watch_lo, watch_hi = _reload(acct)
                next_ev = _next_event(book)
                if st != ST_DONE:
                    acct.remark_pending_minor = du
                    return _stop(acct, ts, start, i, st)
            nxt = min(min(next_ev, sample_end), bar_next)
        unreal += du
        if pend != 0:
            pend = 0
            acct.remark_pending_minor = 0
        if sizes:
            r.bid_size = chunk.bid_size[iu]
            r.ask_size = chunk.ask_size[iu]
        if rates and chunk.funding[iu] != NO_RATE:  # after this tick's charges: its rate is for later ones
            r.fund_rate = chunk.funding[iu]
        if r.work_head >= 0:
            _store(acct, unreal, peak, max_dd, max_frac)
            st = process_working(book, logs, inst, prm, s, t)
            next_ev = _next_event(book)  # a fill may have tripped the breaker
            nxt = min(min(next_ev, sample_end), bar_next)
            cash, watch_lo, watch_hi = _reload(acct)
            if st != ST_DONE:
                return _stop(acct, ts, start, i, st)
        if (b <= r.bid_lo) | (b >= r.bid_hi) | (a >= r.ask_hi) | (a <= r.ask_lo):
            _store(acct, unreal, peak, max_dd, max_frac)
            st = on_trigger(book, logs, inst, prm, s, t)
            next_ev = _next_event(book)  # a fill may have tripped the breaker
            nxt = min(min(next_ev, sample_end), bar_next)
            cash, watch_lo, watch_hi = _reload(acct)
            if st != ST_DONE:
                return _stop(acct, ts, start, i, st)
        m = unrealized_at(r, ins, b, a)  # triggers fill at the quote; they never change it
        unreal += m - r.unrealized_minor
        r.unrealized_minor = m
        eq = cash + unreal
        peak, max_dd, max_frac, thr = drawdown_step(eq, peak, max_dd, max_frac, thr)
        if (eq <= watch_lo) | (eq > watch_hi):
            _store(acct, unreal, peak, max_dd, max_frac)
            st = step9(book, logs, inst, prm, t)
            next_ev = _next_event(book)  # a fill may have tripped the breaker
            nxt = min(min(next_ev, sample_end), bar_next)
            cash, watch_lo, watch_hi = _reload(acct)
            unreal = acct.unrealized_minor  # stop-outs re-marked the account
            peak = acct.peak_minor
            max_dd = acct.max_drawdown_minor
            max_frac = acct.max_drawdown_frac
            thr = frac_threshold(max_frac, peak)
            if st != ST_DONE:
                return _stop(acct, ts, start, i, st)
        if level == LOG_TICKS:
            _store(acct, unreal, peak, max_dd, max_frac)
            if not room(logs, acct, 0, 0, 1):
                return _stop(acct, ts, start, i, ST_BUFFER_FULL)
            log_equity(logs, acct, t, acct.n_open)
        r.last_ts = t
        if strat_on:  # bars, then on_fill and on_tick, after the tick
            if has_bars:  # the open bars of this symbol
                p = w_bid * b + w_ask * a
                for j in range(n_tf):
                    if s_tfs[j].source >= 0:  # built from the closed bars of a shorter timeframe
                        continue
                    rb = s_bars[np.uint64(j) * n_ss + su]
                    if rb.n_ticks == 0:
                        open_bar(s_ctx, s_tfs, s_bars, s_bounds, j, s, p, a - b, t)
                        bar_next = sc.next_close
                    else:
                        fold(rb, p, a - b)
            if tick_cb:
                _store(acct, unreal, peak, max_dd, max_frac)
                n_ord = acct.n_orders
                if sc.on_fill == 1 and acct.n_fills != sc.seen_fills:
                    st = after_tick(book, strat, hook, s, t, latency)
                else:  # on_tick alone: through the table built above
                    rc = tick_quiet(sc, hook, views, s, t)
                    st = ST_DONE if rc == 0 else finish_call(book, strat, rc, CB_TICK, -1, t, latency)
                if st != ST_DONE:
                    return _stop(acct, ts, start, i, st)
                if acct.n_orders != n_ord:
                    next_ev = _next_event(book)
                # room for the next tick's callbacks, checked before anything of it is done
                if cap - acct.n_orders < reserve:
                    return _stop(acct, ts, start, i + 1, ST_ORDERS_FULL)
            nxt = min(min(next_ev, sample_end), bar_next)
        i += 1
        # a flat single-symbol book with nothing working: no tick before the next event changes
        # anything but the quote, so the loop goes on at that event's tick
        if quiet_ok and acct.n_open == 0 and _idle(r) and (eq > watch_lo) & (eq <= watch_hi):
            j = _first_at(ts, i, n, nxt)
            if j > i:
                ju = np.uint64(j - 1)
                _quote(r, bid[ju], ask[ju])
                r.last_ts = ts[ju]
                i = j
    _store(acct, unreal, peak, max_dd, max_frac)
    return _stop(acct, ts, start, n, ST_DONE)


@njit(cache=True, nogil=True)
def strategy_event(book, params, strat, hook, event, t):
    """on_start or on_end (no bar, no symbol); the actions are stamped ``t``."""
    return call(book, strat, hook, event, -1, -1, t, params[0].latency_ns)


@njit(cache=True, nogil=True)
def close_all(book, logs, inst, params, reason):
    """Close every open position at its symbol's last quote, in position-id order.

    Market rules (docs/execution.md §5); the fill's time is the symbol's last tick.
    """
    acct = book.acct[0]
    prm = params[0]
    n = acct.n_orders
    ids = np.empty(acct.n_open, np.int64)
    slots = np.empty(acct.n_open, np.int64)
    m = 0
    for k in range(n):
        slot = slot_of(book, k)
        if slot >= 0:
            ids[m] = book.pos[slot].position_id
            slots[m] = slot
            m += 1
    order = np.argsort(ids[:m], kind="mergesort")
    for j in range(m):
        if not room(logs, acct, 1, 1, 0) or not ev_room(logs, acct, prm, 2):
            return ST_BUFFER_FULL
        slot = slots[order[j]]
        s = book.pos[slot].symbol
        r = book.syms[s]
        close_at_market(book, logs, inst, prm, slot, book.pos[slot].qty_steps, r.last_ts, -1, reason)
        mark(acct, r, inst[s])
    return ST_DONE


@njit(cache=True, nogil=True)
def log_final_equity(book, logs):
    """One equity row with the final state; the caller makes sure there is room."""
    acct = book.acct[0]
    log_equity(logs, acct, acct.last_ts, acct.n_open)


@njit(cache=True, nogil=True)
def report_open(book, inst):
    """Fill MAE/MFE and unrealized P&L of the open positions (for the positions log):
    R(V x (closing-side quote x qty - cost)) per position, long; mirrored for a short."""
    for slot in range(book.pos.shape[0]):
        p = book.pos[slot]
        if p.is_open == 1:
            ins = inst[p.symbol]
            finish(book, ins, slot)
            p.unrealized_pnl_minor = floating(p, book.syms[p.symbol], ins)
