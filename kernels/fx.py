"""Conversion of quote-currency amounts into the account currency at the live rate
(docs/currency.md).

A symbol converted through the quotes of others (INSTRUMENT ``fx_a``, ``fx_b``)
has every rational of its INSTRUMENT record (tick value, commission fraction,
margin, swap, funding) built with the legs' constant factors folded in, so the
live rate the kernel multiplies by is a ratio of integers:

    rate = fx_num / fx_den,  the product of the legs' (bid + ask), a direct leg's
                             in fx_num, an inverted leg's in fx_den,

kept in the symbol's own SYMBOL record and refreshed at every quote of a leg.
An amount is then R(a x num x fx_num / (den x fx_den)): one rounding, by the
rule of kernels/rounding.py (exact through a 128-bit product when the float
path cannot be exact).
"""

import numpy as np
from numba import njit

from .rounding import _llrint, _mul_wide, mul3_div_round, mul_div_floor, mul_div_round

_EXACT = float(1 << 51)  # |a x num| below this: exact as an int64 and as a float64
_U1 = np.uint64(1)


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _recip(x):
    """1 / x for a float x > 0, without the zero check of Python's division semantics (which
    costs about 25 ns a call in the tick loop; measured with bench/bench_fx.py)."""
    return 1.0 / x


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def money(a, num, den, r):
    """R(a x num / den x rate) in minor units; rate = 1 when the symbol ``r`` has no
    live rate (quoted in the account currency, or a fixed rate folded into num / den)."""
    if r.fx_den == 0:
        return mul_div_round(a, num, den)
    n = num * r.fx_num
    d = den * r.fx_den
    x = np.float64(a) * np.float64(n)
    if (x < _EXACT) & (x > -_EXACT):
        v = a * n
        q = _llrint(np.float64(v) * _recip(np.float64(d)))  # nearest, or one off next to a half
        t = 2 * (v - q * d)
        odd = q & 1
        up = np.int64(t > d) | (np.int64(t == d) & odd)
        down = np.int64(t < -d) | (np.int64(t == -d) & odd)
        return q + up - down
    return mul3_div_round(a, num, r.fx_num, d)


@njit(cache=True, nogil=True, _nrt=False)
def _floor3(a, b, c, den):
    """F(a x b x c / den) for a, b, c >= 0 and den > 0, through a 128-bit product."""
    hi, lo = _mul_wide(np.uint64(a), np.uint64(b))
    h2, l2 = _mul_wide(lo, np.uint64(c))
    hi = hi * np.uint64(c) + h2
    d = np.uint64(den)
    q = np.uint64(0)
    r = hi % d
    for i in range(63, -1, -1):
        r = (r << _U1) | ((l2 >> np.uint64(i)) & _U1)
        q = q << _U1
        if r >= d:
            r -= d
            q |= _U1
    return np.int64(q)


@njit(cache=True, nogil=True, _nrt=False)
def steps_floor(money_minor, price, num, den, r):
    """F(money / (price x num / den x rate)): the lot steps ``money`` buys at ``price``."""
    if r.fx_den == 0:
        return mul_div_floor(money_minor, den, price * num)
    n = num * r.fx_num
    if np.float64(price) * np.float64(n) < 9.2e18:
        return _floor3(money_minor, den, r.fx_den, price * n)
    # price x n past 64 bits (two direct legs and a large price): F(F(x / n) / price) = F(x / (n x price))
    return _floor3(money_minor, den, r.fx_den, n) // price


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def rate_missing(r, ins):
    """The symbol converts at a live rate and a leg has not been quoted yet."""
    return (ins.fx_a > 0) & (r.fx_den == 0)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _leg(q, inv, num, den):
    """Fold a leg, the latest quote ``q`` of its symbol, into the rate ``num / den``: times its
    mid (bid + ask, half ticks), or divided by it when ``inv``; ``den`` 0 while it has no quote."""
    if q.bid <= 0:
        return num, np.int64(0)
    if inv == 1:
        return num, den * (q.bid + q.ask)
    return num * (q.bid + q.ask), den


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def rate_from(ins, qa, qb):
    """(num, den): the rate from the latest quotes ``qa``, ``qb`` of the symbol's legs (``qb``
    read only with a second leg); den = 0 while a leg has none."""
    num, den = _leg(qa, ins.fx_a_inv, np.int64(1), np.int64(1))
    if den != 0 and ins.fx_b > 0:
        num, den = _leg(qb, ins.fx_b_inv, num, den)
    return num, den


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def rate_of(syms, ins):
    """(num, den): the symbol's rate from its legs' latest quotes; den = 0 while a leg has none."""
    return rate_from(ins, syms[ins.fx_a - 1], syms[max(ins.fx_b, 1) - 1])


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _put_mark(r, num, den):
    r.mk_num = num
    r.mk_den = den
    r.mk_numf = np.float64(num)
    r.mk_inv = _recip(np.float64(den))


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def put_rate(ins, r, num, den):
    """Keep the rate ``num / den`` (den 0: none) in the symbol's record, with the marking's
    rational V x rate."""
    if den == 0:
        r.fx_den = 0
        return
    r.fx_num = num
    r.fx_den = den
    _put_mark(r, ins.value_num * num, ins.value_den * den)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def set_rate(syms, ins, r):
    """The symbol's rate from its legs' latest quotes (fx_den = 0 while a leg has none), or,
    without a live rate, its marking rational V: before a fill (kernels/positions.py)."""
    if ins.fx_a > 0:
        num, den = rate_of(syms, ins)
        put_rate(ins, r, num, den)
    elif r.mk_den == 0:
        _put_mark(r, ins.value_num, ins.value_den)


@njit(cache=True, nogil=True, _nrt=False)
def _mark_slow(u, ins, r):
    """``mark_value`` where |u x mk_num| is 2^51 or more: exact integer paths."""
    if r.fx_den == 0:
        return mul_div_round(u, ins.value_num, ins.value_den)
    return mul3_div_round(u, ins.value_num, r.fx_num, r.mk_den)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def mark_value(u, ins, r):
    """R(u x V x rate), R(u x V) without a live rate: the marking of every symbol, one code
    path whatever its conversion (a branch on it would be mispredicted on streams of
    interleaved symbols), from the rational and reciprocal kept in its record: no division
    on the tick path. 0 for u = 0 before the symbol's first fill (the record's zeros)."""
    x = np.float64(u) * r.mk_numf
    if (x < _EXACT) & (x > -_EXACT):
        d = r.mk_den
        v = u * r.mk_num
        q = _llrint(np.float64(v) * r.mk_inv)  # nearest, or one off next to a half
        t = 2 * (v - q * d)
        odd = q & 1
        up = np.int64(t > d) | (np.int64(t == d) & odd)
        down = np.int64(t < -d) | (np.int64(t == -d) & odd)
        return q + up - down
    return _mark_slow(u, ins, r)
