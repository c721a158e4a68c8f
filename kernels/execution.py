"""Execution models: at what price a fill happens (docs/execution.md §5).

A buy pays the ask plus slippage, a sell gets the bid minus slippage (never
below one tick). Stop-type orders fill at their stop price under the perfect
model, else at the quote with slippage; limit-type orders at the limit price
(perfect) or the limit price or better (realistic, worst case), and under the
worst case only once the quote is through the limit by a tick.
"""

import numpy as np

from .jit import njit
from .records import BUY, EX_PERFECT, EX_REALISTIC, EX_WORST, SLIP_FIXED, SLIP_NONE, SLIP_SIZE, SLIP_SPREAD
from .rounding import mul_div_round

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, _nrt=False)
def splitmix64(x):
    z = np.uint64(x) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def slippage(prm, r, side, qty, n_fill):
    """Slippage in ticks (>= 0) for a fill of ``qty`` steps; 0 under perfect."""
    if prm.exec_model == EX_PERFECT or prm.slip_kind == SLIP_NONE:
        return 0
    s = 0
    if prm.slip_kind == SLIP_FIXED:
        s = prm.slip_ticks
    elif prm.slip_kind == SLIP_SPREAD:
        s = mul_div_round(r.ask - r.bid, prm.slip_num, prm.slip_den)
    elif prm.slip_kind == SLIP_SIZE:
        size = r.ask_size if side == BUY else r.bid_size
        s = mul_div_round(prm.slip_ticks, qty, size) if size > 0 else prm.slip_ticks
    if s <= 0:
        return 0
    if prm.exec_model == EX_REALISTIC and prm.slip_random != 0:
        u = splitmix64(np.uint64(prm.seed) + np.uint64(n_fill) * _GOLDEN)
        return np.int64(u % np.uint64(s + 1))
    return s


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def quote(side, r):
    return r.ask if side == BUY else r.bid


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _slipped(side, q, s):
    if side == BUY:
        return q + s
    p = q - s
    return p if p > 0 else 1


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def market_price(prm, r, side, qty, n_fill):
    """Market, close, target and end-of-data fills."""
    return _slipped(side, quote(side, r), slippage(prm, r, side, qty, n_fill))


@njit(cache=True, nogil=True, _nrt=False)
def stop_fill_price(prm, r, side, stop, qty, n_fill):
    """Stop-type fills (stop-loss, trailing, stop entries) once triggered."""
    if prm.exec_model == EX_PERFECT:
        return stop
    return _slipped(side, quote(side, r), slippage(prm, r, side, qty, n_fill))


@njit(cache=True, nogil=True, _nrt=False)
def limit_fill_price(prm, r, side, price):
    """Limit-type fills (take-profit, limit entries) once triggered."""
    if prm.exec_model == EX_PERFECT:
        return price
    q = quote(side, r)
    if side == BUY:
        return q if q < price else price
    return q if q > price else price


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def through(prm):
    """Ticks a limit-type order needs the quote beyond its price: 1 in the worst case."""
    return 1 if prm.exec_model == EX_WORST else 0


@njit(cache=True, nogil=True, _nrt=False)
def limit_hit(prm, side, price, r):
    """Buy limit: ask <= price (- 1); sell limit: bid >= price (+ 1)."""
    w = through(prm)
    if side == BUY:
        return r.ask <= price - w
    return r.bid >= price + w


@njit(cache=True, nogil=True, _nrt=False)
def stop_hit(side, stop, r):
    """Buy stop: ask >= stop; sell stop: bid <= stop."""
    if side == BUY:
        return r.ask >= stop
    return r.bid <= stop
