"""Pairing heaps over rows of an int64 node table: triggers kept in order.

A heap is a root index (-1 when empty). Node ``x`` of a heap lives in the
int64 array ``N`` at ``b + HK_COLS * x``, ``b`` the start of the heap's node
region: key, tie, first child, next sibling, prev (the parent for a first
child, else the left sibling; -1 for a root, -2 when the node is in no heap). The smallest (key, tie) is the root.
Insert and meld are O(1), pop and delete O(log n) amortised, and looking at
the top is O(1), so a tick that triggers nothing does not depend on how many
entries a heap holds. Nodes are the position slots or the order indices; no
memory is allocated here.
"""

from numba import njit

from .records import HK_CHILD, HK_COLS, HK_KEY, HK_PREV, HK_SIB, HK_TIE

OUT = -2


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def in_heap(N, b, x):
    return N[b + HK_COLS * x + HK_PREV] != OUT


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def key(N, b, x):
    return N[b + HK_COLS * x + HK_KEY]


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _less(N, b, x, y):
    kx = N[b + HK_COLS * x + HK_KEY]
    ky = N[b + HK_COLS * y + HK_KEY]
    return kx < ky or (kx == ky and N[b + HK_COLS * x + HK_TIE] < N[b + HK_COLS * y + HK_TIE])


@njit(cache=True, nogil=True, _nrt=False)
def _link(N, b, x, y):
    """Meld two roots; the larger becomes the first child of the smaller."""
    if _less(N, b, y, x):
        x, y = y, x
    c = N[b + HK_COLS * x + HK_CHILD]
    N[b + HK_COLS * y + HK_SIB] = c
    if c >= 0:
        N[b + HK_COLS * c + HK_PREV] = y
    N[b + HK_COLS * y + HK_PREV] = x
    N[b + HK_COLS * x + HK_CHILD] = y
    N[b + HK_COLS * x + HK_SIB] = -1
    N[b + HK_COLS * x + HK_PREV] = -1
    return x


@njit(cache=True, nogil=True, _nrt=False)
def _merge_pairs(N, b, first):
    """Two-pass pairing of a sibling list; returns the new root (-1 if empty)."""
    if first < 0:
        return -1
    stack = -1  # results of pass one, linked through their sibling column
    x = first
    while x >= 0:
        y = N[b + HK_COLS * x + HK_SIB]
        if y < 0:
            nxt = -1
            m = x
            N[b + HK_COLS * m + HK_PREV] = -1
        else:
            nxt = N[b + HK_COLS * y + HK_SIB]
            N[b + HK_COLS * x + HK_SIB] = -1
            N[b + HK_COLS * y + HK_SIB] = -1
            m = _link(N, b, x, y)
        N[b + HK_COLS * m + HK_SIB] = stack
        stack = m
        x = nxt
    acc = stack
    s = N[b + HK_COLS * acc + HK_SIB]
    N[b + HK_COLS * acc + HK_SIB] = -1
    while s >= 0:
        nxt = N[b + HK_COLS * s + HK_SIB]
        N[b + HK_COLS * s + HK_SIB] = -1
        acc = _link(N, b, s, acc)
        s = nxt
    N[b + HK_COLS * acc + HK_PREV] = -1
    N[b + HK_COLS * acc + HK_SIB] = -1
    return acc


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def push(N, b, root, x, k, tie):
    """Insert node ``x`` with (k, tie); returns the new root."""
    N[b + HK_COLS * x + HK_KEY] = k
    N[b + HK_COLS * x + HK_TIE] = tie
    N[b + HK_COLS * x + HK_CHILD] = -1
    N[b + HK_COLS * x + HK_SIB] = -1
    N[b + HK_COLS * x + HK_PREV] = -1
    if root < 0:
        return x
    return _link(N, b, root, x)


@njit(cache=True, nogil=True, _nrt=False)
def _detach(N, b, x):
    N[b + HK_COLS * x + HK_CHILD] = -1
    N[b + HK_COLS * x + HK_SIB] = -1
    N[b + HK_COLS * x + HK_PREV] = OUT


@njit(cache=True, nogil=True, _nrt=False)
def pop(N, b, root):
    """Remove the root; returns the new root."""
    new = _merge_pairs(N, b, N[b + HK_COLS * root + HK_CHILD])
    _detach(N, b, root)
    return new


@njit(cache=True, nogil=True, _nrt=False)
def _cut(N, b, x):
    """Take the subtree of non-root ``x`` out of its heap."""
    p = N[b + HK_COLS * x + HK_PREV]
    s = N[b + HK_COLS * x + HK_SIB]
    if N[b + HK_COLS * p + HK_CHILD] == x:
        N[b + HK_COLS * p + HK_CHILD] = s
    else:
        N[b + HK_COLS * p + HK_SIB] = s
    if s >= 0:
        N[b + HK_COLS * s + HK_PREV] = p
    N[b + HK_COLS * x + HK_SIB] = -1
    N[b + HK_COLS * x + HK_PREV] = -1


@njit(cache=True, nogil=True, _nrt=False)
def remove(N, b, root, x):
    """Remove node ``x`` (in the heap of ``root``); returns the new root."""
    if x == root:
        return pop(N, b, root)
    _cut(N, b, x)
    sub = _merge_pairs(N, b, N[b + HK_COLS * x + HK_CHILD])
    _detach(N, b, x)
    if sub < 0:
        return root
    return _link(N, b, root, sub)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def update(N, b, root, x, k):
    """Give node ``x`` the key ``k`` (same tie); returns the new root."""
    old = N[b + HK_COLS * x + HK_KEY]
    if k == old:
        return root
    if k < old:
        N[b + HK_COLS * x + HK_KEY] = k
        if x == root:
            return root
        _cut(N, b, x)
        return _link(N, b, root, x)
    tie = N[b + HK_COLS * x + HK_TIE]
    root = remove(N, b, root, x)
    return push(N, b, root, x, k, tie)
