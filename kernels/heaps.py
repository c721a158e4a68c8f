"""Pairing heaps over rows of an int64 node table: triggers kept in order.

A heap is a root index (-1 when empty). Node ``x`` of a heap lives in row
``x`` of ``N``, in the five columns from ``b``: key, tie, first child, next
sibling, prev (the parent for a first child, else the left sibling; -1 for a
root, -2 when the node is in no heap). The smallest (key, tie) is the root.
Insert and meld are O(1), pop and delete O(log n) amortised, and looking at
the top is O(1), so a tick that triggers nothing does not depend on how many
entries a heap holds. Nodes are the position slots or the order indices; no
memory is allocated here.
"""

from numba import njit

from .records import HK_CHILD, HK_KEY, HK_PREV, HK_SIB, HK_TIE

OUT = -2


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def in_heap(N, b, x):
    return N[x, b + HK_PREV] != OUT


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def key(N, b, x):
    return N[x, b + HK_KEY]


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _less(N, b, x, y):
    kx = N[x, b + HK_KEY]
    ky = N[y, b + HK_KEY]
    return kx < ky or (kx == ky and N[x, b + HK_TIE] < N[y, b + HK_TIE])


@njit(cache=True, nogil=True, _nrt=False)
def _link(N, b, x, y):
    """Meld two roots; the larger becomes the first child of the smaller."""
    if _less(N, b, y, x):
        x, y = y, x
    c = N[x, b + HK_CHILD]
    N[y, b + HK_SIB] = c
    if c >= 0:
        N[c, b + HK_PREV] = y
    N[y, b + HK_PREV] = x
    N[x, b + HK_CHILD] = y
    N[x, b + HK_SIB] = -1
    N[x, b + HK_PREV] = -1
    return x


@njit(cache=True, nogil=True, _nrt=False)
def _merge_pairs(N, b, first):
    """Two-pass pairing of a sibling list; returns the new root (-1 if empty)."""
    if first < 0:
        return -1
    stack = -1  # results of pass one, linked through their sibling column
    x = first
    while x >= 0:
        y = N[x, b + HK_SIB]
        if y < 0:
            nxt = -1
            m = x
            N[m, b + HK_PREV] = -1
        else:
            nxt = N[y, b + HK_SIB]
            N[x, b + HK_SIB] = -1
            N[y, b + HK_SIB] = -1
            m = _link(N, b, x, y)
        N[m, b + HK_SIB] = stack
        stack = m
        x = nxt
    acc = stack
    s = N[acc, b + HK_SIB]
    N[acc, b + HK_SIB] = -1
    while s >= 0:
        nxt = N[s, b + HK_SIB]
        N[s, b + HK_SIB] = -1
        acc = _link(N, b, s, acc)
        s = nxt
    N[acc, b + HK_PREV] = -1
    N[acc, b + HK_SIB] = -1
    return acc


@njit(cache=True, nogil=True, _nrt=False)
def push(N, b, root, x, k, tie):
    """Insert node ``x`` with (k, tie); returns the new root."""
    N[x, b + HK_KEY] = k
    N[x, b + HK_TIE] = tie
    N[x, b + HK_CHILD] = -1
    N[x, b + HK_SIB] = -1
    N[x, b + HK_PREV] = -1
    if root < 0:
        return x
    return _link(N, b, root, x)


@njit(cache=True, nogil=True, _nrt=False)
def _detach(N, b, x):
    N[x, b + HK_CHILD] = -1
    N[x, b + HK_SIB] = -1
    N[x, b + HK_PREV] = OUT


@njit(cache=True, nogil=True, _nrt=False)
def pop(N, b, root):
    """Remove the root; returns the new root."""
    new = _merge_pairs(N, b, N[root, b + HK_CHILD])
    _detach(N, b, root)
    return new


@njit(cache=True, nogil=True, _nrt=False)
def _cut(N, b, x):
    """Take the subtree of non-root ``x`` out of its heap."""
    p = N[x, b + HK_PREV]
    s = N[x, b + HK_SIB]
    if N[p, b + HK_CHILD] == x:
        N[p, b + HK_CHILD] = s
    else:
        N[p, b + HK_SIB] = s
    if s >= 0:
        N[s, b + HK_PREV] = p
    N[x, b + HK_SIB] = -1
    N[x, b + HK_PREV] = -1


@njit(cache=True, nogil=True, _nrt=False)
def remove(N, b, root, x):
    """Remove node ``x`` (in the heap of ``root``); returns the new root."""
    if x == root:
        return pop(N, b, root)
    _cut(N, b, x)
    sub = _merge_pairs(N, b, N[x, b + HK_CHILD])
    _detach(N, b, x)
    if sub < 0:
        return root
    return _link(N, b, root, sub)


@njit(cache=True, nogil=True, _nrt=False)
def update(N, b, root, x, k):
    """Give node ``x`` the key ``k`` (same tie); returns the new root."""
    old = N[x, b + HK_KEY]
    if k == old:
        return root
    if k < old:
        N[x, b + HK_KEY] = k
        if x == root:
            return root
        _cut(N, b, x)
        return _link(N, b, root, x)
    tie = N[x, b + HK_TIE]
    root = remove(N, b, root, x)
    return push(N, b, root, x, k, tie)
