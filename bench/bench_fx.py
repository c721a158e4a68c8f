"""Kernel throughput with conversion at the live rate vs the same run at fixed rates
(docs/currency.md).

Five symbols in a USD account: EURUSD and GBPUSD (quoted in USD), USDJPY, EURJPY
(JPY, converted through USDJPY) and EURGBP (GBP, through GBPUSD): three
converted symbols, two of the five symbols' ticks re-mark others. The same
ticks and orders run with ``quote_to_account`` fixed for the three (no live
conversion). Positions are open most of the time (sparse market orders
alternating sides), the case where a rate tick re-marks; ``--no-orders`` keeps
the book flat. Two of the five symbols (40 % of the ticks) are rate symbols.

    .venv/bin/python bench/bench_fx.py [--ticks 5e6] [--repeat 5] [--no-orders]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

SYMS = ["EURGBP", "EURJPY", "EURUSD", "GBPUSD", "USDJPY"]
LEVEL = {"EURGBP": 85_000, "EURJPY": 160_000, "EURUSD": 110_000, "GBPUSD": 125_000, "USDJPY": 150_000}
FIXED = {"EURGBP": "1.25", "EURJPY": "0.0066", "USDJPY": "0.0066"}


def ticks(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    sym = rng.integers(0, len(SYMS), n).astype(np.int64)
    ts = (1_704_067_200 * 10**9 + np.cumsum(rng.integers(1, 50_000_000, n))).astype(np.int64)
    bid = np.empty(n, np.int64)
    for k, s in enumerate(SYMS):
        m = sym == k
        bid[m] = LEVEL[s] + np.cumsum(rng.integers(-3, 4, int(m.sum())))
    ask = bid + rng.integers(1, 4, n)
    return ts, sym, bid, ask


def setup(live: bool, ts, sym, order_every: int):
    from backtestr.config import load_config
    from backtestr.fx_paths import resolve
    from backtestr.instruments import kernel_table, load_registry
    from backtestr.orders import load_orders
    from backtestr.run import _params

    data = {"commission": {"per_lot": "3.5", "fraction": "0.00002"}, "run": {"log_level": "off"}}
    if not live:
        data["instruments"] = {s: {"quote_to_account": r} for s, r in FIXED.items()}
    cfg = load_config(data=data)
    reg = load_registry(cfg)
    paths = resolve(SYMS, reg, "USD", set(SYMS))
    inst = kernel_table(SYMS, reg, cfg, paths)
    idx = np.arange(0, ts.shape[0], order_every)
    orders = pl.DataFrame({
        "ts": pl.Series(ts[idx]).cast(pl.Datetime("ns", "UTC")),
        "symbol": [SYMS[s] for s in sym[idx]],
        "side": ["buy" if (i // order_every) % 4 < 2 else "sell" for i in idx],
        "qty": [0.1] * idx.shape[0],
    })
    ob = load_orders(orders, None, SYMS, [reg[s] for s in SYMS], 0)
    return inst, _params(cfg), ob, int((inst["fx_a"] > 0).sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=float, default=5e6)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--order-every", type=int, default=20_000)
    ap.add_argument("--no-orders", action="store_true", help="flat book: the rate ticks' bookkeeping only")
    a = ap.parse_args()
    from backtestr.kernels import engine
    from backtestr.kernels.alloc import new_book, new_logs
    from backtestr.kernels.records import NO_SIZES, TickChunk
    from backtestr.kernels.strategy_hook import no_strategy

    ts, sym, bid, ask = ticks(int(a.ticks))
    chunk = TickChunk(ts, sym, bid, ask, NO_SIZES, NO_SIZES)
    runs = {name: setup(name == "live", ts, sym, a.order_every) for name in ("fixed", "live")}
    if a.no_orders:
        for _inst, _params, ob, _k in runs.values():
            ob.records = ob.records[:0].copy()
    best = {name: float("inf") for name in runs}
    out = {}
    for inst, params, ob, _ in runs.values():  # compile / warm
        engine.run_chunk(TickChunk(ts[:1000], sym[:1000], bid[:1000], ask[:1000], NO_SIZES, NO_SIZES), 0,
                         new_book(len(SYMS), ob.records.copy(), params), new_logs(1 << 10), inst, params,
                         *no_strategy(len(SYMS)))
    for _ in range(a.repeat):
        for name, (inst, params, ob, _) in runs.items():
            book = new_book(len(SYMS), ob.records.copy(), params)
            logs = new_logs(1 << 16)
            t = time.perf_counter()
            engine.run_chunk(chunk, 0, book, logs, inst, params, *no_strategy(len(SYMS)))
            best[name] = min(best[name], time.perf_counter() - t)
            out[name] = (int(book.acct[0]["n_fills"]), int(book.acct[0]["n_open"]))
    n = ts.shape[0]
    for name in runs:
        print(f"{name:5s}: converted symbols {runs[name][3]}, {n / best[name] / 1e6:6.1f} M ticks/s "
              f"(best of {a.repeat}), fills {out[name][0]}")
    print(f"live / fixed throughput: {best['fixed'] / best['live']:.3f}")


if __name__ == "__main__":
    main()
