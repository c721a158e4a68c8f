"""Bars built inside the run for a strategy (docs/strategies.md §3).

Per timeframe and symbol one open bar (rows ``j * n_sym + s`` of ``Strat.bars``)
and a ring of the last ``keep`` closed bars after them. A fixed timeframe of
length L puts a tick at ts in bucket floor(ts / L), [k·L, (k+1)·L); a session
timeframe (days, weeks) between consecutive boundaries of ``Strat.bounds``.
All open bars of one timeframe lie in the bucket of the latest tick, so they
share their ts_close; they close at the first tick of any symbol with
ts >= ts_close, before that tick is processed. O(1) per tick and timeframe:
the tick loop folds a tick into the open bars of its symbol (``fold``, inlined) and calls ``open_bar`` only for the first tick of a bar. A
timeframe whose buckets are unions of those of a shorter fixed one (5m, 1h, 1d
over 1m: ``strategy_hook.sources``) is not touched per tick: the bars of the
shorter one are folded into it as they close, before anything is reported.
"""

from numba import njit

from .enums import BASIS_ASK, BASIS_BID, CB_BAR, NEVER, ST_DONE, ST_ORDERS_FULL
from .strategy_hook import call


@njit(cache=True, nogil=True, _nrt=False)
def _bucket(tfs, b, j, t):
    """(ts_open, ts_close) of the bar of timeframe ``j`` holding ``t`` (``b``: the boundaries)."""
    tf = tfs[j]
    n = tf.length_ns
    if n > 0:
        o = (t // n) * n
        return o, o + n
    at = tf.bounds_at
    cur = tf.cursor
    while cur + 1 < tf.n_bounds and b[at + cur + 1] <= t:
        cur += 1
    tf.cursor = cur
    close = b[at + cur + 1] if cur + 1 < tf.n_bounds else NEVER
    return b[at + cur], close


@njit(cache=True, nogil=True, inline="always")
def weights(c):
    """(w_bid, w_ask) of the basis of header ``c``: a tick's bar price is w_bid * bid + w_ask * ask
    (bid: 1, 0; ask: 0, 1; mid: 1, 1, in half ticks)."""
    return (0 if c.basis == BASIS_ASK else 1), (0 if c.basis == BASIS_BID else 1)


@njit(cache=True, nogil=True, inline="always")
def fold(r, p, sp):
    """The tick of bar price ``p`` and spread ``sp`` into open bar ``r`` (a record, no array:
    inlined into the tick loop without reference counting). High, low and the spread's extremes
    are written only when they change (rarely: fewer stores than branch-free selects)."""
    if p > r.high:
        r.high = p
    if p < r.low:
        r.low = p
    r.close = p
    r.n_ticks += 1
    if sp < r.spread_min:
        r.spread_min = sp
    if sp > r.spread_max:
        r.spread_max = sp
    r.spread_sum += sp


@njit(cache=True, nogil=True, _nrt=False)
def open_bar(ctx, tfs, bars, bounds, j, s, p, sp, t):
    """The first tick of symbol ``s`` in a bar of timeframe ``j`` opens it (the arrays of Strat,
    not the tuple: fewer arguments)."""
    c = ctx[0]
    r = bars[j * c.n_sym + s]
    o, close = _bucket(tfs, bounds, j, t)
    r.ts_open = o
    r.ts_close = close
    r.open = p
    r.high = p
    r.low = p
    r.close = p
    r.n_ticks = 1
    r.spread_min = sp
    r.spread_max = sp
    r.spread_sum = sp
    tfs[j].next_close = close
    if close < c.next_close:
        c.next_close = close


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _put(q, r, ts_open, ts_close):
    """Bar ``q`` takes bar ``r``'s prices, tick count and spread figures, over (ts_open, ts_close]."""
    q.ts_open = ts_open
    q.ts_close = ts_close
    q.open = r.open
    q.high = r.high
    q.low = r.low
    q.close = r.close
    q.n_ticks = r.n_ticks
    q.spread_min = r.spread_min
    q.spread_max = r.spread_max
    q.spread_sum = r.spread_sum


@njit(cache=True, nogil=True, _nrt=False)
def _to_ring(strat, j, s):
    """Move the open bar of (j, s) into its ring of closed bars."""
    c = strat.ctx[0]
    n_sym = c.n_sym
    bars = strat.bars
    r = bars[j * n_sym + s]
    keep = c.keep
    q = bars[c.n_tf * n_sym + (j * n_sym + s) * keep + r.n_closed % keep]
    _put(q, r, r.ts_open, r.ts_close)
    q.n_closed = r.n_closed
    r.n_closed += 1
    r.n_ticks = 0


@njit(cache=True, nogil=True, _nrt=False)
def _fold_up(strat, f):
    """The open bars of timeframe ``f`` (closing now) into the open bars of the timeframes built
    from it, before any of them is closed or reported: a bar of those is the fold of the bars of
    ``f`` it covers (same bucket, first open, max high, min low, last close, sums, min, max)."""
    c = strat.ctx[0]
    n_sym = c.n_sym
    tfs = strat.tfs
    bars = strat.bars
    for j in range(c.n_tf):
        if tfs[j].source != f:
            continue
        for s in range(n_sym):
            r = bars[f * n_sym + s]
            if r.n_ticks == 0:
                continue
            q = bars[j * n_sym + s]
            if q.n_ticks == 0:
                o, close = _bucket(tfs, strat.bounds, j, r.ts_open)
                _put(q, r, o, close)
                tfs[j].next_close = close
                if close < c.next_close:
                    c.next_close = close
            else:
                q.high = max(q.high, r.high)
                q.low = min(q.low, r.low)
                q.close = r.close
                q.n_ticks += r.n_ticks
                q.spread_min = min(q.spread_min, r.spread_min)
                q.spread_max = max(q.spread_max, r.spread_max)
                q.spread_sum += r.spread_sum


@njit(cache=True, nogil=True, _nrt=False)
def _earliest(tfs, n_tf):
    """(timeframe, ts_close) of the earliest open bars, the first timeframe on a tie."""
    jb = 0
    best = NEVER
    for j in range(n_tf):
        if tfs[j].next_close < best:
            best = tfs[j].next_close
            jb = j
    return jb, best


@njit(cache=True, nogil=True, _nrt=False)
def close_bars(book, strat, hook, t, latency, reserve):
    """Close every open bar with ts_close <= t and call on_bar for each: by ts_close, then
    timeframe order, then symbol index. Each call needs max_actions + ``reserve`` free
    order rows, else ST_ORDERS_FULL (re-entrant: a closed bar is not open any more)."""
    c = strat.ctx[0]
    n_sym = c.n_sym
    acct = book.acct[0]
    while c.next_close <= t:
        jb, best = _earliest(strat.tfs, c.n_tf)
        for f in range(c.n_tf):  # once per close (re-entrant): the bars built from those closing
            tf = strat.tfs[f]
            if tf.next_close == best and tf.folded != best and tf.source < 0:
                _fold_up(strat, f)
                tf.folded = best
        jb, best = _earliest(strat.tfs, c.n_tf)  # a bar opened by the fold may close now
        for s in range(n_sym):
            if strat.bars[jb * n_sym + s].n_ticks > 0:
                if book.orders.shape[0] - acct.n_orders < c.max_actions + reserve:
                    return ST_ORDERS_FULL
                _to_ring(strat, jb, s)
                st = call(book, strat, hook, CB_BAR, s, jb, best, latency)
                if st != ST_DONE:
                    return st
        strat.tfs[jb].next_close = NEVER
        c.next_close = _earliest(strat.tfs, c.n_tf)[1]
    return ST_DONE
