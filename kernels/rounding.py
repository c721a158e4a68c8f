"""The one rounding rule: exact rational to integer, ties to even.

Every money amount in the kernel is produced by one of these two functions
(docs/architecture.md §2). The Decimal oracle applies ``ROUND_HALF_EVEN``.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

PPM = 1_000_000  # parts per million: percentages and levels as integers


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


@intrinsic
def _llrint(typingctx, x):
    """Nearest int64 to a float64, ties to even: one instruction (cvtsd2si under the
    default rounding mode) where np.int64(np.rint(x)) takes two."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.DoubleType()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.llrint.i64.f64")
        return builder.call(fn, [args[0]])

    return types.int64(types.float64), codegen


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
    q = _llrint(v * inv_den)
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


_M32 = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)
_U1 = np.uint64(1)


@njit(cache=True, nogil=True, _nrt=False)
def _mul_wide(x, y):
    """x * y for uint64 x, y as (hi, lo) uint64 words."""
    x0, x1 = x & _M32, x >> _U32
    y0, y1 = y & _M32, y >> _U32
    p00, p01, p10, p11 = x0 * y0, x0 * y1, x1 * y0, x1 * y1
    mid = (p00 >> _U32) + (p01 & _M32) + (p10 & _M32)
    return p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32), (p00 & _M32) | (mid << _U32)


@njit(cache=True, nogil=True, _nrt=False)
def mul3_div_round(a, b, c, den):
    """R(a * b * c / den) for int64 a, b, c and den > 0, exact through a 128-bit product.

    For charges whose factors can pass 64 bits together (a funding rate read
    from the data times a notional). Needs |a * b * c| < 2**127 and a result
    inside int64; then every bit is exact. Ties go to even, as in ``_half_even``.
    """
    neg = ((a < 0) ^ (b < 0)) ^ (c < 0)
    hi, lo = _mul_wide(np.uint64(abs(a)), np.uint64(abs(b)))
    h2, l2 = _mul_wide(lo, np.uint64(abs(c)))
    hi = hi * np.uint64(abs(c)) + h2  # the product's high word (bits 64..127)
    d = np.uint64(den)
    q = np.uint64(0)
    r = hi % d  # hi < d when the result fits (the quotient's high word is 0)
    for i in range(63, -1, -1):  # long division of (r, l2) by d, one bit at a time
        r = (r << _U1) | ((l2 >> np.uint64(i)) & _U1)
        q = q << _U1
        if r >= d:
            r -= d
            q |= _U1
    rest = d - r  # the tie test of _half_even as r vs d - r: 2r could pass 64 bits
    x = np.int64(q) + (np.int64(r > rest) | (np.int64(r == rest) & np.int64(q & _U1)))
    return -x if neg else x
