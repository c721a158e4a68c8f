"""Marking to market: unrealized P&L per symbol, equity, peak and drawdown."""

from numba import njit

from .rounding import mul_div_round


@njit(cache=True, nogil=True)
def symbol_unrealized(r, ins):
    """R(V x (bid*Q_long - C_long + C_short - ask*Q_short)) in minor units."""
    u = 0
    if r.long_steps != 0:
        u += r.bid * r.long_steps - r.long_cost
    if r.short_steps != 0:
        u += r.short_cost - r.ask * r.short_steps
    if u == 0:
        return 0
    return mul_div_round(u, ins.value_num, ins.value_den)


@njit(cache=True, nogil=True)
def mark(acct, r, ins):
    """Re-mark one symbol and the account after its quote or position changed."""
    m = symbol_unrealized(r, ins)
    acct.unrealized_minor += m - r.unrealized_minor
    r.unrealized_minor = m
    eq = acct.cash_minor + acct.unrealized_minor
    acct.equity_minor = eq
    if eq > acct.peak_minor:
        acct.peak_minor = eq
    dd = acct.peak_minor - eq
    if dd > 0:
        if dd > acct.max_drawdown_minor:
            acct.max_drawdown_minor = dd
        if acct.peak_minor > 0:
            f = dd / acct.peak_minor
            if f > acct.max_drawdown_frac:
                acct.max_drawdown_frac = f
