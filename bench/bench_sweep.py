"""The one-pass sweep engine: throughput, against vectorbt, and peak memory.

    .venv/bin/python bench/bench_sweep.py throughput --data ARCHIVE [--sets 1000] [--threads-sets 100]
    .venv/bin/python bench/bench_sweep.py vectorbt --data ARCHIVE [--ticks 1000000] [--check 30]
    /usr/bin/time -v .venv/bin/python bench/bench_sweep.py memory --data ARCHIVE --sets 10000 [--end ISO]

ARCHIVE: a synthetic archive, for example
``backtestr data synth --out /tmp/a10m --symbols EURUSD --days 6 --rate 20`` (11.2M ticks).

The strategy: an SMA crossover on 1-minute closes of the bid (a long entry of 0.01 lots when
the fast mean crosses above the slow one, the position closed when it crosses below),
each entry with a stop-loss and a take-profit in ticks from the entry price. The grid:
10 fast x 10 slow lengths x 5 stop-losses x 2 take-profits = 1,000 sets (``--sets`` takes
the first N; more than 1,000 repeats the grid with other quantities). The bars are built
once; each set's orders come from its builder call (included in the timings).

- ``throughput``: ``bt.sweep`` over the archive, log level off; account-ticks per second =
  sets x ticks / wall time. Then the first ``--threads-sets`` sets with the engine on one
  thread and on one per core, side by side (the ratio says what the threads give).
- ``vectorbt``: the first ``--ticks`` ticks with one price (ask = bid, zero spread), the
  grid through vectorbt's ``Portfolio.from_signals`` in chunks of 100 columns and through
  ``bt.sweep``, signal building included on both sides; the number of fills per set is
  compared for every set, and the fills (tick, price, side) of ``--check`` sets re-run
  with their logs against vectorbt's orders.
- ``memory``: ``--sets`` sets over the archive (up to ``--end``); run it under
  ``/usr/bin/time -v`` for the peak (maximum resident set size).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

import backtestr as bt
from backtestr.sweep import sweep
from backtestr.sweep.multi import PassSettings

FAST = [5, 8, 10, 12, 15, 20, 25, 30, 35, 40]
SLOW = [50, 60, 70, 80, 90, 100, 120, 150, 180, 240]
SL = [5, 10, 20, 50, 100]  # ticks from the entry price
TP = [10, 40]
TICK = 1e-5  # EURUSD
QUIET = {"run": {"log_level": "off"}, "execution": {"model": "perfect"}, "account": {"initial_cash": 1_000_000}}


def grid(n: int) -> list[dict]:
    sets = [{"fast": f, "slow": s, "sl": a, "tp": b} for f in FAST for s in SLOW for a in SL for b in TP]
    out = []
    for i in range(n):
        d = dict(sets[i % len(sets)])
        d["qty"] = round(0.01 * (1 + i // len(sets)), 2)
        out.append(d)
    return out


def minute_bars(files: list[str], end: int | None = None) -> pl.DataFrame:
    """Per minute: the last tick's time, its bid and its index among all ticks (one file at a time)."""
    parts, base = [], 0
    for f in files:
        t = pl.read_parquet(f, columns=["ts", "bid"]).with_row_index("i")
        if end is not None:
            t = t.filter(pl.col("ts") < pl.lit(end).cast(pl.Datetime("ns", "UTC")))
        g = (t.group_by(pl.col("ts").dt.truncate("1m").alias("m"), maintain_order=True)
             .agg(pl.col("ts").last(), pl.col("bid").last(), (pl.col("i").last() + base).alias("i")))
        parts.append(g.drop("m"))
        base += t.height
    return pl.concat(parts)


def cross_events(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Bar numbers where the fast mean crosses above (entries) and below (exits) the slow
    one, alternating (the sign of fast - slow carried over bars where it is zero)."""
    c = np.concatenate([[0.0], np.cumsum(close)])
    n = close.shape[0]
    k = np.arange(slow - 1, n)
    d = (c[k + 1] - c[k + 1 - fast]) / fast - (c[k + 1] - c[k + 1 - slow]) / slow
    s = np.sign(np.round(d, 12))
    nz = np.flatnonzero(s)
    if nz.shape[0] < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sv = s[nz]
    change = np.flatnonzero(sv[1:] != sv[:-1]) + 1
    at = nz[change] + slow - 1
    up = sv[change] > 0
    return at[up], at[~up]


class Builder:
    """Each set's orders: a buy with SL/TP at each cross up, a close at each cross down,
    made at the minute's last tick (they act at the next tick)."""

    params = {"fast": 10, "slow": 50, "sl": 20, "tp": 40, "qty": 0.01}

    def __init__(self, bars: pl.DataFrame) -> None:
        self.close = bars["bid"].to_numpy()
        self.ts = bars["ts"]

    def events(self, p: dict) -> tuple[np.ndarray, np.ndarray]:
        return cross_events(self.close, p["fast"], p["slow"])

    def __call__(self, p: dict) -> pl.DataFrame:
        up, down = self.events(p)
        n_up, n_dn = up.shape[0], down.shape[0]
        at = np.concatenate([up, down])
        order = np.argsort(at, kind="stable")
        is_up = np.concatenate([np.ones(n_up, bool), np.zeros(n_dn, bool)])[order]
        return pl.DataFrame({"ts": self.ts.gather(at[order]), "up": is_up}).select(
            "ts", symbol=pl.lit("EURUSD"),
            action=pl.when("up").then(pl.lit("new")).otherwise(pl.lit("close")),
            side=pl.when("up").then(pl.lit("buy")),
            qty=pl.when("up").then(pl.lit(p["qty"])),
            sl_ticks=pl.when("up").then(pl.lit(p["sl"])),
            tp_ticks=pl.when("up").then(pl.lit(p["tp"])))


def _files(data: str) -> list[str]:
    from backtestr.reader import discover

    return sorted(discover(data))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def load_note() -> str:
    la = os.getloadavg()
    return f"load average {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f} on {os.cpu_count()} cores"


def throughput(a: argparse.Namespace) -> None:
    print(load_note())
    t0 = time.perf_counter()
    bars = minute_bars(_files(a.data))
    build = Builder(bars)
    t_bars = time.perf_counter() - t0
    one = bt.run(a.data, orders=build(grid(1)[0]), config=QUIET)  # kernels loaded (numba cache) before timing
    s = one.summary
    print(f"one set alone through bt.run: kernel {s['ticks'] / s['kernel_s'] / 1e6:.1f}M ticks/s, "
          f"wall {s['wall_s']:.1f} s")
    g = grid(a.sets)
    t0, c0 = time.perf_counter(), _cpu()
    r = sweep(a.data, build, g, config=QUIET)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ticks = int(r.results["ticks"][0])
    print(f"bars: {bars.height} one-minute bars in {t_bars:.1f} s")
    print(f"sweep: {len(g)} sets x {ticks:,} ticks in {wall:.1f} s = "
          f"{len(g) * ticks / wall / 1e6:.1f}M account-ticks/s; CPU {cpu:.1f} s = "
          f"{len(g) * ticks / cpu / 1e6:.1f}M account-ticks per CPU second (fills per set: median "
          f"{int(r.results['fills'].median())})")
    print(load_note())
    n = a.threads_sets
    times = {}
    for threads in (1, None, 1, None):  # alternated, best of two each
        t0, c0 = time.perf_counter(), _cpu()
        sweep(a.data, build, g[:n], config=QUIET, engine=PassSettings(threads=threads))
        times.setdefault(threads, []).append(time.perf_counter() - t0)
        print(f"  threads={threads}: {times[threads][-1]:.1f} s wall, {_cpu() - c0:.1f} s CPU ({load_note()})")
    one, every = min(times[1]), min(times[None])
    print(f"{n} sets: one thread {n * ticks / one / 1e6:.1f}M, one per core {n * ticks / every / 1e6:.1f}M "
          f"account-ticks/s (ratio {one / every:.2f})")
    print(load_note())


def vectorbt(a: argparse.Namespace) -> None:
    import vectorbt as vbt

    print(load_note(), "| vectorbt", vbt.__version__)
    files = _files(a.data)
    ticks = pl.concat([pl.read_parquet(f, columns=["ts", "bid"]) for f in files]).head(a.ticks)
    ticks = ticks.with_columns(pl.col("bid").alias("ask"), pl.lit("EURUSD").alias("symbol"))
    close = ticks["bid"].to_numpy()
    g = grid(a.sets)
    # the realistic model without slippage fills a stop at the tick's price, as vectorbt's exits at the close
    one_price = {**QUIET, "commission": {"per_lot": "0"}, "execution": {"model": "realistic", "slippage": "none"}}

    def bars_of() -> pl.DataFrame:
        t = ticks.select("ts", "bid").with_row_index("i")
        return (t.group_by(pl.col("ts").dt.truncate("1m").alias("m"), maintain_order=True)
                .agg(pl.col("ts").last(), pl.col("bid").last(), pl.col("i").last()).drop("m"))

    # backtestr: bars, each set's orders, the sweep
    t0, c0 = time.perf_counter(), _cpu()
    build = Builder(bars_of())
    r = sweep(ticks, build, g, config=one_price)
    t_bt, c_bt = time.perf_counter() - t0, _cpu() - c0
    print(f"bt.sweep: {len(g)} sets x {ticks.height:,} ticks in {t_bt:.1f} s wall, {c_bt:.1f} s CPU ({load_note()})")
    warm = np.array([1.0, 1.1, 1.2, 1.0])[:, None]  # vectorbt's numba functions compiled before timing
    vbt.Portfolio.from_signals(warm, np.array([True, False, False, False])[:, None],
                               np.array([False, False, True, False])[:, None], sl_stop=np.full((4, 1), 0.5),
                               tp_stop=np.full((4, 1), 0.5),
                               stop_exit_price="close", size=1.0, init_cash=1e9, fees=0.0)
    # vectorbt: bars, the entries and exits of each set as columns, from_signals per 100 columns
    t0, c0 = time.perf_counter(), _cpu()
    bars = bars_of()
    vb = Builder(bars)
    last = bars["i"].to_numpy()
    counts, orders = [], {}
    for lo in range(0, len(g), 100):
        part = g[lo:lo + 100]
        entries = np.zeros((close.shape[0], len(part)), bool)
        exits = np.zeros_like(entries)
        # stops in ticks as fractions of each entry's price, a millionth of a tick inside the level so
        # that a price exactly at the level triggers as it does in backtestr (SL: bid <= sl; TP: bid >= tp)
        sl = np.full(entries.shape, np.nan)
        tp = np.full(entries.shape, np.nan)
        for j, p in enumerate(part):
            up, down = vb.events(p)
            # made at the minute's last tick, filled at the next tick (vectorbt fills at the signal's close)
            ue, de = last[up] + 1, last[down] + 1
            ue = ue[ue < close.shape[0]]
            entries[ue, j] = True
            exits[de[de < close.shape[0]], j] = True
            sl[ue, j] = (p["sl"] - 1e-6) * TICK / close[ue]
            tp[ue, j] = (p["tp"] - 1e-6) * TICK / close[ue]
        pf = vbt.Portfolio.from_signals(close[:, None], entries, exits, sl_stop=sl, tp_stop=tp, stop_exit_price="close",
                                        size=1.0, init_cash=1e9, fees=0.0)
        rec = pf.orders.values
        cols = rec["col"]
        counts.extend(np.bincount(cols, minlength=len(part)).tolist())
        for j in range(len(part)):
            if (lo + j) % max(1, len(g) // a.check) == 0:
                m = rec[cols == j]
                orders[lo + j] = list(zip(m["idx"].tolist(), np.round(m["price"], 5).tolist(),
                                          m["side"].tolist(), strict=True))
        del entries, exits, sl, tp, pf
        print(f"  vectorbt: {lo + len(part)} columns done, {time.perf_counter() - t0:.0f} s", flush=True)
    t_vbt, c_vbt = time.perf_counter() - t0, _cpu() - c0
    print(f"vectorbt from_signals: {len(g)} columns x {close.shape[0]:,} rows in chunks of 100 in {t_vbt:.1f} s "
          f"wall, {c_vbt:.1f} s CPU ({load_note()})")
    print(f"bt.sweep is {t_vbt / t_bt:.1f}x faster in wall time, {c_vbt / c_bt:.1f}x in CPU time")
    # the trades: fills per set, and the fills of some sets one by one
    fills = dict(zip(r.results["set_id"].to_list(), r.results["fills"].to_list(), strict=True))
    same = sum(fills[i] == counts[i] for i in range(len(g)))
    print(f"fills per set equal to vectorbt's orders per column: {same} of {len(g)} sets")
    index = {int(t): i for i, t in enumerate(ticks["ts"].dt.epoch("ns").to_list())}
    agree, shown = 0, 0
    for sid, theirs in orders.items():
        res = bt.run(ticks, orders=build(g[sid]), config={**one_price, "run": {"log_level": "trades"}})
        f = res.fills
        mine = list(zip([index[int(t)] for t in f["ts"].dt.epoch("ns").to_list()], np.round(f["price"], 5).tolist(),
                        [0 if s == "buy" else 1 for s in f["side"].to_list()], strict=True))
        agree += mine == theirs
        if mine != theirs and shown < 3:
            shown += 1
            diff = next((k for k, (x, y) in enumerate(zip(mine, theirs, strict=False)) if x != y), None)
            print(f"  set {sid}: {len(mine)} fills vs {len(theirs)} orders; first difference at {diff}: "
                  f"{mine[diff] if diff is not None and diff < len(mine) else None} vs "
                  f"{theirs[diff] if diff is not None and diff < len(theirs) else None}")
    print(f"fills (tick, price, side) identical to vectorbt's orders: {agree} of {len(orders)} sets checked")
    print(load_note())


def memory(a: argparse.Namespace) -> None:
    print(load_note())
    end = None
    if a.end:
        import datetime as dt

        end = int(dt.datetime.fromisoformat(a.end).timestamp() * 1e9)
    build = Builder(minute_bars(_files(a.data), end))
    cfg = {**QUIET, "data": {"end": a.end}} if a.end else QUIET
    t0, c0 = time.perf_counter(), _cpu()
    r = sweep(a.data, build, grid(a.sets), config=cfg)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ticks = int(r.results["ticks"][0])
    print(f"{a.sets} sets x {ticks:,} ticks in {wall:.1f} s = {a.sets * ticks / wall / 1e6:.1f}M account-ticks/s, "
          f"{a.sets * ticks / cpu / 1e6:.1f}M per CPU second; orders per set: median "
          f"{int(r.results['orders'].median())}, max {int(r.results['orders'].max())}")
    with open("/proc/self/status") as f:
        print(next(line.strip() for line in f if line.startswith("VmHWM")))
    if a.end:  # the orders the same sets would hold over the whole archive (records of ORDER size)
        from backtestr.kernels.records import ORDER

        whole = Builder(minute_bars(_files(a.data)))
        n = [sum(x.shape[0] for x in whole.events(p)) for p in grid(a.sets)]
        print(f"over the whole archive ({whole.close.shape[0]:,} minutes) the sets would hold {sum(n):,} orders: "
              f"{sum(n) * ORDER.itemsize / 2**20:.0f} MiB of order records (now "
              f"{int(r.results['orders'].sum()) * ORDER.itemsize / 2**20:.0f} MiB)")
    print(load_note())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("throughput", "vectorbt", "memory"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--sets", type=int, default=1000)
    ap.add_argument("--threads-sets", type=int, default=100)
    ap.add_argument("--ticks", type=int, default=1_000_000)
    ap.add_argument("--check", type=int, default=30)
    ap.add_argument("--end", help="data.end for memory (ISO time)")
    a = ap.parse_args()
    if not Path(a.data).exists():
        raise SystemExit(f"--data {a.data}: no such archive")
    {"throughput": throughput, "vectorbt": vectorbt, "memory": memory}[a.what](a)


if __name__ == "__main__":
    main()
