"""Order-engine benchmarks (docs/architecture.md §5, §7): cost per tick against open positions,
cost per position update (an open with stops, a stop change, a fill adding to or
partly closing one position), a trailing-stop workload, throughput with stops.

    .venv/bin/python bench/bench_positions.py [--ticks 20e6] [--max-positions 1e6]

All figures are on in-memory ticks of one symbol (a bounded random walk), log
level off, hedging account; every timing is the best of three and the ratios
are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import polars as pl
from backtestr.kernels import engine
from backtestr.kernels.alloc import grow_positions, grow_stacks, new_book, new_logs
from backtestr.kernels.records import NO_SIZES, Status, TickChunk
from backtestr.kernels.strategy_hook import no_strategy

from backtestr.config import load_config
from backtestr.instruments import kernel_table, load_registry
from backtestr.orders import load_orders
from backtestr.run import _params

T0 = 1_704_153_600_000_000_000  # 2024-01-02 00:00 UTC
SYM = "EURUSD"


def walk(n: int, seed: int, drift: float = 0.0, band: int = 300) -> TickChunk:
    """Bid/ask in ticks: a random walk kept within +-band ticks of 1.10000."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(-2, 3, n) + (rng.random(n) < abs(drift)) * np.sign(drift)
    bid = 110_000 + np.cumsum(steps)
    if band:
        bid = 110_000 + (np.abs((bid - 110_000 + band) % (4 * band) - 2 * band) - band)
    bid = bid.astype(np.int64)
    ask = bid + rng.integers(1, 4, n)
    ts = T0 + np.arange(1, n + 1, dtype=np.int64) * 100_000_000
    return TickChunk(ts, np.zeros(n, np.int32), bid, ask.astype(np.int64), NO_SIZES, NO_SIZES)


def ticks_of(chunk: TickChunk, lo: int, hi: int | None = None) -> TickChunk:
    """Ticks lo..hi of a chunk (its empty optional columns stay empty)."""
    return TickChunk(*(a[lo:hi] if a.shape[0] else a for a in chunk))


def copy_book(book):
    """Every array of a book copied: the same ticks re-run from the same state."""
    return book._replace(**{f: getattr(book, f).copy() for f in book._fields})


def setup(orders: pl.DataFrame, mode: str = "hedging"):
    cfg = load_config(overrides=["run.log_level=off", f"run.account_mode={mode}", "run.close_at_end=false"])
    reg = load_registry(cfg)
    ob = load_orders(orders, None, [SYM], [reg[SYM]], 0, ts_unit="ns")
    return ob.records, kernel_table([SYM], reg, cfg), _params(cfg)


def drive(chunk: TickChunk, book, logs, inst, params):
    book.acct[0]["resume"] = 0
    while True:
        st = engine.run_chunk(chunk, int(book.acct[0]["resume"]), book, logs, inst, params,
                              *no_strategy(book.syms.shape[0]))
        if st == Status.DONE:
            return book
        if st == Status.POSITIONS_FULL:
            book = grow_positions(book)
        elif st == Status.STACK_FULL:
            book = grow_stacks(book)
        else:
            book.acct[0]["n_fill_rows"] = 0
            book.acct[0]["n_closed_rows"] = 0
            book.acct[0]["n_equity_rows"] = 0


def frame(n: int, ts: int, **cols) -> pl.DataFrame:
    base = {"ts": pl.Series([ts] * n, dtype=pl.Int64), "symbol": [SYM] * n}
    base.update({k: (v if isinstance(v, list) else [v] * n) for k, v in cols.items()})
    return pl.DataFrame(base)


def open_book(n_pos: int, extra: pl.DataFrame | None = None, trail: bool = False):
    """n_pos long positions, opened on the first tick, stops far outside the walk."""
    cols = {"side": "buy", "qty": 0.01, "sl": 1.0, "tp": 1.2}
    if trail:
        cols = {"side": "buy", "qty": 0.01, "trail_ticks": [20 + (i % 50) for i in range(n_pos)]}
    orders = frame(n_pos, T0, **cols)
    if extra is not None:
        orders = pl.concat([orders.with_columns(pl.lit(None, pl.Int64).alias("ref")), extra], how="diagonal_relaxed")
    return setup(orders)


def best_of(fn, reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        best = min(best, fn())
    return best


def no_trigger(n_pos: int, ticks: TickChunk) -> dict:
    rec, inst, params = open_book(n_pos)
    first, rest = ticks_of(ticks, 0, 1), ticks_of(ticks, 1)
    out = {}

    def run_open() -> float:
        book = new_book(1, rec.copy(), params, capacity=n_pos + 8)
        t = time.perf_counter()
        book = drive(first, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        assert int(book.acct[0]["n_open"]) == n_pos
        out["book"] = book
        return el

    t_open = best_of(run_open)
    book0 = out["book"]

    def run_ticks() -> float:
        book = book0._replace(acct=book0.acct.copy(), syms=book0.syms.copy())
        t = time.perf_counter()
        drive(rest, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        assert int(book.acct[0]["n_open"]) == n_pos and int(book.acct[0]["n_fills"]) == n_pos
        return el

    t_ticks = best_of(run_ticks)
    n = rest.ts.shape[0]
    return {"positions": n_pos, "ns_per_tick": t_ticks / n * 1e9, "ns_per_open": t_open / n_pos * 1e9}


def stop_changes(n_pos: int) -> dict:
    """One modify per position (a new stop-loss), all acting on the second tick."""
    mods = frame(n_pos, T0 + 100_000_000, action="modify", ref=list(range(n_pos)), sl=1.05)
    rec, inst, params = open_book(n_pos, mods)
    ticks = walk(3, 1)
    first, second = ticks_of(ticks, 0, 1), ticks_of(ticks, 1, 2)
    book0 = drive(first, new_book(1, rec.copy(), params, capacity=n_pos + 8), new_logs(16), inst, params)

    def run() -> float:
        book = copy_book(book0)
        t = time.perf_counter()
        drive(second, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        assert (book.pos["sl_ticks"][book.pos["is_open"] == 1] == 105_000).all()
        return el

    return {"positions": n_pos, "ns_per_stop_change": best_of(run) / n_pos * 1e9}


def netting_fills(n: int) -> dict:
    """Fills that update one existing position (netting): n buys of one lot step each on
    the first tick (the first opens, the rest add to it), then n - 1 sells of one step
    on the second tick (each a partial close). Per fill, order activation included."""
    buys = frame(n, T0, side="buy", qty=0.01)
    sells = frame(n - 1, T0 + 100_000_000, side="sell", qty=0.01)
    rec, inst, params = setup(pl.concat([buys, sells]), mode="netting")
    ticks = walk(3, 1)
    first, second = ticks_of(ticks, 0, 1), ticks_of(ticks, 1, 2)
    out: dict = {}

    def run_in() -> float:
        book = new_book(1, rec.copy(), params)
        t = time.perf_counter()
        book = drive(first, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        assert int(book.acct[0]["n_open"]) == 1 and int(book.acct[0]["n_fills"]) == n
        out["book"] = book
        return el

    t_in = best_of(run_in)
    book0 = out["book"]

    def run_out() -> float:
        book = copy_book(book0)
        t = time.perf_counter()
        drive(second, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        assert int(book.acct[0]["n_fills"]) == 2 * n - 1 and int(book.syms[0]["long_steps"]) == 1
        return el

    t_out = best_of(run_out)
    return {"fills": n, "ns_per_scale_in": t_in / n * 1e9, "ns_per_partial_close": t_out / (n - 1) * 1e9}


def trailing(n_pos: int, n_ticks: int) -> dict:
    rec, inst, params = open_book(n_pos, trail=True)
    ticks = walk(n_ticks, 7, drift=0.02, band=0)

    def run() -> float:
        book = new_book(1, rec.copy(), params, capacity=n_pos + 8)
        t = time.perf_counter()
        book = drive(ticks, book, new_logs(16), inst, params)
        el = time.perf_counter() - t
        out["closed"] = n_pos - int(book.acct[0]["n_open"])
        return el

    out: dict = {}
    el = best_of(run)
    return {"positions": n_pos, "ticks": n_ticks, "ns_per_tick": el / n_ticks * 1e9,
            "closed_by_trailing": out["closed"]}


def sparse(n_ticks: int, every: int, stops: bool) -> dict:
    """Market orders every `every` ticks, alternating sides, netting; with or without
    SL/TP/trailing on every order."""
    ticks = walk(n_ticks, 3)
    idx = np.arange(0, n_ticks, every)
    cols = {"side": ["buy" if i % 2 else "sell" for i in range(idx.shape[0])], "qty": 0.1}
    if stops:
        cols.update({"sl_ticks": 150, "tp_ticks": 150, "trail_ticks": 80})
    orders = pl.DataFrame({"ts": pl.Series(ticks.ts[idx]), "symbol": [SYM] * idx.shape[0],
                           **{k: (v if isinstance(v, list) else [v] * idx.shape[0]) for k, v in cols.items()}})
    rec, inst, params = setup(orders, mode="netting")

    def run() -> float:
        book = new_book(1, rec.copy(), params)
        t = time.perf_counter()
        book = drive(ticks, book, new_logs(16), inst, params)
        out["fills"] = int(book.acct[0]["n_fills"])
        return time.perf_counter() - t

    out: dict = {}
    el = best_of(run)
    return {"stops": stops, "ticks": n_ticks, "orders": int(idx.shape[0]), "fills": out["fills"],
            "ticks_per_s": n_ticks / el}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=float, default=20e6)
    ap.add_argument("--max-positions", type=float, default=1e6)
    args = ap.parse_args()
    n_ticks = int(args.ticks)
    sparse(10_000, 1000, True)  # compile
    res: dict = {"no_trigger": []}
    ticks = walk(n_ticks, 11)
    for n in (1, 1_000, int(args.max_positions)):
        res["no_trigger"].append(no_trigger(n, ticks))
        print(json.dumps(res["no_trigger"][-1]), flush=True)
    base = res["no_trigger"][0]["ns_per_tick"]
    res["ratio_max_vs_1"] = res["no_trigger"][-1]["ns_per_tick"] / base
    res["stop_change"] = stop_changes(min(int(args.max_positions), 1_000_000))
    print(json.dumps(res["stop_change"]), flush=True)
    res["netting_fills"] = netting_fills(min(int(args.max_positions), 1_000_000))
    print(json.dumps(res["netting_fills"]), flush=True)
    res["trailing"] = trailing(10_000, n_ticks // 4)
    print(json.dumps(res["trailing"]), flush=True)
    res["sparse_plain"] = sparse(n_ticks, 10_000, False)
    res["sparse_stops"] = sparse(n_ticks, 10_000, True)
    res["stops_vs_plain"] = res["sparse_stops"]["ticks_per_s"] / res["sparse_plain"]["ticks_per_s"]
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
