"""Strategy input and its timing (docs/execution.md §9, docs/architecture.md §3): bad order rows are refused by row; an
order stamped t acts only on ticks after t, on its own symbol's next tick;
latency; buy at ask, sell at bid; quantity limits; target signals.

EURUSD/GBPUSD: tick 0.00001, lot step 0.01 (1 lot = 100 steps), min 0.01,
max 100 lots. Prices below are in ticks: 1.10002 -> 110002.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

import backtestr as bt
from tests.tickdata import hive_file, ns, orders_frame, signals_frame, ts_ns

# EURUSD: a tick every second from 1 s to 5 s, bid rising one tick a second,
# spread 2 ticks.  bid(t) = 1.10000 + (t-1) x 0.00001, ask = bid + 0.00002.
E_SECS = [1, 2, 3, 4, 5]
E_BID = [1.10000, 1.10001, 1.10002, 1.10003, 1.10004]
E_ASK = [1.10002, 1.10003, 1.10004, 1.10005, 1.10006]
# GBPUSD ticks only at 1 s and 4.5 s.
G_SECS = [1, 4.5]
G_BID = [1.25000, 1.25010]
G_ASK = [1.25003, 1.25013]


@pytest.fixture
def arch(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", E_SECS, E_BID, E_ASK)
    hive_file(root, "GBPUSD", G_SECS, G_BID, G_ASK)
    return root


def _order(res: bt.Result, order_id: int) -> dict:
    return res.orders.filter(pl.col("order_id") == order_id).row(0, named=True)


# -- refused rows ----------------------------------------------------------------

def _refused(arch, frame: pl.DataFrame, row: int, *words: str) -> None:
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, orders=frame)
    msg = str(ei.value)
    assert re.search(rf"\brow {row + 1}\b", msg), msg  # ``row`` is 0-based; messages count from 1
    for w in words:
        assert w in msg, (w, msg)


def test_unknown_symbol_is_refused_naming_the_row(arch):
    _refused(arch, orders_frame([(1, "EURUSD", "buy", 1), (1, "XAUUSD", "buy", 1)]), 1, "XAUUSD")


def test_qty_off_the_lot_step_is_refused_naming_the_row(arch):
    # 0.015 lot / 0.01 = 1.5 steps: not whole
    _refused(arch, orders_frame([(1, "EURUSD", "buy", 1), (2, "EURUSD", "buy", 0.5),
                                 (2, "EURUSD", "sell", 0.015)]), 2, "qty")


@pytest.mark.parametrize("qty", [0.0, -1.0])
def test_qty_not_positive_is_refused(arch, qty):
    _refused(arch, orders_frame([(1, "EURUSD", "buy", qty)]), 0, "qty")


def test_side_other_than_buy_or_sell_is_refused(arch):
    _refused(arch, orders_frame([(1, "EURUSD", "buy", 1), (1, "EURUSD", "hold", 1)]), 1, "hold")


def test_side_is_case_insensitive(arch):
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "BUY", 1), (2, "EURUSD", "Sell", 1)]))
    assert res.fills["side"].to_list() == ["buy", "sell"]


def test_limit_without_a_price_is_refused(arch):
    # limit orders are supported; their price is required (docs/execution.md §3)
    frame = orders_frame([(1, "EURUSD", "buy", 1), (1, "EURUSD", "buy", 1)], type=["market", "limit"])
    _refused(arch, frame, 1, "price", "required", "type limit")


def test_unknown_order_type_is_refused(arch):
    frame = orders_frame([(1, "EURUSD", "buy", 1), (1, "EURUSD", "buy", 1)], type=["market", "iceberg"])
    _refused(arch, frame, 1, "type", "iceberg")


def test_stop_loss_in_two_forms_is_refused(arch):
    # sl (a price) and sl_ticks (a distance) on one row: at most one form of a stop
    frame = orders_frame([(1, "EURUSD", "buy", 1), (1, "EURUSD", "buy", 1)])
    frame = frame.with_columns(pl.Series("sl", [1.09, 1.09], pl.Float64),
                               pl.Series("sl_ticks", [None, 10], pl.Int64))
    _refused(arch, frame, 1, "sl", "sl_ticks")


def test_all_null_engine_columns_are_accepted(arch):
    frame = orders_frame([(1, "EURUSD", "buy", 1)], type=["market"])
    floats = ("price", "stop", "sl", "tp", "sl_pct", "tp_pct", "trail", "trail_pct")
    ints = ("id", "oco", "ref", "sl_ticks", "tp_ticks", "trail_ticks", "trail_activation", "trail_step")
    frame = frame.with_columns(*(pl.lit(None, pl.Float64).alias(c) for c in floats),
                               *(pl.lit(None, pl.Int64).alias(c) for c in ints),
                               *(pl.lit(None, pl.String).alias(c) for c in ("action", "tif", "tag")),
                               pl.lit(None, pl.Datetime("ns", "UTC")).alias("expire"))
    assert bt.run(arch, orders=frame).summary["orders_filled"] == 1


def test_missing_columns_are_refused_and_unknown_ones_carried_into_the_orders_log(arch, tmp_path):
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1)]).drop("side"))
    assert "side" in str(ei.value)
    frame = orders_frame([(1, "EURUSD", "buy", 1), (2, "EURUSD", "sell", 1)], colour=["red", None],
                         score=[0.5, 2.0])
    sig = signals_frame([(3, "EURUSD", 0)]).with_columns(pl.lit("blue").alias("colour"))
    for out in (None, tmp_path / "out"):
        res = bt.run(arch, orders=frame, signals=sig, out=out)
        o = res.orders.sort("order_id")
        assert o["colour"].to_list() == ["red", None, "blue"]
        assert o["score"].to_list() == [0.5, 2.0, None]
        assert o["status"].to_list() == ["filled", "filled", "no_action"]


def test_bad_signal_row_is_refused(arch):
    # -0.333 lot is not a whole number of 0.01 steps
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, signals=signals_frame([(1, "EURUSD", 1), (2, "EURUSD", -0.333)]))
    assert re.search(r"\brow 2\b", str(ei.value))  # the second row, counted from 1


# -- strictly after t, own symbol --------------------------------------------------

def test_order_at_a_tick_time_fills_on_the_next_tick(arch):
    # stamped exactly at the 2 s tick: acts on the 3 s tick, buys at its ask 1.10004
    res = bt.run(arch, orders=orders_frame([(2, "EURUSD", "buy", 1)]))
    assert res.fills["price_ticks"].to_list() == [110004]
    assert ts_ns(res.fills) == [ns(3)]
    assert res.orders["status"].to_list() == ["filled"]
    assert ts_ns(res.orders, "fill_ts") == [ns(3)]
    # act_ts = ts + 1 ns
    assert ts_ns(res.orders, "act_ts") == [ns(2) + 1]


def test_order_between_ticks_fills_on_the_following_tick(arch):
    # stamped 2.5 s: the next EURUSD tick is 3 s, ask 1.10004
    res = bt.run(arch, orders=orders_frame([(2.5, "EURUSD", "sell", 1)]))
    # a sell fills at the bid of that tick: 1.10002
    assert res.fills["price_ticks"].to_list() == [110002]
    assert ts_ns(res.fills) == [ns(3)]


def test_order_one_nanosecond_before_a_tick_fills_on_it(arch):
    frame = orders_frame([(0, "EURUSD", "buy", 1)]).with_columns(
        pl.Series("ts", [ns(3) - 1]).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"))
    res = bt.run(arch, orders=frame)
    # act_ts = ts + 1 ns = 3 s exactly: the 3 s tick, ask 1.10004
    assert ts_ns(res.fills) == [ns(3)]
    assert res.fills["price_ticks"].to_list() == [110004]


def test_order_waits_for_its_own_symbol(arch):
    # GBPUSD order at 1 s: EURUSD ticks at 2, 3, 4 s do not fill it; the next
    # GBPUSD tick is at 4.5 s, ask 1.25013.
    res = bt.run(arch, orders=orders_frame([(1, "GBPUSD", "buy", 1)]))
    assert ts_ns(res.fills) == [ns(4.5)]
    assert res.fills["price_ticks"].to_list() == [125013]
    assert res.fills["symbol"].to_list() == ["GBPUSD"]


def test_buy_at_ask_sell_at_bid(arch):
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1), (3, "EURUSD", "sell", 1)]))
    # buy acts on 2 s: ask 1.10003; sell acts on 4 s: bid 1.10003
    assert res.fills["price_ticks"].to_list() == [110003, 110003]
    assert ts_ns(res.fills) == [ns(2), ns(4)]
    # (110003 - 110003) x 100 steps = 0: the spread paid on entry is the whole cost
    assert res.summary["realized_pnl_minor"] == 0


def test_orders_given_out_of_time_order_act_by_time_keeping_row_ids(arch):
    res = bt.run(arch, orders=orders_frame([(3, "EURUSD", "sell", 1), (1, "EURUSD", "buy", 1)]))
    # row 1 (buy at 1 s) fills first at the 2 s ask 1.10003; row 0 (sell at 3 s)
    # at the 4 s bid 1.10003
    assert res.fills["order_id"].to_list() == [1, 0]
    assert res.fills["price_ticks"].to_list() == [110003, 110003]
    assert res.orders["order_id"].to_list() == [0, 1]


def test_signal_at_a_tick_time_acts_on_the_next_tick(arch):
    res = bt.run(arch, signals=signals_frame([(2, "EURUSD", 1)]))
    # target +1 stamped at the 2 s tick: buys 100 steps at the 3 s ask 1.10004
    assert ts_ns(res.fills) == [ns(3)]
    assert res.fills["price_ticks"].to_list() == [110004]
    assert res.fills["qty_steps"].to_list() == [100]


def test_orders_from_csv_file(arch, tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text("ts,symbol,side,qty\n2024-01-02T00:00:02Z,EURUSD,buy,0.5\n2024-01-02T00:00:03Z,EURUSD,sell,0.5\n")
    res = bt.run(arch, orders=p)
    # buy 0.5 at the 3 s ask 1.10004, sell 0.5 at the 4 s bid 1.10003
    assert res.fills["price_ticks"].to_list() == [110004, 110003]
    assert res.fills["qty_steps"].to_list() == [50, 50]
    assert ts_ns(res.fills) == [ns(3), ns(4)]
    # (110003 - 110004) x 50 = -50 minor
    assert res.summary["realized_pnl_minor"] == -50


def test_orders_file_that_does_not_exist(arch, tmp_path):
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, orders=tmp_path / "none.parquet")
    assert str(tmp_path / "none.parquet") in str(ei.value)


def test_orders_with_equal_time_act_in_row_order(arch):
    res = bt.run(arch, orders=orders_frame([(2, "EURUSD", "sell", 1), (2, "EURUSD", "buy", 2)]))
    # both at the 3 s tick: sell 1 at bid 1.10002 opens short 1; buy 2 at ask
    # 1.10004 closes the short (loss (110002 - 110004) x 100 = -200) and opens long 1.
    assert res.fills["order_id"].to_list() == [0, 1, 1]
    assert res.fills["price_ticks"].to_list() == [110002, 110004, 110004]
    assert res.summary["realized_pnl_minor"] == -200


# -- latency -----------------------------------------------------------------------

def test_latency_delays_to_first_tick_at_or_after_ts_plus_latency(arch):
    # 1 s + 1.5 s = 2.5 s: first tick at or after is 3 s, ask 1.10004
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1)]), overrides={"run.latency": "1500ms"})
    assert ts_ns(res.fills) == [ns(3)]
    assert res.fills["price_ticks"].to_list() == [110004]


def test_latency_landing_exactly_on_a_tick_uses_that_tick(arch):
    # 1 s + 2 s = 3 s: the 3 s tick itself ("at or after"), ask 1.10004
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1)]), overrides={"run.latency": "2s"})
    assert ts_ns(res.fills) == [ns(3)]
    assert res.fills["price_ticks"].to_list() == [110004]


def test_latency_is_reported_in_act_ts(arch):
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1)]), overrides={"run.latency": "250ms"})
    assert ts_ns(res.orders, "act_ts") == [ns(1.25)]


# -- quantity limits -------------------------------------------------------------------

def test_qty_below_min_is_rejected_and_counted(arch):
    cfg = {"instruments": {"EURUSD": {"min_qty": "0.05"}}}
    # 0.02 lot < 0.05 lot minimum; 0.05 lot is fine
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 0.02), (1, "EURUSD", "buy", 0.05)]),
                 config=cfg)
    o0, o1 = _order(res, 0), _order(res, 1)
    assert (o0["status"], o0["reason"]) == ("rejected", "qty_below_min")
    assert o0["filled_steps"] == 0
    assert o1["status"] == "filled"
    assert o1["filled_steps"] == 5
    assert res.summary["orders_rejected"] == 1
    assert res.summary["orders_filled"] == 1
    assert res.fills.height == 1


def test_qty_above_max_is_rejected(arch):
    # EURUSD max_qty is 100 lots
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 100.01)]))
    o = _order(res, 0)
    assert (o["status"], o["reason"]) == ("rejected", "qty_above_max")
    assert res.summary["orders_rejected"] == 1
    assert res.fills.height == 0


# -- target signals ------------------------------------------------------------------

def test_targets_trade_the_difference(arch):
    res = bt.run(arch, signals=signals_frame([(1, "EURUSD", 1), (2, "EURUSD", -0.5), (3, "EURUSD", -0.5),
                                              (3.5, "EURUSD", 0)]))
    f = res.fills
    # 1 s target +1: buy 1 lot (100 steps) at the 2 s ask 1.10003.
    # 2 s target -0.5: sell 1.5 at the 3 s bid 1.10002 -> close 100 steps, open short 50.
    # 3 s target -0.5: already held -> no_action.
    # 3.5 s target 0: buy 0.5 at the 4 s ask 1.10005 -> close short 50.
    assert f["order_id"].to_list() == [0, 1, 1, 3]
    assert f["side"].to_list() == ["buy", "sell", "sell", "buy"]
    assert f["qty_steps"].to_list() == [100, 100, 50, 50]
    assert f["price_ticks"].to_list() == [110003, 110002, 110002, 110005]
    assert ts_ns(f) == [ns(2), ns(3), ns(3), ns(4)]
    assert res.orders["status"].to_list() == ["filled", "filled", "no_action", "filled"]
    assert res.summary["orders_no_action"] == 1
    # long: (110002 - 110003) x 100 = -100; short: (110002 - 110005) x 50 = -150
    assert res.summary["realized_pnl_minor"] == -250
    assert res.summary["positions_open"] == 0


def test_target_equal_to_current_position_is_no_action(arch):
    res = bt.run(arch, signals=signals_frame([(1, "EURUSD", 0)]))
    assert res.orders["status"].to_list() == ["no_action"]
    assert res.fills.height == 0


def test_orders_and_signals_together_share_one_position(arch):
    # order buys 1 at the 2 s ask; the 2 s target of 2 buys only the difference, 1 lot,
    # at the 3 s ask 1.10004. Ids: orders first (0), then signals (1).
    res = bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 1)]),
                 signals=signals_frame([(2, "EURUSD", 2)]))
    assert res.fills["order_id"].to_list() == [0, 1]
    assert res.fills["qty_steps"].to_list() == [100, 100]
    assert res.fills["price_ticks"].to_list() == [110003, 110004]


# -- no later tick ----------------------------------------------------------------------

def test_order_with_no_later_tick_ends_unfilled(arch):
    # EURUSD's last tick is at 5 s: an order stamped 5 s has nothing after it;
    # GBPUSD's last tick is 4.5 s, so an order at 4.6 s also stays unfilled.
    res = bt.run(arch, orders=orders_frame([(5, "EURUSD", "buy", 1), (4.6, "GBPUSD", "sell", 1),
                                            (4, "EURUSD", "buy", 1)]))
    assert res.orders["status"].to_list() == ["unfilled", "unfilled", "filled"]
    assert res.summary["orders_unfilled"] == 2
    assert res.fills.height == 1
    assert res.orders["fill_ts"].null_count() == 2
