"""Position sizing of a new order when it acts (docs/risk.md §2).

Every rule ends in F(money x value_den / (price x value_num)) lot steps:
always rounded down. ``size`` returns the quantity in steps, or a negative
rejection reason.
"""

import numpy as np

from .fx import steps_floor
from .jit import njit
from .records import R_NO_QUOTE, R_NO_STOP, SZ_EQUITY_PCT, SZ_KELLY, SZ_NOTIONAL, SZ_QTY, SZ_RISK_PCT
from .rounding import PPM, mul_div_round
from .stops import resolve


@njit(cache=True, nogil=True, _nrt=False)
def kelly_ppm(acct, prm):
    """f_ppm = F(10^6 x clip(fraction x (W - (1 - W) / R), 0, cap)), in float64 in this order."""
    nw = acct.n_wins
    nl = acct.n_losses
    n = nw + nl
    w = nw / n
    if nw == 0:
        f = 0.0
    elif nl == 0 or acct.sum_loss_minor == 0:
        f = w
    else:
        ratio = (acct.sum_win_minor / nw) / (acct.sum_loss_minor / nl)
        f = w - (1.0 - w) / ratio
    f = prm.kelly_fraction * f
    if f < 0.0:
        f = 0.0
    if f > prm.kelly_cap:
        f = prm.kelly_cap
    return np.int64(np.floor(f * 1e6))


@njit(cache=True, nogil=True, _nrt=False)
def steps_for(money, price, ins, r):
    """F(money / (V x price)) lot steps, at the live rate of symbol record ``r``; 0 for
    no money or no price."""
    if money <= 0 or price <= 0:
        return 0
    return steps_floor(money, price, ins.value_num, ins.value_den, r)


@njit(cache=True, nogil=True, _nrt=False)
def size(acct, prm, ins, r, o, price, eq):
    """Steps for order record ``o`` at reference price ``price`` (0 = no quote) and
    equity ``eq``, or -reason."""
    kind = o.sizing
    if kind == SZ_QTY:
        return o.qty_steps
    if kind == SZ_KELLY and acct.n_wins + acct.n_losses < prm.kelly_min_trades:
        return o.qty_steps
    if price <= 0:
        return -R_NO_QUOTE
    if kind == SZ_NOTIONAL:
        return steps_for(o.size_val, price, ins, r)
    if kind == SZ_EQUITY_PCT:
        return steps_for(mul_div_round(eq, o.size_val, PPM), price, ins, r)
    if kind == SZ_RISK_PCT:
        sl = resolve(o.sl_kind, o.sl_val, o.side, price, True, 0)
        if sl <= 0:
            return -R_NO_STOP
        d = price - sl if price > sl else sl - price
        return steps_for(mul_div_round(eq, o.size_val, PPM), d, ins, r)
    return steps_for(mul_div_round(eq, kelly_ppm(acct, prm), PPM), price, ins, r)
