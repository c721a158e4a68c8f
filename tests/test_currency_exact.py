"""docs/currency.md §1 and §4: conversions stay exact in 64 bits, and bad input is refused at
start naming the symbol or key.

The kernel books an amount ``a`` with static rational ``num / den`` at the live rate
``fx_num / fx_den`` (products of the legs' bid + ask) as R(a x num x fx_num / (den x fx_den)).
The products num x fx_num and den x fx_den must fit in 64 bits; sizing divides by
price x num x fx_num. Here the registry's instruments are checked at ten times a realistic
price of every leg, in accounts in every major currency.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import backtestr as bt
from backtestr.config import load_config
from backtestr.errors import ConfigError
from backtestr.fx_paths import LEG_MAX, resolve
from backtestr.instruments import kernel_table, load_registry

# a realistic price of each registry symbol (late 2020s); the checks use ten times it
LEVEL = dict(EURUSD=1.1, GBPUSD=1.27, USDJPY=150, XAUUSD=2000, BTCUSD=60000, ETHUSD=3000, EURGBP=0.85,
             EURJPY=160, GBPJPY=190, AUDUSD=0.66, NZDUSD=0.6, USDCHF=0.9, USDCAD=1.36, EURCHF=0.95,
             AUDJPY=100, CHFJPY=170, CADJPY=110, EURAUD=1.65, XAGUSD=25, XAUEUR=1850, BTCUSDT=60000,
             ETHUSDT=3000, SOLUSDT=150, USDTUSD=1, US500=5000, US30=38000, NAS100=18000, DE40=17000,
             UK100=7700, JP225=38000)
RATIONALS = ("value", "comm_frac", "margin", "swap_long", "swap_short", "fund")
ACCOUNTS = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "USDT"]


def _table(ccy: str, instruments: dict | None = None):
    cfg = load_config(data={"account": {"currency": ccy, "minor_digits": 0 if ccy == "JPY" else 2},
                            "commission": {"fraction": "0.00002"}, "instruments": instruments or {}})
    reg = load_registry(cfg)
    syms = sorted(reg)
    return syms, reg, kernel_table(syms, reg, cfg, resolve(syms, reg, ccy, set(syms)))


@pytest.mark.parametrize("ccy", ACCOUNTS)
def test_registry_conversions_fit_in_64_bits_at_ten_times_realistic_prices(ccy):
    syms, reg, table = _table(ccy)  # kernel_table refuses a symbol that could overflow at LEG_MAX
    assert set(syms) <= set(LEVEL)
    converted = 0
    for i, s in enumerate(syms):
        r = table[i]
        if r["fx_a"] == 0:
            continue
        converted += 1
        fx_num = fx_den = 1
        for at, inv in (("fx_a", "fx_a_inv"), ("fx_b", "fx_b_inv")):
            if r[at]:
                leg = syms[r[at] - 1]
                two_mid = 2 * int(10 * LEVEL[leg] / float(reg[leg].tick_size))  # bid + ask in ticks
                assert two_mid < LEG_MAX, leg
                if r[inv]:
                    fx_den *= two_mid
                else:
                    fx_num *= two_mid
        for k in RATIONALS:
            num, den = abs(int(r[f"{k}_num"])), int(r[f"{k}_den"]) * (int(r["hedge_den"]) if k == "margin" else 1)
            assert num * fx_num < 2**63 and den * fx_den < 2**63, (ccy, s, k)
    assert converted >= 10  # most of the registry is quoted in another currency than any one account's


def test_a_conversion_that_could_overflow_is_refused_naming_the_symbol():
    # JPY -> USD -> EUR: two inverted legs, fx_den up to LEG_MAX^2 = 2^50; a tick of 10^-9 on a lot
    # step of 10^-6 makes the tick value's denominator far above 2^13
    inst = {"XYZJPY": {"base": "XYZ", "quote": "JPY", "tick_size": "0.000000001", "lot_step": "0.000001",
                       "contract_size": "1", "min_qty": "0.000001"}}
    with pytest.raises(ConfigError, match="XYZJPY.*quote_to_account"):
        _table("EUR", inst)


def test_sizing_past_64_bit_products_rounds_down_exactly():
    # DE40 in a CAD account: EUR -> USD -> CAD through EURUSD and USDCAD, both direct, so sizing's
    # divisor price x num x fx_num passes 2^63 at ten times today's prices
    from backtestr.kernels.fx import steps_floor
    from backtestr.kernels.records import SYMBOL
    syms, reg, table = _table("CAD")
    ins = table[syms.index("DE40")]
    legs = [syms[ins["fx_a"] - 1], syms[ins["fx_b"] - 1]]
    assert legs == ["EURUSD", "USDCAD"] and not ins["fx_a_inv"] and not ins["fx_b_inv"]
    fx_num = 2 * 1_100_000 * 2 * 1_360_000  # bid + ask of each leg in ticks, at ten times
    r = np.zeros(1, SYMBOL)[0]
    r["fx_num"], r["fx_den"] = fx_num, 1
    price = 17_000_000  # DE40 at 170 000.00
    num, den = int(ins["value_num"]), int(ins["value_den"])
    assert price * num * fx_num >= 2**63
    for money in (10**6, 123_456_789_012, 10**15 + 7):
        want = Fraction(money * den * 1) // Fraction(price * num * fx_num)  # floor, exactly
        assert steps_floor(money, price, num, den, r) == want


def test_rate_symbol_missing_from_the_archive_is_refused_naming_it(tmp_path):
    from tests.tickdata import hive_file, orders_frame
    hive_file(tmp_path, "EURGBP", [3, 5], [0.85000, 0.86000], [0.85002, 0.86002])
    with pytest.raises(ConfigError, match="EURGBP.*GBPUSD"):
        bt.run(tmp_path, orders=orders_frame([(3.5, "EURGBP", "buy", 1)]))


@pytest.mark.parametrize("rate", ["0", "-1.5"])
def test_fixed_rate_of_zero_or_below_is_refused_naming_the_symbol_and_key(rate):
    with pytest.raises(ConfigError, match=r"USDJPY.*quote_to_account|quote_to_account.*USDJPY"):
        _table("USD", {"USDJPY": {"quote_to_account": rate}})


def test_no_path_refusal_names_the_symbol_and_both_currencies():
    inst = {"ABCQQQ": {"base": "ABC", "quote": "QQQ", "tick_size": "0.01", "lot_step": "1"}}
    with pytest.raises(ConfigError, match="ABCQQQ.*QQQ.*USD"):
        _table("USD", inst)


def test_unknown_account_currency_is_refused_naming_it_and_the_key():
    with pytest.raises(ConfigError, match="account.currency = XYZ"):
        _table("XYZ")


_MARK = None


def _mark_fn():
    """A compiled wrapper: keep the rate num / den in a SYMBOL record, then mark u."""
    global _MARK
    if _MARK is None:
        from backtestr.kernels.fx import mark_value, put_rate
        from numba import njit

        @njit(cache=False)
        def mark(u, inst, syms, num, den):
            put_rate(inst[0], syms[0], num, den)
            return mark_value(u, inst[0], syms[0])

        _MARK = mark
    return _MARK


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2**20), st.integers(1, 2**22), st.integers(1, 2**21), st.integers(1, 2**21),
       st.integers(-2**40, 2**40), st.booleans())
def test_marking_at_a_live_rate_is_r_of_the_exact_rational(vn, vd, fn, fd, u, small):
    # R(u x V x rate) with V = vn / vd and rate = fn / fd, one rounding, ties to even; small u takes
    # the float path with two corrections, large u (|u x vn x fn| >= 2^51) the 128-bit one
    from backtestr.kernels.records import INSTRUMENT, SYMBOL
    if small:
        u = u % 2**20 - 2**19
    assume(abs(u * vn * fn) < 2**62 * vd * fd)  # an amount of money that fits in 64 bits
    inst, syms = np.zeros(1, INSTRUMENT), np.zeros(1, SYMBOL)
    inst[0]["value_num"], inst[0]["value_den"] = vn, vd
    got = _mark_fn()(u, inst, syms, fn, fd)
    assert got == round(Fraction(u * vn * fn, vd * fd))
    assert syms[0]["mk_num"] == vn * fn and syms[0]["mk_den"] == vd * fd


def test_marking_ties_go_to_even():
    from backtestr.kernels.records import INSTRUMENT, SYMBOL
    inst, syms = np.zeros(1, INSTRUMENT), np.zeros(1, SYMBOL)
    inst[0]["value_num"], inst[0]["value_den"] = 1, 2
    # u x 1/2 x 3/3: 5 -> 2.5 -> 2, 7 -> 3.5 -> 4, -5 -> -2.5 -> -2
    assert [_mark_fn()(u, inst, syms, 3, 3) for u in (5, 7, -5)] == [2, 4, -2]
