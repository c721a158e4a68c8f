"""Per-symbol books of pending entry orders and the trigger thresholds.

Four heaps per symbol hold the working limit, stop and stop-limit orders,
each keyed so that its root is the order the market reaches first:

| heap | triggers when | key |
|---|---|---|
| buy stop (and stop-limit before its stop) | ask >= stop | stop |
| sell stop | bid <= stop | -stop |
| buy limit (and stop-limit after its stop) | ask <= price | -price |
| sell limit | bid >= price | price |

``refresh`` folds the roots of these and of the position-stop heaps (and the
trailing thresholds) into four numbers per symbol, so the tick loop asks one
question per tick: is the quote past any of them?
"""

import numpy as np

from .execution import through
from .heaps import in_heap, key, push, remove
from .jit import njit
from .records import BUY, OT_LIMIT, OT_STOP

BIG = np.iinfo(np.int64).max // 4


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def refresh(book, prm, s):
    """Recompute the trigger thresholds of symbol ``s`` from its heap roots."""
    r = book.syms[s]
    a = book.acct[0]
    N = book.ints
    w = through(prm)
    lo = -BIG
    if r.h_long_sl >= 0:
        lo = max(lo, -key(N, a.psl_at, r.h_long_sl))
    if r.h_sell_stop >= 0:
        lo = max(lo, -key(N, a.onode_at, r.h_sell_stop))
    r.bid_lo = lo
    hi = r.trail_bid
    if r.h_long_tp >= 0:
        hi = min(hi, key(N, a.ptp_at, r.h_long_tp) + w)
    if r.h_sell_limit >= 0:
        hi = min(hi, key(N, a.onode_at, r.h_sell_limit) + w)
    r.bid_hi = hi
    ah = BIG
    if r.h_short_sl >= 0:
        ah = min(ah, key(N, a.psl_at, r.h_short_sl))
    if r.h_buy_stop >= 0:
        ah = min(ah, key(N, a.onode_at, r.h_buy_stop))
    r.ask_hi = ah
    al = r.trail_ask
    if r.h_short_tp >= 0:
        al = max(al, -key(N, a.ptp_at, r.h_short_tp) - w)
    if r.h_buy_limit >= 0:
        al = max(al, -key(N, a.onode_at, r.h_buy_limit) - w)
    r.ask_lo = al


@njit(cache=True, nogil=True, _nrt=False)
def is_stop_stage(o):
    """A stop order, or a stop-limit still waiting for its stop."""
    return o.type == OT_STOP or (o.type != OT_LIMIT and o.stage == 0)


@njit(cache=True, nogil=True, _nrt=False)
def add_pending(book, prm, k):
    """Put working order ``k`` (limit, stop, stop-limit) into its symbol's heap."""
    o = book.orders[k]
    r = book.syms[o.symbol]
    ON = book.ints
    b = book.acct[0].onode_at
    if is_stop_stage(o):
        if o.side == BUY:
            r.h_buy_stop = push(ON, b, r.h_buy_stop, k, o.stop_ticks, k)
        else:
            r.h_sell_stop = push(ON, b, r.h_sell_stop, k, -o.stop_ticks, k)
    elif o.side == BUY:
        r.h_buy_limit = push(ON, b, r.h_buy_limit, k, -o.price_ticks, k)
    else:
        r.h_sell_limit = push(ON, b, r.h_sell_limit, k, o.price_ticks, k)
    refresh(book, prm, o.symbol)


@njit(cache=True, nogil=True, _nrt=False)
def remove_pending(book, prm, k):
    """Take order ``k`` out of its heap (no-op when it is in none)."""
    ON = book.ints
    b = book.acct[0].onode_at
    if not in_heap(ON, b, k):
        return
    o = book.orders[k]
    r = book.syms[o.symbol]
    if is_stop_stage(o):
        if o.side == BUY:
            r.h_buy_stop = remove(ON, b, r.h_buy_stop, k)
        else:
            r.h_sell_stop = remove(ON, b, r.h_sell_stop, k)
    elif o.side == BUY:
        r.h_buy_limit = remove(ON, b, r.h_buy_limit, k)
    else:
        r.h_sell_limit = remove(ON, b, r.h_sell_limit, k)
    refresh(book, prm, o.symbol)
