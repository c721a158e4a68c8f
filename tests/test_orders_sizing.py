"""The orders table's ``sizing`` and ``size`` columns (docs/risk.md §2) -> ORDER.sizing and
ORDER.size_val, and every bad input refused by row and column.

``size_val`` is worked by hand: notional in minor units of the account currency
(``size x 10^minor_digits``, whole), equity_pct / risk_pct as parts per million of 1
(``percent x 10_000``, at most 4 decimals), kelly 0.  Rows sized by an amount leave
``qty`` null (``qty_steps`` 0 until the kernel sizes the order when it acts); kelly
keeps its ``qty`` (the quantity used before the minimum trade count).

EURUSD/GBPUSD: lot step 0.01 (1 lot = 100 steps), tick 0.00001.  No test here runs
the kernel.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
from backtestr.kernels.records import (
    A_CLOSE,
    A_MODIFY,
    OT_LIMIT,
    OT_STOP,
    OT_STOP_LIMIT,
    OT_TARGET,
    SZ_EQUITY_PCT,
    SZ_KELLY,
    SZ_NOTIONAL,
    SZ_QTY,
    SZ_RISK_PCT,
)

import backtestr as bt
from backtestr.config import load_config
from backtestr.instruments import load_registry
from backtestr.orders import load_orders

SYMS = ["EURUSD", "GBPUSD"]
WHERE = "orders frame"
T0 = 1_704_067_200 * 10**9  # 2024-01-01 00:00 UTC
INT_COLS = ("id", "ref", "sl_ticks")
STR_COLS = ("action", "symbol", "side", "type", "sizing")


def frame(*rows: dict, **dtypes: pl.DataType) -> pl.DataFrame:
    """Rows as dicts (``ts`` in seconds after T0; absent keys null)."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    data = {}
    for c in cols:
        vals = [r.get(c) for r in rows]
        if c == "ts":
            data[c] = pl.Series(c, [T0 + v * 10**9 for v in vals], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
            continue
        dt = dtypes.get(c) or (pl.Int64 if c in INT_COLS else pl.String if c in STR_COLS else pl.Float64)
        data[c] = pl.Series(c, vals, dtype=dt)
    return pl.DataFrame(data)


def od(ts: int = 1, side: str = "buy", qty: float | None = 1.0, **kw) -> dict:
    return {"ts": ts, "symbol": kw.pop("sym", "EURUSD"), "side": side, "qty": qty, **kw}


def sized(ts: int = 1, side: str = "buy", **kw) -> dict:
    """A new order without ``qty`` (sized by an amount)."""
    return {"ts": ts, "symbol": kw.pop("sym", "EURUSD"), "side": side, **kw}


def _book(orders: pl.DataFrame | None, signals: pl.DataFrame | None = None, minor_digits: int | None = None):
    reg = load_registry(load_config())
    kw = {} if minor_digits is None else {"minor_digits": minor_digits}
    return load_orders(orders, signals, SYMS, [reg[s] for s in SYMS], 0, **kw)


def load(*rows: dict, minor_digits: int | None = None, **dtypes) -> np.ndarray:
    return _book(frame(*rows, **dtypes), minor_digits=minor_digits).records


def by_id(rec: np.ndarray, oid: int) -> np.void:
    return rec[int(np.flatnonzero(rec["order_id"] == oid)[0])]


def refused(*rows: dict, row: int, words: tuple[str, ...], minor_digits: int | None = None,
            signals: pl.DataFrame | None = None, where: str = WHERE, **dtypes) -> str:
    with pytest.raises(bt.OrdersError) as ei:
        _book(frame(*rows, **dtypes) if rows else None, signals, minor_digits)
    msg = str(ei.value)
    assert msg.startswith(where), msg
    assert re.search(rf"\brow {row + 1}\b", msg), msg  # ``row`` is 0-based; messages count from 1
    for w in words:
        assert w in msg, (w, msg)
    return msg


def signals(targets: list[float], **extra: list) -> pl.DataFrame:
    n = len(targets)
    cols = {
        "ts": pl.Series([T0 + (i + 1) * 10**9 for i in range(n)], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
        "symbol": ["EURUSD"] * n,
        "target": pl.Series(targets, dtype=pl.Float64),
    }
    for k, v in extra.items():
        cols[k] = pl.Series(k, v, dtype=pl.String if k == "sizing" else pl.Float64)
    return pl.DataFrame(cols)


# ---------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------


def test_without_a_sizing_column_every_order_is_sized_by_qty():
    rec = load(od(qty=1.0), od(ts=2, side="sell", qty=0.25))
    assert rec["sizing"].tolist() == [SZ_QTY, SZ_QTY]
    assert rec["size_val"].tolist() == [0, 0]
    assert rec["qty_steps"].tolist() == [100, 25]  # 1 / 0.01, 0.25 / 0.01


def test_sizing_words_become_codes_null_is_qty_and_case_and_blanks_do_not_matter():
    rec = load(od(id=0, sizing=None), od(id=1, sizing="QTY"), sized(id=2, sizing=" Notional ", size=100.0),
               sized(id=3, sizing="equity_PCT", size=1.0), sized(id=4, sizing="Risk_Pct", size=1.0),
               od(id=5, qty=0.5, sizing="KELLY"))
    assert [int(by_id(rec, i)["sizing"]) for i in range(6)] == [
        SZ_QTY, SZ_QTY, SZ_NOTIONAL, SZ_EQUITY_PCT, SZ_RISK_PCT, SZ_KELLY]


def test_notional_is_whole_minor_units_of_the_account_currency():
    # 2 minor digits (USD, the default): 1234.56 -> 123456 minor; 25000 -> 2_500_000; 0.01 -> 1.
    # qty is left null: qty_steps 0 until the kernel sizes the order.
    rec = load(sized(id=0, sizing="notional", size=1234.56), sized(id=1, sizing="notional", size=25000.0),
               sized(id=2, sizing="notional", size=0.01))
    assert rec["sizing"].tolist() == [SZ_NOTIONAL] * 3
    assert rec["size_val"].tolist() == [123456, 2_500_000, 1]
    assert rec["qty_steps"].tolist() == [0, 0, 0]


def test_notional_follows_the_account_minor_digits():
    # 0 digits (a JPY account): 150000 -> 150000 minor.  3 digits: 12.345 -> 12345.
    # 8 digits (BTC): 0.00000123 -> 123.
    assert load(sized(sizing="notional", size=150000.0), minor_digits=0)["size_val"].tolist() == [150000]
    assert load(sized(sizing="notional", size=12.345), minor_digits=3)["size_val"].tolist() == [12345]
    assert load(sized(sizing="notional", size=0.00000123), minor_digits=8)["size_val"].tolist() == [123]


def test_a_notional_given_as_an_integer_column_is_accepted():
    # size 500 (Int64) -> 500 x 100 = 50000 minor
    rec = load(sized(sizing="notional", size=500), size=pl.Int64)
    assert rec["size_val"].tolist() == [50000]


def test_percent_sizes_are_parts_per_million_of_one():
    # percent x 10_000: 2.5 % -> 25000 ppm; 0.1234 % -> 1234; 0.0001 % -> 1; 150 % -> 1_500_000
    # (more than the equity: leverage, allowed); 1 % -> 10000 for risk_pct too.
    rec = load(sized(id=0, sizing="equity_pct", size=2.5), sized(id=1, sizing="risk_pct", size=0.1234),
               sized(id=2, sizing="equity_pct", size=0.0001), sized(id=3, sizing="equity_pct", size=150.0),
               sized(id=4, sizing="risk_pct", size=1.0))
    assert [int(by_id(rec, i)["size_val"]) for i in range(5)] == [25000, 1234, 1, 1_500_000, 10000]
    assert rec["qty_steps"].tolist() == [0] * 5


def test_kelly_keeps_its_qty_and_has_no_size_value():
    # qty 0.5 lot -> 50 steps: the quantity before the minimum trade count; size_val 0.
    rec = load(od(qty=0.5, sizing="kelly"))
    assert (int(rec[0]["sizing"]), int(rec[0]["size_val"]), int(rec[0]["qty_steps"])) == (SZ_KELLY, 0, 50)


def test_sized_limit_stop_and_stop_limit_orders_keep_their_prices():
    # 1.09990 -> 109990 ticks, 1.10050 -> 110050; the sizing does not touch the prices.
    rec = load(sized(id=0, sizing="notional", size=1000.0, type="limit", price=1.09990),
               sized(id=1, sizing="equity_pct", size=2.0, type="stop", stop=1.10050),
               sized(id=2, sizing="risk_pct", size=1.0, type="stop_limit", stop=1.10050, price=1.10060,
                     sl_ticks=20))
    o0, o1, o2 = by_id(rec, 0), by_id(rec, 1), by_id(rec, 2)
    assert (int(o0["type"]), int(o0["price_ticks"]), int(o0["size_val"])) == (OT_LIMIT, 109990, 100000)
    assert (int(o1["type"]), int(o1["stop_ticks"]), int(o1["size_val"])) == (OT_STOP, 110050, 20000)
    assert (int(o2["type"]), int(o2["stop_ticks"]), int(o2["price_ticks"]), int(o2["size_val"])) == (
        OT_STOP_LIMIT, 110050, 110060, 10000)


def test_sizing_and_size_follow_the_act_ts_sort():
    # Rows out of time order: row 0 (ts 3, notional 10.00 -> 1000), row 1 (ts 1, equity_pct 3 -> 30000),
    # row 2 (ts 2, qty 1).  Sorted by ts: ids 1, 2, 0.
    rec = load(sized(ts=3, sizing="notional", size=10.0), sized(ts=1, sizing="equity_pct", size=3.0),
               od(ts=2, qty=1.0))
    assert rec["order_id"].tolist() == [1, 2, 0]
    assert rec["sizing"].tolist() == [SZ_EQUITY_PCT, SZ_QTY, SZ_NOTIONAL]
    assert rec["size_val"].tolist() == [30000, 0, 1000]
    assert rec["qty_steps"].tolist() == [0, 100, 0]


def test_sizing_qty_is_accepted_on_modify_cancel_and_close_rows():
    # "qty" is the default, so it may be written on any row; nothing else changes.
    rec = load(od(id=0), {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0, "qty": 2.0, "sizing": "qty"},
               {"ts": 3, "symbol": "EURUSD", "action": "close", "ref": 0, "sizing": "qty"})
    assert rec["sizing"].tolist() == [SZ_QTY] * 3
    assert (int(by_id(rec, 1)["action"]), int(by_id(rec, 1)["qty_steps"])) == (A_MODIFY, 200)
    assert int(by_id(rec, 2)["action"]) == A_CLOSE


def test_a_signal_is_never_sized_and_a_null_or_qty_sizing_column_there_is_accepted():
    # orders first (ids 0, 1), then the signals (ids 2, 3): targets 1 lot -> 100 steps, -0.5 -> -50.
    book = _book(frame(sized(sizing="notional", size=100.0), od(ts=2)),
                 signals([1.0, -0.5], sizing=[None, "qty"]))
    rec = book.records
    sig = rec[rec["type"] == OT_TARGET]
    assert sig["order_id"].tolist() == [2, 3]
    assert sig["sizing"].tolist() == [SZ_QTY, SZ_QTY]
    assert sig["size_val"].tolist() == [0, 0]
    assert sig["qty_steps"].tolist() == [100, -50]
    assert int(by_id(rec, 0)["size_val"]) == 10000


def test_load_orders_takes_minor_digits_as_a_keyword():
    reg = load_registry(load_config())
    with pytest.raises(TypeError):
        load_orders(frame(sized(sizing="notional", size=1.0)), None, SYMS, [reg[s] for s in SYMS], 0, 2)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# refused rows
# ---------------------------------------------------------------------------------------------


def test_an_unknown_sizing_word_is_refused():
    refused(od(), od(ts=2, sizing="percent"), row=1, words=("sizing", "'percent'", "notional", "kelly"))


@pytest.mark.parametrize("action", ["modify", "cancel", "close"])
def test_sizing_other_than_qty_on_a_row_that_is_not_new_is_refused(action):
    row = {"ts": 2, "symbol": "EURUSD", "action": action, "ref": 0, "sizing": "equity_pct"}
    refused(od(id=0), row, row=1, words=("sizing", "equity_pct", action))


def test_kelly_on_a_modify_row_is_refused():
    refused(od(id=0), {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0, "qty": 1.0, "sizing": "kelly"},
            row=1, words=("sizing", "kelly", "modify"))


@pytest.mark.parametrize("sizing", ["notional", "equity_pct", "risk_pct"])
def test_a_sized_row_without_a_size_is_refused(sizing):
    refused(sized(sizing="notional", size=100.0), sized(ts=2, sizing=sizing), row=1,
            words=("size", "required", sizing))


def test_a_size_column_that_does_not_exist_is_named():
    msg = refused(od(), sized(ts=2, sizing="notional"), row=1, words=("size", "required", "notional"))
    assert "there is no size column" in msg


@pytest.mark.parametrize("sizing", ["notional", "equity_pct", "risk_pct"])
@pytest.mark.parametrize("size", [0.0, -5.0])
def test_a_size_that_is_not_positive_is_refused(sizing, size):
    refused(sized(sizing=sizing, size=1.0), sized(ts=2, sizing=sizing, size=size), row=1,
            words=("size", repr(size), "positive"))


def test_a_notional_finer_than_a_minor_unit_is_refused():
    # 10.005 USD = 1000.5 cents: not whole
    refused(sized(sizing="notional", size=10.0), sized(ts=2, sizing="notional", size=10.005), row=1,
            words=("size", "10.005", "minor units", "0.01"))


def test_a_notional_finer_than_a_whole_unit_is_refused_in_a_zero_digit_account():
    refused(sized(sizing="notional", size=10.5), row=0, minor_digits=0, words=("size", "10.5", "minor units"))


@pytest.mark.parametrize("sizing", ["equity_pct", "risk_pct"])
def test_a_percent_with_more_than_4_decimals_is_refused(sizing):
    # 1.23456 % = 12345.6 ppm: not whole
    refused(sized(sizing=sizing, size=1.0), sized(ts=2, sizing=sizing, size=1.23456), row=1,
            words=("size", "1.23456", "more than 4 decimals"))


def test_a_size_too_large_for_64_bits_is_refused():
    refused(sized(sizing="notional", size=1e18), row=0, words=("size", "too large"))


def test_a_size_column_that_is_not_a_number_is_refused():
    with pytest.raises(bt.OrdersError, match=r"column size has type String; expected a number"):
        load(sized(sizing="notional", size="100"), size=pl.String)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_size_that_is_not_finite_is_refused(bad):
    refused(sized(sizing="notional", size=1.0), sized(ts=2, sizing="notional", size=bad), row=1,
            words=("size", "not a finite number"))


@pytest.mark.parametrize("sizing", [None, "qty", "kelly"])
def test_a_size_without_a_sizing_that_uses_it_is_refused(sizing):
    refused(od(), od(ts=2, sizing=sizing, size=100.0), row=1, words=("size", "only used with sizing"))


def test_a_size_on_a_modify_row_is_refused():
    refused(od(id=0), {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0, "qty": 2.0, "size": 3.0},
            row=1, words=("size", "only used with sizing"))


@pytest.mark.parametrize("sizing", ["notional", "equity_pct", "risk_pct"])
def test_qty_on_a_row_sized_by_an_amount_is_refused(sizing):
    refused(sized(sizing=sizing, size=1.0), od(ts=2, qty=1.0, sizing=sizing, size=1.0), row=1,
            words=("qty", "not used with sizing", sizing))


def test_kelly_without_qty_is_refused():
    refused(od(qty=1.0, sizing="kelly"), od(ts=2, qty=None, sizing="kelly"), row=1, words=("qty", "required", "kelly"))


def test_qty_is_still_required_for_a_new_order_sized_by_qty():
    refused(sized(sizing="notional", size=1.0), od(ts=2, qty=None), row=1,
            words=("qty", "required", "for action new"))


def test_sizing_on_a_target_is_refused_naming_the_row():
    refused(signals=signals([1.0, 0.5], sizing=["qty", "equity_pct"]), row=1,
            words=("sizing", "equity_pct", "target"), where="signals frame")


def test_size_on_a_target_is_refused_naming_the_row():
    refused(signals=signals([1.0, 0.5, 0.0], size=[None, None, 2.0]), row=2, words=("size", "target"),
            where="signals frame")
