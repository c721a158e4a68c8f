"""Good-till-date orders a strategy adds while the run goes on (docs/strategies.md §4).

The GTD orders of an orders table are sorted by ``expire_ts`` once, when the
account is made (kernels/alloc.py); ``matching.expire`` walks that list with a
cursor. A strategy's GTD order joins the part of the list after the cursor at
its place by ``expire_ts`` (after the orders with the same expiry), so the list
stays sorted. The list has room for every order the orders table can hold.
"""

from numba import njit


@njit(cache=True, nogil=True, _nrt=False)
def drop_expiry(acct, ints, k):
    """Order ``k`` leaves the part of the list after the cursor (its expiry set again)."""
    a = acct[0]
    e0 = a.expiry_at
    n = a.n_expiry
    for j in range(a.expire_cursor, n):
        if ints[e0 + j] == k:
            for m in range(j, n - 1):
                ints[e0 + m] = ints[e0 + m + 1]
            a.n_expiry = n - 1
            return


@njit(cache=True, nogil=True, _nrt=False)
def add_expiry(acct, ints, orders, k):
    """Order ``k`` (its ``expire_ts`` set) joins the orders by expiry. False when the list is
    full (never, while it has a row per order)."""
    a = acct[0]
    e0 = a.expiry_at
    n = a.n_expiry
    c = a.expire_cursor
    if n >= a.ring_at - e0:
        return False
    x = orders[k].expire_ts
    m = n
    while m > c and orders[ints[e0 + m - 1]].expire_ts > x:
        ints[e0 + m] = ints[e0 + m - 1]
        m -= 1
    ints[e0 + m] = k
    a.n_expiry = n + 1
    return True
