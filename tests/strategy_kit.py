"""Tick frames and plain-Python bars for the strategy tests.

EURUSD and GBPUSD: tick 0.00001, lot step 0.01 (backtestr/instruments.toml), so a
price in ticks is ``ticks * 1e-5`` and a quantity in steps ``steps * 0.01`` lots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

T0 = 1_704_153_600 * 10**9  # 2024-01-02 00:00 UTC
TICK, STEP = 1e-5, 0.01
SYMS = ("EURUSD", "GBPUSD")


def ticks_frame(n: int, seed: int, symbols: tuple[str, ...] = SYMS, gap_ms: int = 3000) -> pl.DataFrame:
    """A merged random walk: ``n`` ticks, symbols drawn at random, 1..gap_ms ms apart, with
    a few long gaps (so some minutes have no tick)."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, gap_ms, n)
    gaps[rng.random(n) < 0.01] *= 100
    ts = T0 + np.cumsum(gaps) * 10**6
    sym = rng.integers(0, len(symbols), n)
    mids = np.zeros(n, np.int64)
    for k in range(len(symbols)):
        m = sym == k
        mids[m] = 110_000 + 20_000 * k + np.cumsum(rng.integers(-3, 4, int(m.sum())))
    spread = rng.integers(1, 5, n)
    return pl.DataFrame({
        "ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")),
        "symbol": [symbols[k] for k in sym],
        "bid": mids * TICK,
        "ask": (mids + spread) * TICK,
    })


def python_bars(df: pl.DataFrame, length_ns: int, basis: str = "mid", bucket=None) -> list[tuple]:
    """Bars of every symbol by a plain loop over the ticks in stream order: (symbol index,
    ts_open, ts_close, open, high, low, close, n_ticks, spread min, max, sum, close tick ts),
    the last element the time of the tick that closed it (None when no tick did).
    ``bucket(t) -> (ts_open, ts_close)``, default fixed buckets of ``length_ns``."""
    symbols = sorted(set(df["symbol"].to_list()))
    idx = {s: i for i, s in enumerate(symbols)}
    ts = df["ts"].cast(pl.Int64).to_list()
    bid = [round(x / TICK) for x in df["bid"].to_list()]
    ask = [round(x / TICK) for x in df["ask"].to_list()]
    open_bars: dict[int, list] = {}
    out = []
    for t, s, b, a in zip(ts, df["symbol"].to_list(), bid, ask, strict=True):
        for k in sorted(open_bars):  # bars closed by this tick (all share one ts_close)
            if open_bars[k][2] <= t:
                out.append(tuple(open_bars.pop(k)) + (t,))
        p = {"mid": b + a, "bid": b, "ask": a}[basis]
        sp = a - b
        i = idx[s]
        if i not in open_bars:
            o, c = bucket(t) if bucket is not None else ((t // length_ns) * length_ns, (t // length_ns + 1) * length_ns)
            open_bars[i] = [i, o, c, p, p, p, p, 1, sp, sp, sp]
        else:
            r = open_bars[i]
            r[4], r[5], r[6] = max(r[4], p), min(r[5], p), p
            r[7] += 1
            r[8], r[9], r[10] = min(r[8], sp), max(r[9], sp), r[10] + sp
    return out + [tuple(open_bars[k]) + (None,) for k in sorted(open_bars)]


def ny_day(t: int) -> tuple[int, int]:
    """The trading day holding ``t``: from 17:00 New York on the day before its label."""
    ny = ZoneInfo("America/New_York")
    local = datetime.fromtimestamp(t / 1e9, ny)
    label = local.date() + (timedelta(days=1) if local.hour >= 17 else timedelta(0))

    def start(d):
        return int(datetime(d.year, d.month, d.day, 17, tzinfo=ny).timestamp()) * 10**9

    return start(label - timedelta(days=1)), start(label)
