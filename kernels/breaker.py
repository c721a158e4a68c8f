"""Rejections, trade statistics and the circuit breaker (docs/risk.md §2, §3).

Every rejection of an order goes through ``reject``: status, reason, the
``rejected`` event and the rejection streak. Every trade (a position closed in
full) goes through ``trade_closed``: the win/loss statistics Kelly sizing reads
and the losing streak. Either streak reaching its limit trips the breaker.
"""

from .events import log_event, log_rejected
from .jit import njit
from .records import (
    EV_BREAKER_RESET,
    EV_BREAKER_TRIPPED,
    OS_REJECTED,
    R_BREAKER,
    R_LOSS_STREAK,
    R_NONE,
    R_REJECT_STREAK,
)


@njit(cache=True, nogil=True, _nrt=False)
def trip(logs, acct, prm, t, reason, count):
    """Trip the breaker at ``t``: entries refused until t + cooldown; one event (1 row)."""
    acct.breaker_until = t + prm.breaker_cooldown_ns
    acct.loss_streak = 0
    acct.reject_streak = 0
    acct.n_breaker_trips += 1
    log_event(logs, acct, prm, t, EV_BREAKER_TRIPPED, reason, -1, 0, -1, -1, -1, 0, 0, count, acct.breaker_until)


@njit(cache=True, nogil=True, _nrt=False)
def reset_due(logs, acct, prm, t):
    """The cooldown is over at the first tick at or after its end: one event (1 row)."""
    if acct.breaker_until > 0 and t >= acct.breaker_until:
        log_event(logs, acct, prm, t, EV_BREAKER_RESET, R_NONE, -1, 0, -1, -1, -1, 0, 0,
                  acct.breaker_until, t)
        acct.breaker_until = 0


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def tripped(acct, t):
    return acct.breaker_until > 0 and t < acct.breaker_until


@njit(cache=True, nogil=True, _nrt=False)
def reject(book, logs, prm, o, reason, t):
    """Order record ``o`` is rejected at ``t`` (up to 2 event rows)."""
    acct = book.acct[0]
    o.status = OS_REJECTED
    o.reason = reason
    acct.n_rejected += 1
    log_rejected(logs, acct, prm, o, reason, t)
    if reason != R_BREAKER:
        acct.reject_streak += 1
        if prm.breaker_rejects > 0 and acct.reject_streak >= prm.breaker_rejects:
            trip(logs, acct, prm, t, R_REJECT_STREAK, acct.reject_streak)


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def passed(acct):
    """An order passed the pre-trade checks: the rejection streak ends."""
    acct.reject_streak = 0


@njit(cache=True, nogil=True, _nrt=False)
def trade_closed(logs, acct, prm, p, t):
    """Position record ``p`` has just closed in full at ``t`` (up to 1 event row)."""
    net = p.realized_pnl_minor - p.commission_minor - p.swap_minor
    if net > 0:
        acct.n_wins += 1
        acct.sum_win_minor += net
        acct.loss_streak = 0
    elif net < 0:
        acct.n_losses += 1
        acct.sum_loss_minor -= net
        acct.loss_streak += 1
        if prm.breaker_losses > 0 and acct.loss_streak >= prm.breaker_losses:
            trip(logs, acct, prm, t, R_LOSS_STREAK, acct.loss_streak)
    else:
        acct.loss_streak = 0
