"""Every headline statistic per set: metrics=headline and ``backtestr sweep --stats`` (docs/sweeps.md §3)."""

from __future__ import annotations

import math

import polars as pl
import pytest

import backtestr as bt
from backtestr.cli import main
from backtestr.errors import ConfigError
from backtestr.examples.sma_cross import SmaCross
from backtestr.sweep import headline, sweep
from tests.strategy_kit import ticks_frame

DF = ticks_frame(30_000, seed=17)
GRID = {"fast": [3, 5], "slow": [12, 20]}


def _same(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and
                                         (a == b or (isinstance(a, float) and math.isclose(a, b, rel_tol=1e-12))))


def test_each_row_has_the_statistics_of_its_set_run_alone():
    r = sweep(DF, SmaCross, GRID, metrics=headline, overrides={"run.log_level": "trades"}, objective="sharpe")
    assert r.results.height == 4
    for row in r.results.iter_rows(named=True):
        alone = bt.run(DF, strategy=SmaCross, params={"fast": row["fast"], "slow": row["slow"]})
        ref = alone.stats().headline()
        for k in ("total_return_pct", "sharpe", "sortino", "win_rate", "profit_factor", "trades", "exposure_pct",
                  "max_loss_streak"):
            assert _same(row[k], ref[k]), (row["set_id"], k, row[k], ref[k])
        closed = alone.positions.filter(pl.col("close_ts").is_not_null()).height
        assert row["trades"] == closed > 0  # a trade is a closed position (docs/analytics.md)
    # the summary's own figures are not repeated, and the headline's settings are not columns
    assert "calendar" not in r.results.columns and "notes" not in r.results.columns
    assert r.results.columns.count("max_drawdown") == 1


def test_statistics_need_the_sets_logs():
    with pytest.raises(ConfigError, match="run.log_level to trades"):
        sweep(DF, SmaCross, GRID, metrics=headline, overrides={"run.log_level": "off"})


def test_cli_stats_flag(tmp_path, capsys):
    data = tmp_path / "ticks.parquet"
    DF.write_parquet(data)
    grid = tmp_path / "grid.toml"
    grid.write_text("[grid]\nfast = [3, 5]\nslow = [12]\n")
    out = tmp_path / "sw"
    rc = main(["sweep", "--data", str(data), "--strategy", "backtestr.examples.sma_cross:SmaCross", "--grid",
               str(grid), "--out", str(out), "--stats", "--objective", "sortino", "--quiet"])
    assert rc == 0
    res = pl.read_parquet(out / "results.parquet")
    assert {"sharpe", "sortino", "win_rate", "profit_factor", "trades"} <= set(res.columns)
    assert res.height == 2
