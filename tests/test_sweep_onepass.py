"""The one-pass engine (docs/sweeps.md §10): every set's account over one read of the data
gives the figures of the sequential reference executor and of ``bt.run`` per set."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import backtestr as bt
from backtestr.errors import BacktestrError, OrdersError
from backtestr.examples.sma_cross import SmaCross
from backtestr.sweep import sweep
from backtestr.sweep.executor import FIGURES, ClassInputs, _run_sets_sequential, builder_inputs
from backtestr.sweep.multi import PassSettings, run_sets_one_pass
from backtestr.sweep.settle import plan
from backtestr.synth import write_archive

START = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
QUIET = {"run": {"log_level": "off", "chunk_rows": 5_000}}
# small blocks and two threads: every chunk is cut into blocks, the accounts shared out
SMALL = PassSettings(threads=2, block_rows=777, build_batch=3, capacity=1)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("onepass") / "data"
    write_archive(path, ["EURUSD"], 1, seed=5, start=START.date(), rate=0.25)  # about 21,600 ticks
    return str(path)


def orders_builder(p):
    """Market orders every ``every`` minutes, alternately buy and sell, each with SL/TP in ticks."""
    n = 24 * 60 // p["every"]
    ts = [START + dt.timedelta(minutes=p["every"] * i + 1) for i in range(n)]
    return pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * n, "side": ["buy" if i % 2 == 0 else "sell" for i in range(n)],
                         "qty": [p["qty"]] * n, "sl_ticks": [p["sl"]] * n, "tp_ticks": [p["tp"]] * n})


orders_builder.params = {"every": 30, "qty": 0.1, "sl": 20, "tp": 40}


def signals_builder(p):
    """A position of ``qty`` lots flipped every ``every`` minutes."""
    n = 24 * 60 // p["every"]
    ts = [START + dt.timedelta(minutes=p["every"] * i + 1) for i in range(n)]
    return pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * n,
                         "target": [p["qty"] if i % 2 == 0 else -p["qty"] for i in range(n)]})


signals_builder.params = {"every": 60, "qty": 0.1}

ORDERS_GRID = {"every": [7, 30], "sl": [5, 30], "tp": [10, 60], "execution.model": ["perfect", "worst_case"],
               "commission.per_lot": ["0", "3.5"]}
SIGNALS_GRID = {"every": [13, 45], "qty": [0.1, 0.3], "execution.model": ["realistic"],
                "execution.slippage": ["fixed"], "execution.slippage_ticks": [0, 3], "execution.random_slippage": [True],
                "instruments.EURUSD.leverage": [10, 100]}
CLASS_GRID = {"fast": [3, 5], "slow": [8, 20], "qty": [1, 4], "run.account_mode": ["netting"]}


def _rows(pairs):
    return {s.set_id: tuple(r.summary[k] for k in FIGURES) for s, r in pairs}


def _check_three_ways(archive, inputs, the_plan):
    one = _rows(run_sets_one_pass(archive, the_plan.sets, inputs, settings=SMALL))
    seq = _rows(_run_sets_sequential(archive, the_plan.sets, inputs))
    assert one == seq
    for s in the_plan.sets[::3]:  # a third of the sets again, each alone through bt.run
        ins = inputs(s)
        alone = bt.run(archive, orders=ins.orders, signals=ins.signals, config=s.config, strategy=ins.strategy,
                       params=ins.params if ins.strategy is not None else None)
        assert tuple(alone.summary[k] for k in FIGURES) == one[s.set_id]
    # the sets differ, so the comparison can fail
    assert len({v[FIGURES.index("final_equity")] for v in one.values()}) > len(one) // 4
    return one


def test_orders_builder_one_pass_equals_sequential_and_single_runs(archive):
    p = plan(ORDERS_GRID, params=orders_builder.params, config=QUIET)
    one = _check_three_ways(archive, builder_inputs(orders_builder), p)
    assert all(v[FIGURES.index("fills")] > 0 for v in one.values())


def test_signals_builder_one_pass_equals_sequential_and_single_runs(archive):
    p = plan(SIGNALS_GRID, params=signals_builder.params, config=QUIET)
    _check_three_ways(archive, builder_inputs(signals_builder), p)


def test_strategy_class_one_pass_equals_sequential_and_single_runs(archive):
    p = plan(CLASS_GRID, params=SmaCross.params, config=QUIET)
    one = _check_three_ways(archive, ClassInputs(SmaCross), p)
    assert all(v[FIGURES.index("fills")] > 0 for v in one.values())


def test_sweep_takes_a_strategy_class_and_its_params(archive):
    r = sweep(archive, SmaCross, {"fast": [3, 5], "slow": [8]}, config=QUIET)
    assert r.results.columns[:5] == ["rank", "set_id", "fast", "slow", "qty"]  # declared params, defaults filled
    assert sorted(r.results["qty"].to_list()) == [1, 1]
    alone = bt.run(archive, strategy=SmaCross, params={"fast": 5, "slow": 8}, config=QUIET)
    row = r.results.filter(pl.col("fast") == 5).row(0, named=True)
    assert row["final_equity"] == alone.summary["final_equity"] and row["fills"] == alone.summary["fills"]
    with pytest.raises(BacktestrError, match="neither a parameter of the strategy"):
        sweep(archive, SmaCross, {"fastest": [3]}, config=QUIET)


def test_sets_that_read_the_data_differently_run_in_passes_of_their_own(archive):
    # data.end cuts the data for half the sets: two streams, each set's figures its own run's
    end = (START + dt.timedelta(hours=12)).isoformat()
    grid = [{"every": 30}, {"every": 30, "data.end": end}]
    p = plan(grid, params=signals_builder.params, config=QUIET)
    one = _rows(run_sets_one_pass(archive, p.sets, builder_inputs(signals_builder), settings=SMALL))
    seq = _rows(_run_sets_sequential(archive, p.sets, builder_inputs(signals_builder)))
    assert one == seq
    ticks = FIGURES.index("ticks")
    assert one[1][ticks] < one[0][ticks]


def test_a_failing_set_is_named_and_nothing_is_written(archive, tmp_path):
    def build(p):
        if p["every"] == 45:
            return pl.DataFrame({"ts": [START], "symbol": ["EURUSD"], "side": ["hold"], "qty": [0.1]})
        return signals_builder(p)

    out = tmp_path / "sw"
    with pytest.raises(OrdersError, match=r"^set 2 \(every=45, qty=0.1\): .*side"):
        sweep(archive, build, {"every": [13, 30, 45, 60]}, params=signals_builder.params, config=QUIET, out=out,
              engine=SMALL)
    assert list(tmp_path.iterdir()) == []


def test_a_strategy_failing_mid_run_is_named(archive, tmp_path):
    # keep = 200 bars: fast = 500 asks for bars the strategy never keeps
    out = tmp_path / "sw"
    with pytest.raises(BacktestrError, match=r"^set 1 \(fast=500, slow=8, qty=1\): strategy sma_cross"):
        sweep(archive, SmaCross, [{"fast": 3, "slow": 8}, {"fast": 500, "slow": 8}], config=QUIET, out=out,
              engine=SMALL)
    assert not out.exists()


def test_pass_settings_are_checked():
    with pytest.raises(BacktestrError, match="block_rows must be at least 1"):
        PassSettings(block_rows=0)
    with pytest.raises(BacktestrError, match="threads must be at least 1"):
        PassSettings(threads=0)


def test_sets_per_pass_gives_the_same_results(archive):
    p = plan({"every": [13, 30, 45], "qty": [0.1, 0.2]}, params=signals_builder.params, config=QUIET)
    whole = _rows(run_sets_one_pass(archive, p.sets, builder_inputs(signals_builder), settings=SMALL))
    parts = _rows(run_sets_one_pass(archive, p.sets, builder_inputs(signals_builder),
                                    settings=PassSettings(threads=2, sets_per_pass=4, block_rows=5_000)))
    assert whole == parts
    assert np.unique([v[0] for v in whole.values()]).shape[0] > 1


def test_sweep_command_takes_a_strategy_class(archive, tmp_path):
    from backtestr.sweep.cli import main

    (tmp_path / "grid.toml").write_text('constraints = ["fast < slow"]\n[grid]\nfast = [3, 5, 9]\nslow = [5, 8]\n')
    argv = ["sweep", "--data", archive, "--strategy", "backtestr.examples.sma_cross:SmaCross", "--grid",
            str(tmp_path / "grid.toml"), "--out", str(tmp_path / "out"), "--set", "run.log_level=off", "--quiet"]
    assert main(argv) == 0
    df = pl.read_parquet(tmp_path / "out" / "results.parquet")
    assert sorted(zip(df["fast"], df["slow"], strict=True)) == [(3, 5), (3, 8), (5, 8)]
    alone = bt.run(archive, strategy=SmaCross, params={"fast": 3, "slow": 5}, overrides={"run.log_level": "off"})
    assert df.filter((pl.col("fast") == 3) & (pl.col("slow") == 5))["final_equity"].item() == \
        alone.summary["final_equity"]


def test_walk_forward_takes_a_strategy_class(archive):
    from backtestr.sweep.walk import walk_forward
    from backtestr.sweep.walkforward import windows

    wins = windows(START, START + dt.timedelta(hours=24), "8h", "4h")
    wf = walk_forward(archive, SmaCross, {"fast": [3, 5], "slow": [8]}, wins, config=QUIET)
    first = wf.chosen.row(0, named=True)
    # the chosen set re-run alone on its test window gives the test figures
    test = {"data": {"start": (START + dt.timedelta(hours=8)).isoformat(),
                     "end": (START + dt.timedelta(hours=12)).isoformat()}, "run": {"log_level": "trades"}}
    alone = bt.run(archive, strategy=SmaCross, params={"fast": first["fast"], "slow": 8}, config=test)
    assert first["test_final_equity"] == alone.summary["final_equity"]
    assert first["test_fills"] == alone.summary["fills"] and alone.summary["fills"] > 0


def test_logs_at_level_trades_are_the_single_runs(archive):
    # small log buffers in the sweep (512 rows) against run.buffer_rows = 65,536 alone: the same logs
    p = plan({"every": [7, 45]}, params=orders_builder.params,
             config={"run": {"log_level": "trades", "chunk_rows": 5_000}})
    inputs = builder_inputs(orders_builder)
    for s, res in run_sets_one_pass(archive, p.sets, inputs, settings=SMALL):
        ins = inputs(s)
        alone = bt.run(archive, orders=ins.orders, config=s.config)
        assert res.equity.height > 512 and res.fills.height > 50  # more equity rows than a sweep's buffer holds
        for kind in ("orders", "fills", "positions", "equity"):
            assert res._get(kind).equals(alone._get(kind)), kind
