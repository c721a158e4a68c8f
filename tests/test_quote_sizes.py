"""Quote sizes (optional columns ``bid_size``/``ask_size``, docs/architecture.md §3; size slippage, docs/execution.md §5).

docs/execution.md §5: with ``execution.slippage = "size"`` a fill slips by
``s = R(slippage_ticks × qty / size)`` ticks, ``size`` the quote's size (ask for a buy, bid for
a sell) in whole lot steps, rounded down; a size that is missing, 0 or under one step is
unknown and ``s = slippage_ticks``.  Model realistic: a buy pays ``ask + s``, a sell gets
``bid − s``.  EURUSD: tick 0.00001, lot step 0.01 lots; qty 1 lot = 100 steps.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import backtestr as bt
from tests.tickdata import DAY, hive_file, orders_frame, tick_table, write_file

SIZE = {"execution.model": "realistic", "execution.slippage": "size", "execution.slippage_ticks": 3}

# (sec, bid, ask, bid_size, ask_size) in lots; None = null
ROWS = [
    (0.5, 1.10000, 1.10002, 9.0, 0.5),   # the data starts with the first order (none acts before it)
    (1, 1.10000, 1.10002, 9.0, 0.5),     # buy 100 steps, ask size 50: s = R(300 / 50) = 6 -> 110008
    (2, 1.10010, 1.10012, 2.5, 9.0),     # sell, bid size 250: s = R(300 / 250) = R(1.2) = 1 -> 110009
    (3, 1.10020, 1.10022, 9.0, 0.005),   # buy, ask size half a step -> 0 steps, unknown: s = 3 -> 110025
    (4, 1.10030, 1.10032, None, 9.0),    # sell, bid size null, unknown: s = 3 -> 110027
    (5, 1.10040, 1.10042, 9.0, 0.3),     # buy, ask size 0.3 / 0.01 = 29.999999999999996 in float, which
                                         # is 30 whole steps: s = R(300 / 30) = 10 -> 110052
    (6, 1.10050, 1.10052, 9.0, 9.0),
]
WANT = [110008, 110009, 110025, 110027, 110052]
ORDERS = [(k + 0.5, "EURUSD", "buy" if k % 2 == 0 else "sell", 1) for k in range(5)]


def _table(rows, symbol: str | None = None) -> pa.Table:
    t = tick_table([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                   None if symbol is None else [symbol] * len(rows))
    return t.append_column("bid_size", pa.array([r[3] for r in rows], pa.float64())).append_column(
        "ask_size", pa.array([r[4] for r in rows], pa.float64()))


def _archive(root: Path, rows, symbol: str = "EURUSD") -> Path:
    return write_file(root / f"symbol={symbol}" / f"date={DAY}" / "part-0.parquet", _table(rows))


def test_size_slippage_reads_the_quote_sizes_of_the_archive(tmp_path):
    root = tmp_path / "arch"
    _archive(root, ROWS)
    res = bt.run(root, orders=orders_frame(ORDERS), overrides=SIZE)
    assert res.fills["price_ticks"].to_list() == WANT


def test_a_tick_frame_with_sizes_gives_the_same_fills():
    frame = pl.from_arrow(_table(ROWS, "EURUSD"))
    res = bt.run(frame, orders=orders_frame(ORDERS), overrides=SIZE)
    assert res.fills["price_ticks"].to_list() == WANT


def test_sizes_follow_their_rows_through_the_merge_of_two_symbols(tmp_path):
    # GBPUSD has the same grid.  Its ticks fall between EURUSD's, with other sizes, so a size
    # taken from the wrong row or symbol changes a price.  GBPUSD buy at 3.1 acts at 3.2:
    # ask size 0.2 lots = 20 steps, s = R(300 / 20) = 15 -> 126002 + 15 = 126017.
    root = tmp_path / "arch"
    _archive(root, ROWS)
    _archive(root, [(1.2, 1.26000, 1.26002, 1.0, 1.0), (3.2, 1.26000, 1.26002, 1.0, 0.2),
                    (5.2, 1.26000, 1.26002, 1.0, 1.0)], "GBPUSD")
    o = orders_frame([*ORDERS, (3.1, "GBPUSD", "buy", 1)])
    for chunk_rows in (1, 1000):
        res = bt.run(root, orders=o, overrides={**SIZE, "run.chunk_rows": chunk_rows})
        got = res.fills.sort("ts").select("symbol", "price_ticks").rows()
        assert [p for s, p in got if s == "EURUSD"] == WANT
        assert [p for s, p in got if s == "GBPUSD"] == [126017]


def test_without_size_columns_every_fill_slips_slippage_ticks(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", [r[0] for r in ROWS], [r[1] for r in ROWS], [r[2] for r in ROWS])
    res = bt.run(root, orders=orders_frame(ORDERS), overrides=SIZE)
    # buys at ask + 3, sells at bid - 3
    assert res.fills["price_ticks"].to_list() == [110005, 110007, 110025, 110027, 110045]


def test_a_negative_size_is_a_bad_row_naming_file_row_and_rule(tmp_path):
    rows = [*ROWS[:3], (3, 1.10020, 1.10022, 1.0, -0.5), *ROWS[4:]]
    root = tmp_path / "arch"
    f = _archive(root, rows)
    with pytest.raises(bt.DataError) as ei:
        bt.run(root, orders=orders_frame(ORDERS), overrides=SIZE)
    e = ei.value
    assert (Path(e.path), e.row, e.rule) == (f, 4, "negative_size")  # the fourth data row
    assert str(f) in str(e) and "row 4" in str(e) and "negative_size" in str(e)
    # skipped: the row is dropped and counted; buy order 2 then acts at 4 s: ask 110032, ask size 900
    # steps, s = R(300 / 900) = 0 -> 110032
    res = bt.run(root, orders=orders_frame(ORDERS), overrides={**SIZE, "run.on_bad_rows": "skip"})
    assert res.summary["bad_rows_skipped"] == {"negative_size": 1}
    assert res.summary["ticks"] == 6
    assert res.fills["price_ticks"].to_list()[:3] == [110008, 110009, 110032]


@pytest.mark.parametrize("slippage", ["none", "fixed", "spread"])
def test_sizes_are_not_read_by_other_slippage_models(tmp_path, slippage):
    # A negative size would be a bad row; the other models never read the columns.
    rows = [*ROWS[:3], (3, 1.10020, 1.10022, 1.0, -0.5), *ROWS[4:]]
    root = tmp_path / "arch"
    _archive(root, rows)
    res = bt.run(root, orders=orders_frame(ORDERS),
                 overrides={**SIZE, "execution.slippage": slippage, "execution.slippage_spread": "0.5"})
    assert res.summary["ticks"] == 7
    assert res.summary["bad_rows_skipped"] == {}
