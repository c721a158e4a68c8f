"""Indicators as O(1) numba updates, for use inside ``@njit`` strategies (docs/bars.md §6).

Each indicator is a pair: ``X_state(n)`` allocates its state (a small float64 array)
and ``X_update(state, ...)`` adds one bar and returns the indicator's value after
it, NaN during the warm-up. The formulas are those of ``backtestr.indicators``
(Polars); fed the same bars, both give the same values. Inputs are finite floats.

State layouts (index: meaning) are private to each pair; the first slot holds n.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit
from numba.extending import overload

_NAN = np.nan
# state sizes: fixed slots + slots per bar of n
_SIZES = {"sma": (3, 1), "ema": (3, 0), "rsi": (5, 0), "atr": (4, 0), "rolling": (4, 2)}


@njit(cache=True, nogil=True)
def _new_state(n, fixed, per_n):
    if n < 1:
        raise ValueError("n: the number of bars must be a whole number >= 1")
    s = np.zeros(fixed + per_n * n, np.float64)
    s[0] = n
    return s


def _n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n: {n!r} is not a whole number of bars >= 1")
    return int(n)


def _state_fn(kind: str) -> Callable[[int], np.ndarray]:
    """A state allocator, in Python (n checked, named in errors) and inside @njit code."""
    fixed, per_n = _SIZES[kind]

    def state(n: int) -> np.ndarray:
        return _new_state(_n(n), fixed, per_n)

    state.__doc__ = f"A new {kind} state for ``n`` bars (callable in Python and inside @njit code)."

    @overload(state, jit_options={"cache": True})
    def _in_njit(n):  # type: ignore[no-untyped-def]
        return lambda n: _new_state(n, fixed, per_n)

    return state


# -- SMA: [n, count, sum, ring(n)] -------------------------------------------------------------

sma_state = _state_fn("sma")


@njit(cache=True, nogil=True)
def sma_update(state, x):
    """Mean of the last n values; NaN until n values."""
    n = int(state[0])
    k = int(state[1])
    slot = 3 + k % n
    if k >= n:
        state[2] -= state[slot]
    state[slot] = x
    state[2] += x
    state[1] = k + 1
    if k + 1 < n:
        return _NAN
    return state[2] / n


# -- EMA: [n, count, value] ---------------------------------------------------------------------

ema_state = _state_fn("ema")


@njit(cache=True, nogil=True)
def ema_update(state, x):
    """ema_0 = x_0, ema_t = (1 - a) ema_{t-1} + a x_t with a = 2 / (n + 1); NaN until n values."""
    n = state[0]
    k = int(state[1])
    if k == 0:
        state[2] = x
    else:
        a = 2.0 / (n + 1.0)
        state[2] = (1.0 - a) * state[2] + a * x
    state[1] = k + 1
    if k + 1 < n:
        return _NAN
    return state[2]


# -- RSI: [n, count, previous x, avg gain, avg loss] --------------------------------------------

rsi_state = _state_fn("rsi")


@njit(cache=True, nogil=True)
def rsi_update(state, x):
    """Wilder's RSI (0..100, 50 when gains and losses are both 0); NaN for the first n values."""
    n = state[0]
    k = int(state[1])
    state[1] = k + 1
    if k == 0:
        state[2] = x
        return _NAN
    d = x - state[2]
    state[2] = x
    g = d if d > 0.0 else 0.0
    lo = -d if d < 0.0 else 0.0
    if k <= n:  # the first n gains and losses (rows 1..n) are averaged
        state[3] += g
        state[4] += lo
        if k < n:
            return _NAN
        state[3] /= n
        state[4] /= n
    else:
        a = 1.0 / n
        state[3] = (1.0 - a) * state[3] + a * g
        state[4] = (1.0 - a) * state[4] + a * lo
    tot = state[3] + state[4]
    if tot == 0.0:
        return 50.0
    return 100.0 * state[3] / tot


# -- ATR: [n, count, previous close, atr] ------------------------------------------------------

atr_state = _state_fn("atr")


@njit(cache=True, nogil=True)
def atr_update(state, high, low, close):
    """Wilder's ATR over true ranges (the first bar's is high - low); NaN until n bars."""
    n = state[0]
    k = int(state[1])
    tr = high - low
    if k > 0:
        c = state[2]
        tr = max(tr, abs(high - c), abs(low - c))
    state[2] = close
    state[1] = k + 1
    if k < n:
        state[3] += tr
        if k < n - 1:
            return _NAN
        state[3] /= n
    else:
        a = 1.0 / n
        state[3] = (1.0 - a) * state[3] + a * tr
    return state[3]


# -- rolling high / low: [n, count, head, size, values(n), indices(n)], a monotonic deque ------

rolling_high_state = _state_fn("rolling")
rolling_low_state = _state_fn("rolling")


@njit(cache=True, nogil=True)
def _rolling(state, x, sign):
    """Extreme of the last n values of sign * x (times sign); amortised O(1)."""
    n = int(state[0])
    i = int(state[1])
    head = int(state[2])
    size = int(state[3])
    v = sign * x
    if size > 0 and state[4 + n + head] <= i - n:  # the front left the window
        head = (head + 1) % n
        size -= 1
    while size > 0 and state[4 + (head + size - 1) % n] <= v:  # dominated by the new value
        size -= 1
    slot = (head + size) % n
    state[4 + slot] = v
    state[4 + n + slot] = i
    size += 1
    state[1] = i + 1
    state[2] = head
    state[3] = size
    if i + 1 < n:
        return _NAN
    return sign * state[4 + head]


@njit(cache=True, nogil=True)
def rolling_high_update(state, x):
    """The highest of the last n values; NaN until n values."""
    return _rolling(state, x, 1.0)


@njit(cache=True, nogil=True)
def rolling_low_update(state, x):
    """The lowest of the last n values; NaN until n values."""
    return _rolling(state, x, -1.0)


__all__ = ["atr_state", "atr_update", "ema_state", "ema_update", "rolling_high_state", "rolling_high_update",
           "rolling_low_state", "rolling_low_update", "rsi_state", "rsi_update", "sma_state", "sma_update"]
