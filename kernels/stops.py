"""Stop-loss, take-profit and trailing stops of positions (docs/execution.md §4).

A position is in its symbol's SL heap while it has an effective stop (the
tighter of ``sl`` and an active trailing stop) and in the TP heap while it has
a take-profit; keys as in books.py (long SL: -stop, long TP: tp, short SL:
stop, short TP: -tp). Trailing positions are also in a per-side list; the
symbol's ``trail_bid``/``trail_ask`` is the nearest quote at which one of them
moves, so the list is walked only on such ticks.
"""

from .books import BIG, refresh
from .events import log_position_event
from .heaps import in_heap, push, remove, update
from .jit import njit
from .records import BUY, EV_TRAILED, K_NONE, K_PPM, K_PRICE, K_REMOVE, K_TICKS, R_TRAILING
from .rounding import PPM, mul_div_round


@njit(cache=True, nogil=True, _nrt=False)
def distance(kind, val, price):
    """Ticks of a distance given in ticks or in parts per million of ``price``."""
    if kind == K_PPM:
        return mul_div_round(price, val, PPM)
    return val


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def resolve(kind, val, side, entry, is_sl, current):
    """The stop price a spec gives for a position of ``side`` entered at ``entry``.

    K_NONE keeps ``current``; K_REMOVE gives 0; a distance is measured from entry.
    """
    if kind == K_NONE:
        return current
    if kind == K_REMOVE:
        return 0
    if kind == K_PRICE:
        return val
    d = distance(kind, val, entry)
    below = (side == BUY) == is_sl
    return entry - d if below else entry + d


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def sides_ok(side, sl, tp, price):
    """Long: sl < price < tp; short: tp < price < sl (0 = not set)."""
    if side == BUY:
        return (sl == 0 or sl < price) and (tp == 0 or tp > price)
    return (sl == 0 or sl > price) and (tp == 0 or tp < price)


@njit(cache=True, nogil=True, _nrt=False)
def effective_trail(p):
    """The active trailing stop of a position, 0 when none."""
    return p.trail_stop if p.trail_state == 2 else 0


@njit(cache=True, nogil=True, _nrt=False)
def effective_stop(p):
    tr = effective_trail(p)
    sl = p.sl_ticks
    if p.side == BUY:
        return sl if sl >= tr else tr
    if sl == 0:
        return tr
    if tr == 0:
        return sl
    return sl if sl <= tr else tr


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _place(N, b, root, x, k, want, tie):
    if want:
        if in_heap(N, b, x):
            return update(N, b, root, x, k)
        return push(N, b, root, x, k, tie)
    if in_heap(N, b, x):
        return remove(N, b, root, x)
    return root


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _reheap(book, slot):
    p = book.pos[slot]
    r = book.syms[p.symbol]
    N = book.ints
    a = book.acct[0]
    sb, tb = a.psl_at, a.ptp_at
    st = effective_stop(p)
    tp = p.tp_ticks
    if p.side == BUY:
        r.h_long_sl = _place(N, sb, r.h_long_sl, slot, -st, st > 0, p.open_k)
        r.h_long_tp = _place(N, tb, r.h_long_tp, slot, tp, tp > 0, p.open_k)
    else:
        r.h_short_sl = _place(N, sb, r.h_short_sl, slot, st, st > 0, p.open_k)
        r.h_short_tp = _place(N, tb, r.h_short_tp, slot, -tp, tp > 0, p.open_k)


@njit(cache=True, nogil=True, _nrt=False)
def _trail_bounds(book, r):
    """Recompute trail_bid / trail_ask from the trailing lists."""
    pos = book.pos
    b = BIG
    x = r.trail_long
    while x >= 0:
        if pos[x].trail_next_q < b:
            b = pos[x].trail_next_q
        x = pos[x].trail_next
    r.trail_bid = b
    a = -BIG
    x = r.trail_short
    while x >= 0:
        if pos[x].trail_next_q > a:
            a = pos[x].trail_next_q
        x = pos[x].trail_next
    r.trail_ask = a


@njit(cache=True, nogil=True, _nrt=False)
def _trail_unlink(book, r, slot):
    pos = book.pos
    p = pos[slot]
    if p.trail_prev >= 0:
        pos[p.trail_prev].trail_next = p.trail_next
    elif p.side == BUY:
        r.trail_long = p.trail_next
    else:
        r.trail_short = p.trail_next
    if p.trail_next >= 0:
        pos[p.trail_next].trail_prev = p.trail_prev
    p.trail_next = -1
    p.trail_prev = -1


@njit(cache=True, nogil=True, _nrt=False)
def _trail_link(book, r, slot):
    pos = book.pos
    head = r.trail_long if pos[slot].side == BUY else r.trail_short
    pos[slot].trail_prev = -1
    pos[slot].trail_next = head
    if head >= 0:
        pos[head].trail_prev = slot
    if pos[slot].side == BUY:
        r.trail_long = slot
    else:
        r.trail_short = slot


@njit(cache=True, nogil=True, _nrt=False)
def _next_q(p):
    """The closing-side quote at which the trailing stop of ``p`` moves next."""
    step = p.trail_step if p.trail_step > 0 else 1
    if p.side == BUY:
        if p.trail_kind == K_PPM:
            return p.trail_hwm + 1
        return p.trail_stop + p.trail_val + step
    if p.trail_kind == K_PPM:
        return p.trail_hwm - 1
    return p.trail_stop - p.trail_val - step


@njit(cache=True, nogil=True, _nrt=False)
def trail_move(p, q):
    """Follow quote ``q`` (past trail_next_q); True when the stop moved."""
    long = p.side == BUY
    d = distance(p.trail_kind, p.trail_val, q)
    cand = q - d if long else q + d
    moved = False
    if p.trail_state == 1:
        p.trail_state = 2
        p.trail_hwm = q
        p.trail_stop = cand
        moved = True
    else:
        if (long and q > p.trail_hwm) or (not long and q < p.trail_hwm):
            p.trail_hwm = q
        step = p.trail_step if p.trail_step > 0 else 1
        if (long and cand >= p.trail_stop + step) or (not long and cand <= p.trail_stop - step):
            p.trail_stop = cand
            moved = True
    p.trail_next_q = _next_q(p)
    return moved


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def set_stops(book, prm, slot, sl, tp, trail_kind, trail_val, trail_act, trail_step, entry):
    """Give the position in ``slot`` these stops (trail_kind K_NONE keeps the trailing
    stop, K_REMOVE removes it) and put it where its triggers are watched."""
    p = book.pos[slot]
    r = book.syms[p.symbol]
    p.sl_ticks = sl
    p.tp_ticks = tp
    removed = False
    if trail_kind == K_REMOVE or (trail_kind != K_NONE and p.trail_kind != 0):
        if p.trail_kind != 0:
            _trail_unlink(book, r, slot)
            removed = True
        p.trail_kind = 0
        p.trail_state = 0
        p.trail_stop = 0
    if trail_kind in (K_TICKS, K_PPM):
        p.trail_kind = trail_kind
        p.trail_val = trail_val
        p.trail_act = trail_act
        p.trail_step = trail_step
        long = p.side == BUY
        q = r.bid if long else r.ask
        p.trail_state = 1
        p.trail_next_q = entry + trail_act if long else entry - trail_act
        if trail_act == 0 or (long and q >= p.trail_next_q) or (not long and q <= p.trail_next_q):
            trail_move(p, q)  # active at once: from the current quote
        _trail_link(book, r, slot)
        if long:
            r.trail_bid = min(r.trail_bid, p.trail_next_q)
        else:
            r.trail_ask = max(r.trail_ask, p.trail_next_q)
    if removed:
        _trail_bounds(book, r)
    _reheap(book, slot)
    refresh(book, prm, p.symbol)


@njit(cache=True, nogil=True, _nrt=False)
def drop_stops(book, prm, slot):
    """Take a closing position out of every heap and list."""
    p = book.pos[slot]
    r = book.syms[p.symbol]
    if p.trail_kind != 0:
        _trail_unlink(book, r, slot)
        p.trail_kind = 0
        p.trail_state = 0
        if p.trail_next_q == (r.trail_bid if p.side == BUY else r.trail_ask):
            _trail_bounds(book, r)
    N = book.ints
    a = book.acct[0]
    sb, tb = a.psl_at, a.ptp_at
    if p.side == BUY:
        if in_heap(N, sb, slot):
            r.h_long_sl = remove(N, sb, r.h_long_sl, slot)
        if in_heap(N, tb, slot):
            r.h_long_tp = remove(N, tb, r.h_long_tp, slot)
    else:
        if in_heap(N, sb, slot):
            r.h_short_sl = remove(N, sb, r.h_short_sl, slot)
        if in_heap(N, tb, slot):
            r.h_short_tp = remove(N, tb, r.h_short_tp, slot)
    refresh(book, prm, p.symbol)


@njit(cache=True, nogil=True, _nrt=False)
def _trail_one(book, logs, prm, x, q, t):
    p = book.pos[x]
    before = effective_trail(p)
    if trail_move(p, q):
        _reheap(book, x)
        log_position_event(logs, book.acct[0], prm, t, EV_TRAILED, R_TRAILING, p, -1, p.qty_steps, q,
                           before, p.trail_stop)


@njit(cache=True, nogil=True, _nrt=False)
def trail_pass(book, logs, prm, s, t):
    """Move the trailing stops of symbol ``s`` that the current quote has passed
    (one ``trailed`` event per move; the caller made room for one per open position)."""
    r = book.syms[s]
    pos = book.pos
    if r.bid >= r.trail_bid:
        x = r.trail_long
        while x >= 0:
            if r.bid >= pos[x].trail_next_q:
                _trail_one(book, logs, prm, x, r.bid, t)
            x = pos[x].trail_next
    if r.ask <= r.trail_ask:
        x = r.trail_short
        while x >= 0:
            if r.ask <= pos[x].trail_next_q:
                _trail_one(book, logs, prm, x, r.ask, t)
            x = pos[x].trail_next
    _trail_bounds(book, r)
    refresh(book, prm, s)
