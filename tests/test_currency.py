"""docs/currency.md: conversion at the live rate, worked by hand.

Conventions: 1 lot = 100 000 units of the base; lot step 0.01 (1 lot = 100 steps).
The rate of a leg is the mid of its latest quote, (bid + ask) / 2. Every amount is
R(amount in the quote currency x rate), R = nearest, ties to even, once per amount.
Times are seconds after MON (tests/rulekit.py).
"""

from __future__ import annotations

import polars as pl
import pytest

import backtestr as bt
from backtestr.errors import ConfigError
from tests.rulekit import UTC, at, lead, orders, position, status

DIGITS = {"EURUSD": 5, "GBPUSD": 5, "EURGBP": 5, "USDJPY": 3, "EURJPY": 3}


def quotes(rows: list[tuple]) -> pl.DataFrame:
    """``[(sec, symbol, bid, ask), ...]`` with prices as decimal strings."""
    return pl.DataFrame({
        "ts": pl.Series([at(r[0]) for r in rows], dtype=pl.Int64),
        "symbol": [r[1] for r in rows],
        "bid": pl.Series([float(r[2]) for r in rows], dtype=pl.Float64),
        "ask": pl.Series([float(r[3]) for r in rows], dtype=pl.Float64),
    }).with_columns(pl.col("ts").cast(UTC))


def go(data, o, **sections):
    """Run at log level ticks; an order before the data acts on the first tick it was written for
    (rulekit.lead: a copy of the first tick at the first order's time)."""
    sections.setdefault("run", {})["log_level"] = "ticks"
    return bt.run(data=lead(data, o), orders=o, config=dict(sections))


def equity_at(res, sec):
    e = res.equity.with_columns(pl.col("ts").dt.replace_time_zone(None).cast(pl.Int64).alias("ns"))
    rows = e.filter(pl.col("ns") == at(sec)).to_dicts()
    return rows[-1]


def ledger(res):
    s = res.summary
    assert s["final_cash_minor"] == (s["initial_cash_minor"] + s["realized_pnl_minor"] - s["commission_minor"]
                                     - s["swap_minor"])


# ---------------------------------------------------------------------------------------------
# USDJPY in a USD account: the rate JPY -> USD is 1 / mid(USDJPY), from the symbol itself
# ---------------------------------------------------------------------------------------------


def test_usdjpy_in_usd_account_pnl_commission_and_marks_at_the_live_rate():
    # Buy 1 lot at t=1 (ask 150.010, mid 150.005); the quote moves to 151.000/151.010 at t=2 and
    # 160.000/160.020 at t=3, where the close fills at the bid 160.000 (mid 160.010).
    #   P&L: (160.000 - 150.010) x 100 000 = 999 000 JPY / 160.010 = 6243.3598 USD -> 624 336 minor.
    #   Commission 0.0001 of the notional: open 15 001 000 JPY x 0.0001 = 1500.1 JPY / 150.005
    #     = 10.000333 USD -> 1000 minor; close 16 000 000 x 0.0001 = 1600 JPY / 160.010
    #     = 9.99937 USD -> 1000 minor (999.94 rounds to 1000).
    #   Mark at t=2: (151.000 - 150.010) x 100 000 = 99 000 JPY / 151.005 = 655.6074 USD -> 65 561.
    #   Mark at t=1 right after the fill: (150.000 - 150.010) x 100 000 = -1000 JPY / 150.005
    #     = -6.6664 USD -> -667.
    data = quotes([(1, "USDJPY", "150.000", "150.010"), (2, "USDJPY", "151.000", "151.010"),
                   (3, "USDJPY", "160.000", "160.020")])
    o = orders({"t": 0.5, "symbol": "USDJPY", "side": "buy", "qty": 1},
               {"t": 2.5, "symbol": "USDJPY", "action": "close"})
    res = go(data, o, commission={"fraction": "0.0001"})
    p = position(res, 0)
    assert p["realized_pnl_minor"] == 624_336
    assert p["commission_minor"] == 2000
    assert equity_at(res, 1)["unrealized_minor"] == -667
    assert equity_at(res, 2)["unrealized_minor"] == 65_561
    assert res.summary["final_cash_minor"] == 10_000_000 + 624_336 - 2000
    ledger(res)


def test_usdjpy_fixed_quote_to_account_stays_an_option():
    # The same trade at a fixed 1 JPY = 0.0066 USD: 999 000 x 0.0066 = 6593.4 USD -> 659 340 minor.
    data = quotes([(1, "USDJPY", "150.000", "150.010"), (3, "USDJPY", "160.000", "160.020")])
    o = orders({"t": 0.5, "symbol": "USDJPY", "side": "buy", "qty": 1},
               {"t": 2.5, "symbol": "USDJPY", "action": "close"})
    res = go(data, o, instruments={"USDJPY": {"quote_to_account": "0.0066"}})
    assert position(res, 0)["realized_pnl_minor"] == 659_340


# ---------------------------------------------------------------------------------------------
# EURGBP in a USD account (through GBPUSD) and in a EUR account (through EURGBP itself)
# ---------------------------------------------------------------------------------------------

EURGBP_DATA = [
    (1, "EURGBP", "0.85000", "0.85002"),  # GBPUSD has no quote yet
    (2, "GBPUSD", "1.25000", "1.25002"),  # mid 1.25001
    (3, "EURGBP", "0.85000", "0.85002"),  # order 1 buys 1 lot at 0.85002
    (4, "GBPUSD", "1.30000", "1.30002"),  # mid 1.30001: the rate moves, EURGBP does not
    (5, "EURGBP", "0.86000", "0.86002"),  # order 2 closes at the bid 0.86000
]


def test_eurgbp_in_usd_account_converts_through_gbpusd_and_refuses_before_its_first_quote():
    # Order 0 acts at t=1, before GBPUSD's first quote: rejected NO_QUOTE (docs/currency.md §3).
    # P&L: (0.86000 - 0.85002) x 100 000 = 998 GBP x 1.30001 = 1297.40998 USD -> 129 741 minor.
    # Mark after the fill at t=3: (0.85000 - 0.85002) x 100 000 = -2 GBP x 1.25001 = -2.50002 -> -250;
    # at t=4 the GBPUSD quote re-marks EURGBP: -2 x 1.30001 = -2.60002 -> -260.
    data = quotes(EURGBP_DATA)
    o = orders({"t": 0.5, "symbol": "EURGBP", "side": "buy", "qty": 1},
               {"t": 2.5, "symbol": "EURGBP", "side": "buy", "qty": 1},
               {"t": 4.5, "symbol": "EURGBP", "action": "close"})
    res = go(data, o)
    assert status(res, 0) == ("rejected", "no_quote")
    assert position(res, 1)["realized_pnl_minor"] == 129_741
    assert equity_at(res, 3)["unrealized_minor"] == -250
    assert equity_at(res, 4)["unrealized_minor"] == -260
    ledger(res)


def test_eurgbp_in_eur_account_converts_at_one_over_its_own_mid():
    # GBP -> EUR is 1 / mid(EURGBP). P&L 998 GBP / 0.86001 = 1160.45162 EUR -> 116 045 minor.
    # Commission per lot 2 EUR (account currency, not converted) per fill -> 400.
    # Mark at t=3: -2 GBP / 0.85001 = -2.352914 EUR -> -235.
    data = quotes(EURGBP_DATA)
    o = orders({"t": 2.5, "symbol": "EURGBP", "side": "buy", "qty": 1},
               {"t": 4.5, "symbol": "EURGBP", "action": "close"})
    res = go(data, o, account={"currency": "EUR"}, commission={"per_lot": "2"})
    assert position(res, 0)["realized_pnl_minor"] == 116_045
    assert position(res, 0)["commission_minor"] == 400
    assert equity_at(res, 3)["unrealized_minor"] == -235
    ledger(res)


def test_eurusd_in_jpy_account():
    # JPY has no minor unit (0 digits). USD -> JPY is mid(USDJPY) = 150.005.
    # Buy 1 lot EURUSD at 1.10002, close at the bid 1.11000: 998 USD x 150.005 = 149 704.99 -> 149 705 JPY.
    # Mark at t=2: (1.10000 - 1.10002) x 100 000 = -2 USD x 150.005 = -300.01 -> -300.
    data = quotes([(1, "USDJPY", "150.000", "150.010"), (2, "EURUSD", "1.10000", "1.10002"),
                   (3, "EURUSD", "1.11000", "1.11002")])
    o = orders({"t": 1.5, "side": "buy", "qty": 1}, {"t": 2.5, "action": "close"})
    res = go(data, o, account={"currency": "JPY", "initial_cash": "10000000"})
    assert position(res, 0)["realized_pnl_minor"] == 149_705
    assert equity_at(res, 2)["unrealized_minor"] == -300
    assert res.summary["final_cash_minor"] == 10_000_000 + 149_705
    ledger(res)


def test_rate_symbol_missing_from_the_data_is_refused_naming_it():
    data = quotes([(1, "EURGBP", "0.85000", "0.85002")])
    with pytest.raises(ConfigError, match="GBPUSD"):
        go(data, orders({"t": 0.5, "symbol": "EURGBP", "side": "buy", "qty": 1}))


def test_rate_symbol_in_the_archive_is_added_to_the_read(tmp_path):
    # data.symbols names EURGBP only; GBPUSD is read for the rate, not traded.
    from tests.tickdata import hive_file
    hive_file(tmp_path, "EURGBP", [3, 5], [0.85000, 0.86000], [0.85002, 0.86002])
    hive_file(tmp_path, "GBPUSD", [2, 4], [1.25000, 1.30000], [1.25002, 1.30002])
    from tests.tickdata import orders_frame
    o = orders_frame([(2.5, "EURGBP", "buy", 1)])
    res = bt.run(tmp_path, orders=o, config={"data": {"symbols": ["EURGBP"]}, "run": {"close_at_end": True}})
    assert position(res, 0)["realized_pnl_minor"] == 129_741


def test_unknown_account_currency_is_refused_naming_it():
    data = quotes([(1, "EURUSD", "1.10000", "1.10002")])
    with pytest.raises(ConfigError, match="XYZ"):
        go(data, None, account={"currency": "XYZ"})


def test_no_conversion_path_is_refused_naming_the_symbol():
    data = quotes([(1, "EURUSD", "1.10000", "1.10002")])
    inst = {"ABCUSD": {"tick_size": "0.01", "lot_step": "1", "quote": "QQQ"}}
    data = quotes([(1, "ABCUSD", "1.00", "1.01")])
    with pytest.raises(ConfigError, match="ABCUSD.*QQQ"):
        go(data, None, instruments=inst)


def test_fixed_rate_of_zero_is_refused_naming_the_key():
    data = quotes([(1, "USDJPY", "150.000", "150.010")])
    with pytest.raises(ConfigError, match="quote_to_account"):
        go(data, None, instruments={"USDJPY": {"quote_to_account": "0"}})


# ---------------------------------------------------------------------------------------------
# A rate is never taken from the future: a spike planted in the rate symbol after T
# ---------------------------------------------------------------------------------------------


def _spiked(spike: bool) -> pl.DataFrame:
    rows = []
    for i in range(60):
        sec = 1 + i
        g = 125_000 + (i % 7) + (20_000 if spike and sec > 40 else 0)
        rows.append((sec, "GBPUSD", f"{g / 1e5:.5f}", f"{(g + 2) / 1e5:.5f}"))
        e = 85_000 + (i % 5)
        rows.append((sec + 0.5, "EURGBP", f"{e / 1e5:.5f}", f"{(e + 2) / 1e5:.5f}"))
    return quotes(rows)


def test_a_spike_in_the_rate_symbol_after_t_changes_nothing_before_t():
    o = orders({"t": 3, "symbol": "EURGBP", "side": "buy", "qty": 1},
               {"t": 20, "symbol": "EURGBP", "side": "sell", "qty": 2},
               {"t": 39.6, "symbol": "EURGBP", "action": "close"},
               {"t": 45, "symbol": "EURGBP", "side": "buy", "qty": 1})
    calm, spiky = go(_spiked(False), o), go(_spiked(True), o)

    def before(frame, col="ts"):
        ns = frame.get_column(col).dt.replace_time_zone(None).cast(pl.Int64)
        return frame.filter(ns < at(41)).to_dicts()

    # fills before the first spiked quote (GBPUSD at 41 s): the buy at 3.5 s, the reversal's close
    # and open at 20.5 s, and the close at 40.5 s, booked at the rate of GBPUSD's 40 s quote
    assert before(calm.fills) == before(spiky.fills) and len(before(calm.fills)) == 4
    assert before(calm.equity) == before(spiky.equity)
    closed_calm = calm.positions.filter(pl.col("close_order_id") >= 0).to_dicts()
    assert closed_calm == spiky.positions.filter(pl.col("close_order_id") >= 0).to_dicts()
    # after T the spike shows: the position opened at 45 s marks at a rate 0.2 higher
    assert calm.summary["final_equity_minor"] != spiky.summary["final_equity_minor"]


def test_eurgbp_in_jpy_account_crosses_through_gbpusd_and_usdjpy():
    # GBP -> JPY with no GBPJPY in the data: mid(GBPUSD) x mid(USDJPY) (USD first as the third currency).
    # P&L 998 GBP x 1.30001 x 150.005 = 194 617.98405 -> 194 618 JPY.
    # Mark at t=3: -2 GBP x 1.25001 x 150.005 = -375.0155 -> -375; at t=4 (GBPUSD moves):
    # -2 x 1.30001 x 150.005 = -390.016 -> -390.
    data = quotes([(1, "GBPUSD", "1.25000", "1.25002"), (1.2, "USDJPY", "150.000", "150.010"),
                   (3, "EURGBP", "0.85000", "0.85002"), (4, "GBPUSD", "1.30000", "1.30002"),
                   (5, "EURGBP", "0.86000", "0.86002")])
    o = orders({"t": 2.5, "symbol": "EURGBP", "side": "buy", "qty": 1},
               {"t": 4.5, "symbol": "EURGBP", "action": "close"})
    res = go(data, o, account={"currency": "JPY", "initial_cash": "10000000"})
    assert position(res, 0)["realized_pnl_minor"] == 194_618
    assert equity_at(res, 3)["unrealized_minor"] == -375
    assert equity_at(res, 4)["unrealized_minor"] == -390
    ledger(res)
