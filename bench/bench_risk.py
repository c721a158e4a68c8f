"""Risk and logging benchmarks (docs/risk.md, docs/architecture.md §7).

    .venv/bin/python bench/bench_risk.py [--ticks 20e6] [--every 1000]

One in-memory symbol (a bounded random walk), market orders every ``--every``
ticks alternating buy and sell with a stop-loss and take-profit, netting.

1. Risk checks: kernel ticks/s with every risk limit off, against the same run
   with margin (leverage 30) and every pre-trade limit on (set loose enough
   that orders pass, so the work is the checks, not rejections).
2. Log levels: kernel run time at off, trades, events and ticks on that same
   workload with the risk limits on, as ratios to off. Buffers are emptied when
   full (what a flush to disk hands over is the same at every level).
3. End to end: ``backtestr.run`` from a Parquet file of the same ticks to
   written Parquet logs at each log level (``--e2e-ticks``), as ratios to off.
Every timing is the best of three; end to end, seven runs per level with the
levels interleaved, reported as the best and the median, with ratios of each
to off. All ratios are from the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import polars as pl
from backtestr.kernels import engine
from backtestr.kernels.alloc import new_book, new_logs
from backtestr.kernels.records import Status
from backtestr.kernels.strategy_hook import no_strategy
from bench_positions import SYM, walk

from backtestr.config import load_config
from backtestr.instruments import kernel_table, load_registry
from backtestr.orders import load_orders
from backtestr.run import _days, _params

RISK = {
    "max_order_qty": "10", "max_order_notional": "10000000", "max_order_notional_pct": "1000",
    "max_positions": "1000", "max_positions_per_symbol": "1000", "daily_loss_limit": "90000",
    "daily_loss_limit_pct": "90", "max_exposure": "100000000", "max_exposure_pct": "10000",
    "max_price_deviation_pct": "50", "max_orders": "100", "order_window": "1s",
    "breaker_losses": "1000", "breaker_rejections": "1000", "timezone": "America/New_York", "day_start": "17:00",
}


def workload(chunk, every: int) -> pl.DataFrame:
    idx = np.arange(every // 2, chunk.ts.shape[0], every)
    side = np.where((np.arange(idx.shape[0]) % 2) == 0, "buy", "sell")
    return pl.DataFrame({
        "ts": pl.Series(chunk.ts[idx] - 1).cast(pl.Datetime("ns", "UTC")),
        "symbol": [SYM] * idx.shape[0],
        "side": side,
        "qty": [0.1] * idx.shape[0],
        "sl_ticks": [200] * idx.shape[0],
        "tp_ticks": [200] * idx.shape[0],
    })


def setup(orders: pl.DataFrame, level: str, risk: bool):
    over = [f"run.log_level={level}", "run.close_at_end=false"]
    if risk:
        over.append(f"instruments.{SYM}.leverage=30")
    cfg = load_config(overrides=over, risk=RISK if risk else None)
    reg = load_registry(cfg)
    ob = load_orders(orders, None, [SYM], [reg[SYM]], 0)
    return ob.records, kernel_table([SYM], reg, cfg), _params(cfg), _days(cfg, [])  # no sources: days 1970-2100


def timed(chunk, rec, inst, params, days) -> tuple[float, dict]:
    book = new_book(1, rec.copy(), params, days=days)
    logs = new_logs(1 << 16)
    rows = {"fills": 0, "events": 0, "equity": 0}
    a = book.acct[0]
    a["resume"] = 0
    t = time.perf_counter()
    while True:
        st = engine.run_chunk(chunk, int(a["resume"]), book, logs, inst, params,
                              *no_strategy(book.syms.shape[0]))
        rows["fills"] += int(a["n_fill_rows"])
        rows["events"] += int(a["n_event_rows"])
        rows["equity"] += int(a["n_equity_rows"])
        for k in ("n_fill_rows", "n_closed_rows", "n_equity_rows", "n_event_rows"):
            a[k] = 0
        if st == Status.DONE:
            break
        if st != Status.BUFFER_FULL:
            raise RuntimeError(f"status {st}")
    dt = time.perf_counter() - t
    rows["fills_total"] = int(a["n_fills"])
    rows["rejected"] = int(a["n_rejected"])
    return dt, rows


def best(chunk, rec, inst, params, days) -> tuple[float, dict]:
    out = [timed(chunk, rec, inst, params, days) for _ in range(3)]
    return min(o[0] for o in out), out[0][1]


def end_to_end(chunk, orders: pl.DataFrame, n: int, reps: int = 7) -> dict:
    import tempfile
    from pathlib import Path

    import backtestr as bt

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ticks.parquet"
        pl.DataFrame({
            "ts": pl.Series(chunk.ts[:n]).cast(pl.Datetime("ns", "UTC")),
            "symbol": [SYM] * n,
            "bid": chunk.bid[:n] * 0.00001,
            "ask": chunk.ask[:n] * 0.00001,
        }).write_parquet(path)
        sub = orders.filter(pl.col("ts") < pl.Series(chunk.ts[n - 1:n]).cast(pl.Datetime("ns", "UTC"))[0])
        cfg = {"instruments": {SYM: {"leverage": 30}}, "risk": RISK}
        levels = ("off", "trades", "events", "ticks")
        times: dict[str, list[float]] = {lv: [] for lv in levels}
        fills = {}
        for rep in range(reps):  # levels interleaved, so drift on a shared machine hits all alike
            for level in levels:
                t = time.perf_counter()
                res = bt.run(path, orders=sub, config={**cfg, "run": {"log_level": level}},
                             out=Path(tmp) / f"out-{level}-{rep}")
                times[level].append(time.perf_counter() - t)
                fills[level] = res.summary["fills"]
        base = times["off"]
        for level in levels:
            v = times[level]
            out[level] = {"s_min": min(v), "s_median": statistics.median(v),
                          "ratio_to_off": min(v) / min(base),
                          "ratio_to_off_median": statistics.median(v) / statistics.median(base),
                          "fills": fills[level]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ticks", type=float, default=20e6)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--e2e-ticks", type=float, default=5e6)
    a = ap.parse_args()
    n = int(a.ticks)
    chunk = walk(n, 7)
    orders = workload(chunk, a.every)
    warm = type(chunk)(*(x[:20_000] if x.shape[0] else x for x in chunk))
    res: dict = {"ticks": n, "orders": orders.height}
    for risk in (False, True):
        rec, inst, params, days = setup(orders, "off", risk)
        timed(warm, rec, inst, params, days)
        dt, rows = best(chunk, rec, inst, params, days)
        res["risk_on" if risk else "risk_off"] = {"ticks_per_s": n / dt, "ns_per_tick": dt / n * 1e9, **rows}
    res["risk_ratio"] = res["risk_on"]["ns_per_tick"] / res["risk_off"]["ns_per_tick"]
    base = None
    for level in ("off", "trades", "events", "ticks"):
        rec, inst, params, days = setup(orders, level, True)
        timed(warm, rec, inst, params, days)
        dt, rows = best(chunk, rec, inst, params, days)
        base = base or dt
        res[f"level_{level}"] = {"s": dt, "ratio_to_off": dt / base, **rows}
    if a.e2e_ticks > 0:
        res["end_to_end"] = end_to_end(chunk, orders, min(n, int(a.e2e_ticks)))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
