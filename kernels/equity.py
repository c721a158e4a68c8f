"""Marking to market: unrealized P&L per symbol, equity, peak and drawdown."""

import numpy as np

from .enums import NEVER
from .fx import mark_value
from .jit import njit


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def unrealized_at(r, ins, bid, ask):
    """R(V x (bid*Q_long - C_long + C_short - ask*Q_short)) in minor units, at the
    quote ``bid``/``ask`` (the tick loop passes the quote it holds in registers)."""
    u = bid * r.long_steps - r.long_cost + r.short_cost - ask * r.short_steps
    return mark_value(u, ins, r)  # at the live rate, if any (docs/currency.md)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def symbol_unrealized(r, ins):
    """Unrealized P&L of one symbol at its last quote."""
    return unrealized_at(r, ins, r.bid, r.ask)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def frac_threshold(max_frac, peak):
    """Largest drawdown that does not beat ``max_frac`` at this peak: floor(max_frac x peak)."""
    return np.int64(max_frac * peak) if peak > 0 else NEVER


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def drawdown_step(eq, peak, max_dd, max_frac, thr):
    """Peak, largest drawdown, largest drawdown fraction after equity ``eq``.

    ``thr`` = frac_threshold(max_frac, peak) keeps the fraction's float work
    off the per-tick path: dd / peak can only beat max_frac when dd > thr.
    """
    if eq > peak:
        peak = eq
        thr = frac_threshold(max_frac, peak)
    dd = peak - eq
    if dd > max_dd:
        max_dd = dd
    if dd > thr:
        max_frac = max(max_frac, dd / peak)
        thr = frac_threshold(max_frac, peak)
    return peak, max_dd, max_frac, thr


@njit(cache=True, nogil=True, _nrt=False)
def mark(acct, r, ins):
    """Re-mark one symbol and the account after its quote or position changed."""
    m = symbol_unrealized(r, ins)
    acct.unrealized_minor += m - r.unrealized_minor
    r.unrealized_minor = m
    eq = acct.cash_minor + acct.unrealized_minor
    acct.equity_minor = eq
    peak, max_dd, max_frac, _ = drawdown_step(
        eq, acct.peak_minor, acct.max_drawdown_minor, acct.max_drawdown_frac,
        frac_threshold(acct.max_drawdown_frac, acct.peak_minor),
    )
    acct.peak_minor = peak
    acct.max_drawdown_minor = max_dd
    acct.max_drawdown_frac = max_frac
