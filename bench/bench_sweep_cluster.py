"""A sweep in this process against the same sweep on a two-worker local Dask cluster.

    .venv/bin/python bench/bench_sweep_cluster.py [--sets 120] [--days 1] [--rate 0.5] [--full]

A synthetic one-symbol archive (``--days`` days of EURUSD at ``--rate`` ticks per
second) is written to a temporary folder; the sweep is a grid of ``--sets`` sets of
a signals builder (a position flipped every ``every`` minutes, ``qty`` lots),
``run.log_level = off``. ``--full`` is the target's size: 1,000 sets.

The in-process figure is ``sweep()``'s one-pass engine (every set's account over one
read of the data, one thread per core); on the cluster each batch of sets runs
through the same engine on one thread of a worker. The cluster figures:

- ``cluster, started``: ``sweep(..., workers=2)``, wall time including starting
  the local cluster, the workers' warm-up and closing it;
- ``cluster, running``: ``sweep(..., cluster=client)`` on a cluster already
  started and warmed (the cost of the sets alone, with the tasks' overhead).

Each timing is the best of ``--repeat`` runs, after one untimed in-process sweep
(the numba cache is loaded in this process first). The results of the three are
checked to be identical. The target: the cluster at most 15% slower than in
process (a ratio of at most 1.15) for 1,000 sets; on a machine with two cores
two workers can also be faster. Figures: docs/sweeps.md §8 (Speed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import polars as pl

from backtestr.sweep import sweep
from backtestr.synth import write_archive

START = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
QUIET = {"run": {"log_level": "off"}}


def flipper(p: dict) -> pl.DataFrame:
    """Long then short ``qty`` lots, the position flipped every ``every`` minutes over the day."""
    n = 24 * 60 // p["every"]
    ts = [START + dt.timedelta(minutes=p["every"] * i + 1) for i in range(n)]
    return pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * n,
                         "target": [p["qty"] if i % 2 == 0 else -p["qty"] for i in range(n)]})


flipper.params = {"every": 60, "qty": 0.1}


def grid(sets: int) -> list[dict]:
    return [{"every": 5 + (i % 40) * 5, "qty": round(0.1 * (1 + i // 40), 1)} for i in range(sets)]


def best_of(repeat: int, f) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", type=int, default=120)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.5, help="ticks per second in the synthetic archive")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="1,000 sets (the target's size)")
    a = ap.parse_args()
    sets = 1000 if a.full else a.sets
    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="bench-sweep-cluster-") as tmp:
        data = Path(tmp) / "data"
        write_archive(data, ["EURUSD"], a.days, seed=1, start=START.date(), rate=a.rate)
        g = grid(sets)
        sweep(data, flipper, g[:2], config=QUIET)  # the kernels loaded in this process
        t_in, here = best_of(a.repeat, lambda: sweep(data, flipper, g, config=QUIET))
        t_started, started = best_of(a.repeat, lambda: sweep(data, flipper, g, config=QUIET, workers=2))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=40) as local, Client(local) as client:
            sweep(data, flipper, g[:2], config=QUIET, cluster=client)  # workers warmed
            t_running, running = best_of(a.repeat, lambda: sweep(data, flipper, g, config=QUIET, cluster=client))
    same = here.results.equals(started.results) and here.results.equals(running.results)
    report = {
        "sets": sets, "ticks_per_set": int(here.results["ticks"][0]), "identical_results": same,
        "in_process_s": round(t_in, 2), "cluster_started_s": round(t_started, 2),
        "cluster_running_s": round(t_running, 2),
        "ratio_started": round(t_started / t_in, 3), "ratio_running": round(t_running / t_in, 3),
        "in_process_ms_per_set": round(1000 * t_in / sets, 2),
    }
    print(json.dumps(report, indent=2))
    if not same:
        raise SystemExit("the cluster's results differ from the in-process sweep's")


if __name__ == "__main__":
    main()
