"""Statistics and report of a long run: 50M equity rows (a 50M-tick run at log level ticks) and 100,000 trades.

The logs are built synthetically with the real schemas (the kernel's record
dtypes turned into Arrow tables by the writer's own Decoder, written like the
run's writer: zstd, dictionary pages for the name columns): one year of
weekday ticks for two symbols, the equity a random walk with one row per
tick, 100,000 closed positions, two fills per position. Then it times
``stats(OUT)`` and ``write_report(OUT)`` (best of ``--repeat``) and prints the
report's size.

    .venv/bin/python bench/bench_analytics.py                 # 50M rows, 100k trades
    .venv/bin/python bench/bench_analytics.py --rows 5000000  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtestr.kernels.records import EQUITY, FILL, ORDER, POSITION  # noqa: E402

from backtestr.writer import Decoder  # noqa: E402

NS = 10**9
START = 1_704_067_200 * NS  # 2024-01-01T00:00:00Z
YEAR = 365 * 86_400 * NS
INIT = 10_000_000  # 100,000.00
SYMBOLS = ["EURUSD", "GBPUSD"]
BLOCK = 5_000_000


def _writer(path: Path, table: pa.Table) -> pq.ParquetWriter:
    names = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    return pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=names)


def weekday_times(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted tick times over a year, none from Friday 22:00 to Sunday 22:00 UTC."""
    t = np.sort(rng.integers(START, START + YEAR, int(n * 1.45)))
    wk = ((t // NS - 86_400 - 22 * 3600) % (7 * 86_400)) // 86_400  # days since a Friday 22:00 (1970-01-02)
    t = t[wk >= 2]
    return t[:n] if t.shape[0] >= n else np.sort(np.concatenate((t, t[: n - t.shape[0]])))


def build(out: Path, rows: int, trades: int, seed: int = 1) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dec = Decoder(SYMBOLS, np.full(2, 0.00001), np.full(2, 0.01), 2)
    ts = weekday_times(rows, rng)
    w, peak, level = None, INIT, INIT
    for lo in range(0, rows, BLOCK):
        t = ts[lo:lo + BLOCK]
        rec = np.zeros(t.shape[0], EQUITY)
        rec["ts"] = t
        eq = level + np.cumsum(rng.integers(-40, 41, t.shape[0]))
        level = int(eq[-1])
        pk = np.maximum(np.maximum.accumulate(eq), peak)
        peak = int(pk[-1])
        rec["equity_minor"], rec["cash_minor"], rec["drawdown_minor"] = eq, eq, pk - eq
        rec["open_positions"] = rng.integers(0, 3, t.shape[0])
        tab = dec.table("equity", rec)
        w = w or _writer(out / "equity.parquet", tab)
        w.write_table(tab)
    w.close()
    # positions: opened in time order, held 1 min to 2 h
    pos = np.zeros(trades, POSITION)
    opens = np.sort(rng.integers(START, START + YEAR - 3 * 3600 * NS, trades))
    pos["position_id"] = pos["open_order_id"] = np.arange(trades)
    pos["close_order_id"] = np.arange(trades) + trades
    pos["parent_id"] = -1
    pos["symbol"] = rng.integers(0, 2, trades)
    pos["side"] = rng.choice(np.array([-1, 1], np.int8), trades)
    pos["open_ts"], pos["close_ts"] = opens, opens + rng.integers(60, 7200, trades) * NS
    entry = rng.integers(105_000, 125_000, trades)
    move = rng.integers(-300, 301, trades)
    pos["entry_value"], pos["exit_value"] = entry * 100, (entry + move) * 100
    pos["entry_steps"] = pos["exit_steps"] = pos["max_qty_steps"] = 100
    pos["realized_pnl_minor"] = move * 100 * pos["side"]
    pos["commission_minor"] = 700
    pos["mae_minor"] = -rng.integers(0, 40_000, trades)
    pos["mfe_minor"] = rng.integers(0, 40_000, trades)
    pos["exit_reason"] = 1
    pos["n_fills"] = 2
    pos = pos[np.argsort(pos["close_ts"], kind="stable")]
    pq.write_table(dec.table("positions", pos), out / "positions.parquet", compression="zstd")
    fills = np.zeros(2 * trades, FILL)
    fills["fill_id"] = np.arange(2 * trades)
    fills["ts"] = np.sort(np.concatenate((pos["open_ts"], pos["close_ts"])))
    fills["symbol"] = rng.integers(0, 2, 2 * trades)
    fills["side"] = 1
    fills["price_ticks"] = rng.integers(105_000, 125_000, 2 * trades)
    fills["qty_steps"] = 100
    fills["commission_minor"] = 350
    pq.write_table(dec.table("fills", fills), out / "fills.parquet", compression="zstd")
    orders = np.zeros(2 * trades, ORDER)
    orders["order_id"] = np.arange(2 * trades)
    orders["status"] = 2
    tags = {i: ("breakout" if i % 3 else "revert") for i in range(trades)}
    pq.write_table(dec.table("orders", orders, tags), out / "orders.parquet", compression="zstd")
    eq_last = level
    summary = {"version": "bench", "account_currency": "USD", "symbols": SYMBOLS,
               "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts[0]) // NS)),
               "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts[-1]) // NS)),
               "ticks": rows, "initial_cash": INIT / 100, "initial_cash_minor": INIT,
               "final_equity_minor": eq_last, "positions": trades}
    (out / "summary.json").write_text(json.dumps(summary))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000, help="equity rows (= ticks at log level ticks)")
    ap.add_argument("--trades", type=int, default=100_000)
    ap.add_argument("--work", default=str(ROOT / "bench" / "work" / "analytics"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    a = ap.parse_args()
    out = Path(a.work) / f"run-{a.rows}-{a.trades}"
    if a.rebuild or not (out / "summary.json").exists():
        t = time.perf_counter()
        build(out, a.rows, a.trades)
        print(f"built logs in {time.perf_counter() - t:.1f} s: {out}")
    size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    print(f"logs: {a.rows:,} equity rows, {a.trades:,} trades, {size / 1e6:.0f} MB of Parquet")

    from backtestr.analytics import stats, write_report

    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    best, cpu = [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        st = stats(out)
        best.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"stats:  best {min(best):.2f} s, median {sorted(best)[len(best) // 2]:.2f} s wall; "
          f"{min(cpu):.2f} s CPU ({st['trades']:,} trades, {st['periods']} periods, sharpe {st['sharpe']:.3f})")
    report = Path(a.work) / "report.html"
    times, cpu = [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        write_report(out, report)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"report: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s wall; "
          f"{min(cpu):.2f} s CPU; {report.stat().st_size / 1e6:.2f} MB")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
