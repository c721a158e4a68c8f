"""Validate raw quote columns, convert them to integer ticks, merge sources.

``convert_batch`` is the single place where float prices become ticks and
where the row rules of SPEC §1 are checked. ``merge_runs`` is the stable
k-way merge of time-sorted runs (ties: lower run index first, then row order).
"""

import numpy as np
from numba import njit

# Row rule codes (names in backtestr/reader.py::RULES).
OK = 0
NAN_PRICE = 1
NONPOSITIVE_PRICE = 2
CROSSED = 3
OFF_TICK = 4
UNSORTED = 5
DUPLICATE = 6
BAD_SIZE = 7
N_RULES = 8

OFF_TICK_TOL = 1e-6  # in ticks


@njit(cache=True, nogil=True)
def _to_ticks(x, inv_tick):
    """(ticks, ok): ok is False when x is not within OFF_TICK_TOL of the grid."""
    q = x * inv_tick
    t = np.rint(q)
    return np.int64(t), abs(q - t) <= OFF_TICK_TOL


@njit(cache=True, nogil=True)
def convert_batch(ts, sym, bid, ask, bid_size, ask_size, inv_tick, start, end, skip, last, out, counts):
    """Validate and convert one batch of one source.

    ts: int64 ns; sym: int32 symbol index per row (-1 = filtered out);
    bid/ask: float64 prices; bid_size/ask_size: float64 or empty arrays;
    inv_tick: float64 per symbol (1 / tick_size); rows with ts outside
    [start, end) are dropped. ``last`` (n_symbols + 1, 4) int64 carries the previous
    kept row per symbol across batches: ts, bid, ask, seen flag; its extra last
    row holds the source-wide last kept ts (a source must be time-sorted).
    ``out`` is a tuple (ts, sym, bid, ask, bid_size, ask_size) of output arrays
    of at least len(ts) rows. ``counts`` (N_RULES,) accumulates bad rows.

    Returns (n_out, bad_row, bad_rule): with skip False the first bad row stops
    the batch and is reported; with skip True bad rows are counted and dropped.
    """
    o_ts, o_sym, o_bid, o_ask, o_bsz, o_asz = out
    has_size = bid_size.shape[0] > 0
    src = last.shape[0] - 1
    n = 0
    for i in range(ts.shape[0]):
        s = sym[i]
        if s < 0:
            continue
        t = ts[i]
        if t < start or t >= end:
            continue
        b = bid[i]
        a = ask[i]
        rule = OK
        bt = np.int64(0)
        at = np.int64(0)
        if not (np.isfinite(b) and np.isfinite(a)):
            rule = NAN_PRICE
        elif b <= 0.0 or a <= 0.0:
            rule = NONPOSITIVE_PRICE
        else:
            bt, okb = _to_ticks(b, inv_tick[s])
            at, oka = _to_ticks(a, inv_tick[s])
            if not (okb and oka):
                rule = OFF_TICK
            elif at < bt:
                rule = CROSSED
            elif last[src, 3] == 1 and t < last[src, 0]:
                rule = UNSORTED
            elif last[s, 3] == 1 and t == last[s, 0] and bt == last[s, 1] and at == last[s, 2]:
                rule = DUPLICATE
            elif has_size and not (bid_size[i] >= 0.0 and ask_size[i] >= 0.0):
                rule = BAD_SIZE
        if rule != OK:
            counts[rule] += 1
            if skip:
                continue
            return n, i, rule
        last[s, 0] = t
        last[s, 1] = bt
        last[s, 2] = at
        last[s, 3] = 1
        last[src, 0] = t
        last[src, 3] = 1
        o_ts[n] = t
        o_sym[n] = s
        o_bid[n] = bt
        o_ask[n] = at
        if has_size:
            o_bsz[n] = bid_size[i]
            o_asz[n] = ask_size[i]
        n += 1
    return n, -1, OK


@njit(cache=True, nogil=True)
def _sift_down(heap_ts, heap_run, k, i):
    while True:
        left = 2 * i + 1
        if left >= k:
            return
        m = left
        right = left + 1
        if right < k and (
            heap_ts[right] < heap_ts[left]
            or (heap_ts[right] == heap_ts[left] and heap_run[right] < heap_run[left])
        ):
            m = right
        if heap_ts[m] < heap_ts[i] or (heap_ts[m] == heap_ts[i] and heap_run[m] < heap_run[i]):
            heap_ts[m], heap_ts[i] = heap_ts[i], heap_ts[m]
            heap_run[m], heap_run[i] = heap_run[i], heap_run[m]
            i = m
        else:
            return


@njit(cache=True, nogil=True)
def merge_order(ts, bounds):
    """Stable merge permutation of the sorted runs ts[bounds[j]:bounds[j+1]].

    Output order: by ts, ties by run index, then by position within the run.
    """
    k = bounds.shape[0] - 1
    n = bounds[k]
    perm = np.empty(n, dtype=np.int64)
    pos = bounds[:-1].copy()
    heap_ts = np.empty(k, dtype=np.int64)
    heap_run = np.empty(k, dtype=np.int64)
    h = 0
    for j in range(k):
        if pos[j] < bounds[j + 1]:
            heap_ts[h] = ts[pos[j]]
            heap_run[h] = j
            h += 1
    for i in range(h // 2 - 1, -1, -1):
        _sift_down(heap_ts, heap_run, h, i)
    o = 0
    while h > 0:
        j = heap_run[0]
        perm[o] = pos[j]
        o += 1
        pos[j] += 1
        if pos[j] < bounds[j + 1]:
            heap_ts[0] = ts[pos[j]]
        else:
            h -= 1
            heap_ts[0] = heap_ts[h]
            heap_run[0] = heap_run[h]
        _sift_down(heap_ts, heap_run, h, 0)
    return perm
