"""Validate raw quote columns, convert them to integer ticks, merge sources.

``convert_batch`` is the single place where float prices become ticks (and
quote sizes whole lot steps) and where the row rules of docs/architecture.md §3 are checked, one source's batch at a time (the
rules are per source, so this runs beside the decoding). ``merge_gather`` is
the stable k-way merge of the converted runs (ties: lower run index first,
then row order).
"""

import numpy as np
from numba import njit

from .enums import NO_RATE, RATE_DIGITS

# Row rule codes (names in backtestr/reader.py::RULES).
OK = 0
NAN_PRICE = 1
NONPOSITIVE_PRICE = 2
CROSSED = 3
OFF_TICK = 4
UNSORTED = 5
DUPLICATE = 6
NEGATIVE_SIZE = 7
BAD_RATE = 8
N_RULES = 9

OFF_TICK_TOL = 1e-6  # in ticks (and in lot steps for quote sizes); plus the column's own round-off (``rel``)
SIZE_MAX = 4e18  # quote sizes are capped here (lot steps), inside int64


@njit(cache=True, nogil=True, inline="always")
def size_steps(x, inv_step):
    """A quote size in lots -> whole lot steps, rounded down (within OFF_TICK_TOL of a
    step counts as that step); NaN (missing) -> 0, which the kernel reads as unknown."""
    q = x * inv_step + OFF_TICK_TOL
    if not q >= 1.0:
        return np.int64(0)
    return np.int64(min(q, SIZE_MAX))


_RATE_SCALE = 10.0**RATE_DIGITS


@njit(cache=True, nogil=True, inline="always")
def rate_units(x):
    """A funding rate (a fraction per interval) -> whole units of 10**-RATE_DIGITS, nearest;
    NaN (missing) -> NO_RATE. Callers refuse |x| > 1 first."""
    if x != x:
        return NO_RATE
    return np.int64(np.rint(x * _RATE_SCALE))


@njit(cache=True, nogil=True, inline="always")
def _to_ticks(x, inv_tick, rel):
    """(ticks, ok): ok is False when x is not within OFF_TICK_TOL + rel * |x| (in ticks) of the grid."""
    q = x * inv_tick
    t = np.rint(q)
    return np.int64(t), abs(q - t) <= OFF_TICK_TOL + rel * abs(q)


@njit(cache=True, nogil=True, inline="always")
def _check(t, b, a, s, inv_tick, rel, last, last_src):
    """Row rule for one quote; returns (rule, bid_ticks, ask_ticks)."""
    if not (np.isfinite(b) and np.isfinite(a)):
        return NAN_PRICE, 0, 0
    if b <= 0.0 or a <= 0.0:
        return NONPOSITIVE_PRICE, 0, 0
    bt, okb = _to_ticks(b, inv_tick[s], rel)
    at, oka = _to_ticks(a, inv_tick[s], rel)
    if not (okb and oka):
        return OFF_TICK, bt, at
    if at < bt:
        return CROSSED, bt, at
    if last_src[0, 1] == 1 and t < last_src[0, 0]:
        return UNSORTED, bt, at
    if last[s, 3] == 1 and t == last[s, 0] and bt == last[s, 1] and at == last[s, 2]:
        return DUPLICATE, bt, at
    return OK, bt, at


_BIG = np.iinfo(np.int64).max
_LINEAR_MAX_RUNS = 8


@njit(cache=True, nogil=True)
def _merge2(ts, ids, lo, mid, hi, o_ts, o_id):
    """Branch-free stable merge of rows lo..mid-1 and mid..hi-1; ties take the first run."""
    p = lo
    q = mid
    for i in range(lo, hi):
        ta = ts[min(p, mid - 1)] if p < mid else _BIG
        tb = ts[min(q, hi - 1)] if q < hi else _BIG
        c = ta <= tb and p < mid
        o_ts[i] = ta if c else tb
        o_id[i] = ids[min(p, mid - 1)] if c else ids[min(q, hi - 1)]
        p += np.int64(c)
        q += np.int64(not c)


@njit(cache=True, nogil=True, inline="always")
def _min_head(hv, k):
    """Index and value of the smallest head; ties to the lower index (selects, no branches)."""
    j = 0
    best = hv[0]
    for c in range(1, k):
        better = hv[c] < best
        best = hv[c] if better else best
        j = c if better else j
    return j, best


@njit(cache=True, nogil=True)
def merge_order(ts, bounds, o_ts, o_id, cur_ts, cur_id):
    """Merged (ts, row) of the sorted runs ts[bounds[j]:bounds[j+1]].

    Stable: by ts, ties by run index, then by row. Adjacent runs are merged
    pairwise, level by level, each level one branch-free pass. ``o_*`` and
    ``cur_*`` are caller-owned scratch of at least len(ts) rows (reused, so no
    fresh memory is touched per call). Returns the (ts, row) arrays holding
    the result.
    """
    n = bounds[-1]
    cur_ts[:n] = ts[:n]
    for i in range(n):
        cur_id[i] = i
    b = bounds.copy()
    while b.shape[0] > 2:
        k = b.shape[0] - 1
        nb = np.empty(k // 2 + k % 2 + 1, np.int64)
        nb[0] = 0
        m = 1
        for j in range(0, k - 1, 2):
            _merge2(cur_ts, cur_id, b[j], b[j + 1], b[j + 2], o_ts, o_id)
            nb[m] = b[j + 2]
            m += 1
        if k % 2 == 1:
            o_ts[b[k - 1]:b[k]] = cur_ts[b[k - 1]:b[k]]
            o_id[b[k - 1]:b[k]] = cur_id[b[k - 1]:b[k]]
            nb[m] = b[k]
        cur_ts, o_ts = o_ts, cur_ts
        cur_id, o_id = o_id, cur_id
        b = nb
    return cur_ts, cur_id


@njit(cache=True, nogil=True)
def convert_batch(cols, sym, const_sym, scale, rel, start, stop, skip, last, last_src, out, counts):
    """Validate one batch of one source and convert its prices to ticks.

    ``cols`` = (ts, bid, ask, bid_size, ask_size, funding_rate), the sizes float
    lots and the rate a fraction, each empty when the batch has none. ``scale`` = (1 / tick_size, 1 / lot_step) per
    symbol. Rows are taken in source order, so ``unsorted`` compares with the
    source's previous kept row (``last_src``: ts, seen) and ``duplicate`` with
    the symbol's (``last``: (n_symbols, 4) ts, bid, ask, seen), both carried
    across batches. A row's symbol is ``const_sym``, or ``sym[row]`` when that
    is < 0 (-1 there: not in this run). Rows outside [start, stop) are dropped.
    ``out`` = (ts, sym, bid, ask, bid_size, ask_size, funding) of at least
    len(ts) rows, the sizes (lot steps, 0 = unknown) and the rate (see
    ``rate_units``) empty when they are not wanted. ``rel``: the relative round-off
    of the price columns' type (0 for float64; a few ulps for float32): a price
    within OFF_TICK_TOL + rel * price (in ticks) of a tick is that tick. Returns
    (n_out, bad_row, rule), bad_row -1 when every row passed or was skipped.
    """
    ts, bid, ask, bsz, asz, fund = cols
    inv_tick, inv_step = scale
    o_ts, o_sym, o_bid, o_ask, o_bsz, o_asz, o_fund = out
    want = o_bsz.shape[0] > 0
    given = want and bsz.shape[0] > 0
    want_rate = o_fund.shape[0] > 0
    given_rate = want_rate and fund.shape[0] > 0
    n = 0
    for p in range(ts.shape[0]):
        s = const_sym if const_sym >= 0 else sym[p]
        t = ts[p]
        if s < 0 or t < start or t >= stop:
            continue
        b = bid[p]
        a = ask[p]
        inv = inv_tick[s]
        qb = b * inv
        qa = a * inv
        bt = np.int64(qb + 0.5)
        at = np.int64(qa + 0.5)
        # fast path: every rule passes (NaN fails the comparisons)
        ok = (
            (qb > 0.5) & (qa > 0.5) & (qa < 4e18)
            & (abs(qb - bt) <= OFF_TICK_TOL + rel * qb) & (abs(qa - at) <= OFF_TICK_TOL + rel * qa) & (at >= bt)
            & ((last_src[0, 1] == 0) | (t >= last_src[0, 0]))
            & ((last[s, 3] == 0) | (t != last[s, 0]) | (bt != last[s, 1]) | (at != last[s, 2]))
        )
        if not ok:
            rule, bt, at = _check(t, b, a, s, inv_tick, rel, last, last_src)
            if rule != OK:
                counts[rule] += 1
                if not skip:
                    return n, p, rule
                continue
        if given and (bsz[p] < 0.0 or asz[p] < 0.0):
            counts[NEGATIVE_SIZE] += 1
            if not skip:
                return n, p, NEGATIVE_SIZE
            continue
        if given_rate and abs(fund[p]) > 1.0:  # also +-inf; NaN is a missing rate
            counts[BAD_RATE] += 1
            if not skip:
                return n, p, BAD_RATE
            continue
        last[s, 0] = t
        last[s, 1] = bt
        last[s, 2] = at
        last[s, 3] = 1
        last_src[0, 0] = t
        last_src[0, 1] = 1
        o_ts[n] = t
        o_sym[n] = s
        o_bid[n] = bt
        o_ask[n] = at
        if want:
            o_bsz[n] = size_steps(bsz[p], inv_step[s]) if given else 0
            o_asz[n] = size_steps(asz[p], inv_step[s]) if given else 0
        if want_rate:
            o_fund[n] = rate_units(fund[p]) if given_rate else NO_RATE
        n += 1
    return n, -1, OK


@njit(cache=True, nogil=True)
def merge_gather(cols, bounds, out, scratch):
    """Merge converted, time-sorted runs ``cols`` = (ts, sym, bid, ask, bid_size,
    ask_size, funding) into ``out`` (the same columns; an optional column is
    empty in both when not carried).

    Run j is rows bounds[j]..bounds[j+1]-1. Order: by ts, ties to the lower
    run index (runs are sources in symbol order), then row order. Up to 8
    runs: one pass taking the smallest head; more: ``merge_order`` then a
    gather. ``scratch``: four int64 arrays of at least len(ts) rows.
    """
    ts, sym, bid, ask, bsz, asz, fund = cols
    o_ts, o_sym, o_bid, o_ask, o_bsz, o_asz, o_fund = out
    sizes = o_bsz.shape[0] > 0
    rates = o_fund.shape[0] > 0
    k = bounds.shape[0] - 1
    total = bounds[k]
    if k <= _LINEAR_MAX_RUNS:
        head = bounds[:-1].copy()
        hv = np.empty(k, np.int64)
        for j in range(k):
            hv[j] = ts[head[j]] if head[j] < bounds[j + 1] else _BIG
        for i in range(total):
            j, best = _min_head(hv, k)
            p = head[j]
            o_ts[i] = best
            o_sym[i] = sym[p]
            o_bid[i] = bid[p]
            o_ask[i] = ask[p]
            if sizes:
                o_bsz[i] = bsz[p]
                o_asz[i] = asz[p]
            if rates:
                o_fund[i] = fund[p]
            p += 1
            head[j] = p
            hv[j] = ts[min(p, bounds[j + 1] - 1)] if p < bounds[j + 1] else _BIG
        return total
    s_ts, s_id, s_ts2, s_id2 = scratch
    mts, order = merge_order(ts, bounds, s_ts, s_id, s_ts2, s_id2)
    for i in range(total):
        p = order[i]
        o_ts[i] = mts[i]
        o_sym[i] = sym[p]
        o_bid[i] = bid[p]
        o_ask[i] = ask[p]
        if sizes:
            o_bsz[i] = bsz[p]
            o_asz[i] = asz[p]
        if rates:
            o_fund[i] = fund[p]
    return total
