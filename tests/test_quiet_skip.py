"""A flat one-symbol book goes on at the next event's tick (kernels/engine.py::run_chunk,
docs/architecture.md §7): the same figures as the tick-by-tick loop, which the `ticks` log
level keeps (it writes a row per tick, so nothing is skipped there)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import backtestr as bt
from tests.strategy_kit import ticks_frame

FIGURES = ("final_equity_minor", "realized_pnl", "commission", "swap", "max_drawdown", "fills", "orders_filled",
           "orders_rejected", "positions", "ticks", "margin_calls")


def _orders(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Market, limit and stop entries with SL/TP, some GTD, at random ticks' times."""
    rng = np.random.default_rng(seed)
    ts = df["ts"].cast(pl.Int64).to_numpy()
    picks = np.sort(rng.choice(len(ts) - 10, 40, replace=False))
    bid = (df["bid"].to_numpy() * 1e5).round().astype(np.int64)
    rows = []
    for k in picks:
        kind = ("market", "limit", "stop")[int(rng.integers(0, 3))]
        side = "buy" if rng.random() < 0.5 else "sell"
        off = int(rng.integers(1, 6)) * (1 if (kind == "stop") == (side == "buy") else -1)
        row = {"ts": int(ts[k]), "symbol": "EURUSD", "side": side, "qty": 0.1 * int(rng.integers(1, 4)), "type": kind,
               "price": float(bid[k] + off) * 1e-5 if kind == "limit" else None,
               "stop": float(bid[k] + off) * 1e-5 if kind == "stop" else None,
               "sl_ticks": int(rng.integers(3, 15)), "tp_ticks": int(rng.integers(3, 15)),
               "expire": int(ts[k]) + int(rng.integers(1, 600)) * 10**9 if rng.random() < 0.3 else None}
        row["tif"] = "gtd" if row["expire"] is not None else "gtc"
        rows.append(row)
    utc = pl.Datetime("ns", "UTC")
    return pl.DataFrame(rows, schema_overrides={"ts": pl.Int64, "expire": pl.Int64, "price": pl.Float64, "stop": pl.Float64}).with_columns(
        pl.col("ts").cast(utc), pl.col("expire").cast(utc))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["netting", "hedging"])
def test_a_flat_book_skipping_quiet_ticks_gives_the_tick_by_tick_figures(seed, mode):
    df = ticks_frame(6_000, seed=seed, symbols=("EURUSD",))
    orders = _orders(df, seed)
    base = {"run.account_mode": mode, "run.chunk_rows": 777, "commission.per_lot": "2", "risk.daily_loss_limit": "50"}
    fast = bt.run(df, orders=orders, overrides={**base, "run.log_level": "trades"})
    slow = bt.run(df, orders=orders, overrides={**base, "run.log_level": "ticks"})
    assert fast.summary["fills"] > 10 and fast.summary["positions"] > 5  # the run trades, so it can differ
    assert {k: fast.summary.get(k) for k in FIGURES} == {k: slow.summary.get(k) for k in FIGURES}
    assert fast.fills.equals(slow.fills)
    assert fast.positions.equals(slow.positions)
    # the equity at the end of each sampled interval is the tick-by-tick equity at that row's time
    per_tick = slow.equity.select("ts", "equity_minor")
    sampled = fast.equity.select("ts", "equity_minor").join(per_tick, on="ts", how="left", suffix="_tick")
    assert sampled.height > 3
    assert (sampled["equity_minor"] == sampled["equity_minor_tick"]).all()
