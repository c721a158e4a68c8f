"""Benchmarks of docs/architecture.md §7: end to end vs a plain read, kernel alone, memory, compile time.

Usage (from the project root, after ``make setup``):

    .venv/bin/python bench/run_bench.py                 # 50M-tick archive in data/bench
    .venv/bin/python bench/run_bench.py --ticks 200e6 --data data/bench200 --memory-only

Figures are ratios measured in one run (the machines are shared and noisy):
each timing is the best of ``--repeat`` alternating runs. Results are saved to
bench/work/last.json and compared with the previous run's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["EURUSD", "GBPUSD", "BTCUSD"]
WORK = ROOT / "bench" / "work"


def ensure_archive(path: Path, ticks: float, days: int) -> None:
    from backtestr.synth import write_archive

    if path.exists():
        return
    rate = ticks / (len(SYMBOLS) * days * 86400)
    t = time.perf_counter()
    info = write_archive(path, SYMBOLS, days, seed=11, start=date(2024, 1, 1), rate=rate, workers=2)
    print(f"generated {info['ticks']:,} ticks in {time.perf_counter() - t:.1f} s -> {path}")


def plain_read(files: list[str]) -> tuple[float, int]:
    """Time to read the columns a run reads, with the reader settings a run uses."""
    t = time.perf_counter()
    n = 0
    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=1_000_000, columns=["ts", "bid", "ask"]):
            n += b.num_rows
    return time.perf_counter() - t, n


def sparse_signals(archive: Path, every: str = "30m") -> pl.DataFrame:
    """Alternate long/short targets every ``every`` per symbol: sparse orders."""
    lf = pl.scan_parquet(archive / "**" / "*.parquet", hive_partitioning=True)
    span = lf.select(pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b")).collect()
    grid = pl.datetime_range(span["a"][0], span["b"][0], every, eager=True, time_zone="UTC")
    lots = {"EURUSD": 1.0, "GBPUSD": 1.0, "BTCUSD": 0.1}
    rows = [(t, s, lots[s] * (1 if i % 2 else -1)) for i, t in enumerate(grid) for s in SYMBOLS]
    return pl.DataFrame(rows, schema={"ts": pl.Datetime("ns", "UTC"), "symbol": pl.String, "target": pl.Float64},
                        orient="row")


def end_to_end(archive: Path, signals: pl.DataFrame, level: str) -> tuple[float, dict]:
    import backtestr as bt

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = bt.run(archive, signals=signals, overrides={"run.log_level": level}, out=Path(tmp) / "out")
        return time.perf_counter() - t, res.summary


def kernel_only(archive: Path, max_ticks: int, order_every: int) -> dict:
    """Ticks per second of engine.run_chunk on in-memory arrays, sparse market orders."""
    from backtestr.kernels import engine
    from backtestr.kernels.alloc import new_book, new_logs
    from backtestr.kernels.records import NO_SIZES, TickChunk
    from backtestr.kernels.strategy_hook import no_strategy

    from backtestr.config import load_config
    from backtestr.instruments import kernel_table, load_registry
    from backtestr.orders import load_orders
    from backtestr.reader import TickStream, plan_sources
    from backtestr.run import _params

    cfg = load_config(overrides=["commission.per_lot=3.5", "run.log_level=off"])
    reg = load_registry(cfg)
    syms = sorted(SYMBOLS)
    inv = np.array([1.0 / float(reg[s].tick_size) for s in syms])
    parts, n = [], 0
    for c in TickStream(plan_sources(archive), syms, inv, None, None, 1_000_000, False):
        parts.append(tuple(a.copy() for a in c[:4]))
        n += c.ts.shape[0]
        if n >= max_ticks:
            break
    ts, sym, bid, ask = (np.concatenate([p[i] for p in parts]) for i in range(4))
    chunk = TickChunk(ts, sym, bid, ask, NO_SIZES, NO_SIZES)
    idx = np.arange(0, ts.shape[0], order_every)
    lots = {"EURUSD": 0.1, "GBPUSD": 0.1, "BTCUSD": 0.01}
    orders = pl.DataFrame({
        "ts": pl.Series(ts[idx]).cast(pl.Datetime("ns", "UTC")),
        "symbol": [syms[s] for s in sym[idx]],
        "side": ["buy" if (i // order_every) % 2 else "sell" for i in idx],
        "qty": [lots[syms[s]] for s in sym[idx]],
    })
    ob = load_orders(orders, None, syms, [reg[s] for s in syms], 0)
    inst = kernel_table(syms, reg, cfg)
    params = _params(cfg)
    warm = TickChunk(ts[:1000], sym[:1000], bid[:1000], ask[:1000], NO_SIZES, NO_SIZES)
    engine.run_chunk(warm, 0, new_book(3, ob.records.copy(), params), new_logs(1 << 10), inst, params,
                     *no_strategy(3))
    best = float("inf")
    fills = 0
    for _ in range(3):
        book = new_book(3, ob.records.copy(), params)
        logs = new_logs(1 << 16)
        t = time.perf_counter()
        engine.run_chunk(chunk, 0, book, logs, inst, params, *no_strategy(3))
        best = min(best, time.perf_counter() - t)
        fills = int(book.acct[0]["n_fills"])
    return {"ticks": int(ts.shape[0]), "orders": int(idx.shape[0]), "fills": fills,
            "ticks_per_s": ts.shape[0] / best, "ns_per_tick": best / ts.shape[0] * 1e9}


_FRESH = """
import time
t0 = time.perf_counter()
import polars as pl, datetime as dt
import backtestr as bt
t1 = time.perf_counter()
ts = [dt.datetime(2024, 1, 2, 0, 0, i, tzinfo=dt.timezone.utc) for i in range(4)]
ticks = pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * 4, "bid": [1.1, 1.1001, 1.1002, 1.1003],
                      "ask": [1.1001, 1.1002, 1.1003, 1.1004]})
orders = pl.DataFrame({"ts": [ts[0]], "symbol": ["EURUSD"], "side": ["buy"], "qty": [0.1]})
bt.run(ticks, orders=orders)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def fresh_process() -> dict:
    """First run in a fresh process with a warm cache: import time and run time."""
    subprocess.run([sys.executable, "-c", _FRESH], check=True, capture_output=True)  # warm the cache
    out = subprocess.run([sys.executable, "-c", _FRESH], check=True, capture_output=True, text=True).stdout
    imp, first = (float(x) for x in out.split())
    return {"import_s": imp, "first_run_s": first}


def peak_memory(archive: Path, signals: pl.DataFrame) -> dict:
    """Peak RSS (VmHWM) of a whole run (trades level, outputs written) in a fresh child process.

    VmHWM, not ru_maxrss: the latter keeps the forked parent's size across exec.
    """
    with tempfile.TemporaryDirectory() as d:
        sig = Path(d) / "signals.parquet"
        signals.write_parquet(sig)
        code = (
            "import sys, pathlib, backtestr as bt\n"
            "r = bt.run(sys.argv[1], signals=sys.argv[2], out=pathlib.Path(sys.argv[3]) / 'o')\n"
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
            "print(r.summary['ticks'], r.summary['wall_s'], hwm)\n"
        )
        out = subprocess.run([sys.executable, "-c", code, str(archive), str(sig), d], check=True,
                             capture_output=True, text=True).stdout
    ticks, wall, rss_kib = out.split()
    return {"ticks": int(ticks), "wall_s": float(wall), "peak_rss_mib": int(rss_kib) / 1024}


_READ = """
import sys, pyarrow.dataset as ds
n = 0
for b in ds.dataset(sys.argv[1], format="parquet", partitioning="hive").to_batches(columns=["ts", "bid", "ask"]):
    n += b.num_rows
print(n)
"""


def whole_process(archive: Path, signals: pl.DataFrame, repeat: int) -> dict:
    """End to end as whole processes: ``backtestr run`` (trades level, outputs written) against a
    streaming pyarrow read of the same columns (``dataset.to_batches``); best of ``repeat``,
    alternating."""
    exe = Path(sys.executable).parent / "backtestr"
    best_run, best_read = float("inf"), float("inf")
    with tempfile.TemporaryDirectory() as d:
        sig = Path(d) / "signals.parquet"
        signals.write_parquet(sig)
        run = [str(exe), "run", "--data", str(archive), "--signals", str(sig), "--out", str(Path(d) / "o"),
               "--force", "--quiet", "--set", "run.log_level=trades"]
        subprocess.run(run, check=True, capture_output=True)  # warm the compiled-kernel cache
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", _READ, str(archive)], check=True, capture_output=True)
            best_read = min(best_read, time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run(run, check=True, capture_output=True)
            best_run = min(best_run, time.perf_counter() - t)
    return {"files": len(list(archive.rglob("*.parquet"))), "read_process_s": best_read,
            "run_process_s": best_run, "ratio": best_run / best_read}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "data" / "bench"))
    ap.add_argument("--ticks", type=float, default=50e6)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kernel-ticks", type=int, default=30_000_000)
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--process-only", action="store_true", help="only the whole-process ratio")
    a = ap.parse_args()
    archive = Path(a.data)
    ensure_archive(archive, a.ticks, a.days)
    res: dict = {"archive": str(archive), "when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count()}
    if a.process_only:
        res["whole_process"] = whole_process(archive, sparse_signals(archive), a.repeat)
        print(json.dumps(res, indent=2))
        return
    if not a.memory_only:
        files = sorted(str(p) for p in archive.rglob("*.parquet"))
        signals = sparse_signals(archive)
        end_to_end(archive, signals.head(3), "trades")  # compile/warm
        best_read, best_run, summary = float("inf"), float("inf"), {}
        for _ in range(a.repeat):
            tr, n = plain_read(files)
            te, summary = end_to_end(archive, signals, "trades")
            best_read, best_run = min(best_read, tr), min(best_run, te)
        res["plain_read_s"] = best_read
        res["end_to_end_s"] = best_run
        res["ratio_end_to_end_over_read"] = best_run / best_read
        res["ticks"] = summary["ticks"]
        res["orders"] = summary["orders"]
        res["fills"] = summary["fills"]
        res["kernel"] = kernel_only(archive, a.kernel_ticks, 10_000)
        res["fresh_process"] = fresh_process()
    res["memory"] = peak_memory(archive, sparse_signals(archive))
    WORK.mkdir(parents=True, exist_ok=True)
    last = WORK / ("last-memory.json" if a.memory_only else "last.json")
    prev = json.loads(last.read_text()) if last.exists() else None
    last.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    if prev and "ratio_end_to_end_over_read" in prev and "ratio_end_to_end_over_read" in res:
        print(f"end-to-end/read ratio: {res['ratio_end_to_end_over_read']:.3f} "
              f"(previous run {prev['ratio_end_to_end_over_read']:.3f})")


if __name__ == "__main__":
    main()
