"""Per-set logs of a sweep (docs/sweeps.md §3): ``set_logs=LEVEL`` / ``--set-logs LEVEL`` writes
each set's logs under ``OUT/sets/<set_id>/``, the files ``bt.run(out=...)`` of the set alone
writes, staged with the results so a failed sweep leaves nothing."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import backtestr as bt
from backtestr.errors import BacktestrError, ConfigError
from backtestr.outputs import MANIFEST, read_manifest
from backtestr.sweep import sweep
from backtestr.sweep.multi import PassSettings
from backtestr.synth import write_archive

START = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
BASE = {"run": {"chunk_rows": 5_000}}
SMALL = PassSettings(threads=2, block_rows=777, build_batch=3, capacity=1)
TIMINGS = ("wall_s", "kernel_s", "compile_s", "ticks_per_s")  # the only figures a repeat may change


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("setlogs") / "data"
    write_archive(path, ["EURUSD"], 1, seed=11, start=START.date(), rate=0.25)  # about 21,600 ticks
    return str(path)


def orders_builder(p):
    """Market orders every ``every`` minutes, alternately buy and sell, each with SL/TP in ticks."""
    n = 24 * 60 // p["every"]
    ts = [START + dt.timedelta(minutes=p["every"] * i + 1) for i in range(n)]
    return pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * n, "side": ["buy" if i % 2 == 0 else "sell" for i in range(n)],
                         "qty": [0.1] * n, "sl_ticks": [p["sl"]] * n, "tp_ticks": [40] * n})


orders_builder.params = {"every": 30, "sl": 20}
GRID = {"every": [7, 45], "sl": [5, 30], "execution.model": ["perfect", "worst_case"]}


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _same_as_alone(archive, set_dir, params, model, level, alone_dir):
    """The set's folder holds the files of ``bt.run`` of the set alone, with the same rows and
    the same summary (timings aside)."""
    cfg = {"run": {"chunk_rows": 5_000, "log_level": level}, "execution": {"model": model}}
    bt.run(archive, orders=orders_builder(params), config=cfg, out=alone_dir)
    assert _files(set_dir) == [f for f in _files(alone_dir) if f != MANIFEST]
    kinds = [f for f in _files(set_dir) if f.endswith(".parquet")]
    assert {"orders.parquet", "fills.parquet", "positions.parquet", "equity.parquet"} <= set(kinds)
    for f in kinds:
        mine, theirs = pl.read_parquet(set_dir / f), pl.read_parquet(alone_dir / f)
        assert mine.schema == theirs.schema, f
        assert mine.equals(theirs), f
    mine, theirs = (json.loads((d / "summary.json").read_text()) for d in (set_dir, alone_dir))
    for k in TIMINGS:
        mine.pop(k), theirs.pop(k)
    assert mine == theirs
    assert "stats" in mine and "error" not in mine["stats"]
    return mine


def test_each_sets_logs_are_the_single_runs(archive, tmp_path):
    out = tmp_path / "out"
    res = sweep(archive, orders_builder, GRID, config=BASE, out=out, set_logs="trades", engine=SMALL)
    assert sorted(p.name for p in (out / "sets").iterdir()) == [str(i) for i in range(8)]
    summaries = {}
    for s in res.plan.sets[::3]:  # sets 0, 3 and 6
        set_dir = out / "sets" / str(s.set_id)
        summaries[s.set_id] = _same_as_alone(archive, set_dir, s.params, s.overrides["execution.model"], "trades",
                                             tmp_path / f"alone{s.set_id}")
        row = res.results.filter(pl.col("set_id") == s.set_id).row(0, named=True)
        assert row["final_equity"] == summaries[s.set_id]["final_equity"]
        assert pl.read_parquet(set_dir / "fills.parquet").height == row["fills"] > 20
        assert pl.read_parquet(set_dir / "equity.parquet").height > 512  # more rows than a sweep's buffer holds
    assert len({v["final_equity"] for v in summaries.values()}) == 3  # the sets differ: the check can fail
    # the manifest lists every set's files; logs_of reads them back
    listed = read_manifest(out)["files"]
    assert "sets/3/fills.parquet" in listed and "results.parquet" in listed
    assert res.logs_of(3).fills.equals(pl.read_parquet(out / "sets" / "3" / "fills.parquet"))
    # the figures are those of the same sweep without logs
    plain = sweep(archive, orders_builder, GRID, config=BASE, engine=SMALL)
    assert plain.results.equals(res.results)


def test_events_level_writes_the_events_log(archive, tmp_path):
    out = tmp_path / "out"
    grid = [{"every": 13, "sl": 8, "execution.model": "realistic"}]
    sweep(archive, orders_builder, grid, config={"run": {"chunk_rows": 5_000, "log_level": "off"}}, out=out,
          set_logs="events")
    set_dir = out / "sets" / "0"
    assert "events.parquet" in _files(set_dir)
    # set_logs wins over the base config's run.log_level (off here)
    _same_as_alone(archive, set_dir, {"every": 13, "sl": 8}, "realistic", "events", tmp_path / "alone")


def test_default_writes_no_sets_folder(archive, tmp_path):
    out = tmp_path / "out"
    sweep(archive, orders_builder, {"every": [7, 45]}, config=BASE, out=out)
    assert _files(out) == [MANIFEST, "results.parquet"]
    sweep(archive, orders_builder, {"every": [7, 45]}, config=BASE, out=out, force=True, set_logs="off")
    assert not (out / "sets").exists()


def _no_staging_left(tmp_path):
    return [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failing_set_leaves_no_out(archive, tmp_path):
    def builder(p):
        if p["every"] == 45:
            raise ValueError("no orders for 45")
        return orders_builder(p)

    builder.params = orders_builder.params
    out = tmp_path / "out"
    with pytest.raises(BacktestrError, match=r"set 1 .*no orders for 45"):
        sweep(archive, builder, {"every": [7, 45, 30]}, config=BASE, out=out, set_logs="trades", engine=SMALL)
    assert not out.exists() and _no_staging_left(tmp_path)

    # a strategy that fails mid-pass while the other set's logs are streaming to its files
    from backtestr.examples.sma_cross import SmaCross

    with pytest.raises(BacktestrError, match=r"^set 1 \(fast=500, slow=8, qty=1\): strategy sma_cross"):
        sweep(archive, SmaCross, [{"fast": 3, "slow": 8}, {"fast": 500, "slow": 8}], config=BASE, out=out,
              set_logs="ticks", engine=SMALL)
    assert not out.exists() and _no_staging_left(tmp_path)

    # a failure after every set's logs were written (a metric that fails): still nothing
    def metrics(result):
        if result.summary["fills"] > 0 and result.fills.height < 100:
            raise ValueError("too few fills")
        return {"n_fills": result.fills.height}

    with pytest.raises(ValueError, match="too few fills"):
        sweep(archive, orders_builder, {"every": [7, 45]}, config=BASE, out=out, set_logs="trades",
              metrics=metrics)
    assert not out.exists() and _no_staging_left(tmp_path)


def test_an_earlier_sweep_is_replaced_only_with_force(archive, tmp_path):
    out = tmp_path / "out"
    sweep(archive, orders_builder, {"every": [7, 45]}, config=BASE, out=out, set_logs="trades")
    before = {f: (out / f).read_bytes() for f in _files(out)}
    with pytest.raises(BacktestrError, match="force=True"):
        sweep(archive, orders_builder, {"every": [30]}, config=BASE, out=out, set_logs="trades")
    assert {f: (out / f).read_bytes() for f in _files(out)} == before

    def failing(p):
        raise ValueError("broken builder")

    failing.params = orders_builder.params
    with pytest.raises(BacktestrError, match="broken builder"):  # with force, a failed sweep keeps the earlier one
        sweep(archive, failing, {"every": [30]}, config=BASE, out=out, set_logs="trades", force=True)
    assert {f: (out / f).read_bytes() for f in _files(out)} == before
    sweep(archive, orders_builder, {"every": [30]}, config=BASE, out=out, set_logs="trades", force=True)
    assert sorted(p.name for p in (out / "sets").iterdir()) == ["0"]
    assert pl.read_parquet(out / "results.parquet")["every"].to_list() == [30]
    assert _no_staging_left(tmp_path)


def test_bad_uses_are_refused_before_any_run(archive, tmp_path):
    with pytest.raises(ConfigError, match=r"set_logs='bogus': expected one of off, trades, events, ticks"):
        sweep(archive, orders_builder, {"every": [7]}, out=tmp_path / "a", set_logs="bogus")
    with pytest.raises(ConfigError, match=r"set_logs='trades': .*give out= too"):
        sweep(archive, orders_builder, {"every": [7]}, set_logs="trades")
    with pytest.raises(ConfigError, match=r"set_logs='trades': .*cluster=/workers="):
        sweep(archive, orders_builder, {"every": [7]}, out=tmp_path / "b", set_logs="trades", workers=2)
    with pytest.raises(ConfigError, match=r"set_logs='trades': the space sets run.log_level for set\(s\) 0"):
        sweep(archive, orders_builder, {"run.log_level": ["events"]}, out=tmp_path / "c", set_logs="trades")
    assert list(tmp_path.iterdir()) == []


GRID_TOML = '[grid]\nfast = [3, 5]\nslow = [8]\n'


def test_command_line_flag(archive, tmp_path, capsys):
    from backtestr.examples.sma_cross import SmaCross
    from backtestr.sweep.cli import main

    (tmp_path / "grid.toml").write_text(GRID_TOML)

    def argv(out, *more):
        return ["sweep", "--data", archive, "--strategy", "backtestr.examples.sma_cross:SmaCross", "--grid",
                str(tmp_path / "grid.toml"), "--out", str(out), "--set", "run.chunk_rows=5000", "--quiet", *more]

    out = tmp_path / "out"
    assert main(argv(out, "--set-logs", "trades")) == 0
    assert sorted(p.name for p in (out / "sets").iterdir()) == ["0", "1"]
    alone = bt.run(archive, strategy=SmaCross, params={"fast": 5, "slow": 8},
                   config={"run": {"chunk_rows": 5_000, "log_level": "trades"}})
    assert alone.fills.height > 0
    assert pl.read_parquet(out / "sets" / "1" / "fills.parquet").equals(alone.fills)

    bad = tmp_path / "bad"
    assert main(argv(bad, "--set-logs", "bogus")) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtestr: error: --set-logs bogus: expected one of off, trades, events, ticks")
    assert "Traceback" not in err and not bad.exists()
    assert main(argv(bad, "--set-logs", "trades", "--workers", "2")) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtestr: error: --set-logs trades: ") and "--workers/--scheduler" in err
    assert not bad.exists()
