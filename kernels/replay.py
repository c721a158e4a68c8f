"""Replayed fills (docs/fills.md): an account's executions booked as they happened.

A replayed fill is an order of type OT_FILL. It acts at the first tick (of any
symbol) with ts >= its act_ts (= its ts: the fill has happened, nothing waits
for a later tick), skips the pre-trade checks and joins its symbol's working
queue; on the first tick of its own symbol from then on it is booked at its own
price (``price_ticks``) with its own fee (``size_val``, minor units), through
the same position code as a simulated fill (positions.book_fill).

The position it acts on: netting, the symbol's position; hedging, the position
its ``ref`` names (the internal index of the fill that opened it), or a new
one when ``ref`` is -1. The input side resolves ``ref`` and refuses a fill
that would close more than that position holds.
"""

from .breaker import reject
from .fx import rate_missing, set_rate
from .jit import njit
from .positions import book_fill, slot_of
from .records import MODE_NETTING, OS_FILLED, R_NO_QUOTE, R_NOT_WORKING, R_SIGNAL


@njit(cache=True, nogil=True, _nrt=False)
def replay_fill(book, logs, inst, prm, k, t):
    """Book replayed fill ``k`` on the tick at ``t`` of its symbol. Needs
    matching.ready() == ST_DONE. Always finishes the order: filled, or rejected
    (``no_quote``: a conversion leg of its symbol has had no quote; ``not_working``: the
    position it names is no longer open), which the driver refuses at the end."""
    o = book.orders[k]
    s = o.symbol
    ins = inst[s]
    r = book.syms[s]
    acct = book.acct[0]
    if prm.account_mode == MODE_NETTING:
        slot = r.net_slot
    elif o.ref >= 0:
        slot = slot_of(book, o.ref)
        if slot < 0:  # the position it names is no longer open
            reject(book, logs, prm, o, R_NOT_WORKING, t)
            return
    else:
        slot = -1
    set_rate(book.syms, ins, r)  # a flat symbol's rate (its marking rational) is set when it is needed
    if ins.fx_a > 0 and rate_missing(r, ins):  # a conversion leg has had no quote: P&L cannot be valued
        reject(book, logs, prm, o, R_NO_QUOTE, t)
        return
    comm = o.size_val
    c_before = acct.commission_minor
    n_before = acct.n_fills
    book_fill(book, logs, ins, prm, k, s, o.side, o.qty_steps, o.price_ticks, t, R_SIGNAL, comm, slot)
    o.status = OS_FILLED
    o.filled_steps += o.qty_steps
    o.fill_value += o.price_ticks * o.qty_steps
    o.fill_ts = t
    o.commission_minor += acct.commission_minor - c_before
    o.reason = R_SIGNAL if acct.n_fills > n_before else o.reason
