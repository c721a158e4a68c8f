"""The position table: a position changes only by applying a fill.

Positions live in slots of ``book.pos``; free slots are a stack in
``book.free``; ``book.slot_of_id`` maps a position id to its slot in O(1).
Per-symbol, per-side aggregates (steps and cost) in ``book.syms`` make marking
O(1) per tick. Cash moves only here (docs/architecture.md §2, ledger).
"""

from numba import njit

from .costs import commission, split_pro_rata
from .logbuf import log_closed, log_fill
from .records import BUY, E_CLOSE, E_INCREASE, E_OPEN, E_REDUCE, LOG_TRADES, MODE_NETTING
from .rounding import mul_div_round


@njit(cache=True, nogil=True)
def has_capacity(book):
    """Room for one more position (a slot and an id)."""
    acct = book.acct[0]
    return acct.n_free > 0 and acct.n_positions < book.slot_of_id.shape[0]


@njit(cache=True, nogil=True)
def _aggregate(r, side, dsteps, dcost):
    if side == BUY:
        r.long_steps += dsteps
        r.long_cost += dcost
    else:
        r.short_steps += dsteps
        r.short_cost += dcost


@njit(cache=True, nogil=True)
def _book_cash(acct, pnl, comm):
    acct.cash_minor += pnl - comm
    acct.realized_minor += pnl
    acct.commission_minor += comm
    acct.n_fills += 1


@njit(cache=True, nogil=True)
def open_position(book, sym, side, ts, order_id, parent_id):
    """Take a free slot for a new, empty position; returns the slot."""
    acct = book.acct[0]
    acct.n_free -= 1
    slot = book.free[acct.n_free]
    pid = acct.n_positions
    acct.n_positions += 1
    book.slot_of_id[pid] = slot
    p = book.pos[slot]
    p.position_id = pid
    p.parent_id = parent_id
    p.symbol = sym
    p.side = side
    p.is_open = 1
    p.exit_reason = 0
    p.qty_steps = 0
    p.max_qty_steps = 0
    p.cost = 0
    p.entry_value = 0
    p.entry_steps = 0
    p.exit_value = 0
    p.exit_steps = 0
    p.open_ts = ts
    p.close_ts = 0
    p.open_order_id = order_id
    p.close_order_id = -1
    p.realized_pnl_minor = 0
    p.commission_minor = 0
    p.swap_minor = 0
    p.unrealized_pnl_minor = 0
    p.mae_ticks = 0
    p.mfe_ticks = 0
    p.n_fills = 0
    acct.n_open += 1
    return slot


@njit(cache=True, nogil=True)
def increase(book, slot, qty, price, comm):
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
    _aggregate(book.syms[p.symbol], p.side, qty, v)
    _book_cash(book.acct[0], 0, comm)


@njit(cache=True, nogil=True)
def reduce(book, ins, slot, qty, price, ts, order_id, comm, reason):
    """Exit fill of ``qty`` <= open qty; returns realized P&L in minor units.

    Removed cost: all of it on a full close, else R(cost x qty / open qty).
    """
    p = book.pos[slot]
    q_open = p.qty_steps
    removed = p.cost if qty == q_open else mul_div_round(p.cost, qty, q_open)
    v = price * qty
    u = v - removed if p.side == BUY else removed - v
    pnl = mul_div_round(u, ins.value_num, ins.value_den)
    p.qty_steps -= qty
    p.cost -= removed
    p.exit_value += v
    p.exit_steps += qty
    p.realized_pnl_minor += pnl
    p.commission_minor += comm
    p.n_fills += 1
    _aggregate(book.syms[p.symbol], p.side, -qty, -removed)
    _book_cash(book.acct[0], pnl, comm)
    if p.qty_steps == 0:
        p.is_open = 0
        p.close_ts = ts
        p.close_order_id = order_id
        p.exit_reason = reason
    return pnl


@njit(cache=True, nogil=True)
def release(book, logs, params, slot):
    """Free the slot of a closed position, logging it first."""
    acct = book.acct[0]
    p = book.pos[slot]
    if params.log_level >= LOG_TRADES:
        log_closed(logs, acct, book.pos, slot)
    book.slot_of_id[p.position_id] = -1
    book.free[acct.n_free] = slot
    acct.n_free += 1
    acct.n_open -= 1
    sym = p.symbol
    r = book.syms[sym]
    if r.net_slot == slot:
        r.net_slot = -1


@njit(cache=True, nogil=True)
def _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, pnl):
    acct = book.acct[0]
    acct_fill_id = acct.n_fills - 1
    if params.log_level >= LOG_TRADES:
        p = book.pos[slot]
        log_fill(
            logs, acct, acct_fill_id, order_id, p.position_id, ts, p.symbol, side,
            effect, reason, qty, price, comm, pnl,
        )


@njit(cache=True, nogil=True)
def close_slot(book, logs, ins, params, slot, qty, price, ts, order_id, comm, reason):
    """Exit fill on a given slot, logged; frees the slot when fully closed."""
    p = book.pos[slot]
    side = -p.side
    pnl = reduce(book, ins, slot, qty, price, ts, order_id, comm, reason)
    effect = E_CLOSE if p.is_open == 0 else E_REDUCE
    _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, pnl)
    if p.is_open == 0:
        release(book, logs, params, slot)
    return pnl


@njit(cache=True, nogil=True)
def apply_fill(book, logs, ins, params, order_id, sym, side, qty, price, ts, reason):
    """Apply one order's fill of ``qty`` steps at ``price`` ticks (netting).

    Needs has_capacity(book) and room for two fill rows and one closed row.
    Returns the id of the position the fill leaves open (or last touched).
    """
    comm = commission(ins, price, qty)
    r = book.syms[sym]
    slot = r.net_slot if params.account_mode == MODE_NETTING else -1
    if slot >= 0 and book.pos[slot].side != side:
        q_open = book.pos[slot].qty_steps
        pid = book.pos[slot].position_id
        if qty <= q_open:
            close_slot(book, logs, ins, params, slot, qty, price, ts, order_id, comm, reason)
            return pid
        # reversal: close all, open the rest; commission pro rata
        c_close = split_pro_rata(comm, q_open, qty)
        close_slot(book, logs, ins, params, slot, q_open, price, ts, order_id, c_close, reason)
        comm -= c_close
        qty -= q_open
        slot = -1
    effect = E_INCREASE
    if slot < 0:
        slot = open_position(book, sym, side, ts, order_id, -1)
        if params.account_mode == MODE_NETTING:
            r.net_slot = slot
        effect = E_OPEN
    increase(book, slot, qty, price, comm)
    _fill_row(book, logs, params, order_id, slot, ts, side, effect, reason, qty, price, comm, 0)
    return book.pos[slot].position_id


@njit(cache=True, nogil=True)
def net_steps(book, sym):
    """Signed net position of a symbol in steps."""
    r = book.syms[sym]
    return r.long_steps - r.short_steps
