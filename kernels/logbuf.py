"""Appending rows to the preallocated record buffers of ``Logs``."""

from .jit import njit


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def room(logs, acct, fills, closed, equity):
    """True when the buffers have room for that many more rows of each kind."""
    return (
        acct.n_fill_rows + fills <= logs.fills.shape[0]
        and acct.n_closed_rows + closed <= logs.closed.shape[0]
        and acct.n_equity_rows + equity <= logs.equity.shape[0]
    )


@njit(cache=True, nogil=True, _nrt=False)
def log_fill(logs, acct, fill_id, order_id, position_id, ts, sym, side, effect, reason, qty, price, comm, pnl):
    r = logs.fills[acct.n_fill_rows]
    r.fill_id = fill_id
    r.order_id = order_id
    r.position_id = position_id
    r.ts = ts
    r.symbol = sym
    r.side = side
    r.effect = effect
    r.reason = reason
    r.qty_steps = qty
    r.price_ticks = price
    r.commission_minor = comm
    r.realized_pnl_minor = pnl
    r.cash_after_minor = acct.cash_minor
    acct.n_fill_rows += 1


@njit(cache=True, nogil=True, _nrt=False)
def log_closed(logs, acct, pos, slot):
    logs.closed[acct.n_closed_rows] = pos[slot]
    acct.n_closed_rows += 1


@njit(cache=True, nogil=True, _nrt=False)
def log_equity(logs, acct, ts, n_open):
    r = logs.equity[acct.n_equity_rows]
    r.ts = ts
    r.cash_minor = acct.cash_minor
    r.equity_minor = acct.equity_minor
    r.unrealized_minor = acct.unrealized_minor
    r.drawdown_minor = acct.peak_minor - acct.equity_minor
    r.open_positions = n_open
    acct.n_equity_rows += 1
