"""The position table: a position changes only by applying a fill.

Positions live in slots of ``book.pos``; free slots are a stack in the free
region of ``book.ints``; its slot region maps the internal index of the order
that opened a position (its id) to its slot in O(1). Each symbol keeps its open
positions per side in a doubly linked list, oldest first, and per-side
aggregates (steps and cost) that make marking O(1) per tick. Cash moves only
here and in carry.py (docs/architecture.md §2, ledger).
"""

from .breaker import trade_closed
from .costs import commission, split_pro_rata
from .events import log_position_event
from .excursion import cut, finish, stack_room
from .execution import market_price
from .fx import money, set_rate
from .jit import njit
from .logbuf import log_closed, log_fill
from .margin import update as margin_update
from .records import (
    BUY,
    E_CLOSE,
    E_INCREASE,
    E_OPEN,
    E_REDUCE,
    EV_CLOSED,
    EV_INCREASED,
    EV_OPENED,
    EV_PARTIAL,
    LOG_TRADES,
    MODE_NETTING,
    ST_DONE,
    ST_POSITIONS_FULL,
    ST_STACK_FULL,
)
from .rounding import mul_div_round
from .stops import drop_stops


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def slot_of(book, k):
    """Slot of the open position order ``k`` opened, -1 when none."""
    return book.ints[book.acct[0].slot_at + k]


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def capacity(book, s):
    """ST_DONE when one more position of symbol ``s`` can open, else what to grow."""
    if book.acct[0].n_free <= 0:
        return ST_POSITIONS_FULL
    if not stack_room(book, s):
        return ST_STACK_FULL
    return ST_DONE


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _aggregate(acct, ins, prm, r, side, dsteps, dcost):
    if side == BUY:
        r.long_steps += dsteps
        r.long_cost += dcost
    else:
        r.short_steps += dsteps
        r.short_cost += dcost
    margin_update(acct, r, ins, prm)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _book_cash(acct, pnl, comm):
    acct.cash_minor += pnl - comm
    acct.realized_minor += pnl
    acct.commission_minor += comm
    acct.n_fills += 1


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _link(book, r, slot, side):
    pos = book.pos
    tail = r.long_tail if side == BUY else r.short_tail
    pos[slot].list_prev = tail
    pos[slot].list_next = -1
    if tail >= 0:
        pos[tail].list_next = slot
    elif side == BUY:
        r.long_head = slot
    else:
        r.short_head = slot
    if side == BUY:
        r.long_tail = slot
    else:
        r.short_tail = slot


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def _unlink(book, r, slot):
    pos = book.pos
    p = pos[slot]
    if p.list_prev >= 0:
        pos[p.list_prev].list_next = p.list_next
    elif p.side == BUY:
        r.long_head = p.list_next
    else:
        r.short_head = p.list_next
    if p.list_next >= 0:
        pos[p.list_next].list_prev = p.list_prev
    elif p.side == BUY:
        r.long_tail = p.list_prev
    else:
        r.short_tail = p.list_prev


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def open_position(book, sym, side, ts, k, parent_id):
    """Take a free slot for a new, empty position opened by order index ``k``."""
    acct = book.acct[0]
    r = book.syms[sym]
    cut(book, sym)
    acct.n_free -= 1
    slot = book.ints[acct.free_at + acct.n_free]
    book.pos[slot].open_seq = acct.n_positions
    acct.n_positions += 1
    book.ints[acct.slot_at + k] = slot
    p = book.pos[slot]
    p.position_id = book.orders[k].order_id
    p.parent_id = parent_id
    p.symbol = sym
    p.side = side
    p.is_open = 1
    p.exit_reason = 0
    p.trail_kind = 0
    p.trail_state = 0
    p.qty_steps = 0
    p.max_qty_steps = 0
    p.cost = 0
    p.entry_value = 0
    p.entry_steps = 0
    p.exit_value = 0
    p.exit_steps = 0
    p.open_ts = ts
    p.close_ts = 0
    p.open_order_id = book.orders[k].order_id
    p.close_order_id = -1
    p.realized_pnl_minor = 0
    p.commission_minor = 0
    p.swap_minor = 0
    p.unrealized_pnl_minor = 0
    p.sl_ticks = 0
    p.tp_ticks = 0
    p.trail_val = 0
    p.trail_act = 0
    p.trail_step = 0
    p.trail_stop = 0
    p.trail_hwm = 0
    p.trail_next_q = 0
    p.mae_ticks = 0
    p.mfe_ticks = 0
    p.mae_minor = 0
    p.mfe_minor = 0
    p.n_fills = 0
    p.open_k = k
    p.seg0 = r.seg
    p.trail_next = -1
    p.trail_prev = -1
    _link(book, r, slot, side)
    acct.n_open += 1
    r.n_open += 1
    return slot


@njit(cache=True, nogil=True, _nrt=False)
def increase(book, ins, prm, slot, qty, price, comm):
    """Entry fill on a position: exact cost grows by price x qty."""
    p = book.pos[slot]
    v = price * qty
    p.qty_steps += qty
    if p.qty_steps > p.max_qty_steps:
        p.max_qty_steps = p.qty_steps
    p.cost += v
    p.entry_value += v
    p.entry_steps += qty
    p.commission_minor += comm
    p.n_fills += 1
    _aggregate(book.acct[0], ins, prm, book.syms[p.symbol], p.side, qty, v)
    _book_cash(book.acct[0], 0, comm)


@njit(cache=True, nogil=True, _nrt=False)
def reduce(book, ins, prm, slot, qty, price, ts, order_id, comm, reason):
    """Exit fill of ``qty`` <= open qty; returns realized P&L in minor units.

    Removed cost: all of it on a full close, else R(cost x qty / open qty).
    """
    p = book.pos[slot]
    q_open = p.qty_steps
    removed = p.cost if qty == q_open else mul_div_round(p.cost, qty, q_open)
    v = price * qty
    u = v - removed if p.side == BUY else removed - v
    pnl = money(u, ins.value_num, ins.value_den, book.syms[p.symbol])
    p.qty_steps -= qty
    p.cost -= removed
    p.exit_value += v
    p.exit_steps += qty
    p.realized_pnl_minor += pnl
    p.commission_minor += comm
    p.n_fills += 1
    _aggregate(book.acct[0], ins, prm, book.syms[p.symbol], p.side, -qty, -removed)
    _book_cash(book.acct[0], pnl, comm)
    if p.qty_steps == 0:
        p.is_open = 0
        p.close_ts = ts
        p.close_order_id = order_id
        p.exit_reason = reason
    return pnl


@njit(cache=True, nogil=True, _nrt=False)
def release(book, logs, ins, params, slot):
    """Free the slot of a closed position: stops out of their heaps, logged."""
    acct = book.acct[0]
    p = book.pos[slot]
    sym = p.symbol
    r = book.syms[sym]
    drop_stops(book, params, slot)
    finish(book, ins, slot)
    trade_closed(logs, acct, params, p, p.close_ts)
    if params.log_level >= LOG_TRADES:
        log_closed(logs, acct, book.pos, slot)
    _unlink(book, r, slot)
    book.ints[acct.slot_at + p.open_k] = -1
    book.ints[acct.free_at + acct.n_free] = slot
    acct.n_free += 1
    acct.n_open -= 1
    r.n_open -= 1
    if r.net_slot == slot:
        r.net_slot = -1


@njit(cache=True, nogil=True, _nrt=False)
def _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, pnl):
    """The fill's row and its position event (open quantity before and after)."""
    acct = book.acct[0]
    if params.log_level >= LOG_TRADES:
        p = book.pos[slot]
        log_fill(
            logs, acct, acct.n_fills - 1, order_id, p.position_id, ts, p.symbol, side,
            effect, reason, qty, price, comm, pnl,
        )
        after = p.qty_steps
        if effect == E_OPEN:
            ev, before = EV_OPENED, after - qty
        elif effect == E_INCREASE:
            ev, before = EV_INCREASED, after - qty
        elif effect == E_REDUCE:
            ev, before = EV_PARTIAL, after + qty
        else:
            ev, before = EV_CLOSED, after + qty
        log_position_event(logs, acct, params, ts, ev, reason, p, order_id, qty, price, before, after)


@njit(cache=True, nogil=True, _nrt=False)
def close_slot(book, logs, ins, params, slot, qty, price, ts, order_id, comm, reason):
    """Exit fill on a given slot, logged; frees the slot when fully closed."""
    p = book.pos[slot]
    side = -p.side
    pnl = reduce(book, ins, params, slot, qty, price, ts, order_id, comm, reason)
    effect = E_CLOSE if p.is_open == 0 else E_REDUCE
    _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, pnl)
    if p.is_open == 0:
        release(book, logs, ins, params, slot)
    return pnl


@njit(cache=True, nogil=True, _nrt=False)
def close_at_market(book, logs, inst, prm, slot, qty, t, order_id, reason):
    """Close ``qty`` of the position in ``slot`` at the market (docs/execution.md §5): the
    closing side's quote with slippage, and commission; returns the fill price. For
    close orders, stop-outs and the end of the data."""
    p = book.pos[slot]
    s = p.symbol
    ins = inst[s]
    price = market_price(prm, book.syms[s], -p.side, qty, book.acct[0].n_fills)
    close_slot(book, logs, ins, prm, slot, qty, price, t, order_id, commission(ins, book.syms[s], price, qty), reason)
    return price


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def apply_fill(book, logs, ins, params, k, sym, side, qty, price, ts, reason):
    """Apply order ``k``'s fill of ``qty`` steps at ``price`` ticks.

    Netting: reduces, closes or reverses the symbol's position, or opens or
    increases it. Hedging: opens a new position. Needs capacity() == ST_DONE and
    room for two fill rows and one closed row. Returns the slot the fill leaves
    open or increased (-1 when it only reduced or closed).
    """
    r = book.syms[sym]
    set_rate(book.syms, ins, r)  # a flat symbol's rate is not kept up to date (margin.remark)
    slot = r.net_slot if params.account_mode == MODE_NETTING else -1
    return book_fill(book, logs, ins, params, k, sym, side, qty, price, ts, reason, commission(ins, r, price, qty),
                     slot)


@njit(cache=True, nogil=True, _nrt=False)
def book_fill(book, logs, ins, params, k, sym, side, qty, price, ts, reason, comm, slot):
    """Book order ``k``'s fill with commission ``comm`` on the position in ``slot``
    (-1: a new one). An opposite-side fill reduces or closes it, or, beyond its
    quantity, reverses it (commission pro rata); a same-side fill increases it.
    The symbol's rate must be current (set_rate). Returns as apply_fill.
    """
    order_id = book.orders[k].order_id
    r = book.syms[sym]
    parent = -1
    if slot >= 0 and book.pos[slot].side != side:
        q_open = book.pos[slot].qty_steps
        if qty <= q_open:
            close_slot(book, logs, ins, params, slot, qty, price, ts, order_id, comm, reason)
            book.orders[k].position_id = book.pos[slot].position_id
            return -1
        # reversal: close all, open the rest; commission pro rata
        parent = book.pos[slot].position_id
        c_close = split_pro_rata(comm, q_open, qty)
        close_slot(book, logs, ins, params, slot, q_open, price, ts, order_id, c_close, reason)
        comm -= c_close
        qty -= q_open
        slot = -1
    effect = E_INCREASE
    if slot < 0:
        slot = open_position(book, sym, side, ts, k, parent)
        if params.account_mode == MODE_NETTING:
            r.net_slot = slot
        effect = E_OPEN
    increase(book, ins, params, slot, qty, price, comm)
    _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, 0)
    book.orders[k].position_id = book.pos[slot].position_id
    return slot


@njit(cache=True, nogil=True, _nrt=False)
def net_steps(book, sym):
    """Signed net position of a symbol in steps."""
    r = book.syms[sym]
    return r.long_steps - r.short_steps
