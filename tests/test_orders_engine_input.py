"""The input side of the order engine (docs/execution.md §1-§5, §7): the orders
table's new columns -> ORDER records (hard errors by file, row and column; soft
rejections kept as rejected records; ids, refs and OCO rings resolved after the
act_ts sort; stop kinds and ppm), the [execution] and account_mode config keys,
PARAMS, and the swap/funding fractions of the INSTRUMENT table.

EURUSD/GBPUSD: tick 0.00001, lot step 0.01 (1 lot = 100 steps), contract
100000. With a USD account of 2 minor digits the value of one tick on one lot
step is V = 0.00001 x 0.01 x 100000 x 100 = 1 minor unit. Prices in ticks:
1.10002 -> 110002. No test here runs the kernel.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from backtestr.kernels.records import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    EX_PERFECT,
    EX_REALISTIC,
    EX_WORST,
    K_NONE,
    K_PPM,
    K_PRICE,
    K_REMOVE,
    K_TICKS,
    MODE_HEDGING,
    MODE_NETTING,
    OS_NEW,
    OS_REJECTED,
    OT_LIMIT,
    OT_MARKET,
    OT_STOP,
    OT_STOP_LIMIT,
    OT_TARGET,
    POSITION,
    R_EXPIRY_PAST,
    R_NONE,
    R_OFF_TICK,
    R_UNKNOWN_REF,
    SLIP_FIXED,
    SLIP_NONE,
    SLIP_SIZE,
    SLIP_SPREAD,
    SWAP_NONE,
    SWAP_PERCENT,
    SWAP_POINTS,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)

import backtestr as bt
from backtestr.config import load_config
from backtestr.instruments import kernel_table, load_registry
from backtestr.orders import load_orders
from backtestr.run import _params
from backtestr.writer import Decoder
from tests.tickdata import hive_file, ns, signals_frame, utc

SYMS = ["EURUSD", "GBPUSD"]
WHERE = "orders frame"
HOUR = 3600 * 10**9
INT_COLS = ("id", "oco", "ref", "sl_ticks", "tp_ticks", "trail_ticks", "trail_activation", "trail_step")
STR_COLS = ("action", "symbol", "side", "type", "tif", "tag")


def frame(*rows: dict, **dtypes: pl.DataType) -> pl.DataFrame:
    """Rows as dicts (``ts``/``expire`` in seconds after T0; absent keys null)."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    data = {}
    for c in cols:
        vals = [r.get(c) for r in rows]
        if c in ("ts", "expire"):
            data[c] = utc(c, [0 if v is None else v for v in vals]).scatter(
                [i for i, v in enumerate(vals) if v is None], None)
            continue
        dt = dtypes.get(c) or (pl.Int64 if c in INT_COLS else pl.String if c in STR_COLS else pl.Float64)
        data[c] = pl.Series(c, vals, dtype=dt)
    return pl.DataFrame(data)


def od(ts=1, side="buy", qty=1.0, sym="EURUSD", **kw) -> dict:
    return {"ts": ts, "symbol": sym, "side": side, "qty": qty, **kw}


def load(*rows: dict, signals: pl.DataFrame | None = None, latency: int = 0, **dtypes) -> np.ndarray:
    return _book(frame(*rows, **dtypes) if rows else None, signals, latency).records


def _book(orders, signals=None, latency=0):
    reg = load_registry(load_config())
    return load_orders(orders, signals, SYMS, [reg[s] for s in SYMS], latency)


def by_id(rec: np.ndarray, oid: int) -> np.void:
    return rec[int(np.flatnonzero(rec["order_id"] == oid)[0])]


def refused(*rows: dict, row: int, words: tuple[str, ...], **dtypes) -> str:
    with pytest.raises(bt.OrdersError) as ei:
        load(*rows, **dtypes)
    msg = str(ei.value)
    assert msg.startswith(WHERE), msg
    assert re.search(rf"\brow {row + 1}\b", msg), msg  # ``row`` is 0-based; messages count from 1
    for w in words:
        assert w in msg, (w, msg)
    return msg


# -- hard errors -----------------------------------------------------------------------------

def test_a_column_the_engine_does_not_use_is_carried_by_order_id():
    book = _book(frame(od(id=7), od(colour="red", id=3), colour=pl.String), None, 0)
    assert book.carried is not None
    assert book.carried.to_pydict() == {"order_id": [3, 7], "colour": ["red", None]}


def test_a_carried_column_named_like_a_log_column_is_refused_by_name():
    with pytest.raises(bt.OrdersError) as ei:
        load(od(), od(fill_ts=1.0), fill_ts=pl.Float64)
    msg = str(ei.value)
    assert "fill_ts" in msg and "rename" in msg and WHERE in msg


@pytest.mark.parametrize(("col", "word"), [("action", "amend"), ("type", "trailing"), ("tif", "day"),
                                           ("side", "hold")])
def test_bad_enum_words_are_refused_naming_row_and_column(col, word):
    msg = refused(od(), od(**{col: word}), row=1, words=(col, word))
    assert "not one of" in msg


def test_enum_words_are_case_insensitive_and_null_takes_the_default():
    rec = load(od(action="NEW", type="Limit", price=1.1, tif=" GTC "), od(type=None, tif=None, action=None))
    assert rec["action"].tolist() == [A_NEW, A_NEW]
    assert rec["type"].tolist() == [OT_LIMIT, OT_MARKET]
    assert rec["tif"].tolist() == [TIF_GTC, TIF_GTC]


@pytest.mark.parametrize(("row", "col", "why"), [
    (od(side=None), "side", "action new"),
    (od(qty=None), "qty", "action new"),
    (od(type="limit"), "price", "type limit"),
    (od(type="stop"), "stop", "type stop"),
    (od(type="stop_limit", stop=1.1), "price", "type stop_limit"),
    (od(type="stop_limit", price=1.1), "stop", "type stop_limit"),
    (od(type="limit", price=1.1, tif="gtd"), "expire", "tif gtd"),
    ({"ts": 1, "symbol": "EURUSD", "action": "modify", "sl": 1.1}, "ref", "action modify"),
    ({"ts": 1, "symbol": "EURUSD", "action": "cancel"}, "ref", "action cancel"),
])
def test_missing_required_value_for_the_rows_action_or_type(row, col, why):
    msg = refused(od(type="limit", price=1.1, ref=None, stop=None, expire=None), row, row=1,
                  words=(col, "required", why))
    assert "no " + col + " column" not in msg


def test_missing_required_column_says_there_is_none():
    with pytest.raises(bt.OrdersError) as ei:
        load({"ts": 1, "symbol": "EURUSD", "qty": 1.0})
    assert "row 1: side is required for action new (there is no side column)" in str(ei.value)
    with pytest.raises(bt.OrdersError) as ei:
        load({"ts": 1, "symbol": "EURUSD", "action": "cancel"})
    assert "row 1: ref is required for action cancel (there is no ref column)" in str(ei.value)


@pytest.mark.parametrize("row", [
    od(qty=0.015),  # 1.5 steps
    {"ts": 1, "symbol": "EURUSD", "action": "modify", "ref": 0, "qty": 0.015},
    {"ts": 1, "symbol": "EURUSD", "action": "close", "qty": 0.015},
])
def test_qty_not_whole_lot_steps_is_refused_for_new_modify_and_close(row):
    refused(od(), row, row=1, words=("qty", "lot steps of 0.01", "EURUSD"))


@pytest.mark.parametrize("qty", [0.0, -1.0])
def test_qty_must_be_positive_when_given(qty):
    refused(od(), {"ts": 1, "symbol": "EURUSD", "action": "close", "qty": qty}, row=1,
            words=("qty", "positive"))


@pytest.mark.parametrize(("base", "two"), [
    ("sl", {"sl": 1.09, "sl_ticks": 10}), ("sl", {"sl_ticks": 10, "sl_pct": 0.5}),
    ("tp", {"tp": 1.2, "tp_pct": 0.5}), ("trail", {"trail": 0.0002, "trail_pct": 0.1}),
    ("trail", {"trail_ticks": 5, "trail": 0.0002}),
])
def test_more_than_one_form_of_a_stop_is_refused(base, two):
    msg = refused(od(), od(**two), row=1, words=(*two, "at most one of"))
    assert f"{base}, {base}_ticks, {base}_pct" in msg


@pytest.mark.parametrize("col", ["sl_pct", "tp_pct", "trail_pct"])
def test_percent_with_more_than_4_decimals_is_refused(col):
    refused(od(), od(**{col: 0.12345}), row=1, words=(col, "0.12345", "more than 4 decimals"))


@pytest.mark.parametrize("col", ["sl_ticks", "tp_ticks", "trail_ticks", "trail_activation", "trail_step"])
def test_non_integer_tick_distance_is_refused(col):
    extra = {"trail_ticks": 5} if col in ("trail_activation", "trail_step") else {}
    refused(od(), od(**{col: 2.5}, **extra), row=1, words=(col, "2.5", "whole number of ticks"),
            **{col: pl.Float64})


@pytest.mark.parametrize(("col", "value"), [
    ("sl_ticks", -3), ("tp_ticks", -1), ("trail_ticks", -2), ("trail_activation", -1), ("trail_step", -1),
    ("sl_pct", -0.5), ("tp_pct", -1.0), ("trail_pct", -0.1), ("trail", -0.0002), ("sl", -1.1), ("tp", -1.2),
])
def test_negative_distance_or_stop_price_is_refused(col, value):
    extra = {"trail_ticks": 5} if col in ("trail_activation", "trail_step") else {}
    refused(od(), od(**{col: value}, **extra), row=1, words=(col, "negative"))


def test_duplicate_ids_are_refused_naming_the_later_row():
    msg = refused(od(id=5), od(id=6), od(id=5), row=2, words=("id 5", "row 1"))
    assert "row 3: id 5 is also the id of row 1" in msg


def test_explicit_id_equal_to_a_defaulted_row_number_is_refused():
    # row 0 has no id, so its id is 0; row 1 asks for id 0
    msg = refused(od(id=None), od(id=0), row=1, words=("id 0",))
    assert "row 2: id 0 is also the id of row 1 (rows without an id take their 0-based position" in msg


def test_order_id_equal_to_a_signal_id_is_refused():
    # two orders: the signal's id is 2
    with pytest.raises(bt.OrdersError) as ei:
        load(od(id=2), od(id=7), signals=signals_frame([(1, "EURUSD", 1)]))
    assert str(ei.value) == ("orders frame: row 1: id 2 is also the id of signals frame row 1 "
                             "(rows without an id take their 0-based position, orders first, then signals)")


def test_negative_or_fractional_id_is_refused():
    refused(od(id=-1), row=0, words=("id", "negative"))
    refused(od(id=1.5), row=0, words=("id", "1.5", "whole number"), id=pl.Float64)


@pytest.mark.parametrize(("row", "words"), [
    (od(price=1.1), ("price", "market")),
    (od(type="stop", stop=1.1, price=1.2), ("price", "stop order")),
    (od(type="limit", price=1.1, stop=1.2), ("stop", "limit order")),
    (od(expire=5), ("expire", "tif gtd")),
    (od(ref=0), ("ref", "modify, cancel and close")),
    (od(trail_activation=3), ("trail_activation", "needs trail")),
    (od(sl=1.09, trail_step=3), ("trail_step", "needs trail")),
    (od(type="limit", price=0.0), ("price", "positive")),
    ({"ts": 1, "symbol": "EURUSD", "action": "modify", "ref": 0, "stop": -1.0}, ("stop", "positive")),
])
def test_values_that_cannot_apply_to_the_row_are_refused(row, words):
    refused(od(), row, row=1, words=words)


def test_values_the_action_does_not_use_are_ignored():
    # type on a modify/cancel/close row, side on close, sl on cancel, oco on modify
    rec = load(od(id=0, type="limit", price=1.1),
               {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0, "type": "market", "oco": 3, "price": 1.2},
               {"ts": 2, "symbol": "EURUSD", "action": "cancel", "ref": 0, "type": "market", "sl": 1.3},
               {"ts": 2, "symbol": "EURUSD", "action": "close", "side": "buy", "type": "stop"})
    assert rec["type"].tolist() == [OT_LIMIT, OT_MARKET, OT_MARKET, OT_MARKET]
    assert rec["side"].tolist() == [1, 0, 0, 0]
    assert rec["oco_group"].tolist() == [-1] * 4
    assert rec["sl_kind"][2] == K_NONE
    assert rec["status"].tolist() == [OS_NEW] * 4


def test_refusals_reach_the_user_through_run_before_the_kernel(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", [1, 2], [1.1, 1.1], [1.10002, 1.10002])
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(root, orders=frame(od(), od(sl_pct=0.5, sl_ticks=3)))
    assert "orders frame: row 2: sl_ticks and sl_pct are both set" in str(ei.value)


# -- soft rejections --------------------------------------------------------------------------

@pytest.mark.parametrize("row", [
    od(type="limit", price=1.100005),
    od(type="stop", stop=1.100005),
    od(type="stop_limit", stop=1.1, price=1.100005),
    od(sl=1.090005),
    od(tp=1.200005),
    od(trail=0.000015),
    {"ts": 1, "symbol": "EURUSD", "action": "modify", "ref": 0, "price": 1.100005},
    {"ts": 1, "symbol": "EURUSD", "action": "modify", "ref": 0, "sl": 1.090005},
])
def test_price_off_the_tick_grid_is_rejected_off_tick(row):
    rec = load(od(id=0), row)
    assert rec["status"].tolist() == [OS_NEW, OS_REJECTED]
    assert rec["reason"].tolist() == [R_NONE, R_OFF_TICK]


def test_prices_on_the_grid_are_whole_ticks():
    rec = load(od(type="stop_limit", stop=1.10002, price=1.10003, sl=1.09001, tp=1.20003, trail=0.00015))
    r = rec[0]
    assert (r["stop_ticks"], r["price_ticks"], r["sl_val"], r["tp_val"], r["trail_val"]) == (
        110002, 110003, 109001, 120003, 15)
    assert r["status"] == OS_NEW


@pytest.mark.parametrize(("expire", "status", "reason"), [
    (0.5, OS_REJECTED, R_EXPIRY_PAST), (1, OS_REJECTED, R_EXPIRY_PAST), (1.001, OS_NEW, R_NONE)])
def test_gtd_expiring_at_or_before_ts_is_rejected_expiry_past(expire, status, reason):
    rec = load(od(type="limit", price=1.1, tif="gtd", expire=expire))
    assert (rec[0]["status"], rec[0]["reason"]) == (status, reason)
    assert rec[0]["expire_ts"] == ns(expire)
    assert rec[0]["tif"] == TIF_GTD


def test_unknown_ref_is_rejected_unknown_ref_keeping_the_id_given():
    rec = load(od(id=5),
               {"ts": 2, "symbol": "EURUSD", "action": "cancel", "ref": 99, "id": 6},
               {"ts": 2, "symbol": "EURUSD", "action": "close", "ref": 5, "id": 7})
    r = by_id(rec, 6)
    assert (r["status"], r["reason"], r["ref"], r["ref_id"]) == (OS_REJECTED, R_UNKNOWN_REF, -1, 99)
    r = by_id(rec, 7)
    assert (r["status"], r["reason"], r["ref_id"]) == (OS_NEW, R_NONE, 5)


def test_off_tick_comes_before_expiry_past_before_unknown_ref():
    rec = load({"ts": 1, "symbol": "EURUSD", "action": "modify", "ref": 42, "price": 1.100005},
               od(type="limit", price=1.100005, tif="gtd", expire=1),
               {"ts": 1, "symbol": "EURUSD", "action": "cancel", "ref": 42})
    assert rec["reason"].tolist() == [R_OFF_TICK, R_OFF_TICK, R_UNKNOWN_REF]
    rec = load(od(type="limit", price=1.1, tif="gtd", expire=1))
    assert rec["reason"].tolist() == [R_EXPIRY_PAST]


def test_close_without_ref_and_gtc_need_nothing():
    rec = load({"ts": 1, "symbol": "GBPUSD", "action": "close"})
    r = rec[0]
    assert (r["action"], r["ref"], r["ref_id"], r["qty_steps"], r["symbol"], r["status"]) == (
        A_CLOSE, -1, -1, 0, 1, OS_NEW)


# -- ids, refs and OCO after the sort -----------------------------------------------------------

def test_refs_and_oco_rings_are_indices_after_the_act_ts_sort():
    # input rows (ts): 0 (5 s) id 30 limit oco 1; 1 (1 s) id 10 stop oco 2; 2 (3 s) id 20 limit oco 1;
    # 3 (2 s) id 40 modify ref 30; 4 (1 s) id 50 cancel ref 20; 5 (4 s) id 60 limit oco 2;
    # 6 (4 s) id 70 limit oco 9 (alone). Sorted by ts, then row: rows 1, 4, 3, 2, 5, 6, 0.
    rec = load(od(5, type="limit", price=1.1, id=30, oco=1), od(1, type="stop", stop=1.2, id=10, oco=2),
               od(3, type="limit", price=1.1, id=20, oco=1),
               {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 30, "id": 40, "sl_ticks": 5},
               {"ts": 1, "symbol": "EURUSD", "action": "cancel", "ref": 20, "id": 50},
               od(4, type="limit", price=1.1, id=60, oco=2), od(4, type="limit", price=1.1, id=70, oco=9))
    assert rec["order_id"].tolist() == [10, 50, 40, 20, 60, 70, 30]
    # ref: internal indices of the referenced ids in this sorted array
    assert rec["ref"].tolist() == [-1, 3, 6, -1, -1, -1, -1]
    assert rec["ref_id"].tolist() == [-1, 20, 30, -1, -1, -1, -1]
    assert all(rec["order_id"][rec["ref"][k]] == rec["ref_id"][k] for k in (1, 2))
    # OCO rings in index order: group 1 = {3, 6}, group 2 = {0, 4}, group 9 = {5} (itself)
    assert rec["oco_group"].tolist() == [2, -1, -1, 1, 2, 9, 1]
    assert rec["oco_next"].tolist() == [4, -1, -1, 6, 0, 5, 3]


def test_oco_ring_of_three_cycles_in_index_order():
    rec = load(*(od(1, type="limit", price=1.1, oco=4) for _ in range(3)), od(1))
    assert rec["oco_next"].tolist() == [1, 2, 0, -1]


def test_default_ids_are_row_numbers_orders_then_signals_and_sort_is_stable():
    rec = load(od(3), od(1), od(1, side="sell"), signals=signals_frame([(2, "EURUSD", -1), (0.5, "GBPUSD", 1)]))
    # ids 0, 1, 2 (orders), 3, 4 (signals); act_ts order: 4 (0.5 s), 1, 2 (1 s), 3 (2 s), 0 (3 s)
    assert rec["order_id"].tolist() == [4, 1, 2, 3, 0]
    assert rec["type"].tolist() == [OT_TARGET, OT_MARKET, OT_MARKET, OT_TARGET, OT_MARKET]
    assert rec["qty_steps"].tolist() == [100, 100, 100, -100, 100]
    assert rec["act_ts"].tolist() == [ns(t) + 1 for t in (0.5, 1, 1, 2, 3)]


def test_latency_shifts_act_ts_and_keeps_input_order():
    rec = load(od(2, id=7), od(1, id=3), latency=250 * 10**6)
    assert rec["order_id"].tolist() == [3, 7]
    assert rec["act_ts"].tolist() == [ns(1.25), ns(2.25)]


def test_fixed_fields_and_tags_by_id():
    book = _book(frame(od(id=12, tag="a"), od(id=11), {"ts": 1, "symbol": "EURUSD", "action": "cancel",
                                                       "ref": 12, "tag": "c"}))
    rec = book.records
    for f in ("parent_id", "position_id", "next_working"):
        assert rec[f].tolist() == [-1, -1, -1], f
    assert rec["action"].tolist() == [A_NEW, A_NEW, A_CANCEL]
    assert book.tags == {12: "a", 2: "c"}


# -- stop kinds and parts per million ---------------------------------------------------------

def test_stop_kinds_and_values_on_a_new_order():
    rec = load(od(sl=1.09, tp_ticks=25, trail_pct=0.05, trail_activation=4, trail_step=2),
               od(sl_pct=1.5, tp_pct=0.0001, trail=0.0002),
               od(sl_ticks=7, tp=1.2, trail_ticks=6))
    assert rec["sl_kind"].tolist() == [K_PRICE, K_PPM, K_TICKS]
    assert rec["sl_val"].tolist() == [109000, 15000, 7]  # 1.5 % = 15 000 ppm
    assert rec["tp_kind"].tolist() == [K_TICKS, K_PPM, K_PRICE]
    assert rec["tp_val"].tolist() == [25, 1, 120000]  # 0.0001 % = 1 ppm
    # a trailing price is a distance: 0.0002 = 20 ticks, kind ticks
    assert rec["trail_kind"].tolist() == [K_PPM, K_TICKS, K_TICKS]
    assert rec["trail_val"].tolist() == [500, 20, 6]  # 0.05 % = 500 ppm
    assert rec["trail_act"].tolist() == [4, 0, 0]
    assert rec["trail_step"].tolist() == [2, 0, 0]


def test_zero_is_no_stop_on_new_and_remove_on_modify():
    mod = {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0}
    rec = load(od(id=0, sl=0.0, tp_ticks=0, trail_pct=0.0),
               {**mod, "sl": 0.0, "tp_pct": 0.0, "trail_ticks": 0},
               {**mod, "sl_ticks": 0, "tp": 0.0, "trail": 0.0},
               {**mod, "price": 1.1})
    assert rec["sl_kind"].tolist() == [K_NONE, K_REMOVE, K_REMOVE, K_NONE]
    assert rec["tp_kind"].tolist() == [K_NONE, K_REMOVE, K_REMOVE, K_NONE]
    assert rec["trail_kind"].tolist() == [K_NONE, K_REMOVE, K_REMOVE, K_NONE]
    for f in ("sl_val", "tp_val", "trail_val"):
        assert rec[f].tolist() == [0, 0, 0, 0], f
    assert rec["status"].tolist() == [OS_NEW] * 4


def test_modify_fields_qty_price_stop_and_trail():
    rec = load(od(id=0, type="stop_limit", stop=1.1, price=1.1),
               {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0, "qty": 0.5, "price": 1.10005,
                "stop": 1.10004, "trail_ticks": 8, "trail_activation": 3, "trail_step": 1},
               {"ts": 2, "symbol": "EURUSD", "action": "modify", "ref": 0})
    m = rec[1]
    assert (m["action"], m["side"], m["qty_steps"], m["price_ticks"], m["stop_ticks"]) == (
        A_MODIFY, 0, 50, 110005, 110004)
    assert (m["trail_kind"], m["trail_val"], m["trail_act"], m["trail_step"]) == (K_TICKS, 8, 3, 1)
    assert (rec[2]["qty_steps"], rec[2]["price_ticks"], rec[2]["stop_ticks"]) == (0, 0, 0)


def test_types_tif_and_expire_fields():
    rec = load(od(type="limit", price=1.1, tif="ioc"), od(type="stop", stop=1.2, tif="gtd", expire=9),
               od(type="stop_limit", stop=1.2, price=1.21))
    assert rec["type"].tolist() == [OT_LIMIT, OT_STOP, OT_STOP_LIMIT]
    assert rec["tif"].tolist() == [TIF_IOC, TIF_GTD, TIF_GTC]
    assert rec["expire_ts"].tolist() == [0, ns(9), 0]
    assert (rec["price_ticks"].tolist(), rec["stop_ticks"].tolist()) == ([110000, 0, 121000], [0, 120000, 120000])


def test_orders_csv_with_engine_columns(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text("id,action,ts,symbol,side,qty,type,price,tif,expire,ref,sl_pct,tag\n"
                 "10,new,2024-01-02T00:00:01Z,EURUSD,buy,0.5,limit,1.10001,gtd,2024-01-02T00:00:05Z,,0.25,x\n"
                 "11,modify,2024-01-02T00:00:02Z,EURUSD,,,,1.10002,,,10,,\n")
    book = _book(p)
    rec = book.records
    assert rec["order_id"].tolist() == [10, 11]
    assert rec["expire_ts"].tolist() == [ns(5), 0]
    assert (rec["sl_kind"][0], rec["sl_val"][0]) == (K_PPM, 2500)
    assert rec["ref"].tolist() == [-1, 0]
    assert rec["price_ticks"].tolist() == [110001, 110002]
    assert book.tags == {10: "x"}


# -- outputs of the new fields (writer, no kernel) ----------------------------------------------

def test_writer_drops_internal_columns_and_names_the_new_codes():
    book = _book(frame(od(id=3, type="limit", price=1.1, tif="gtd", expire=5, tag="t"),
                       {"ts": 1, "symbol": "EURUSD", "action": "cancel", "ref": 3}))
    dec = Decoder(SYMS, np.array([1e-5, 1e-5]), np.array([0.01, 0.01]), 2)
    t = pl.from_arrow(dec.table("orders", np.sort(book.records, order="order_id"), book.tags))
    for c in ("ref", "oco_next", "next_working", "stage"):
        assert c not in t.columns
    assert t["action"].to_list() == ["cancel", "new"]
    assert t["tif"].to_list() == ["gtc", "gtd"]
    assert t["price"].to_list() == [None, 1.1]
    assert t["tag"].to_list() == [None, "t"]
    assert t["ref_id"].to_list() == [3, -1]
    pos = np.zeros(1, POSITION)
    pos["symbol"], pos["sl_ticks"], pos["mae_ticks"], pos["mae_minor"] = 0, 109990, 109980, -250
    t = pl.from_arrow(dec.table("positions", pos))
    assert "open_k" not in t.columns and "trail_state" not in t.columns
    row = t.row(0, named=True)
    assert (row["sl"], row["tp"], row["trail_stop_price"], row["mfe"]) == (pytest.approx(1.0999), None, None, None)
    assert (row["mae"], row["mae_money"], row["trail_stop"]) == (pytest.approx(1.0998), -2.5, 0)


# -- config: account_mode and [execution] -----------------------------------------------------

def test_execution_defaults_and_params():
    c = load_config()
    assert c["run.account_mode"] == "netting"
    assert c.values["execution"] == {"model": "perfect", "slippage": "none", "slippage_ticks": 0,
                                     "slippage_spread": Decimal(0), "random_slippage": False, "seed": 0}
    p = _params(c)[0]
    assert (p["account_mode"], p["exec_model"], p["slip_kind"], p["slip_ticks"], p["slip_num"], p["slip_den"],
            p["slip_random"], p["seed"]) == (MODE_NETTING, EX_PERFECT, SLIP_NONE, 0, 0, 1, 0, 0)


@pytest.mark.parametrize(("model", "ex", "slip", "sk", "spread", "num_den"), [
    ("realistic", EX_REALISTIC, "fixed", SLIP_FIXED, "0.25", (1, 4)),
    ("worst_case", EX_WORST, "spread", SLIP_SPREAD, "1.5", (3, 2)),
    ("perfect", EX_PERFECT, "size", SLIP_SIZE, "0.333", (333, 1000)),
])
def test_execution_values_reach_params(tmp_path, model, ex, slip, sk, spread, num_den):
    f = tmp_path / "c.toml"
    f.write_text(f'[run]\naccount_mode = "hedging"\n[execution]\nmodel = "{model}"\nslippage = "{slip}"\n'
                 f'slippage_ticks = 3\nslippage_spread = "{spread}"\nrandom_slippage = true\n'
                 f'seed = 9223372036854775807\n')
    p = _params(load_config(f))[0]
    assert (p["account_mode"], p["exec_model"], p["slip_kind"], p["slip_ticks"]) == (MODE_HEDGING, ex, sk, 3)
    assert (p["slip_num"], p["slip_den"]) == num_den
    assert (p["slip_random"], p["seed"]) == (1, 2**63 - 1)


@pytest.mark.parametrize(("key", "value"), [
    ("run.account_mode", '"hedge"'),
    ("execution.model", '"best"'),
    ("execution.model", '"worst"'),
    ("execution.slippage", '"random"'),
    ("execution.slippage_ticks", "-1"),
    ("execution.slippage_ticks", '"two"'),
    ("execution.slippage_spread", '"-0.5"'),
    ("execution.slippage_spread", '"half"'),
    ("execution.slippage_spread", '"0.12345678901234567890123"'),
    ("execution.random_slippage", '"maybe"'),
    ("execution.seed", "-1"),
    ("execution.seed", "1.5"),
])
def test_bad_execution_values_are_refused_by_name(tmp_path, key, value):
    sec, k = key.split(".")
    f = tmp_path / "c.toml"
    f.write_text(f"[{sec}]\n{k} = {value}\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert key in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_execution_key_is_refused_by_name():
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=["execution.slip=3"])
    assert "execution.slip" in str(ei.value)


def test_execution_from_set():
    c = load_config(overrides=["execution.model=realistic", "execution.slippage_spread=0.5",
                               "run.account_mode=hedging"])
    assert (c["execution.model"], c["execution.slippage_spread"], c["run.account_mode"]) == (
        "realistic", Decimal("0.5"), "hedging")


# -- instruments: swap and funding --------------------------------------------------------------

def _table(sym: str = "EURUSD", **inst):
    cfg = load_config(data={"instruments": {sym: inst}} if inst else None)
    reg = load_registry(cfg)
    return kernel_table([sym], reg, cfg)[0], reg[sym]


@pytest.mark.parametrize(("key", "value"), [
    ("swap_mode", "daily"), ("swap_long", "much"), ("swap_short", True), ("swap_time", "25:00"),
    ("swap_time", "7pm"), ("swap_time", 22), ("swap_days", [1, 1, 1]), ("swap_days", [1, 1, 3, 1, 1, 0, 16]),
    ("swap_days", [1, 1, 3, 1, 1, 0, -1]), ("swap_days", "1,1,3,1,1,0,0"), ("swap_year_days", 0),
    ("funding_rate", "x"), ("funding_interval", "soon"), ("funding_interval", "-8h"),
    ("funding_time", "24:00"),
])
def test_bad_swap_and_funding_values_are_refused_by_name(key, value):
    with pytest.raises(bt.ConfigError) as ei:
        load_config(data={"instruments": {"EURUSD": {key: value}}})
    assert f"instruments.EURUSD.{key}" in str(ei.value)


def test_builtin_instruments_have_no_swap_and_no_funding():
    # fixed rates for the symbols quoted in another currency than the account's USD (the rate
    # does not enter the swap and funding fields checked here)
    others = {s: {"quote_to_account": "0.0067"} for s, i in load_registry(load_config()).items() if i.quote != "USD"}
    cfg = load_config(data={"instruments": others})
    reg = load_registry(cfg)
    syms = sorted(reg)
    t = kernel_table(syms, reg, cfg)
    assert t["swap_kind"].tolist() == [SWAP_NONE] * len(syms)
    for f in ("swap_long_num", "swap_short_num", "fund_num", "fund_period_ns"):
        assert t[f].tolist() == [0] * len(syms), f
    for f in ("swap_long_den", "swap_short_den", "fund_den"):
        assert t[f].tolist() == [1] * len(syms), f
    assert t["swap_offset_ns"].tolist() == [22 * HOUR] * len(syms)
    # fx and metal: [1, 1, 3, 1, 1, 0, 0] = 1 + 1<<4 + 3<<8 + 1<<12 + 1<<16; others all 1
    fx = 1 + (1 << 4) + (3 << 8) + (1 << 12) + (1 << 16)
    assert {s: int(d) for s, d in zip(syms, t["swap_days"], strict=True)} == {
        s: fx if reg[s].kind in ("fx", "metal") else 0x1111111 for s in syms}
    assert fx == 70417 and reg["BTCUSD"].kind == "crypto"


def test_eurusd_points_swap_by_hand():
    # V = 1 minor per tick per step. A long receives -2.5 points per lot per day: it pays
    # 2.5 ticks x 100 steps x V = 250 minor per lot, i.e. charge = R(steps x mult x 5/2).
    # A short receives +1: charge = R(steps x mult x -1).
    r, ins = _table(swap_mode="points", swap_long="-2.5", swap_short="1", swap_time="21:30")
    assert ins.swap_days == (1, 1, 3, 1, 1, 0, 0)  # fx default
    assert r["swap_kind"] == SWAP_POINTS
    assert (r["swap_long_num"], r["swap_long_den"]) == (5, 2)
    assert (r["swap_short_num"], r["swap_short_den"]) == (-1, 1)
    assert r["swap_offset_ns"] == (21 * 60 + 30) * 60 * 10**9
    # 1 lot (100 steps) on a triple Wednesday: 100 x 3 x 5/2 = 750 minor = 7.50 USD
    assert 100 * 3 * Fraction(5, 2) == 750


def test_eurusd_percent_swap_by_hand():
    # -swap / 100 / year_days x V: long -3.65 %/year over 365 days -> +0.0001 = 1/10000 per tick*step
    # (1 lot at 1.10000: R(110000 x 100 x 1/10000) = 1100 minor a day); short +1.2 %/year over
    # 360 days -> -1.2 / 36000 = -1/30000.
    r, _ = _table(swap_mode="percent", swap_long="-3.65", swap_short="1.2", swap_year_days=360)
    assert r["swap_kind"] == SWAP_PERCENT
    # -(-3.65) / 100 / 360 = 365 / 3 600 000 = 73 / 720 000 (in lowest terms)
    assert (r["swap_long_num"], r["swap_long_den"]) == (73, 720000)
    assert Fraction(73, 720000) == Fraction(Decimal("3.65")) / 100 / 360
    assert (r["swap_short_num"], r["swap_short_den"]) == (-1, 30000)
    r, _ = _table(swap_mode="percent", swap_long="-3.65")
    assert (r["swap_long_num"], r["swap_long_den"]) == (1, 10000)


def test_eurusd_funding_by_hand():
    # rate x V = 0.0001 x 1: a long of 1 lot at 1.10000 pays R(110000 x 100 x 1/10000) = 1100 minor
    r, _ = _table(funding_rate="0.0001", funding_interval="8h", funding_time="04:00")
    assert (r["fund_num"], r["fund_den"]) == (1, 10000)
    assert r["fund_period_ns"] == 8 * HOUR
    assert r["fund_offset_ns"] == 4 * HOUR
    r, _ = _table(funding_rate="-0.00005", funding_interval="1h")
    assert (r["fund_num"], r["fund_den"], r["fund_period_ns"], r["fund_offset_ns"]) == (-1, 20000, HOUR, 0)
    r, _ = _table(funding_rate="0.0001")  # no interval: no funding
    assert (r["fund_num"], r["fund_den"], r["fund_period_ns"]) == (0, 1, 0)


def test_swap_includes_the_quote_conversion_and_custom_days():
    # V = 0.00001 x 0.01 x 100000 x 1.1 x 100 = 1.1 = 11/10; points -2 -> 2 x 11/10 = 11/5
    r, ins = _table("ABCEUR", tick_size="0.00001", lot_step="0.01", contract_size="100000", quote="EUR",
                    quote_to_account="1.1", swap_mode="points", swap_long="-2", swap_days=[0, 1, 2, 3, 4, 5, 15])
    assert (r["value_num"], r["value_den"]) == (11, 10)
    assert (r["swap_long_num"], r["swap_long_den"]) == (11, 5)
    assert r["swap_days"] == (1 << 4) + (2 << 8) + (3 << 12) + (4 << 16) + (5 << 20) + (15 << 24)
    assert ins.kind == "other"


def test_swap_rate_too_fine_for_int64_is_refused_by_name():
    with pytest.raises(bt.ConfigError) as ei:
        _table(swap_mode="points", swap_long="0.1234567890123456789012345")
    assert "swap_long" in str(ei.value) and "EURUSD" in str(ei.value)

