"""The one rounding rule (docs/architecture.md §2) against decimal.ROUND_HALF_EVEN."""

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np
from backtestr.kernels.rounding import mul_div_round, mul_div_round_fast, round_half_even_div
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit


def ref(a: int, num: int, den: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 80
        return int((Decimal(a) * num / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@njit(cache=True)
def _both(a, num, den, inv, lim):
    return mul_div_round(a, num, den), mul_div_round_fast(a, num, den, inv, lim)


def test_ties_go_to_even_by_hand():
    # 1.5 -> 2, 2.5 -> 2, -1.5 -> -2, -2.5 -> -2, 0.5 -> 0
    assert [round_half_even_div(n, 2) for n in (3, 5, -3, -5, 1)] == [2, 2, -2, -2, 0]
    # 3 * 1 / 2 = 1.5 -> 2 and 11 * 7 / 2 = 38.5 -> 38: the parity of the whole quotient decides
    assert mul_div_round(3, 1, 2) == 2
    assert mul_div_round(11, 7, 2) == 38
    # 143 * 25 / 26 = 137.5 -> 138 (a commission split seen in a reversal)
    assert mul_div_round(143, 25, 26) == 138


@settings(max_examples=3000, deadline=None)
@given(
    a=st.one_of(st.integers(-10**7, 10**7), st.integers(-(2**52), 2**52), st.integers(-(2**60), 2**60)),
    num=st.integers(1, 10**4),
    den=st.integers(1, 10**6),
)
def test_mul_div_round_matches_decimal(a, num, den):
    lim = (1 << 52) // num
    if abs(a // den) * num >= 2**62 or den * num >= 2**62:
        return  # outside the documented range of exactness
    exact, fast = _both(np.int64(a), np.int64(num), np.int64(den), 1.0 / den, np.int64(lim))
    want = ref(a, num, den)
    assert exact == want
    assert fast == want


def ref3(a: int, b: int, c: int, den: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 120
        return int((Decimal(a) * b * c / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_wide_product_by_hand():
    from backtestr.kernels.rounding import mul3_div_round

    # 3 * 1 * 1 / 2 = 1.5 -> 2; 5 / 2 = 2.5 -> 2; signs: -1.5 -> -2, (-1)(-3)(1)/2 = 1.5 -> 2
    assert [mul3_div_round(3, 1, 1, 2), mul3_div_round(5, 1, 1, 2), mul3_div_round(-3, 1, 1, 2),
            mul3_div_round(-1, -3, 1, 2), mul3_div_round(1, -1, 3, 2)] == [2, 2, -2, 2, -2]
    # a product past 64 bits: 6e12 ticks x steps, rate 123456789 (1e-10 units), V = 1/1000 ->
    # 6e12 * 123456789 / 1e13 = 74074073.4 -> 74074073
    assert mul3_div_round(6_000_000_000_000, 123_456_789, 1, 10**13) == 74_074_073
    # (2**62) * (2**40) * 3 / 2**41 = 3 * 2**61 exactly
    assert mul3_div_round(2**62, 2**40, 3, 2**41) == 3 * 2**61


@settings(max_examples=3000, deadline=None)
@given(st.data())
def test_wide_product_matches_decimal(data):
    from backtestr.kernels.rounding import mul3_div_round

    den = data.draw(st.integers(1, 2**63 - 1))
    a = data.draw(st.integers(-(2**62), 2**62))
    b = data.draw(st.integers(-(2**40), 2**40))
    c = data.draw(st.integers(-(2**20), 2**20))
    want = ref3(a, b, c, den)
    if abs(want) >= 2**62:  # the result must fit in int64
        return
    assert mul3_div_round(a, b, c, den) == want, (a, b, c, den)


def test_wide_product_near_a_large_denominator():
    from backtestr.kernels.rounding import mul3_div_round

    # Remainders near 2**62, where 2r passes the int64 range: (d - 1) / d -> 1; with D = 2d:
    # (d + 1) / D = 0.5 + 1/D -> 1, d / D = 0.5 -> 0 (even), 3d / D = 1.5 -> 2 (even).
    d = 4611686018431990905
    assert mul3_div_round(d - 1, 1, 1, d) == 1
    assert mul3_div_round(-(d - 1), 1, 1, d) == -1
    d = 3 * 2**60 + 7
    assert mul3_div_round(d + 1, 1, 1, 2 * d) == 1
    assert mul3_div_round(d, 1, 1, 2 * d) == 0
    assert mul3_div_round(3, d, 1, 2 * d) == 2
