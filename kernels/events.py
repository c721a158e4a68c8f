"""The lifecycle log: one EVENT row per thing that happens (docs/risk.md §5).

Rows are written only at log level ``events`` and above. A step that may
write rows first asks ``ev_room`` for the most it can write; when the buffer
cannot hold them the step does nothing, ``acct.event_need`` says how many rows
it needs, and the caller flushes (or grows) the buffer and runs it again.
"""

from .jit import njit
from .records import EV_REJECTED, LOG_EVENTS, SEV_INFO, SEVERITY


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def ev_room(logs, acct, prm, n):
    """True when ``n`` more event rows fit (always at log levels below events)."""
    if prm.log_level < LOG_EVENTS:
        return True
    if acct.n_event_rows + n <= logs.events.shape[0]:
        return True
    acct.event_need = n
    return False


@njit(cache=True, nogil=True, _nrt=False)
def log_event(logs, acct, prm, ts, ev, reason, sym, side, pid, oid, parent, qty, price, before, after):
    """One event row, severity by its reason (enums.SEVERITY)."""
    _write(logs, acct, prm, ts, ev, reason, SEVERITY[reason], sym, side, pid, oid, parent, qty, price, before,
           after)


@njit(cache=True, nogil=True, _nrt=False)
def _write(logs, acct, prm, ts, ev, reason, sev, sym, side, pid, oid, parent, qty, price, before, after):
    if prm.log_level < LOG_EVENTS:
        return
    e = logs.events[acct.n_event_rows]
    e.ts = ts
    e.event = ev
    e.reason = reason
    e.severity = sev
    e.symbol = sym
    e.side = side
    e.position_id = pid
    e.order_id = oid
    e.parent_id = parent
    e.qty_steps = qty
    e.price_ticks = price
    e.before = before
    e.after = after
    acct.n_event_rows += 1


@njit(cache=True, nogil=True, _nrt=False)
def log_position_event(logs, acct, prm, ts, ev, reason, p, oid, qty, price, before, after):
    """An event of position record ``p``: severity info, whatever the fill's reason."""
    _write(logs, acct, prm, ts, ev, reason, SEV_INFO, p.symbol, p.side, p.position_id, oid, p.parent_id,
           qty, price, before, after)


@njit(cache=True, nogil=True, _nrt=False)
def log_rejected(logs, acct, prm, o, reason, t):
    """The ``rejected`` event of order record ``o`` (its price, else its stop)."""
    log_event(logs, acct, prm, t, EV_REJECTED, reason, o.symbol, o.side, -1, o.order_id, o.parent_id,
              o.qty_steps, o.price_ticks if o.price_ticks > 0 else o.stop_ticks, 0, 0)
