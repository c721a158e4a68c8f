"""The one rounding rule: exact rational to integer, ties to even.

Every money amount in the kernel is produced by one of these two functions
(docs/architecture.md §2). The Decimal oracle applies ``ROUND_HALF_EVEN``.
"""

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def round_half_even_div(n, d):
    """R(n / d) for int64 n and d > 0: nearest integer, ties to even."""
    q = n // d  # floor
    r = n - q * d  # 0 <= r < d
    twice = 2 * r
    if twice > d or (twice == d and (q & 1) == 1):
        q += 1
    return q


@njit(cache=True, nogil=True, inline="always")
def mul_div_round(a, num, den):
    """R(a * num / den) without overflowing a * num.

    a = q*den + r, so a*num/den = q*num + r*num/den with 0 <= r < den.
    Exact as long as q*num and r*num fit in int64.
    """
    if den == 1:
        return a * num
    q = a // den
    r = a - q * den
    return q * num + round_half_even_div(r * num, den)
