"""Look-ahead (docs/architecture.md §3): no decision reads the future, and the same inputs give the same
bytes.

A price spike is planted in every symbol after time T. Everything the run did
up to T (fills, order outcomes, closed positions, equity rows) must be the
same with and without the spike; after T the spike must show, so the test
can tell the two archives apart.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

import backtestr as bt
from tests.tickdata import hive_file, ns, orders_frame, signals_frame, ts_ns

T = 40.0  # seconds after T0
SPIKE_TICKS = 50_000  # +0.5 in price: bid 1.1 -> 1.6
ROW_GROUP = 16


def _walk(seed: int, n: int, base: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    bid = base + np.cumsum(rng.integers(-3, 4, n))
    ask = bid + rng.integers(1, 4, n)
    return bid.tolist(), ask.tolist()


def _archive(root, spike: bool):
    e_secs = [1 + 0.5 * i for i in range(120)]  # 1 s .. 60.5 s
    g_secs = [0.25 + 1.5 * i for i in range(40)]  # 0.25 s .. 58.75 s
    for sym, secs, seed, base in (("EURUSD", e_secs, 1, 110_000), ("GBPUSD", g_secs, 2, 125_000)):
        bid, ask = _walk(seed, len(secs), base)
        if spike:
            bid = [b + SPIKE_TICKS if s > T else b for s, b in zip(secs, bid, strict=True)]
            ask = [a + SPIKE_TICKS if s > T else a for s, a in zip(secs, ask, strict=True)]
        hive_file(root, sym, secs, [b / 1e5 for b in bid], [a / 1e5 for a in ask], row_group_size=ROW_GROUP)
    return root


ORDERS = orders_frame([
    (2, "EURUSD", "buy", 1), (3.3, "GBPUSD", "sell", 0.4), (9, "EURUSD", "sell", 2.5),
    (17.25, "GBPUSD", "buy", 1.2), (25, "EURUSD", "buy", 1.5), (33, "GBPUSD", "sell", 0.8),
    (T - 1, "EURUSD", "buy", 0.3),
    (T + 2, "EURUSD", "sell", 1), (T + 5, "GBPUSD", "buy", 2),
])
SIGNALS = signals_frame([(5, "GBPUSD", 0.5), (12, "EURUSD", -1), (29, "GBPUSD", -0.7), (36, "EURUSD", 0.2),
                         (T + 3, "EURUSD", 1.0), (T + 7, "GBPUSD", 0)])
CFG = {"run": {"log_level": "ticks"}, "commission": {"per_lot": "3.5"}}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("spike")
    calm = bt.run(_archive(base / "calm", False), orders=ORDERS, signals=SIGNALS, config=CFG)
    spiky = bt.run(_archive(base / "spiky", True), orders=ORDERS, signals=SIGNALS, config=CFG)
    return calm, spiky


def _before(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    cut = pl.lit(ns(T)).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    return frame.filter(pl.col(col) <= cut)


def test_fills_up_to_t_are_unchanged(pair):
    calm, spiky = pair
    a, b = _before(calm.fills, "ts"), _before(spiky.fills, "ts")
    assert a.height >= 10  # the window holds real trading
    assert a.equals(b)


def test_order_outcomes_decided_by_t_are_unchanged(pair):
    calm, spiky = pair
    # every order stamped before T - 0.5 s acts on a tick at or before T (ticks
    # of each symbol are at most 1.5 s apart; the last ones are set 1 s before T)
    early = pl.col("ts") < pl.lit(ns(T - 0.5)).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    a, b = calm.orders.filter(early), spiky.orders.filter(early)
    assert a.height == 11  # 7 orders + 4 signals
    assert a.equals(b)
    assert set(a["status"].to_list()) <= {"filled", "no_action"}
    assert all(t <= ns(T) for t in ts_ns(a.filter(pl.col("status") == "filled"), "fill_ts"))


def test_positions_closed_by_t_are_unchanged(pair):
    calm, spiky = pair
    a = _before(calm.positions.filter(pl.col("is_open") == 0), "close_ts")
    b = _before(spiky.positions.filter(pl.col("is_open") == 0), "close_ts")
    assert a.height >= 1
    assert a.equals(b)


def test_equity_up_to_t_is_unchanged(pair):
    calm, spiky = pair
    a, b = _before(calm.equity, "ts"), _before(spiky.equity, "ts")
    # log level ticks: one row per tick up to T.
    # EURUSD 1, 1.5, ..., 40 s: (40 - 1) / 0.5 + 1 = 79 ticks;
    # GBPUSD 0.25, 1.75, ..., 39.25 s: (39.25 - 0.25) / 1.5 + 1 = 27 ticks.
    assert a.height == 79 + 27
    assert a.equals(b)


def test_the_spike_does_change_what_comes_after_t(pair):
    calm, spiky = pair
    late = ns(T)
    pa_ = [p for p, t in zip(calm.fills["price_ticks"], ts_ns(calm.fills), strict=True) if t > late]
    pb = [p for p, t in zip(spiky.fills["price_ticks"], ts_ns(spiky.fills), strict=True) if t > late]
    assert pa_ and len(pa_) == len(pb)
    assert all(b - a == SPIKE_TICKS for a, b in zip(pa_, pb, strict=True))
    assert calm.summary["final_equity_minor"] != spiky.summary["final_equity_minor"]


def test_chunking_does_not_change_any_result(tmp_path):
    root = _archive(tmp_path / "a", True)
    a = bt.run(root, orders=ORDERS, signals=SIGNALS, config=CFG)
    small = {"run": {**CFG["run"], "chunk_rows": 3, "buffer_rows": 16}, "commission": CFG["commission"]}
    b = bt.run(root, orders=ORDERS, signals=SIGNALS, config=small)
    for name in ("orders", "fills", "positions", "equity", "events"):
        assert getattr(a, name).equals(getattr(b, name)), name


def _files(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.mark.parametrize("level", ["ticks", "trades"])
def test_same_inputs_give_byte_identical_outputs(tmp_path, level):
    root = _archive(tmp_path / "a", True)
    cfg = {"run": {"log_level": level}, "commission": {"per_lot": "3.5"}}
    bt.run(root, orders=ORDERS, signals=SIGNALS, config=cfg, out=tmp_path / "o1")
    bt.run(root, orders=ORDERS, signals=SIGNALS, config=cfg, out=tmp_path / "o2")
    one, two = _files(tmp_path / "o1"), _files(tmp_path / "o2")
    events = ["events.parquet"] if level == "ticks" else []  # the lifecycle log from level events on
    assert sorted(one) == sorted(["equity.parquet", "fills.parquet", "orders.parquet", "positions.parquet",
                                  "summary.json", ".backtestr-manifest.json", *events])
    assert one.keys() == two.keys()
    for name in one:
        if name.endswith(".parquet") or name == ".backtestr-manifest.json":
            assert one[name] == two[name], name
    s1, s2 = json.loads(one["summary.json"]), json.loads(two["summary.json"])
    for k in ("wall_s", "kernel_s", "compile_s", "ticks_per_s"):
        s1.pop(k)
        s2.pop(k)
    assert s1 == s2
