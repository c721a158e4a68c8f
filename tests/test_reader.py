"""Data in (docs/architecture.md §3): row rules, errors that name file/row/rule, skip-and-count,
sources (hive partitions, symbol column, several files), merge order, filters.

EURUSD and GBPUSD: tick 0.00001, lot step 0.01, contract 100000, USD account
with 2 minor digits, so one tick on one lot step is worth
0.00001 x 0.01 x 100000 = 0.01 USD = 1 minor unit.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import backtestr as bt
from backtestr.reader import TickStream, plan_sources
from tests.tickdata import hive_file, ns, orders_frame, tick_table, ts_ns, write_file

NAN = math.nan
GOOD = [(1, 1.10000, 1.10002), (2, 1.10001, 1.10003)]
TAIL = [(4, 1.10002, 1.10004)]

# One bad row at row 2 for each rule; rows 0, 1 and 3 are fine.
BAD_ROW_2 = {
    "nan_price": (3, NAN, 1.10003),
    "nonpositive_price": (3, 0.0, 1.10003),
    # ask 1.10000 < bid 1.10010
    "crossed": (3, 1.10010, 1.10000),
    # 1.100005 / 0.00001 = 110000.5 ticks, half a tick off the grid
    "off_tick": (3, 1.100005, 1.10003),
    # 1.5 s comes after 2 s in the file
    "unsorted": (1.5, 1.10001, 1.10003),
    # the very same (ts, bid, ask) as row 1
    "duplicate": (2, 1.10001, 1.10003),
}


def _hive(root: Path, rows, symbol="EURUSD", **kw) -> Path:
    return hive_file(root, symbol, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], **kw)


def _rule_of(message: str) -> str:
    m = re.search(r"\b(nan_price|nonpositive_price|crossed|off_tick|unsorted|duplicate)\b", message)
    return m.group(1) if m else ""


def _strip_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "kernel_s", "compile_s", "ticks_per_s")}


@pytest.mark.parametrize("rule", sorted(BAD_ROW_2))
def test_bad_row_stops_the_run_naming_file_row_and_rule(tmp_path, rule):
    root = tmp_path / "arch"
    f = _hive(root, [*GOOD, BAD_ROW_2[rule], *TAIL])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    e = ei.value
    msg = str(e)
    assert str(f) in msg
    assert re.search(r"\brow 3\b", msg), msg
    assert _rule_of(msg) == rule
    assert Path(e.path) == f
    assert e.row == 3
    assert e.rule == rule


@pytest.mark.parametrize("rule", ["crossed", "duplicate"])
def test_row_number_counts_within_its_own_file(tmp_path, rule):
    # Day 1 is clean (3 rows); day 2 has the bad row at its row 2, which is
    # row 5 of the symbol's stream but row 2 of its own file.
    root = tmp_path / "arch"
    _hive(root, [(0, 1.1, 1.10002), (0.5, 1.1, 1.10002), (0.7, 1.1, 1.10002)], date="2024-01-01")
    f = _hive(root, [*GOOD, BAD_ROW_2[rule], *TAIL])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    assert Path(ei.value.path) == f
    assert ei.value.row == 3
    assert re.search(r"\brow 3\b", str(ei.value))


def test_row_number_is_right_past_row_groups_and_batches(tmp_path):
    # 8 rows, row groups of 3 rows, batches of 2 rows; the bad row is row 6
    # (row group 2, its row 0).
    rows = [(i, 1.1 + i * 0.00001, 1.1 + i * 0.00001 + 0.00002) for i in range(8)]
    rows[6] = (6, 1.2, 1.1)  # crossed
    root = tmp_path / "arch"
    f = _hive(root, rows, row_group_size=3)
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, overrides={"run.chunk_rows": 2})
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 7, "crossed")
    assert re.search(r"\brow 7\b", str(ei.value))


def test_skip_drops_each_bad_row_and_counts_it_by_rule(tmp_path):
    rows = [
        (1, 1.10000, 1.10002),   # r0 good
        (2, NAN, 1.10003),       # r1 nan_price
        (3, 0.0, 1.10003),       # r2 nonpositive_price
        (4, 1.10010, 1.10000),   # r3 crossed
        (5, 1.100005, 1.10003),  # r4 off_tick
        (6, 1.10001, 1.10003),   # r5 good
        (6, 1.10001, 1.10003),   # r6 duplicate of r5
        (5.5, 1.10002, 1.10004),  # r7 unsorted: before r5's 6 s
        (7, 1.10002, 1.10004),   # r8 good
    ]
    root = tmp_path / "arch"
    _hive(root, rows)
    # Bought at 1 s: the next kept tick is r5 (6 s), ask 1.10003.
    orders = orders_frame([(1, "EURUSD", "buy", 1)])
    res = bt.run(root, orders=orders, overrides={"run.on_bad_rows": "skip"})
    s = res.summary
    assert s["bad_rows_skipped"] == {"nan_price": 1, "nonpositive_price": 1, "crossed": 1, "off_tick": 1,
                                     "duplicate": 1, "unsorted": 1}
    assert s["ticks"] == 3  # r0, r5, r8
    assert s["rows_read"] == 9
    assert res.fills["price_ticks"].to_list() == [110003]
    assert ts_ns(res.fills) == [ns(6)]
    # Marked at r8's bid 1.10002: (110002 - 110003) ticks x 100 steps x 1 minor = -100 minor.
    assert s["final_equity_minor"] == 10_000_000 - 100


def test_default_mode_stops_at_the_first_bad_row(tmp_path):
    root = tmp_path / "arch"
    f = _hive(root, [(1, 1.1, 1.10002), (2, NAN, 1.1), (3, 0.0, 1.1)])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 2, "nan_price")


@pytest.mark.parametrize("chunk_rows", [
    1000,
    2,
    1,
])
def test_unsorted_row_is_found_whatever_the_batch_size(tmp_path, chunk_rows):
    # rows at 1, 2, 1.5, 4 s: row 2 goes back in time. With batches of 2 rows
    # it is the first row of the second batch; the rule must not depend on that.
    root = tmp_path / "arch"
    f = _hive(root, [(1, 1.1, 1.10002), (2, 1.1, 1.10002), (1.5, 1.1, 1.10002), (4, 1.1, 1.10002)])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, overrides={"run.chunk_rows": chunk_rows})
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 3, "unsorted")


def test_overlapping_files_of_one_symbol_are_unsorted(tmp_path):
    # p0 holds 1, 2, 3, 5 s and p1 holds 4, 6 s. Files of a symbol are read in
    # order of their first time stamp (p0, then p1), so p1's row 0 (4 s) comes
    # after p0's last row (5 s): unsorted, in p1 at row 0.
    root = tmp_path / "arch"
    _hive(root, [(1, 1.1, 1.10002), (2, 1.1, 1.10002), (3, 1.1, 1.10002), (5, 1.1, 1.10002)],
          part="p0.parquet")
    f = _hive(root, [(4, 1.1, 1.10002), (6, 1.1, 1.10002)], part="p1.parquet")
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 1, "unsorted")


def test_duplicate_across_two_files_is_found_in_the_second_file(tmp_path):
    # day 1 ends with (3 s, 1.1, 1.10002) and day 2 starts with the same row
    root = tmp_path / "arch"
    _hive(root, [(1, 1.1, 1.10002), (2, 1.1, 1.10002), (3, 1.1, 1.10002)], date="2024-01-01")
    f = _hive(root, [(3, 1.1, 1.10002), (4, 1.1, 1.10002)])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 1, "duplicate")


def test_row_number_is_right_when_row_groups_are_skipped_by_start(tmp_path):
    # row groups of 3 rows at 1-3, 4-6, 7-8 s; start 4 s skips the first one.
    # The crossed row at 5 s is row 4 of the file.
    rows = [(s, 1.1, 1.10002) for s in range(1, 9)]
    rows[4] = (5, 1.1, 1.09)
    root = tmp_path / "arch"
    f = _hive(root, rows, row_group_size=3)
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, overrides={"data.start": "2024-01-02T00:00:04"})
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 5, "crossed")


@pytest.mark.parametrize(("value", "rule"), [(None, "nan_price"), (math.inf, "nan_price"),
                                             (-1.1, "nonpositive_price")])
def test_null_infinite_and_negative_prices(tmp_path, value, rule):
    t = tick_table([1, 2, 3], [1.1, 1.1, 1.1], [1.10002, 1.10002, 1.10002])
    t = t.set_column(1, "bid", pa.array([1.1, value, 1.1], pa.float64()))
    f = write_file(tmp_path / "arch" / "symbol=EURUSD" / "date=2024-01-02" / "part-0.parquet", t)
    with pytest.raises(bt.DataError) as ei:
        bt.run(tmp_path / "arch")
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 2, rule)


def test_off_tick_ask_alone(tmp_path):
    root = tmp_path / "arch"
    # ask 1.100025 is 110002.5 ticks
    f = _hive(root, [(1, 1.1, 1.10002), (2, 1.1, 1.100025)])
    with pytest.raises(bt.DataError) as ei:
        bt.run(root)
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 2, "off_tick")


def test_tick_size_of_each_instrument_decides_off_tick(tmp_path):
    # XAUUSD ticks are 0.01: 2050.25 is on the grid, 2050.255 is not.
    root = tmp_path / "arch"
    _hive(root, [(1, 2050.25, 2050.5)], symbol="XAUUSD")
    assert bt.run(root).summary["ticks"] == 1
    root2 = tmp_path / "arch2"
    f = _hive(root2, [(1, 2050.25, 2050.5), (2, 2050.255, 2050.5)], symbol="XAUUSD")
    with pytest.raises(bt.DataError) as ei:
        bt.run(root2)
    assert (Path(ei.value.path), ei.value.row, ei.value.rule) == (f, 2, "off_tick")


def test_file_without_symbol_column_or_partition(tmp_path):
    f = write_file(tmp_path / "ticks.parquet", tick_table([1], [1.1], [1.10002]))
    with pytest.raises(bt.DataError) as ei:
        bt.run(f)
    assert str(f) in str(ei.value)
    assert "symbol" in str(ei.value)


def test_missing_column_names_file_and_column(tmp_path):
    t = tick_table([1, 2], [1.1, 1.1], [1.10002, 1.10002]).drop_columns(["ask"])
    f = write_file(tmp_path / "arch" / "symbol=EURUSD" / "date=2024-01-02" / "part-0.parquet", t)
    with pytest.raises(bt.DataError) as ei:
        bt.run(tmp_path / "arch")
    msg = str(ei.value)
    assert str(f) in msg
    assert "ask" in msg
    assert "missing" in msg.lower()


@pytest.mark.parametrize("column", ["bid", "ts"])
def test_wrong_column_type_names_file_and_column(tmp_path, column):
    t = tick_table([1, 2], [1.1, 1.1], [1.10002, 1.10002])
    t = t.set_column(t.schema.get_field_index(column), column,
                     pa.array(["x", "y"]))
    f = write_file(tmp_path / "arch" / "symbol=EURUSD" / "date=2024-01-02" / "part-0.parquet", t)
    with pytest.raises(bt.DataError) as ei:
        bt.run(tmp_path / "arch")
    msg = str(ei.value)
    assert str(f) in msg
    assert f"'{column}'" in msg or f"column {column}" in msg


def test_path_that_does_not_exist(tmp_path):
    p = tmp_path / "nowhere"
    with pytest.raises(bt.DataError) as ei:
        bt.run(p)
    assert str(p) in str(ei.value)
    assert "not exist" in str(ei.value)


def test_empty_folder(tmp_path):
    p = tmp_path / "empty"
    p.mkdir()
    with pytest.raises(bt.DataError) as ei:
        bt.run(p)
    assert str(p) in str(ei.value)
    assert "no parquet" in str(ei.value).lower()


@pytest.mark.parametrize("row_group_size", [None, 1])
def test_everything_filtered_out_by_time(tmp_path, row_group_size):
    root = tmp_path / "arch"
    _hive(root, [*GOOD, *TAIL], row_group_size=row_group_size)
    # Ticks at 1, 2, 4 s; the window [10 s, 20 s) holds none of them.
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, overrides={"data.start": "2024-01-02T00:00:10", "data.end": "2024-01-02T00:00:20"})
    assert "no ticks" in str(ei.value)


EUR = [(1, 1.10000, 1.10002), (2, 1.10001, 1.10003), (4, 1.10005, 1.10007), (6, 1.10003, 1.10004)]
GBP = [(1.5, 1.25000, 1.25003), (2, 1.25001, 1.25004), (3, 1.25010, 1.25012), (5, 1.24990, 1.24993)]


def _single_file(path: Path) -> Path:
    rows = sorted([(r, "EURUSD") for r in EUR] + [(r, "GBPUSD") for r in GBP], key=lambda x: (x[0][0], x[1]))
    return write_file(path, tick_table([r[0] for r, _ in rows], [r[1] for r, _ in rows], [r[2] for r, _ in rows],
                                       [s for _, s in rows]))


def _two_symbol_orders() -> pl.DataFrame:
    return orders_frame([(1, "EURUSD", "buy", 1), (1, "GBPUSD", "sell", 2), (3, "EURUSD", "sell", 1),
                         (3.5, "GBPUSD", "buy", 0.5)])


def test_symbol_from_partition_or_from_column_gives_the_same_run(tmp_path):
    hive = tmp_path / "hive"
    _hive(hive, EUR, "EURUSD")
    _hive(hive, GBP, "GBPUSD")
    single = _single_file(tmp_path / "ticks.parquet")
    cfg = {"run": {"log_level": "ticks"}}
    a = bt.run(hive, orders=_two_symbol_orders(), config=cfg)
    b = bt.run(single, orders=_two_symbol_orders(), config=cfg)
    assert a.summary["ticks"] == b.summary["ticks"] == 8
    assert a.summary["fills"] == 4
    for name in ("orders", "fills", "positions", "equity"):
        assert getattr(a, name).equals(getattr(b, name)), name
    sa, sb = _strip_timing(a.summary), _strip_timing(b.summary)
    sa.pop("files")
    sb.pop("files")
    assert sa == sb


def _stream(path, symbols, start=None, end=None, chunk_rows=1000):
    srcs = plan_sources(path, start, end)
    inv = np.array([1e5 for _ in symbols])
    ts, sym, bid = [], [], []
    for c in TickStream(srcs, symbols, inv, start, end, chunk_rows, False):
        ts += c.ts.tolist()
        sym += [symbols[i] for i in c.sym]
        bid += c.bid.tolist()
    return ts, sym, bid


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_merge_is_by_time_and_ties_go_to_the_lower_symbol_first(tmp_path, chunk_rows):
    root = tmp_path / "arch"
    _hive(root, EUR, "EURUSD")
    _hive(root, GBP, "GBPUSD")
    ts, sym, _ = _stream(root, ["EURUSD", "GBPUSD"], chunk_rows=chunk_rows)
    # by time: 1 E, 1.5 G, 2 E|G (tie -> EURUSD first), 3 G, 4 E, 5 G, 6 E
    assert ts == [ns(x) for x in (1, 1.5, 2, 2, 3, 4, 5, 6)]
    assert sym == ["EURUSD", "GBPUSD", "EURUSD", "GBPUSD", "GBPUSD", "EURUSD", "GBPUSD", "EURUSD"]


def test_tie_inside_one_multi_symbol_file_keeps_file_row_order(tmp_path):
    # The file lists GBPUSD before EURUSD at 2 s. A file holding several
    # symbols is one time-ordered source, so its own row order stands for
    # equal time stamps (docs/architecture.md §3); only ties between sources
    # go by symbol.
    f = write_file(tmp_path / "ticks.parquet",
                   tick_table([1, 2, 2, 3], [1.25, 1.25001, 1.1, 1.1], [1.25002, 1.25003, 1.10002, 1.10002],
                              ["GBPUSD", "GBPUSD", "EURUSD", "EURUSD"]))
    _, sym, _ = _stream(f, ["EURUSD", "GBPUSD"])
    assert sym == ["GBPUSD", "GBPUSD", "EURUSD", "EURUSD"]


def test_start_is_inclusive_and_end_exclusive(tmp_path):
    for rg in (None, 1):
        root = tmp_path / f"arch{rg}"
        _hive(root, [(s, 1.1, 1.10002) for s in (1, 2, 3, 4, 5)], row_group_size=rg)
        res = bt.run(root, overrides={"data.start": "2024-01-02T00:00:02", "data.end": "2024-01-02T00:00:04"})
        # [2 s, 4 s) keeps the ticks at 2 s and 3 s
        assert res.summary["ticks"] == 2, rg
        assert res.summary["start"].startswith("2024-01-02T00:00:02"), rg
        assert res.summary["end"].startswith("2024-01-02T00:00:03"), rg


def test_start_and_end_filter_orders_fill_only_inside_the_window(tmp_path):
    root = tmp_path / "arch"
    _hive(root, [(s, 1.1 + s * 0.00001, 1.1 + s * 0.00001 + 0.00002) for s in (1, 2, 3, 4, 5)])
    # Orders at 0.5 s act before the first tick in the window starting at 3 s (the one at
    # 3 s, ask 1.1 + 0.00003 + 0.00002 = 1.10005 -> 110005 ticks): the market order is
    # rejected (before_data, docs/execution.md §2), the limit order at 1.10005 carries in
    # and fills there.
    res = bt.run(root, orders=orders_frame([(0.5, "EURUSD", "buy", 1), (0.5, "EURUSD", "buy", 2)],
                                           type=["market", "limit"], price=[None, 1.10005]),
                 overrides={"data.start": "2024-01-02T00:00:03"})
    assert res.fills["order_id"].to_list() == [1]
    assert res.fills["price_ticks"].to_list() == [110005]
    assert ts_ns(res.fills) == [ns(3)]
    o = res.orders.sort("order_id")
    assert o["status"].to_list() == ["rejected", "filled"]
    assert o["reason"].to_list() == ["before_data", "signal"]
    assert res.summary["orders_before_data"] == 1
    assert res.summary["rejections"] == {"before_data": 1}


@pytest.mark.parametrize("layout", ["hive", "single"])
def test_symbols_restrict_the_run(tmp_path, layout):
    if layout == "hive":
        root = tmp_path / "arch"
        _hive(root, EUR, "EURUSD")
        _hive(root, GBP, "GBPUSD")
    else:
        root = _single_file(tmp_path / "ticks.parquet")
    res = bt.run(root, orders=orders_frame([(1.5, "GBPUSD", "buy", 1)]), overrides={"data.symbols": ["GBPUSD"]})
    assert res.summary["symbols"] == ["GBPUSD"]
    assert res.summary["ticks"] == len(GBP)
    # next GBPUSD tick after 1.5 s (the first tick of the run) is at 2 s, ask 1.25004
    assert res.fills["price_ticks"].to_list() == [125004]
    # an order for the left-out symbol is refused
    with pytest.raises(bt.OrdersError):
        bt.run(root, orders=orders_frame([(1, "EURUSD", "buy", 1)]), overrides={"data.symbols": ["GBPUSD"]})


def test_symbol_absent_from_the_archive_is_an_error(tmp_path):
    root = tmp_path / "arch"
    _hive(root, EUR, "EURUSD")
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, overrides={"data.symbols": ["EURUSD", "USDJPY"]})
    assert "USDJPY" in str(ei.value)


def test_archive_split_into_several_files_equals_one_file(tmp_path):
    rows = [(s, 1.1 + (s % 7) * 0.00001, 1.1 + (s % 7) * 0.00001 + 0.00002) for s in range(1, 13)]
    one = tmp_path / "one"
    _hive(one, rows)
    many = tmp_path / "many"
    _hive(many, rows[:5], date="2024-01-02", part="part-0.parquet")
    _hive(many, rows[5:9], date="2024-01-02", part="part-1.parquet", row_group_size=2)
    _hive(many, rows[9:], date="2024-01-03", part="part-0.parquet")
    orders = orders_frame([(1, "EURUSD", "buy", 1), (4, "EURUSD", "sell", 2), (8, "EURUSD", "buy", 1.5)])
    cfg = {"run": {"log_level": "ticks", "chunk_rows": 3}}
    a = bt.run(one, orders=orders, config=cfg)
    b = bt.run(many, orders=orders, config=cfg)
    assert a.summary["files"] == 1 and b.summary["files"] == 3
    assert a.summary["ticks"] == b.summary["ticks"] == 12
    # buy 1 opens; sell 2 reverses (close 1, open 1 short); buy 1.5 reverses
    # (close 1, open 0.5 long): 1 + 2 + 2 = 5 fills
    assert a.summary["fills"] == 5
    for name in ("orders", "fills", "positions", "equity"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_files_of_a_symbol_are_read_in_time_order_not_name_order(tmp_path):
    root = tmp_path / "arch"
    # "a.parquet" holds the later ticks, "b.parquet" the earlier ones.
    hive_file(root, "EURUSD", [3, 4], [1.1, 1.1], [1.10002, 1.10002], part="a.parquet")
    hive_file(root, "EURUSD", [1, 2], [1.1, 1.1], [1.10002, 1.10002], part="b.parquet")
    ts, _, _ = _stream(root, ["EURUSD"])
    assert ts == [ns(1), ns(2), ns(3), ns(4)]


def test_data_span_from_statistics_and_from_frames(tmp_path):
    import pyarrow.compute as pc

    from backtestr.reader import data_span, frame_sources

    # Two files of EURUSD (ticks at 1..5 s and 9..12 s, the second in row groups of 2) and one of
    # GBPUSD (3..20 s): the span is the first tick of all to the last, 1 s .. 20 s.
    root = tmp_path / "arch"
    _hive(root, [(s, 1.1, 1.10002) for s in range(1, 6)], part="part-0.parquet")
    _hive(root, [(s, 1.1, 1.10002) for s in range(9, 13)], part="part-1.parquet", row_group_size=2)
    _hive(root, [(s, 1.2, 1.20002) for s in (3, 20)], symbol="GBPUSD")
    assert data_span(plan_sources(root)) == (ns(1), ns(20))
    # start/end keep only the row groups that can hold ticks in [10 s, 11 s): the one of 9-10 s
    # (11-12 s starts at the end, which is exclusive)
    assert data_span(plan_sources(root / "symbol=EURUSD", ns(10), ns(11))) == (ns(9), ns(10))
    # in-memory ticks in any timestamp unit, or integers with their unit
    t = tick_table([2, 7.5], [1.1, 1.1], [1.10002, 1.10002], ["EURUSD", "EURUSD"])
    ns_ints = t.column("ts").cast(pa.int64())
    for ts, unit in ((t.column("ts"), None), (t.column("ts").cast(pa.timestamp("ms", tz="UTC")), None),
                     (ns_ints, "ns"), (pc.divide(ns_ints, 10**6), "ms")):
        assert data_span(frame_sources(t.set_column(0, "ts", ts), unit)) == (ns(2), ns(7.5))


def test_data_span_is_unknown_without_statistics(tmp_path):
    from backtestr.reader import data_span

    path = tmp_path / "symbol=EURUSD" / "x.parquet"
    path.parent.mkdir()
    import pyarrow.parquet as pq

    pq.write_table(tick_table([1, 2], [1.1, 1.1], [1.10002, 1.10002]), path, write_statistics=False)
    assert data_span(plan_sources(tmp_path)) == (None, None)
