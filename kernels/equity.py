"""Marking to market: unrealized P&L per symbol, equity, peak and drawdown."""

from numba import njit

from .rounding import mul_div_round_fast


@njit(cache=True, nogil=True, inline="always")
def symbol_unrealized(r, ins):
    """R(V x (bid*Q_long - C_long + C_short - ask*Q_short)) in minor units."""
    u = r.bid * r.long_steps - r.long_cost + r.short_cost - r.ask * r.short_steps
    return mul_div_round_fast(u, ins.value_num, ins.value_den, ins.value_inv, ins.value_lim)


@njit(cache=True, nogil=True, inline="always")
def drawdown_step(eq, peak, max_dd, max_frac):
    """Peak, largest drawdown and largest drawdown fraction after equity ``eq``."""
    if eq > peak:
        peak = eq
    dd = peak - eq
    if dd > 0:
        if dd > max_dd:
            max_dd = dd
        if peak > 0 and dd > max_frac * peak:
            max_frac = max(max_frac, dd / peak)
    return peak, max_dd, max_frac


@njit(cache=True, nogil=True)
def mark(acct, r, ins):
    """Re-mark one symbol and the account after its quote or position changed."""
    m = symbol_unrealized(r, ins)
    acct.unrealized_minor += m - r.unrealized_minor
    r.unrealized_minor = m
    eq = acct.cash_minor + acct.unrealized_minor
    acct.equity_minor = eq
    acct.peak_minor, acct.max_drawdown_minor, acct.max_drawdown_frac = drawdown_step(
        eq, acct.peak_minor, acct.max_drawdown_minor, acct.max_drawdown_frac
    )
