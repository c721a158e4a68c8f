"""Tick frames split once by symbol (backtestr/framesrc.py): the same ticks, in the
same order, as the per-symbol sources of an archive; bad rows named by symbol and
the row among that symbol's ticks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from backtestr.kernels import framecodes

import backtestr as bt
from backtestr.framesrc import split_frame, symbol_codes
from backtestr.reader import TickStream, plan_sources
from tests.tickdata import T0, orders_frame

SEC = 10**9


def _inst(names):
    return {s: {"tick_size": "0.00001", "lot_step": "0.01", "contract_size": "100000", "quote": "USD"}
            for s in names}


def _frame(n, names, seed, ties=False):
    """``n`` ticks of random symbols, one per second (``ties``: pairs share a second)."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(names), n)
    secs = np.arange(n) // 2 if ties else np.arange(n)
    bid = 1.1 + (rng.integers(0, 50, n) * 100 + np.arange(n) % 100) * 1e-5  # no row repeats its neighbours
    return pl.DataFrame({"ts": pl.Series(T0 + secs * SEC).cast(pl.Datetime("ns", "UTC")),
                         "symbol": np.array(names)[which], "bid": bid, "ask": bid + 2e-5})


def _archive(df, root):
    for (s,), part in df.partition_by("symbol", as_dict=True).items():
        (root / f"symbol={s}").mkdir(parents=True)
        part.drop("symbol").write_parquet(root / f"symbol={s}" / "p.parquet")
    return root


def _orders(df, every):
    rows = df.gather_every(every)
    return pl.DataFrame({"ts": rows["ts"], "symbol": rows["symbol"],
                         "side": ["buy" if i % 2 else "sell" for i in range(rows.height)],
                         "qty": [0.1] * rows.height})


def _same_run(df, root, orders, cfg):
    want = bt.run(_archive(df, root), orders=orders, config=cfg)
    got = bt.run(df, orders=orders, config=cfg)
    assert got.summary["ticks"] == want.summary["ticks"] == df.height
    assert got.fills.height > 0 and got.fills.equals(want.fills)
    assert got.positions.equals(want.positions) and got.equity.equals(want.equity)
    for k in ("final_cash_minor", "realized_pnl_minor", "fills", "orders"):
        assert got.summary[k] == want.summary[k], k


def test_frame_of_100_symbols_runs_as_the_archive(tmp_path):
    names = [f"S{k:03d}USD" for k in range(100)]
    df = _frame(6000, names, 1)
    cfg = {"run": {"account_mode": "hedging", "chunk_rows": 700}, "instruments": _inst(names)}
    assert len(split_frame(df.to_arrow(compat_level=pl.CompatLevel.newest()))) == 1  # read in place
    _same_run(df, tmp_path / "a", _orders(df, 50), cfg)


@pytest.mark.parametrize("ties", [False, True])
def test_frame_out_of_time_order_is_split_per_symbol(tmp_path, ties):
    # each symbol's ticks in order, the symbols one after another (not by time): split
    names = ["AUDUSD", "EURUSD", "GBPUSD"]
    df = _frame(900, names, 2, ties).sort("symbol", maintain_order=True)
    if not ties:
        srcs = split_frame(df.to_arrow())
        assert [s.name for s in srcs] == [f"tick frame, symbol {s}" for s in names]
        assert [s.table.num_rows for s in srcs] == [df.filter(pl.col("symbol") == s).height for s in names]
    _same_run(df, tmp_path / "a", _orders(df.sort("ts"), 40), {"run": {"chunk_rows": 128}})


def test_ties_against_name_order_are_split(tmp_path):
    # GBPUSD then EURUSD at the same second: the merge puts EURUSD first
    df = pl.DataFrame({"ts": pl.Series([T0, T0, T0 + SEC, T0 + SEC]).cast(pl.Datetime("ns", "UTC")),
                       "symbol": ["GBPUSD", "EURUSD", "EURUSD", "GBPUSD"],
                       "bid": [1.3, 1.1, 1.1001, 1.3001], "ask": [1.3002, 1.1002, 1.1003, 1.3003]})
    assert len(split_frame(df.to_arrow())) == 2
    ok = df.slice(1)  # EURUSD, EURUSD, GBPUSD: in order, read in place
    assert len(split_frame(ok.to_arrow())) == 1
    orders = orders_frame([(0, "EURUSD", "buy", 1), (0, "GBPUSD", "buy", 1)])
    res = bt.run(df, orders=orders, overrides={"run.log_level": "ticks"})
    # the merge order by hand: by ts, then symbol name (read in place)
    by_hand = df.sort(["ts", "symbol"])
    assert by_hand["symbol"].to_list() == ["EURUSD", "GBPUSD", "EURUSD", "GBPUSD"]
    assert len(split_frame(by_hand.to_arrow())) == 1
    want = bt.run(by_hand, orders=orders, overrides={"run.log_level": "ticks"})
    assert res.fills.height == 2 and res.fills.equals(want.fills) and res.equity.equals(want.equity)
    assert res.fills["price"].to_list() == [1.1003, 1.3003]  # each on its symbol's tick after T0


@pytest.mark.parametrize("kind", ["string_view", "string", "large_string", "dictionary", "long", "many"])
def test_symbol_codes_name_every_row(kind):
    rng = np.random.default_rng(3)
    names = [f"SYM{k}" for k in range(5000 if kind == "many" else 7)]
    if kind == "long":
        names = [f"A_VERY_LONG_SYMBOL_NAME_{k}" for k in range(7)] + ["É", "ÉA", "E"]
    vals = [names[i] for i in rng.integers(0, len(names), 20000)]
    t = {"string_view": pa.string_view(), "long": pa.string_view(), "many": pa.string_view(),
         "string": pa.string(), "large_string": pa.large_string()}.get(kind, pa.string())
    arr = pa.chunked_array([pa.array(vals[:7000], t), pa.array(vals[7000:], t)])
    if kind == "dictionary":
        arr = pa.chunked_array([c.dictionary_encode() for c in arr.chunks])
    ts = pa.chunked_array([pa.array(np.arange(20000), pa.int64())])
    codes, got, ordered = symbol_codes(arr, ts)
    assert ordered and sorted(set(got)) == sorted(set(vals)) and len(got) == len(set(got))
    assert [got[c] for c in codes] == vals


def test_order_check_compares_names_bytewise():
    # ties at one ts must be in name order (as Python orders str)
    for a, b in [("AB", "ABC"), ("E", "É"), ("ZZZZ", "a"), ("ABCDEFGHIJKL", "ABCDEFGHIJKM"), ("A", "B")]:
        assert a < b
        fwd = symbol_codes(pa.chunked_array([pa.array([a, b], pa.string_view())]), pa.chunked_array([[5, 5]]))
        back = symbol_codes(pa.chunked_array([pa.array([b, a], pa.string_view())]), pa.chunked_array([[5, 5]]))
        assert fwd[2] and not back[2], (a, b)
    assert not symbol_codes(pa.chunked_array([pa.array(["A", "A"], pa.string_view())]),
                            pa.chunked_array([[6, 5]]))[2]


def test_partition_is_stable():
    codes = np.array([2, 0, 1, 0, 2, 2, 1], np.int32)
    order, bounds = framecodes.partition(codes, 3)
    assert order.tolist() == [1, 3, 2, 6, 0, 4, 5] and bounds.tolist() == [0, 2, 4, 7]


def test_bad_row_of_a_frame_read_in_place_names_symbol_and_its_row():
    # rows: EURUSD, GBPUSD, EURUSD, GBPUSD, GBPUSD(crossed) -> GBPUSD's third tick: row 3
    df = pl.DataFrame({"ts": pl.Series([T0 + k * SEC for k in range(5)]).cast(pl.Datetime("ns", "UTC")),
                       "symbol": ["EURUSD", "GBPUSD", "EURUSD", "GBPUSD", "GBPUSD"],
                       "bid": [1.1, 1.3, 1.1, 1.3, 1.3005], "ask": [1.1002, 1.3002, 1.1002, 1.3002, 1.3001]})
    assert len(split_frame(df.to_arrow())) == 1
    with pytest.raises(bt.DataError) as ei:
        bt.run(df, overrides={"run.chunk_rows": 2})
    assert "tick frame, symbol GBPUSD: row 3:" in str(ei.value) and "crossed" in str(ei.value)
    assert ei.value.row == 3


def test_one_source_streams_whole_batches(tmp_path):
    # one symbol: the chunks are its batches as read (nothing held back for a merge)
    root = _archive(_frame(1000, ["EURUSD"], 4), tmp_path / "a")
    stream = TickStream(plan_sources(root), ["EURUSD"], np.array([1e5]), None, None, 300, False)
    sizes = [c.ts.shape[0] for c in stream]
    assert sizes == [300, 300, 300, 100]
