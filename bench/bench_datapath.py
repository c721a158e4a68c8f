"""The data path: a frame in memory, many symbols from a frame and from an archive, memory.

Usage (from the project root, after ``make setup``):

    .venv/bin/python bench/bench_datapath.py                      # everything
    .venv/bin/python bench/bench_datapath.py --only frame         # frame / symbols / archive / memory

Every figure is ticks per second of a whole ``bt.run`` call (log level
``trades``, no outputs written), the best of ``--repeat`` runs; the symbol
figures are measured side by side in one run so their ratios compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_704_153_600 * 10**9  # 2024-01-02 00:00 UTC


def _sym(k: int) -> str:
    return f"S{k:04d}USD"


def instruments(n: int) -> dict:
    """``n`` synthetic symbols quoted in USD (an account currency: no conversion)."""
    return {_sym(k): {"tick_size": "0.00001", "lot_step": "0.01", "contract_size": "100000", "quote": "USD",
                      "min_qty": "0.01", "max_qty": "100"} for k in range(n)}


def tick_frame(n: int, symbols: list[str], seed: int = 7) -> pl.DataFrame:
    """``n`` ticks, 50 ms apart, each of a random symbol; a random walk per symbol on the tick grid."""
    rng = np.random.default_rng(seed)
    k = len(symbols)
    which = rng.integers(0, k, n) if k > 1 else np.zeros(n, np.int64)
    steps = rng.integers(-2, 3, n)
    # each symbol's walk: cumulative steps within the symbol (order kept), from 1.10000
    order = np.argsort(which, kind="stable")
    walk = np.empty(n, np.int64)
    s = steps[order]
    bounds = np.searchsorted(which[order], np.arange(k + 1))
    for j in range(k):
        a, b = bounds[j], bounds[j + 1]
        walk[order[a:b]] = np.cumsum(s[a:b])
    bid = (110_000 + (walk % 4000)) * 1e-5
    ask = bid + rng.integers(1, 4, n) * 1e-5
    ts = T0 + np.arange(n, dtype=np.int64) * 50_000_000
    return pl.DataFrame({"ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")),
                         "symbol": pl.Series(np.array(symbols)[which]).cast(pl.String),
                         "bid": bid, "ask": ask})


def orders_every(ticks: pl.DataFrame, every: int) -> pl.DataFrame:
    """A market order every ``every`` ticks, on that tick's symbol, alternating buy and sell."""
    rows = ticks.gather_every(every)
    n = rows.height
    return pl.DataFrame({"ts": rows["ts"], "symbol": rows["symbol"],
                         "side": ["buy" if i % 2 else "sell" for i in range(n)], "qty": [0.1] * n})


def timed_run(data, orders, cfg: dict, repeat: int) -> tuple[float, dict]:
    import backtestr as bt

    best, summary = float("inf"), {}
    for _ in range(repeat):
        t = time.perf_counter()
        res = bt.run(data, orders=orders, config=cfg)
        best = min(best, time.perf_counter() - t)
        summary = res.summary
    return best, summary


def kernel_alone(df: pl.DataFrame, orders: pl.DataFrame, cfg: dict, repeat: int) -> float:
    """Seconds of ``engine.run_chunk`` alone over the frame's ticks already in memory as one chunk
    (same orders, same settings, log buffers large enough for the whole run)."""
    from backtestr.kernels import engine
    from backtestr.kernels.alloc import new_book, new_logs
    from backtestr.kernels.records import Status, TickChunk
    from backtestr.kernels.strategy_hook import no_strategy

    from backtestr.config import load_config
    from backtestr.instruments import kernel_table, load_registry
    from backtestr.orders import load_orders
    from backtestr.reader import TickStream, frame_sources
    from backtestr.run import _params

    conf = load_config(data=cfg)
    reg = load_registry(conf)
    syms = sorted(set(df["symbol"].unique().to_list()))
    inv = np.array([1.0 / float(reg[s].tick_size) for s in syms])
    parts = [tuple(a.copy() for a in c) for c in TickStream(frame_sources(df.to_arrow()), syms, inv, None, None,
                                                             1_000_000, False)]
    chunk = TickChunk(*(np.concatenate([p[i] for p in parts]) for i in range(4)), *parts[0][4:])
    ob = load_orders(orders, None, syms, [reg[s] for s in syms], 0)
    inst = kernel_table(syms, reg, conf)
    params = _params(conf)
    best = float("inf")
    for _ in range(repeat + 1):  # the first loads the compiled kernel
        book = new_book(len(syms), ob.records.copy(), params)
        logs = new_logs(1 << 20)
        t = time.perf_counter()
        st = engine.run_chunk(chunk, 0, book, logs, inst, params, *no_strategy(len(syms)))
        best = min(best, time.perf_counter() - t)
        assert st == Status.DONE, st  # the whole chunk in one call
    return best


def bench_frame(n: int, repeat: int) -> dict:
    syms = ["AUDUSD", "EURUSD", "GBPUSD"]
    df = tick_frame(n, syms)
    orders = orders_every(df, 10_000)
    cfg = {"run": {"log_level": "trades"}}
    timed_run(df.head(10_000), orders.head(1), cfg, 1)  # compile / warm
    s, summ = timed_run(df, orders, cfg, repeat)
    k = kernel_alone(df, orders, cfg, repeat)
    return {"ticks": summ["ticks"], "fills": summ["fills"], "seconds": s, "ticks_per_s": summ["ticks"] / s,
            "kernel_alone_ticks_per_s": summ["ticks"] / k, "run_over_kernel_speed": k / s}


def write_by_symbol(df: pl.DataFrame, root: Path) -> None:
    for (sym,), part in df.partition_by("symbol", as_dict=True).items():
        d = root / f"symbol={sym}"
        d.mkdir(parents=True, exist_ok=True)
        part.drop("symbol").write_parquet(d / "part-0.parquet", compression="zstd", row_group_size=262_144)


def bench_symbols(n: int, counts: list[int], repeat: int, archive: bool) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in counts:
            syms = [_sym(j) for j in range(k)]
            df = tick_frame(n, syms)
            orders = orders_every(df, 2_000)
            cfg = {"run": {"log_level": "trades", "account_mode": "hedging"}, "instruments": instruments(k)}
            data = df
            if archive:
                data = Path(tmp) / f"k{k}"
                write_by_symbol(df, data)
            timed_run(data, orders.head(1), cfg, 1)  # warm
            s, summ = timed_run(data, orders, cfg, repeat)
            out[k] = {"ticks": summ["ticks"], "fills": summ["fills"], "seconds": s, "ticks_per_s": summ["ticks"] / s}
    base = out[counts[0]]["ticks_per_s"]
    for k in counts:
        out[k]["vs_first"] = out[k]["ticks_per_s"] / base
    return out


_MEM = """
import sys, json, polars as pl, backtestr as bt
sys.path.insert(0, sys.argv[3])
from bench_datapath import instruments, orders_every
k = int(sys.argv[2])
orders = pl.read_parquet(sys.argv[4])
r = bt.run(sys.argv[1], orders=orders, config={"run": {"log_level": "trades", "account_mode": "hedging"},
                                               "instruments": instruments(k)})
hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]
print(json.dumps({"ticks": r.summary["ticks"], "wall_s": r.summary["wall_s"], "peak_rss_mib": int(hwm) / 1024}))
"""


def bench_memory(n: int, k: int) -> dict:
    """Peak RSS (VmHWM) of a whole run over an archive of ``k`` symbols in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        df = tick_frame(n, [_sym(j) for j in range(k)])
        root = Path(tmp) / "arch"
        write_by_symbol(df, root)
        op = Path(tmp) / "orders.parquet"
        orders_every(df, 2_000).write_parquet(op)
        del df
        out = subprocess.run([sys.executable, "-c", _MEM, str(root), str(k), str(Path(__file__).parent), str(op)],
                             check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["frame", "symbols", "archive", "memory"])
    ap.add_argument("--frame-ticks", type=float, default=10e6)
    ap.add_argument("--symbol-ticks", type=float, default=6e6)
    ap.add_argument("--counts", default="1,6,30,100")
    ap.add_argument("--memory-symbols", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    counts = [int(x) for x in a.counts.split(",")]
    res: dict = {"when": time.strftime("%Y-%m-%d %H:%M:%S")}
    if a.only in (None, "frame"):
        res["frame"] = bench_frame(int(a.frame_ticks), a.repeat)
    if a.only in (None, "symbols"):
        res["symbols_frame"] = bench_symbols(int(a.symbol_ticks), counts, a.repeat, archive=False)
    if a.only in (None, "archive"):
        res["symbols_archive"] = bench_symbols(int(a.symbol_ticks), counts, a.repeat, archive=True)
    if a.only in (None, "memory"):
        res["memory"] = {"symbols": a.memory_symbols, **bench_memory(int(a.symbol_ticks), a.memory_symbols)}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
