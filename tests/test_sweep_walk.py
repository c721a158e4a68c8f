"""walk_forward(): a sweep per train window, the best set on the test window, stitched (docs/sweeps.md §4)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from backtestr.errors import ConfigError
from backtestr.sweep.walk import walk_forward
from backtestr.sweep.walkforward import windows
from tests.tickdata import T0, tick_table, utc

H = 3600
# hourly EURUSD ticks over four days: the bid rises 10 ticks an hour to hour 47, then falls 10 an hour;
# the ask is 2 ticks above it
HOURS = list(range(96))
BID = [round(1.10000 + 0.0001 * (h if h <= 47 else 94 - h), 5) for h in HOURS]
DATA = pl.from_arrow(tick_table([h * H for h in HOURS], BID, [round(b + 0.00002, 5) for b in BID])
                     .append_column("symbol", pa.array(["EURUSD"] * 96)))
QUIET = {"run": {"log_level": "off"}}


def day_trader(p):
    """Each day: open 1 lot ``side`` at the 01:00 tick, close it at the 23:00 tick. GTD orders, so an
    order made before a window's start expires at its first tick instead of acting there."""
    rows = []
    for d in range(4):
        side = "buy" if p["side"] > 0 else "sell"
        back = "sell" if p["side"] > 0 else "buy"
        rows += [(d * 24 * H + 0.5 * H, side, d * 24 * H + 1.5 * H), (d * 24 * H + 22.5 * H, back, d * 24 * H + 23.5 * H)]
    return pl.DataFrame({"ts": utc("ts", [r[0] for r in rows]), "symbol": ["EURUSD"] * len(rows),
                         "side": [r[1] for r in rows], "qty": [1.0] * len(rows), "tif": ["gtd"] * len(rows),
                         "expire": utc("expire", [r[2] for r in rows])})


def test_walk_forward_by_hand():
    wins = windows(T0, T0 + 4 * 24 * H * 10**9, "1d", "1d")  # train day k, test day k + 1, k = 0, 1, 2
    wf = walk_forward(DATA, day_trader, {"side": [1, -1]}, wins, params={"side": 1}, config=QUIET)
    # a day's trade: in at hour 1, out at hour 23, 22 hours = 220 ticks of 1 USD per lot; the spread costs 2:
    # with the trend +218, against it -222. Days 0, 1 rise; days 2, 3 fall.
    train = {(r["window"], r["side"]): r["final_equity"] for r in wf.train.iter_rows(named=True)}
    assert train == {(0, 1): 100_218.0, (0, -1): 99_778.0, (1, 1): 100_218.0, (1, -1): 99_778.0,
                     (2, 1): 99_778.0, (2, -1): 100_218.0}
    assert wf.chosen.select("window", "set_id", "side", "train_final_equity", "test_final_equity").rows() == [
        (0, 0, 1, 100_218.0, 100_218.0),   # long on rising day 1
        (1, 0, 1, 100_218.0, 99_778.0),    # long on falling day 2
        (2, 1, -1, 100_218.0, 100_218.0),  # short on falling day 3
    ]
    # stitched by returns from 100000: 100218, then * 0.99778, then * 1.00218
    ends = wf.equity.group_by("window", maintain_order=True).agg(pl.col("equity").last())["equity"].to_list()
    assert ends == pytest.approx([100_218.0, 100_218.0 * 0.99778, 100_218.0 * 0.99778 * 1.00218])
    assert wf.equity["ts"].is_sorted()
    first_test_day = wf.equity.filter(pl.col("window") == 0)["ts"].dt.epoch("ns")
    assert first_test_day.min() >= T0 + 24 * H * 10**9 and first_test_day.max() < T0 + 48 * H * 10**9


def test_the_grid_may_not_set_the_windows_span():
    wins = windows(T0, T0 + 4 * 24 * H * 10**9, "1d", "1d")
    with pytest.raises(ConfigError, match="the grid sets data.start, which the windows set"):
        walk_forward(DATA, day_trader, {"side": [1], "data.start": ["2024-01-01"]}, wins, params={"side": 1})
