"""MAE and MFE for every position at O(1) per tick, whatever the count.

Per symbol, the ticks are cut into segments at each position opening; the
current segment keeps the extremes of bid and ask (four compares per tick
while the symbol has open positions). A closed segment is pushed onto four
monotone stacks (max bid, min bid, max ask, min ask; minima stored negated),
which keep only segments whose extreme is not beaten by a later one. The
extreme over "from my opening segment to now" is then the first stack entry
at or after that segment (binary search) against the current segment. A
stack never holds more entries than segments nor than distinct prices in
ticks, and it is emptied whenever the symbol has no open position.
"""

import numpy as np

from .fx import money
from .jit import njit
from .records import BUY

_NONE = np.iinfo(np.int64).min


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def tick(r, bid, ask):
    """Fold one quote into the current segment."""
    r.seg_bid_hi = max(r.seg_bid_hi, bid)
    r.seg_bid_lo = min(r.seg_bid_lo, bid)
    r.seg_ask_hi = max(r.seg_ask_hi, ask)
    r.seg_ask_lo = min(r.seg_ask_lo, ask)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _at(a, s, k):
    """Start of stack ``k`` of symbol ``s`` in Book.ints: its count, then xs_cap
    segment numbers, then xs_cap values."""
    return a.xs_at + (4 * s + k) * (1 + 2 * a.xs_cap)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def stack_room(book, s):
    a = book.acct[0]
    X = book.ints
    b = _at(a, s, 0)
    w = 1 + 2 * a.xs_cap
    c = a.xs_cap
    return X[b] < c and X[b + w] < c and X[b + 2 * w] < c and X[b + 3 * w] < c


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _push(book, s, k, seq, v):
    a = book.acct[0]
    X = book.ints
    b = _at(a, s, k)
    val = b + 1 + a.xs_cap
    n = X[b]
    while n > 0 and X[val + n - 1] <= v:
        n -= 1
    X[b + 1 + n] = seq
    X[val + n] = v
    X[b] = n + 1


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def cut(book, s):
    """Close the current segment of symbol ``s`` (a position opens on this tick).

    Needs stack_room(book, s). The new segment starts with the current quote.
    """
    r = book.syms[s]
    if r.n_open == 0:
        for k in range(4):
            book.ints[_at(book.acct[0], s, k)] = 0
    else:
        g = r.seg
        _push(book, s, 0, g, r.seg_bid_hi)
        _push(book, s, 1, g, -r.seg_bid_lo)
        _push(book, s, 2, g, r.seg_ask_hi)
        _push(book, s, 3, g, -r.seg_ask_lo)
    r.seg += 1
    r.seg_bid_hi = r.bid
    r.seg_bid_lo = r.bid
    r.seg_ask_hi = r.ask
    r.seg_ask_lo = r.ask


@njit(cache=True, nogil=True, _nrt=False)
def _since(book, s, k, g):
    """Largest stacked value over segments >= g (_NONE when there is none)."""
    a = book.acct[0]
    X = book.ints
    b = _at(a, s, k)
    n = X[b]
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if X[b + 1 + mid] < g:
            lo = mid + 1
        else:
            hi = mid
    return X[b + 1 + a.xs_cap + lo] if lo < n else _NONE


@njit(cache=True, nogil=True, _nrt=False)
def finish(book, ins, slot):
    """Set MAE/MFE (ticks and money) of the position in ``slot`` up to now."""
    p = book.pos[slot]
    s = p.symbol
    r = book.syms[s]
    g = p.seg0
    if p.side == BUY:
        hi = max(_since(book, s, 0, g), r.seg_bid_hi)
        lo = -max(_since(book, s, 1, g), -r.seg_bid_lo)
        p.mfe_ticks = hi
        p.mae_ticks = lo
        p.mfe_minor = money(hi * p.entry_steps - p.entry_value, ins.value_num, ins.value_den, r)
        p.mae_minor = money(lo * p.entry_steps - p.entry_value, ins.value_num, ins.value_den, r)
    else:
        hi = max(_since(book, s, 2, g), r.seg_ask_hi)
        lo = -max(_since(book, s, 3, g), -r.seg_ask_lo)
        p.mfe_ticks = lo
        p.mae_ticks = hi
        p.mfe_minor = money(p.entry_value - lo * p.entry_steps, ins.value_num, ins.value_den, r)
        p.mae_minor = money(p.entry_value - hi * p.entry_steps, ins.value_num, ins.value_den, r)
