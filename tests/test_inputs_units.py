"""Inputs read as the user meant them, or refused: integer time stamps need a unit,
naive datetimes are UTC on every path, orders before the data are not filled, float32
prices and quantities are the ticks and steps they stand for (docs/execution.md §1-§2).

EURUSD: tick 0.00001, lot step 0.01. Ticks at 1..5 s after T0 (2024-01-02 UTC), bid
1.10000 + (t-1) x 0.00001, ask bid + 0.00002; so a market buy acting on the tick at k s
fills at the ask 110002 + (k-1) ticks.
"""

from __future__ import annotations

import re
from decimal import Decimal as D

import polars as pl
import pyarrow as pa
import pytest

import backtestr as bt
from backtestr.cli import main
from tests.tickdata import hive_file, ns, orders_frame, signals_frame, tick_table, ts_ns, write_file

SECS = [1, 2, 3, 4, 5]
BID = [1.10000, 1.10001, 1.10002, 1.10003, 1.10004]
ASK = [1.10002, 1.10003, 1.10004, 1.10005, 1.10006]
MS = 10**6


def ask_ticks(sec: int) -> int:
    return 110002 + sec - 1


@pytest.fixture
def arch(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", SECS, BID, ASK)
    return root


def _ms_ticks(tmp_path):
    """The ticks of ``arch`` in one file with ``ts`` as int64 epoch milliseconds."""
    t = tick_table(SECS, BID, ASK, ["EURUSD"] * 5)
    ms = pa.array([ns(s) // MS for s in SECS], pa.int64())
    return write_file(tmp_path / "ms" / "ticks.parquet", t.set_column(0, "ts", ms))


# -- integer time stamps ---------------------------------------------------------------

def test_integer_tick_ts_is_refused_without_a_unit_naming_file_and_column(tmp_path):
    path = _ms_ticks(tmp_path)
    with pytest.raises(bt.DataError) as ei:
        bt.run(path, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]))
    msg = str(ei.value)
    assert str(path) in msg and "'ts'" in msg and "ts_unit=" in msg and "--ts-unit" in msg, msg


def test_integer_tick_ts_with_its_unit(tmp_path):
    path = _ms_ticks(tmp_path)
    # the buy at 2.5 s acts on the tick at 3 s (not at 1970, nor at the first tick)
    for kw in ({"ts_unit": "ms"}, {"overrides": {"data.ts_unit": "ms"}}):
        res = bt.run(path, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]), **kw)
        assert ts_ns(res.fills) == [ns(3)], kw
        assert res.fills["price_ticks"].to_list() == [ask_ticks(3)]
        assert res.summary["start"].startswith("2024-01-02T00:00:01"), kw
    # the start filter applies to the converted times, row groups included
    res = bt.run(path, orders=orders_frame([(3.5, "EURUSD", "buy", 1)]), ts_unit="ms",
                 overrides={"data.start": "2024-01-02T00:00:03"})
    assert res.summary["ticks"] == 3


def test_integer_tick_ts_in_a_frame(arch):
    df = pl.DataFrame({"ts": [ns(s) // 1000 for s in SECS], "symbol": ["EURUSD"] * 5, "bid": BID, "ask": ASK})
    with pytest.raises(bt.DataError, match=r"tick frame: column 'ts' holds integers"):
        bt.run(df, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]))
    res = bt.run(df, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]), ts_unit="us")
    assert ts_ns(res.fills) == [ns(3)]


def test_orders_csv_with_epoch_milliseconds(arch, tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(f"ts,symbol,side,qty\n{ns(2.5) // MS},EURUSD,buy,1\n")
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, orders=p)
    msg = str(ei.value)
    assert str(p) in msg and "column ts holds integers" in msg and "ts_unit=" in msg, msg
    res = bt.run(arch, orders=p, ts_unit="ms")
    assert ts_ns(res.fills) == [ns(3)]  # was: the first tick, 1 s
    assert res.fills["price_ticks"].to_list() == [ask_ticks(3)]


def test_signals_and_expire_with_integer_times(arch):
    sig = pl.DataFrame({"ts": [ns(3.5) // MS], "symbol": ["EURUSD"], "target": [1.0]})
    with pytest.raises(bt.OrdersError, match=r"signals frame: column ts holds integers"):
        bt.run(arch, signals=sig)
    res = bt.run(arch, signals=sig, ts_unit="ms")
    assert ts_ns(res.fills) == [ns(4)]
    # GTD sell limits at 1.10003 (the bid reaches it at 4 s): expire is read in the same unit
    o = orders_frame([(0.5, "EURUSD", "sell", 1)] * 2, type=["limit"] * 2, price=[1.10003] * 2, tif=["gtd"] * 2)
    o = o.with_columns(pl.col("ts").dt.epoch("ms"), pl.Series("expire", [ns(3.5) // MS, ns(4.5) // MS]))
    res = bt.run(arch, orders=o, ts_unit="ms")
    assert res.orders.sort("order_id")["status"].to_list() == ["expired", "filled"]
    assert ts_ns(res.fills) == [ns(4)]


def test_cli_ts_unit(tmp_path, capsys):
    path = _ms_ticks(tmp_path)
    orders = tmp_path / "o.csv"
    orders.write_text(f"ts,symbol,side,qty\n{ns(2.5) // MS},EURUSD,buy,1\n")
    out = tmp_path / "out"
    assert main(["run", "--data", str(path), "--orders", str(orders), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--ts-unit" in err and "Traceback" not in err, err
    assert not out.exists()
    assert main(["run", "--data", str(path), "--orders", str(orders), "--out", str(out), "--quiet",
                 "--ts-unit", "ms"]) == 0
    fills = pl.read_parquet(out / "fills.parquet")
    assert ts_ns(fills) == [ns(3)]


# -- naive datetimes are UTC, on every path --------------------------------------------

def test_naive_tick_times_are_utc_in_files_and_frames(tmp_path):
    t = tick_table(SECS, BID, ASK, ["EURUSD"] * 5)
    naive = t.set_column(0, "ts", t.column("ts").cast(pa.int64()).cast(pa.timestamp("ns")))
    path = write_file(tmp_path / "naive.parquet", naive)
    order = orders_frame([(2.5, "EURUSD", "buy", 1)])
    for data in (path, pl.from_arrow(naive), naive, pl.scan_parquet(path)):
        res = bt.run(data, orders=order)
        assert res.summary["start"] == "2024-01-02T00:00:01.000000Z", type(data)
        assert ts_ns(res.fills) == [ns(3)], type(data)


def test_naive_order_and_signal_times_are_utc(arch, tmp_path):
    naive = orders_frame([(2.5, "EURUSD", "buy", 1)]).with_columns(pl.col("ts").dt.replace_time_zone(None))
    csv = tmp_path / "o.csv"
    csv.write_text("ts,symbol,side,qty\n2024-01-02T00:00:02.500,EURUSD,buy,1\n")
    text = tmp_path / "o2.csv"  # an offset is honoured: 01:00:02.5+01:00 is 00:00:02.5 UTC
    text.write_text("ts,symbol,side,qty\n2024-01-02T01:00:02.500+01:00,EURUSD,buy,1\n")
    for orders in (naive, csv, text):
        res = bt.run(arch, orders=orders)
        assert ts_ns(res.fills) == [ns(3)], orders
    sig = signals_frame([(3.5, "EURUSD", 1.0)]).with_columns(pl.col("ts").dt.replace_time_zone(None))
    assert ts_ns(bt.run(arch, signals=sig).fills) == [ns(4)]


# -- orders before the data --------------------------------------------------------------

def test_orders_before_the_first_tick(arch):
    # rows: 0 market buy, 1 limit buy 1.10003 (carries in; fills on the 2 s ask), 2 close (nothing
    # opened before data), 3 market at exactly the first tick's time - 1 ns (acts on it: filled)
    o = pl.DataFrame({"ts": [ns(0.5), ns(0.5), ns(0.7), ns(1) - 1], "symbol": ["EURUSD"] * 4,
                      "side": ["buy", "buy", None, "sell"], "qty": [1.0, 1.0, None, 1.0],
                      "type": ["market", "limit", None, None], "price": [None, 1.10003, None, None],
                      "action": ["new", "new", "close", "new"]}).with_columns(
        pl.col("ts").cast(pl.Datetime("ns", "UTC")))
    sig = signals_frame([(0.1, "EURUSD", 2.0)])
    res = bt.run(arch, orders=o, signals=sig)
    got = {r["order_id"]: (r["status"], r["reason"]) for r in res.orders.iter_rows(named=True)}
    assert got == {0: ("rejected", "before_data"), 1: ("filled", "signal"), 2: ("rejected", "before_data"),
                   3: ("filled", "signal"), 4: ("rejected", "before_data")}
    assert res.fills.sort("order_id")["order_id"].to_list() == [1, 3]
    assert res.summary["orders_before_data"] == 3
    assert res.summary["rejections"] == {"before_data": 3}
    assert res.summary["rejections_by_severity"] == {"warning": 3}


def test_orders_before_data_agree_with_the_oracle():
    from tests.oracle import OCommission
    from tests.oracle_engine import EConfig, EInstrument
    from tests.scenarios import BASE_TS as T
    from tests.scenarios import EngineScenario
    from tests.test_oracle_engine import check_engine

    eur = EInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), min_qty=D("0.01"))
    px = D("0.00001")
    ticks = [(T + k * 10**9, "EURUSD", (110000 + k) * px, (110002 + k) * px) for k in (5, 6, 7, 8)]
    orders = [
        {"ts": T, "symbol": "EURUSD", "side": "buy", "qty": D(1), "type": "market"},
        {"ts": T + 10**9, "symbol": "EURUSD", "side": "buy", "qty": D(1), "type": "limit", "price": 110008 * px},
        {"ts": T + 2 * 10**9, "symbol": "EURUSD", "action": "close"},
        {"ts": T + 5 * 10**9, "symbol": "EURUSD", "side": "sell", "qty": D("0.5"), "type": "market"},
    ]
    signals = [{"ts": T + 3 * 10**9, "symbol": "EURUSD", "target": D(1)}]
    sc = EngineScenario({"EURUSD": eur}, ticks, orders, signals, OCommission(), EConfig(initial_cash=D("100000")))
    res = check_engine(sc)
    assert [(o["order_id"], o["status"], o["reason"]) for o in res.orders] == [
        (0, "rejected", "before_data"), (1, "filled", "none"), (2, "rejected", "before_data"),
        (3, "filled", "none"), (4, "rejected", "before_data")]


# -- float32 prices and quantities -------------------------------------------------------

def test_float32_prices_are_their_ticks(tmp_path):
    t = tick_table(SECS, BID, ASK, ["EURUSD"] * 5)
    f32 = t.set_column(1, "bid", t.column("bid").cast(pa.float32())).set_column(
        2, "ask", t.column("ask").cast(pa.float32()))
    path = write_file(tmp_path / "f32.parquet", f32)
    res = bt.run(path, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]))
    assert res.summary["ticks"] == 5
    assert res.fills["price_ticks"].to_list() == [ask_ticks(3)]


def test_float32_off_tick_is_still_refused_in_plain_numbers(tmp_path):
    t = tick_table(SECS, BID[:2] + [1.100025] + BID[3:], ASK, ["EURUSD"] * 5)
    path = write_file(tmp_path / "f32.parquet", t.set_column(1, "bid", t.column("bid").cast(pa.float32())))
    with pytest.raises(bt.DataError) as ei:
        bt.run(path, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]))
    msg = str(ei.value)
    assert "row 3" in msg and "off_tick" in msg and "bid 1.100025," in msg and "ask 1.10004)" in msg, msg
    assert "np." not in msg, msg


def test_float64_off_tick_message_shows_plain_numbers(tmp_path):
    path = write_file(tmp_path / "f64.parquet", tick_table([1, 2], [1.1, 1.100005], [1.10002, 1.10003],
                                                           ["EURUSD"] * 2))
    with pytest.raises(bt.DataError) as ei:
        bt.run(path, orders=orders_frame([(2.5, "EURUSD", "buy", 1)]))
    msg = str(ei.value)
    assert "bid 1.100005, ask 1.10003)" in msg and "np.float64" not in msg, msg


def test_quantities_within_round_off_of_a_step(arch):
    o = orders_frame([(1, "EURUSD", "buy", 0.1 + 0.2), (2, "EURUSD", "buy", 0.3)])
    o32 = o.with_columns(pl.col("qty").cast(pl.Float32))
    for frame in (o, o32):
        res = bt.run(arch, orders=frame)
        assert res.orders["qty_steps"].to_list() == [30, 30], frame.schema["qty"]
    sig = signals_frame([(1, "EURUSD", -0.3)]).with_columns(pl.col("target").cast(pl.Float32))
    assert bt.run(arch, signals=sig).orders["qty_steps"].to_list() == [-30]


def test_fractional_quantities_refused_or_rounded_down_and_counted(arch):
    o = orders_frame([(1, "EURUSD", "buy", 0.305), (2, "EURUSD", "buy", 0.3)])
    with pytest.raises(bt.OrdersError) as ei:
        bt.run(arch, orders=o)
    assert re.search(r"row 1: qty 0\.305 is not a whole number of lot steps of 0\.01", str(ei.value)), ei.value
    sig = signals_frame([(3, "EURUSD", -0.257)])
    res = bt.run(arch, orders=o, signals=sig, overrides={"run.qty_rounding": "down"})
    assert res.orders.sort("order_id")["qty_steps"].to_list() == [30, 30, -25]  # targets toward zero
    assert res.summary["orders_qty_rounded"] == 2
    assert bt.run(arch, orders=o.slice(1)).summary["orders_qty_rounded"] == 0
    with pytest.raises(bt.OrdersError, match=r"row 1: qty 0\.005 rounds down to 0 lot steps"):
        bt.run(arch, orders=orders_frame([(1, "EURUSD", "buy", 0.005)]), overrides={"run.qty_rounding": "down"})


# -- LazyFrame data and progress in notebooks -----------------------------------------------

def test_lazyframe_data_is_streamed_like_a_frame(tmp_path):
    # EURUSD at 1..5 s, GBPUSD at 1.5..5.5 s, interleaved in time
    t = tick_table([x for s in SECS for x in (s, s + 0.5)], [x for k in range(5) for x in (BID[k], 1.2 + k * 0.0001)],
                   [x for k in range(5) for x in (ASK[k], 1.2002 + k * 0.0001)], ["EURUSD", "GBPUSD"] * 5)
    path = write_file(tmp_path / "ticks.parquet", t)
    orders = orders_frame([(2.5, "EURUSD", "buy", 1), (3.5, "GBPUSD", "sell", 1)])
    want = bt.run(path, orders=orders, overrides={"run.chunk_rows": 2})
    got = bt.run(pl.scan_parquet(path), orders=orders, overrides={"run.chunk_rows": 2})
    assert got.summary["ticks"] == want.summary["ticks"] == 10
    assert got.fills.height == 2 and got.fills.equals(want.fills)
    # the same row rules, located as for an in-memory frame: rows of the symbol's ticks
    bad = pl.from_arrow(t).with_columns(pl.when(pl.int_range(pl.len()) == 7).then(1.2002).otherwise(pl.col("ask"))
                                        .alias("ask"))
    bad.write_parquet(tmp_path / "bad.parquet")
    msgs = []
    for data in (bad, pl.scan_parquet(tmp_path / "bad.parquet")):
        with pytest.raises(bt.DataError) as ei:
            bt.run(data, orders=orders, overrides={"run.chunk_rows": 2})
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1] and "tick frame, symbol GBPUSD: row 4:" in msgs[0] and "crossed" in msgs[0], msgs


def test_progress_bar_in_a_notebook(monkeypatch):
    import importlib
    import sys
    import types

    run_mod = importlib.import_module("backtestr.run")

    class Shell:
        config = {"IPKernelApp": {"connection_file": "x"}}

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: Shell()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert run_mod.in_notebook()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    bar = run_mod._progress_bar(True)
    assert bar is not None
    bar.update(3)
    assert bar.n == 3
    bar.close()
    assert run_mod._progress_bar(False) is None
    fake.get_ipython = lambda: None  # type: ignore[attr-defined]
    assert not run_mod.in_notebook()
    assert run_mod._progress_bar(True) is None  # no notebook, no terminal


def test_unit_of_a_bad_name_is_refused(arch):
    with pytest.raises(bt.ConfigError, match="ts_unit"):
        bt.run(arch, signals=signals_frame([(1, "EURUSD", 1.0)]), ts_unit="days")


# -- output frames: enum names, codes beside them -------------------------------------------

def test_enum_columns_hold_names_with_codes_beside_them(arch, tmp_path):
    import pyarrow.parquet as pq

    o = orders_frame([(1, "EURUSD", "buy", 1), (2, "EURUSD", "sell", 1)])
    res = bt.run(arch, orders=o, out=tmp_path / "out")
    f = res.fills
    assert f.filter(pl.col("symbol") == "EURUSD").height == 2
    assert f["side"].to_list() == ["buy", "sell"] and f["side_code"].to_list() == [1, -1]
    assert f["effect"].to_list() == ["open", "close"] and f["effect_code"].to_list() == [0, 3]
    assert res.orders["status"].to_list() == ["filled", "filled"] and res.orders["status_code"].to_list() == [2, 2]
    assert res.positions["exit_reason"].to_list() == ["signal"] and res.positions["side"].to_list() == ["long"]
    schema = pq.read_schema(tmp_path / "out" / "fills.parquet")
    for c in ("symbol", "side", "effect", "reason"):
        assert pa.types.is_dictionary(schema.field(c).type), c
        assert pa.types.is_integer(schema.field(f"{c}_code").type), c
    assert "symbol_name" not in schema.names and "side_name" not in schema.names
    # a cancel row has no side: its name is null, its code 0; severity only for a rejection
    c = bt.run(arch, orders=pl.concat([o.head(1), pl.DataFrame(
        {"ts": o["ts"][1:2], "symbol": ["EURUSD"], "action": ["cancel"], "ref": [99]})], how="diagonal_relaxed"))
    got = c.orders.sort("order_id").select("side", "side_code", "status", "reason", "severity").rows()
    assert got == [("buy", 1, "filled", "signal", None), (None, 0, "rejected", "unknown_ref", "error")]


def test_float32_order_prices_are_their_ticks(arch):
    # a buy limit at 1.10004 and its stop-loss at 1.09990, both float32, are those ticks (the limit
    # carries into the data and fills on the first ask, 1.10002)
    o = orders_frame([(0.5, "EURUSD", "buy", 1)], type=["limit"], price=[1.10004], sl=[1.0999]).with_columns(
        pl.col("price").cast(pl.Float32), pl.col("sl").cast(pl.Float32))
    res = bt.run(arch, orders=o)
    assert res.orders.select("status", "price_ticks", "sl_val").rows() == [("filled", 110004, 109990)]
