"""A sweep's sets on a Dask cluster (docs/sweeps.md §9): the in-process sweep's results, a lost
worker's sets run elsewhere once, clear errors for a scheduler that cannot be reached."""

from __future__ import annotations

import importlib
import os
import time

import polars as pl
import pytest

from backtestr.errors import BacktestrError, ConfigError, OrdersError
from backtestr.sweep import random, sweep
from backtestr.sweep.cli import main
from backtestr.sweep.cluster import ClusterSettings, batch_size, cluster_settings, shared_data
from tests.tickdata import hive_file, orders_frame, signals_frame

distributed = pytest.importorskip("distributed")

QUIET = {"run": {"log_level": "off"}}
# seeded random slippage: the figures differ from set to set, so a comparison can fail
GRID = {"qty": [1, 2, 3], "execution.model": ["realistic"], "execution.slippage": ["fixed"],
        "execution.slippage_ticks": [2, 5], "execution.random_slippage": [True], "execution.seed": [1, 9]}


def round_trip(p):
    """Long ``qty`` lots from the tick at t=1 to the tick at t=2."""
    return signals_frame([(0.5, "EURUSD", p["qty"]), (1.5, "EURUSD", 0)])


round_trip.params = {"qty": 1}


def fill_rows(result):
    return {"fill_rows": result.fills.height}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    # ask at t=1 1.10012, bid at t=2 1.10050 (as in test_sweep_executor)
    root = tmp_path_factory.mktemp("cluster") / "data"
    hive_file(root, "EURUSD", [0, 1, 2, 3], [1.10000, 1.10010, 1.10050, 1.10020],
              [1.10002, 1.10012, 1.10052, 1.10022])
    return root


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as local, distributed.Client(local) as c:
        yield c


def is_warm():
    return importlib.import_module("backtestr.sweep.cluster")._warm


def test_every_worker_warms_up_before_the_sets(archive, client):
    # runs first on the module's fresh cluster: one set, so one worker alone could have run it
    assert list(client.run(is_warm).values()) == [False, False]
    sweep(archive, round_trip, {"qty": [1]}, config=QUIET, cluster=client)
    assert list(client.run(is_warm).values()) == [True, True]


def test_two_worker_cluster_gives_the_in_process_results_exactly(archive, client):
    here = sweep(archive, round_trip, GRID, config=QUIET)
    there = sweep(archive, round_trip, GRID, config=QUIET, cluster=client)
    batched = sweep(archive, round_trip, GRID, config=QUIET, cluster=ClusterSettings(client=client, batch=5))
    assert batched.results.equals(here.results)
    assert there.results.height == 12 and sorted(there.results["set_id"].to_list()) == list(range(12))
    assert there.results.equals(here.results)
    assert there.results.schema == here.results.schema
    assert here.results["final_equity"].n_unique() > 3
    # by hand: set 0 (qty 1, 2 ticks of slippage at most per fill) stays within 38 USD +- 2 * 2 ticks of 1 USD
    row0 = there.results.filter(pl.col("set_id") == 0).row(0, named=True)
    assert 34.0 <= row0["realized_pnl"] <= 42.0 and row0["fills"] == 2


def test_metrics_and_equity_curves_come_back_from_the_workers(archive, client):
    kw = {"config": {"run": {"log_level": "trades"}}, "metrics": fill_rows, "returns_every": "1s"}
    here = sweep(archive, round_trip, {"qty": [1, 2, 3]}, **kw)
    there = sweep(archive, round_trip, {"qty": [1, 2, 3]}, cluster=client, **kw)
    assert there.results.equals(here.results)
    assert there.results["fill_rows"].to_list() == [2, 2, 2]  # one round trip per set: two fills
    assert sorted(there.curves) == [0, 1, 2] and there.initial == here.initial
    for k in here.curves:
        assert there.curves[k].equals(here.curves[k])


def test_a_lost_worker_s_set_runs_elsewhere_once(archive, client, tmp_path):
    marker = tmp_path / "killed"

    def dies_once(p):
        if p["qty"] == 2 and not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies in the middle of the set
        return round_trip(p)

    dies_once.params = {"qty": 1}
    grid = random(8, {"qty": [1, 2, 3], "execution.slippage_ticks": (0, 9)}, seed=3)
    shape = {"config": QUIET, "overrides": {"execution.model": "realistic", "execution.slippage": "fixed",
                                            "execution.random_slippage": True}}
    # qty is 2 in set 7 only; in batches of 3 sets the lost batch is sets 6 and 7, so set 6 had run
    # on the lost worker before it died, and runs again elsewhere
    there = sweep(archive, dies_once, grid, cluster=ClusterSettings(client=client, batch=3), **shape)
    assert marker.exists()  # a worker did die
    here = sweep(archive, dies_once, grid, **shape)  # the marker is there: nothing dies in this process
    ids = there.results["set_id"].to_list()
    assert sorted(ids) == list(range(8)) and len(set(ids)) == 8
    assert there.results.equals(here.results)
    assert there.results.filter(pl.col("qty") == 2)["set_id"].to_list() == [7]


class Bar:
    """Records what the sweep's progress bar is told."""

    def __init__(self, total):
        self.total, self.done, self.closed = total, 0, False

    def update(self, n):
        self.done += n

    def set_postfix(self, *a, **k):
        pass

    def close(self):
        self.closed = True


def test_progress_counts_every_set_of_the_sweep_on_a_cluster(archive, client, monkeypatch):
    bars = []
    executor = importlib.import_module("backtestr.sweep.executor")
    monkeypatch.setattr(executor, "_progress_bar", lambda enabled, total: bars.append(Bar(total)) or bars[-1])
    sweep(archive, round_trip, GRID, config=QUIET, cluster=ClusterSettings(client=client, batch=5), progress=True)
    assert [(b.total, b.done, b.closed) for b in bars] == [(12, 12, True)]


def test_a_local_cluster_of_n_workers_started_and_closed(archive, tmp_path):
    out = tmp_path / "sw"
    res = sweep(archive, round_trip, {"qty": [1, 2], "commission.per_lot": ["0", "3"]}, config=QUIET,
                workers=2, out=out)
    # net = 38 q - 2 c q (test_sweep_executor works it out by hand)
    got = {r["set_id"]: r["net_pnl"] for r in res.results.iter_rows(named=True)}
    assert got == {0: 38.0, 1: 32.0, 2: 76.0, 3: 64.0}
    assert pl.read_parquet(out / "results.parquet").equals(res.results)


def test_a_tick_frame_is_sent_to_the_workers(archive, client):
    frame = pl.read_parquet(archive, hive_partitioning=True)
    if "symbol" not in frame.columns:
        frame = frame.with_columns(pl.lit("EURUSD").alias("symbol"))
    frame = frame.select("ts", "symbol", "bid", "ask")
    here = sweep(frame, round_trip, {"qty": [1, 2]}, config=QUIET)
    there = sweep(frame, round_trip, {"qty": [1, 2]}, config=QUIET, cluster=client)
    assert there.results.equals(here.results) and here.results["net_pnl"].to_list() == [76.0, 38.0]


def test_a_failing_set_on_a_worker_stops_the_sweep_and_writes_nothing(archive, client, tmp_path):
    def build(p):
        if p["qty"] == 3:
            return orders_frame([(0.5, "EURUSD", "hold", 1)])  # 'hold' is not a side
        return round_trip(p)

    out = tmp_path / "sw"
    with pytest.raises(OrdersError, match=r"^set 2 \(qty=3\): .*side"):
        sweep(archive, build, {"qty": [1, 2, 3]}, params={"qty": 1}, config=QUIET, out=out, cluster=client)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []


def test_an_unreachable_scheduler_is_named_within_the_timeout(archive):
    t0 = time.monotonic()
    with pytest.raises(BacktestrError, match=r"^cluster=tcp://127\.0\.0\.1:9: cannot reach a Dask scheduler at "
                                             r"tcp://127\.0\.0\.1:9 within 2 s"):
        sweep(archive, round_trip, {"qty": [1]}, config=QUIET,
              cluster=ClusterSettings(address="tcp://127.0.0.1:9", connect_timeout=2))
    assert time.monotonic() - t0 < 30  # a bound on hanging, not a speed figure


def test_the_command_line_names_the_scheduler_flag(archive, tmp_path, capsys):
    (tmp_path / "strat.py").write_text("from tests.tickdata import signals_frame\n"
                                       "def rt(p):\n    return signals_frame([(0.5, 'EURUSD', 1), (1.5, 'EURUSD', 0)])\n")
    (tmp_path / "grid.toml").write_text("[grid]\nqty = [1]\n[params]\nqty = 1\n")
    common = ["sweep", "--data", str(archive), "--strategy", f"{tmp_path / 'strat.py'}:rt",
              "--grid", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "out"), "--quiet"]
    assert main([*common, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("backtestr: error: --scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler")
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()
    assert main([*common, "--workers", "0"]) == 2
    assert "--workers 0: expected a whole number of worker processes" in capsys.readouterr().err


def test_the_command_line_on_a_scheduler_address_with_a_strategy_file(archive, client, tmp_path, capsys):
    # the builder comes from a .py file the workers cannot import: it travels by value
    (tmp_path / "strat.py").write_text("from tests.tickdata import signals_frame\n"
                                       "def rt(p):\n    return signals_frame([(0.5, 'EURUSD', p['qty']), "
                                       "(1.5, 'EURUSD', 0)])\n")
    (tmp_path / "grid.toml").write_text("[grid]\nqty = [1, 2]\n[params]\nqty = 1\n")
    out = tmp_path / "out"
    code = main(["sweep", "--data", str(archive), "--strategy", f"{tmp_path / 'strat.py'}:rt",
                 "--grid", str(tmp_path / "grid.toml"), "--out", str(out), "--quiet", "--set", "run.log_level=off",
                 "--scheduler", client.scheduler.address, "--workers", "2"])
    assert code == 0, capsys.readouterr().err
    got = pl.read_parquet(out / "results.parquet")
    assert got.select("set_id", "net_pnl").rows() == [(1, 76.0), (0, 38.0)]  # 38 USD per lot (by hand above)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused(workers):
    with pytest.raises(ConfigError, match=r"^workers=.*expected a whole number of worker processes, at least 1"):
        cluster_settings(None, workers)


def test_cluster_arguments_settled():
    assert cluster_settings(None, None) is None
    assert cluster_settings(None, 3) == ClusterSettings(workers=3)
    assert cluster_settings(" tcp://h:8786 ", None) == ClusterSettings(address="tcp://h:8786")
    with pytest.raises(ConfigError, match=r"^cluster=: expected a Dask scheduler address"):
        cluster_settings(42, None)
    with pytest.raises(ConfigError, match=r"^cluster=: the scheduler address is empty"):
        cluster_settings(" ", None)


def test_batch_sizes():
    assert batch_size(1000, 2) == 250 and batch_size(5000, 2) == 500  # 5000 / 4 = 1250, capped
    assert batch_size(160, 2) == 40 and batch_size(161, 2) == 41  # about 2 batches per worker, rounded up
    assert batch_size(5, 4) == 1 and batch_size(7, 4, asked=3) == 3


def test_shared_paths(tmp_path):
    assert shared_data(f"file://{tmp_path}/data") == str(tmp_path / "data")
    assert shared_data("data/sample") == os.path.join(os.getcwd(), "data", "sample")
    with pytest.raises(ConfigError, match=r"^data s3://bucket/ticks: the tick reader reads files, not s3:// URLs"):
        shared_data("s3://bucket/ticks")


def test_an_idle_cluster_is_told_from_a_busy_one(client):
    """The stall check (docs/sweeps.md §9) resends pending batches only when no worker runs anything."""
    from backtestr.sweep.cluster import _idle

    assert _idle(client)
    busy = client.submit(time.sleep, 3, pure=False)
    deadline = time.time() + 2
    while time.time() < deadline and _idle(client):
        time.sleep(0.05)
    assert not _idle(client)
    busy.result()
    assert _idle(client)
