"""Bars from ticks: one pass over a time-ordered chunk, the open bars carried across chunks.

A bar is kept per symbol in ``state`` (int64, one row per symbol, columns ``B_*``);
a tick whose time is at or after its bar's ``ts_close`` closes that bar (written
to ``out``) and opens the bar of its own interval. Prices are integers: whole
ticks (bid, ask) or half ticks (mid = bid_ticks + ask_ticks). Intervals are
either fixed, ``[k * length, (k + 1) * length)`` from the Unix epoch, or given by
sorted session boundaries ``bounds`` (``length`` 0): ``[bounds[i], bounds[i + 1])``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# columns of a bar (state rows and out rows)
B_SYM = 0
B_OPEN_TS = 1
B_CLOSE_TS = 2
B_OPEN = 3
B_HIGH = 4
B_LOW = 5
B_CLOSE = 6
B_N = 7  # ticks in the bar; 0 in state: no open bar
B_SPREAD_MIN = 8
B_SPREAD_MAX = 9
B_SPREAD_SUM = 10
B_COLS = 11

BASIS_BID = 0
BASIS_ASK = 1
BASIS_MID = 2  # half ticks: bid + ask


def new_state(n_symbols: int) -> np.ndarray:
    """No open bar for any symbol."""
    return np.zeros((n_symbols, B_COLS), np.int64)


@njit(cache=True, nogil=True)
def interval(t, length, bounds):
    """(ts_open, ts_close) of the interval holding ``t``; (0, 0) when ``bounds`` do not cover it."""
    if length > 0:
        k = t // length  # floor division, also before 1970
        return k * length, (k + 1) * length
    i = np.searchsorted(bounds, t, side="right") - 1
    if i < 0 or i + 1 >= bounds.shape[0]:
        return np.int64(0), np.int64(0)
    return bounds[i], bounds[i + 1]


@njit(cache=True, nogil=True)
def aggregate(ts, sym, bid, ask, basis, length, bounds, state, out):
    """Add the ticks of a chunk (time-ordered) to the open bars of ``state``.

    Bars closed by these ticks are written to ``out`` (at least ``len(ts)`` rows:
    each tick closes at most one bar). Returns (rows written, index of a tick the
    session ``bounds`` do not cover or -1).
    """
    n_out = 0
    for p in range(ts.shape[0]):
        t = ts[p]
        s = sym[p]
        b = bid[p]
        a = ask[p]
        if basis == BASIS_BID:
            v = b
        elif basis == BASIS_ASK:
            v = a
        else:
            v = b + a
        spread = a - b
        row = state[s]
        if row[B_N] > 0 and t < row[B_CLOSE_TS]:
            if v > row[B_HIGH]:
                row[B_HIGH] = v
            if v < row[B_LOW]:
                row[B_LOW] = v
            row[B_CLOSE] = v
            row[B_N] += 1
            if spread < row[B_SPREAD_MIN]:
                row[B_SPREAD_MIN] = spread
            if spread > row[B_SPREAD_MAX]:
                row[B_SPREAD_MAX] = spread
            row[B_SPREAD_SUM] += spread
            continue
        if row[B_N] > 0:
            out[n_out, :] = row
            n_out += 1
        lo, hi = interval(t, length, bounds)
        if hi == lo:
            row[B_N] = 0
            return n_out, p
        row[B_SYM] = s
        row[B_OPEN_TS] = lo
        row[B_CLOSE_TS] = hi
        row[B_OPEN] = v
        row[B_HIGH] = v
        row[B_LOW] = v
        row[B_CLOSE] = v
        row[B_N] = 1
        row[B_SPREAD_MIN] = spread
        row[B_SPREAD_MAX] = spread
        row[B_SPREAD_SUM] = spread
    return n_out, -1


@njit(cache=True, nogil=True)
def flush(state, out):
    """Write the open bars (symbol order) to ``out`` and clear them; returns the rows written."""
    n_out = 0
    for s in range(state.shape[0]):
        if state[s, B_N] > 0:
            out[n_out, :] = state[s]
            n_out += 1
            state[s, B_N] = 0
    return n_out
