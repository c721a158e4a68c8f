"""Benchmark of plain-Python strategies at bar closes (docs/strategies.md §8).

Usage (from the project root, after ``make setup``):

    .venv/bin/python bench/bench_pystrat.py               # 3M ticks, 3 symbols, 1s bars
    .venv/bin/python bench/bench_pystrat.py --ticks 1e6 --repeat 1

Kernel alone on one in-memory chunk (bench_strategy.py's random walk, about
ten ticks a second over three symbols, so nearly every symbol closes a 1s bar
every second), best of ``--repeat`` interleaved runs: no strategy; a compiled
strategy counting its on_bar calls; the same count in plain Python; a light
Python rule (three closes, the net position, an order now and then); the
Python SMA crossover (fast 5, slow 20: 25 bar_close calls a call), the same
reading its closes with one ``closes`` call; a Python on_tick counting its
calls. For each: ticks/s of the run, calls, calls per second of run time, and
the cost of one call over the run without a strategy (µs) with its inverse
(calls/s). Figures go to stdout as JSON; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from backtestr.kernels.records import NO_SIZES, TickChunk
from bench_strategy import _run, _setup, ticks
from numba import njit

from backtestr.strategies import PyStrategy, Strategy

CALLS = {"n": 0}


class Count(Strategy):
    """Compiled: counts its on_bar calls."""

    timeframes = ("1s",)
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        ctx.state[0].n += 1


class PyCount(PyStrategy):
    """Plain Python: counts its on_bar calls (the bridge's own cost)."""

    timeframes = ("1s",)

    def on_bar(self, ctx, s, tf):
        CALLS["n"] += 1


class PyTickCount(PyStrategy):
    """Plain Python on every tick: counts its on_tick calls."""

    def on_tick(self, ctx, s):
        CALLS["n"] += 1


class PyMomentum(PyStrategy):
    """Plain Python, a light rule: long after two rising closes, flat after a falling one."""

    timeframes = ("1s",)
    keep = 3

    def on_bar(self, ctx, s, tf):
        CALLS["n"] += 1
        if ctx.n_bars(tf, s) < 3:
            return
        c0, c1, c2 = ctx.bar_close(tf, s, 0), ctx.bar_close(tf, s, 1), ctx.bar_close(tf, s, 2)
        q = ctx.net_qty(s)
        if c0 > c1 > c2 and q == 0:
            ctx.buy(s, 1)
        elif c0 < c1 and q > 0:
            ctx.sell(s, q)


class PySma(PyStrategy):
    """Plain Python SMA crossover (backtestr/examples/sma_cross.py's rules)."""

    params = {"fast": 5, "slow": 20, "qty": 1}
    timeframes = ("1s",)
    keep = 20

    def __init__(self) -> None:
        self.sign = {}

    def on_bar(self, ctx, s, tf):
        CALLS["n"] += 1
        p = ctx.params
        if ctx.n_bars(tf, s) < p.slow:
            return
        close = ctx.bar_close
        fast = sum(close(tf, s, k) for k in range(p.fast))
        d = fast * p.slow - sum(close(tf, s, k) for k in range(p.slow)) * p.fast
        sign = (d > 0) - (d < 0)
        prev = self.sign.get(s, 0)
        self.sign[s] = sign
        if prev == 0 or sign == 0 or sign == prev:
            return
        delta = p.qty * sign - ctx.net_qty(s)
        if delta > 0:
            ctx.buy(s, delta)
        elif delta < 0:
            ctx.sell(s, -delta)


class PySmaCloses(PySma):
    """The same SMA crossover reading its closes with one ``closes`` call."""

    def on_bar(self, ctx, s, tf):
        CALLS["n"] += 1
        p = ctx.params
        if ctx.n_bars(tf, s) < p.slow:
            return
        c = ctx.closes(tf, s, p.slow)
        d = sum(c[:p.fast]) * p.slow - sum(c) * p.fast
        sign = (d > 0) - (d < 0)
        prev = self.sign.get(s, 0)
        self.sign[s] = sign
        if prev == 0 or sign == 0 or sign == prev:
            return
        delta = p.qty * sign - ctx.net_qty(s)
        if delta > 0:
            ctx.buy(s, delta)
        elif delta < 0:
            ctx.sell(s, -delta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=float, default=3e6)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    reg, inst, params = _setup()
    chunk = ticks(int(a.ticks))
    n = chunk.ts.shape[0]
    small = TickChunk(*(x[:5000] for x in chunk[:4]), NO_SIZES, NO_SIZES)
    cases = {"no strategy": None, "compiled count": Count, "python count": PyCount,
             "python momentum": PyMomentum, "python sma 5/20": PySma,
             "python sma 5/20, closes": PySmaCloses, "python on_tick count": PyTickCount}
    t = time.perf_counter()
    for cls in cases.values():  # compile and warm
        _run(small, cls, reg, inst, params)
    warm = time.perf_counter() - t
    best = {k: float("inf") for k in cases}
    calls, orders = {}, {}
    for _ in range(a.repeat):
        for k, cls in cases.items():
            CALLS["n"] = 0
            dt, orders[k] = _run(chunk, cls, reg, inst, params)
            best[k] = min(best[k], dt)
            calls[k] = CALLS["n"]
    res = {"ticks": n, "seconds_of_data": int((chunk.ts[-1] - chunk.ts[0]) // 10**9), "warm_and_compile_s": warm}
    base = best["no strategy"]
    for k in cases:
        r = {"ticks_per_s": n / best[k], "run_s": best[k], "orders": orders[k]}
        if calls.get(k):
            extra = max(best[k] - base, 1e-9)
            r.update(calls=calls[k], calls_per_s_of_run=calls[k] / best[k],
                     us_per_call_over_no_strategy=extra / calls[k] * 1e6, calls_per_s_marginal=calls[k] / extra)
        res[k] = r
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
