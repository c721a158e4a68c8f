"""The one rounding rule: exact rational to integer, ties to even.

Every money amount in the kernel is produced by one of these two functions
(docs/architecture.md §2). The Decimal oracle applies ``ROUND_HALF_EVEN``.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _half_even(q, r, d):
    """q + R(r / d) for 0 <= r < d, deciding a tie by the parity of q itself."""
    twice = 2 * r
    return q + (np.int64(twice > d) | (np.int64(twice == d) & (q & 1)))


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def round_half_even_div(n, d):
    """R(n / d) for int64 n and d > 0: nearest integer, ties to even."""
    q = n // d  # floor
    return _half_even(q, n - q * d, d)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def mul_div_round(a, num, den):
    """R(a * num / den) without overflowing a * num.

    a = q*den + r, so a*num/den = q*num + f + s/den with f, s from r*num
    (0 <= r < den); the tie is decided on the whole quotient q*num + f.
    Exact as long as q*num and r*num fit in int64.
    """
    if den == 1:
        return a * num
    q = a // den
    r = a - q * den
    rn = r * num
    f = rn // den
    return _half_even(q * num + f, rn - f * den, den)


_FAST = 1 << 52  # |u * num| below this: float64 holds it exactly


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def mul_div_round_fast(a, num, den, inv_den, lim):
    """Same value as ``mul_div_round``; branch-free on the hot path.

    For |a| < lim (= 2**52 // num) the product v = a*num is exact in a float64,
    and rint(v / den) from the reciprocal is the nearest integer or one off
    next to a half; r = v - q*den is exact, so |2r| > den (or == den with q
    odd) says which way to correct. Larger values take the exact integer path.
    """
    if np.uint64(a + lim) >= np.uint64(2 * lim):
        return mul_div_round(a, num, den)
    v = a * num
    q = np.int64(np.rint(v * inv_den))
    t = 2 * (v - q * den)
    odd = q & 1
    up = np.int64(t > den) | (np.int64(t == den) & odd)
    down = np.int64(t < -den) | (np.int64(t == -den) & odd)
    return q + up - down


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def mul_div_floor(a, num, den):
    """F(a * num / den) for den > 0 without overflowing a * num: for limits and
    thresholds (an integer x satisfies x <= a*num/den exactly when x <= F(...)),
    and for sizing, which rounds down. Exact while q*num and r*num fit in int64."""
    q = a // den
    r = a - q * den
    return q * num + (r * num) // den
