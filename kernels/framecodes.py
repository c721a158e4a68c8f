"""Symbol codes of an in-memory tick frame, in one pass over its rows.

``encode_views`` turns an Arrow ``string_view`` column (16-byte views; a string
of at most 12 bytes is held whole in its view) into integer codes by a small
open-addressing table keyed on the view's bytes. ``rank_check`` maps the codes
to the symbols' sorted order and tells whether the rows are already in the
order the per-symbol merge would give (by time, ties by symbol).
``partition`` is a stable counting sort of the rows by code (one source per
symbol, each in row order).
"""

import numpy as np
from numba import njit

LONG = -1  # a string longer than 12 bytes: not held in its view
FULL = -2  # more distinct strings than the table holds

_K1 = np.uint64(0xFF51AFD7ED558CCD)
_K2 = np.uint64(0xC4CEB9FE1A85EC53)
_LOW32 = np.uint64(0xFFFFFFFF)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _mask(nbytes):
    """The low ``nbytes`` bytes of a word set (0..8)."""
    if nbytes >= 8:
        return _ALL
    return (np.uint64(1) << np.uint64(8 * nbytes)) - np.uint64(1)


@njit(cache=True, nogil=True, inline="always")
def _mix(x):
    """A 64-bit finaliser (every input bit moves every output bit)."""
    x = (x ^ (x >> np.uint64(33))) * _K1
    x = (x ^ (x >> np.uint64(29))) * _K2
    return x ^ (x >> np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def _byte(w0, w1, k):
    """Byte ``k`` (0..11) of the string held in a view's key."""
    if k < 4:
        return (w0 >> np.uint64(32 + 8 * k)) & np.uint64(0xFF)
    return (w1 >> np.uint64(8 * (k - 4))) & np.uint64(0xFF)


@njit(cache=True, nogil=True)
def key_less(a0, a1, b0, b1):
    """The string of key a sorts before that of key b (bytewise: the order of
    UTF-8 text by code point, as Python orders str)."""
    la = np.int64(a0 & _LOW32)
    lb = np.int64(b0 & _LOW32)
    for k in range(min(la, lb)):
        x = _byte(a0, a1, k)
        y = _byte(b0, b1, k)
        if x != y:
            return x < y
    return la < lb


@njit(cache=True, nogil=True)
def encode_views(views, ts, keys, n_keys, table, codes, prev, state):
    """Codes of the rows of a ``string_view`` column (``views``: (n, 2) uint64),
    and whether the rows are in merge order (by ``ts``, ties by symbol name).

    ``keys``: (cap, 2) uint64, the distinct views found so far (``n_keys`` of
    them, carried across the chunks of a column); ``table``: int32 slots (a
    power of two, -1 empty). Writes ``codes[i]`` (the index into ``keys``, in
    the order first seen). ``prev`` (uint64: the last row's key) and ``state``
    (int64: last ts, seen, ordered) carry the order check across chunks.
    Returns the new number of keys, or LONG / FULL.
    """
    slots = table.shape[0] - 1
    p0 = prev[0]
    p1 = prev[1]
    pt = state[0]
    seen = state[1] == 1
    ordered = state[2] == 1
    for i in range(views.shape[0]):
        w0 = views[i, 0]
        w1 = views[i, 1]
        ln = np.int64(w0 & _LOW32)
        if ln > 12:
            return LONG
        # bytes past the string's end are not part of the key
        if ln <= 4:
            w0 = w0 & _mask(np.int64(4) + ln)
            w1 = np.uint64(0)
        else:
            w1 = w1 & _mask(ln - np.int64(4))
        t = ts[i]
        if seen and t <= pt and (t < pt or key_less(w0, w1, p0, p1)):
            ordered = False
        pt = t
        seen = True
        h = np.int64(_mix(w0 ^ _mix(w1)) >> np.uint64(33)) & slots
        while True:
            c = table[h]
            if c < 0:
                if n_keys == keys.shape[0]:
                    return FULL
                c = n_keys
                keys[c, 0] = w0
                keys[c, 1] = w1
                table[h] = c
                n_keys += 1
                break
            if keys[c, 0] == w0 and keys[c, 1] == w1:
                break
            h = (h + 1) & slots
        codes[i] = c
        p0 = w0
        p1 = w1
    prev[0] = p0
    prev[1] = p1
    state[0] = pt
    state[1] = 1
    state[2] = np.int64(ordered)
    return n_keys


@njit(cache=True, nogil=True)
def rank_check(codes, rank, ts, state):
    """Replace each code by ``rank[code]`` (its symbol's place in name order) and
    return whether the rows are by ts, ties by rank (the order of the
    per-symbol merge). ``state`` = (ts, rank, seen) of the previous chunk's last
    row, updated."""
    ordered = True
    pt = state[0]
    pr = state[1]
    seen = state[2] == 1
    for i in range(codes.shape[0]):
        r = rank[codes[i]]
        codes[i] = r
        t = ts[i]
        if seen and (t < pt or (t == pt and r < pr)):
            ordered = False
        pt = t
        pr = r
        seen = True
    state[0] = pt
    state[1] = pr
    state[2] = 1
    return ordered


@njit(cache=True, nogil=True)
def partition(codes, k):
    """(order, bounds): the rows by code, stable (row order within a code);
    code j's rows are order[bounds[j]:bounds[j + 1]]."""
    bounds = np.zeros(k + 1, np.int64)
    for i in range(codes.shape[0]):
        bounds[codes[i] + 1] += 1
    for j in range(k):
        bounds[j + 1] += bounds[j]
    pos = bounds[:-1].copy()
    order = np.empty(codes.shape[0], np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        order[pos[c]] = i
        pos[c] += 1
    return order, bounds


@njit(cache=True, nogil=True)
def count_before(codes, row, code):
    """How many rows before ``row`` have ``code`` (a row's place among its symbol's rows)."""
    n = 0
    for i in range(row):
        n += codes[i] == code
    return n
