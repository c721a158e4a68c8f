"""Benchmarks of compiled strategies (docs/strategies.md §6).

Usage (from the project root, after ``make setup``):

    .venv/bin/python bench/bench_strategy.py              # 20M ticks, 3 symbols
    .venv/bin/python bench/bench_strategy.py --ticks 5e6

Kernel alone on one in-memory chunk (best of ``--repeat`` interleaved runs):
the tick loop without a strategy, with SmaCross on every 1m bar, with a
cheap on_tick rule (and one that only counts the ticks: the cost of the call
itself), and with bars of one timeframe (1m) and of four (1m 5m 1h 1d) whose
on_bar only counts them; then, in a fresh process with the engine's cache warm, the
time to compile a strategy never seen before and run it on a few ticks.
Figures go to stdout as JSON; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from backtestr.kernels import engine
from backtestr.kernels.alloc import grow_orders, new_book, new_logs
from backtestr.kernels.records import NO_SIZES, ORDER, TickChunk
from backtestr.kernels.strategy_hook import no_strategy
from numba import njit

from backtestr.config import load_config
from backtestr.examples.sma_cross import SmaCross
from backtestr.instruments import kernel_table, load_registry
from backtestr.run import _params
from backtestr.strategies import Strategy, prepare
from backtestr.strategies.context import buy, net_qty, sell

SYMBOLS = ["BTCUSD", "EURUSD", "GBPUSD"]


class EveryTick(Strategy):
    """A cheap on_tick rule: count the ticks, flip one symbol's position every ``every`` ticks."""

    params = {"every": 1_000_000}
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        st = ctx.state[0]
        st.n += 1
        if st.n % ctx.params[0].every == 0 and s == 1:
            q = net_qty(ctx, s)
            if q > 0:
                sell(ctx, s, 2 * q)
            else:
                buy(ctx, s, 100 if q == 0 else -2 * q)


class CountTicks(Strategy):
    """The cost of an on_tick call itself: the callback only counts the ticks."""

    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        ctx.state[0].n += 1


class Bars1(Strategy):
    """Bars of one timeframe (1m) built in the kernel; on_bar only counts the closed bars."""

    state = {"n": np.int64}
    timeframes = ("1m",)

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        ctx.state[0].n += 1


class Bars4(Strategy):
    """Bars of four timeframes built in the kernel; on_bar only counts the closed bars."""

    state = {"n": np.int64}
    timeframes = ("1m", "5m", "1h", "1d")

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        ctx.state[0].n += 1


def ticks(n: int, seed: int = 1) -> TickChunk:
    """A merged random walk, about 10 ticks a second over the three symbols."""
    rng = np.random.default_rng(seed)
    ts = 1_704_153_600 * 10**9 + np.cumsum(rng.integers(1, 200, n)) * 10**6
    sym = rng.integers(0, 3, n).astype(np.int32)
    base = np.array([4_200_000, 110_000, 127_000], np.int64)
    mid = base[sym] + np.cumsum(rng.integers(-1, 2, n))
    return TickChunk(ts.astype(np.int64), sym, mid, mid + 2, NO_SIZES, NO_SIZES)


def _setup():
    cfg = load_config(overrides=["run.log_level=off"])
    reg = load_registry(cfg)
    return reg, kernel_table(SYMBOLS, reg, cfg), _params(cfg)


def _run(chunk: TickChunk, cls: type | None, reg, inst, params) -> tuple[float, int]:
    if cls is None:
        strat, hook = no_strategy(3)
        book = new_book(3, np.zeros(0, ORDER), params)
        room = 0
    else:
        srun = prepare(cls, None, SYMBOLS, [reg[s] for s in SYMBOLS], (int(chunk.ts[0]), int(chunk.ts[-1])))
        strat, hook, room = srun.strat, srun.hook, srun.room
        book = new_book(3, np.zeros(0, ORDER), params, order_room=room)
    logs = new_logs(1 << 16)
    book.acct[0]["resume"] = 0
    t = time.perf_counter()
    while True:
        st = engine.run_chunk(chunk, int(book.acct[0]["resume"]), book, logs, inst, params, strat, hook)
        if st == 0:
            break
        if st == 4:
            book = grow_orders(book, room)
        elif st == 1:
            for f in ("n_fill_rows", "n_closed_rows", "n_equity_rows", "n_event_rows"):
                book.acct[0][f] = 0
        else:
            raise RuntimeError(f"status {st}")
    return time.perf_counter() - t, int(book.acct[0]["n_orders"])


_FRESH = """
import time, numpy as np, polars as pl
t0 = time.perf_counter()
import backtestr as bt
from numba import njit
from backtestr.strategies import Strategy
from backtestr.strategies.context import buy, bar_close, n_bars
t_import = time.perf_counter() - t0

class Fresh{salt}(Strategy):
    timeframes = ("1m",)
    keep = 3
    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        if n_bars(ctx, tf, s) >= 2 and bar_close(ctx, tf, s, 0) > bar_close(ctx, tf, s, 1) + {salt} % 7:
            buy(ctx, s, 1)

n = 2000
ts = 1_704_153_600 * 10**9 + np.arange(n) * 500_000_000
df = pl.DataFrame({{"ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")), "symbol": ["EURUSD"] * n,
                   "bid": 1.1 + (np.arange(n) % 50) * 1e-5, "ask": 1.10002 + (np.arange(n) % 50) * 1e-5}})
bt.run(df)  # the engine from its cache
t1 = time.perf_counter()
from backtestr.strategies.compile import compile_hook
compile_hook(Fresh{salt})
t_compile = time.perf_counter() - t1
t2 = time.perf_counter()
bt.run(df, strategy=Fresh{salt})
t_run = time.perf_counter() - t2
print(t_import, t_compile, t_run)
"""


def compile_time() -> dict:
    salt = int(time.time()) % 100_000
    out = subprocess.run([sys.executable, "-c", _FRESH.format(salt=salt)], capture_output=True, text=True,
                         check=True).stdout.split()
    t_import, t_compile, t_run = (float(x) for x in out[-3:])
    return {"import_s": t_import, "compile_new_strategy_s": t_compile, "first_run_after_compile_s": t_run}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=float, default=20e6)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    reg, inst, params = _setup()
    chunk = ticks(int(a.ticks))
    n = chunk.ts.shape[0]
    small = TickChunk(*(x[:5000] for x in chunk[:4]), NO_SIZES, NO_SIZES)
    cases = {"no strategy": None, "SmaCross on 1m bars": SmaCross, "EveryTick on_tick": EveryTick,
             "on_tick counting ticks": CountTicks, "bars of 1m": Bars1, "bars of 1m 5m 1h 1d": Bars4}
    for cls in cases.values():  # compile and warm
        _run(small, cls, reg, inst, params)
    best = {k: float("inf") for k in cases}
    orders = {}
    for _ in range(a.repeat):
        for k, cls in cases.items():
            dt, orders[k] = _run(chunk, cls, reg, inst, params)
            best[k] = min(best[k], dt)
    base = n / best["no strategy"]
    res = {"ticks": n, "minutes": int((chunk.ts[-1] - chunk.ts[0]) // 60e9)}
    for k in cases:
        res[k] = {"ticks_per_s": n / best[k], "vs_no_strategy": n / best[k] / base,
                  "ns_over_no_strategy": (best[k] - best["no strategy"]) / n * 1e9, "orders": orders[k]}
    res["compile"] = compile_time()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
