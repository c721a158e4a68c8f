"""sweep(): every set run on the same data, ranked, written whole (docs/sweeps.md §3)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

import backtestr as bt
from backtestr.errors import BacktestrError, ConfigError, OrdersError
from backtestr.sweep import random, sweep
from tests.tickdata import orders_frame, signals_frame, tick_table

# EURUSD (tick 0.00001, 100000 per lot): ask at t=1 1.10012, bid at t=2 1.10050
DATA = pl.from_arrow(tick_table([0, 1, 2, 3], [1.10000, 1.10010, 1.10050, 1.10020],
                                [1.10002, 1.10012, 1.10052, 1.10022]).append_column("symbol", pa.array(["EURUSD"] * 4)))
QUIET = {"run": {"log_level": "off"}}


def round_trip(p):
    """Long ``qty`` lots from the tick at t=1 to the tick at t=2."""
    return signals_frame([(0.5, "EURUSD", p["qty"]), (1.5, "EURUSD", 0)])


round_trip.params = {"qty": 1}


def test_results_by_hand_and_ranked_by_the_objective():
    # a round trip buys at 1.10012 and sells at 1.10050: 38 ticks * 1 USD per tick per lot = 38 USD per lot;
    # commission per_lot c on each of the two fills: net = 38 q - 2 c q
    r = sweep(DATA, round_trip, {"qty": [1, 2], "commission.per_lot": ["0", "3"]}, config=QUIET)
    got = {row["set_id"]: (row["qty"], row["final_equity"], row["realized_pnl"], row["commission"], row["fills"])
           for row in r.results.iter_rows(named=True)}
    assert got == {0: (1, 100_038.0, 38.0, 0.0, 2), 1: (1, 100_032.0, 38.0, 6.0, 2),
                   2: (2, 100_076.0, 76.0, 0.0, 2), 3: (2, 100_064.0, 76.0, 12.0, 2)}
    assert r.results["set_id"].to_list() == [2, 3, 0, 1]  # final equity, highest first
    assert r.results["rank"].to_list() == [1, 2, 3, 4]
    assert r.best["set_id"] == 2 and r.params_of(1) == {"qty": 1}
    low = sweep(DATA, round_trip, {"qty": [1, 2], "commission.per_lot": ["0", "3"]}, config=QUIET,
                objective="-commission")
    assert low.results["set_id"].to_list() == [0, 2, 1, 3]  # commission 0, 0 (tie: smaller id), 6, 12


def test_bt_sweep_is_exported():
    assert bt.sweep is sweep


def test_a_set_run_alone_gives_identical_results():
    grid = {"qty": [1, 3], "execution.model": ["realistic"], "execution.slippage": ["fixed"],
            "execution.slippage_ticks": [2, 5], "execution.random_slippage": [True], "execution.seed": [1, 9]}
    full = sweep(DATA, round_trip, grid, config=QUIET)
    figures = [c for c in full.results.columns if c not in ("rank", "set_id")]
    for row in full.results.iter_rows(named=True):
        alone = sweep(DATA, round_trip, [{k: row[k] for k in grid}], config=QUIET)
        assert alone.results.select(figures).row(0) == tuple(row[c] for c in figures)
    # and the draws differ between seeds, so the comparison can fail
    assert full.results["final_equity"].n_unique() > 2


def test_results_parquet_is_written_whole(tmp_path):
    out = tmp_path / "sw"
    r = sweep(DATA, round_trip, random(3, {"qty": [1, 2, 3]}, seed=4), config=QUIET, out=out)
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["results.parquet"]
    assert pl.read_parquet(out / "results.parquet").equals(r.results)
    with pytest.raises(BacktestrError, match="pass force=True to replace it"):
        sweep(DATA, round_trip, {"qty": [1]}, config=QUIET, out=out)
    sweep(DATA, round_trip, {"qty": [2]}, config=QUIET, out=out, force=True)
    assert pl.read_parquet(out / "results.parquet")["qty"].to_list() == [2]


def test_a_failing_set_leaves_nothing_written_and_is_named(tmp_path):
    def build(p):
        if p["qty"] == 3:
            return orders_frame([(0.5, "EURUSD", "hold", 1)])  # 'hold' is not a side
        return round_trip(p)

    out = tmp_path / "sw"
    with pytest.raises(OrdersError, match=r"^set 2 \(qty=3\): .*side"):
        sweep(DATA, build, {"qty": [1, 2, 3]}, params={"qty": 1}, config=QUIET, out=out)
    assert list(tmp_path.iterdir()) == []


def test_metrics_add_columns_and_can_be_the_objective():
    r = sweep(DATA, round_trip, {"qty": [1, 2]}, config=QUIET,
              metrics=lambda res: {"pnl_per_fill": res.summary["net_pnl"] / res.summary["fills"]},
              objective="-pnl_per_fill")
    assert r.results.select("set_id", "pnl_per_fill").rows() == [(0, 19.0), (1, 38.0)]


def test_orders_frames_and_dicts_from_the_builder():
    def build(p):
        o = orders_frame([(0.5, "EURUSD", "buy", p["qty"])])
        return {"orders": o, "signals": signals_frame([(1.5, "EURUSD", 0)])}

    r = sweep(DATA, build, {"qty": [1]}, params={"qty": 1}, config=QUIET)
    assert r.best["realized_pnl"] == 38.0 and r.best["fills"] == 2


@pytest.mark.parametrize("kw,msg", [
    ({"objective": "sharpe"}, "objective 'sharpe' is not a result column"),
    ({"grid": {"fills": [1]}, "params": {"fills": 0}}, "fills have the name of a result column"),
    ({"strategy": type("S", (), {})}, r"sweep\(strategy=...\): .*S.> is not a Strategy class"),
    ({"grid": {"qty": [1], "nope": [2]}}, "grid key 'nope' is neither a parameter"),
    ({"params": [1]}, r"sweep\(params=...\): expected a dict"),
])
def test_bad_arguments_stop_before_any_run(kw, msg):
    calls = []

    def build(p):
        calls.append(p)
        return round_trip(p)

    args = {"strategy": build, "grid": {"qty": [1]}, "params": {"qty": 1}, **kw}
    with pytest.raises(ConfigError, match=msg):
        sweep(DATA, args.pop("strategy"), args.pop("grid"), config=QUIET, **args)
    assert calls == []


def test_returns_every_keeps_period_equity_and_gives_the_returns_matrix():
    r = sweep(DATA, round_trip, {"qty": [1, 2]}, config={"run": {"equity_interval": "1s"}}, returns_every="1s")
    # equity of qty q each second: 100000 (flat), 100000 - 2q (bought at ask 1.10012, marked at bid 1.10010),
    # 100000 + 38q (sold at 1.10050), unchanged
    assert r.curves[0]["equity"].to_list() == [100_000.0, 99_998.0, 100_038.0, 100_038.0]
    assert r.curves[1]["equity"].to_list() == [100_000.0, 99_996.0, 100_076.0, 100_076.0]
    ids, periods, m = r.returns()
    assert ids == [0, 1] and len(periods) == 4
    assert m[:, 0] == pytest.approx([0.0, -2 / 100_000, 40 / 99_998, 0.0])
    assert m[:, 1] == pytest.approx([0.0, -4 / 100_000, 80 / 99_996, 0.0])
    with pytest.raises(ConfigError, match="run.log_level is off for set"):
        sweep(DATA, round_trip, {"qty": [1]}, config=QUIET, returns_every="1d")
    with pytest.raises(BacktestrError, match="no equity curves were kept"):
        sweep(DATA, round_trip, {"qty": [1]}, config=QUIET).returns()


def test_kept_curves_are_written_beside_the_results(tmp_path):
    out = tmp_path / "sw"
    r = sweep(DATA, round_trip, {"qty": [1, 2]}, config={"run": {"equity_interval": "1s"}}, returns_every="1s",
              out=out)
    files = sorted(p.name for p in out.iterdir())
    assert files == [".backtestr-manifest.json", "curves.parquet", "results.parquet"]
    from backtestr.sweep.plots import curves_of

    back, initial = curves_of(pl.read_parquet(out / "curves.parquet"))
    assert sorted(back) == sorted(r.curves) and initial == r.initial
    for sid, c in r.curves.items():
        assert back[sid]["equity"].to_list() == c["equity"].cast(pl.Float64).to_list()
    # without kept curves, only the results
    sweep(DATA, round_trip, {"qty": [1]}, config=QUIET, out=tmp_path / "sw2")
    assert sorted(p.name for p in (tmp_path / "sw2").iterdir()) == [".backtestr-manifest.json", "results.parquet"]
