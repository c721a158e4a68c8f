"""Synthetic currency crosses consistent with their legs (docs/currency.md).

USDJPY is generated like any synthetic symbol (its own preset). A cross is not:
its quotes are derived from its two legs' quotes of the same seed and day, so
that, at every time, its mid is the legs' mids combined (EURGBP = EURUSD /
GBPUSD, EURJPY = EURUSD x USDJPY, GBPJPY = GBPUSD x USDJPY) and a run that
converts through the legs sees the prices a market without arbitrage would
show. The cross ticks whenever a leg ticks (once both have quoted), on its own
tick grid; its spread is the legs' relative spreads added, in whole ticks, at
least one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from .synth import TICK_POLARS_SCHEMA, SynthPreset

# symbol -> (leg a, leg b, cross = a / b when True, else a x b)
CROSSES: dict[str, tuple[str, str, bool]] = {
    "EURGBP": ("EURUSD", "GBPUSD", True),
    "EURJPY": ("EURUSD", "USDJPY", False),
    "GBPJPY": ("GBPUSD", "USDJPY", False),
}

FX_PRESETS: dict[str, SynthPreset] = {
    p.symbol: p
    for p in (
        SynthPreset("USDJPY", 3, 150.0, 0.006, 8.0, 1.3, "fx", "fx", 1.3, 2, 0.08),
        SynthPreset("EURGBP", 5, 0.85, 0.004, 0, 0, "fx", "fx", 1.0, 2, 0),
        SynthPreset("EURJPY", 3, 162.0, 0.007, 0, 0, "fx", "fx", 1.0, 2, 0),
        SynthPreset("GBPJPY", 3, 190.0, 0.008, 0, 0, "fx", "fx", 1.0, 2, 0),
    )
}


def _legs_asof(fa: pl.DataFrame, fb: pl.DataFrame) -> pl.DataFrame:
    """Every time stamp of either leg (from the first at which both have quoted) with
    both legs' latest bid, ask and sizes."""
    a = fa.select("ts", pl.col("bid").alias("bid_a"), pl.col("ask").alias("ask_a"),
                  pl.col("bid_size").alias("bs_a"), pl.col("ask_size").alias("as_a"))
    b = fb.select("ts", pl.col("bid").alias("bid_b"), pl.col("ask").alias("ask_b"),
                  pl.col("bid_size").alias("bs_b"), pl.col("ask_size").alias("as_b"))
    ts = pl.concat([a.select("ts"), b.select("ts")]).unique().sort("ts")
    out = ts.join_asof(a, on="ts").join_asof(b, on="ts")
    return out.drop_nulls()


def cross_day(symbol: str, day: dt.date, seed: int, rate: float | None = None) -> pl.DataFrame:
    """Ticks of the cross ``symbol`` on one UTC day, from its legs' ticks of ``seed``."""
    from .synth import synth_symbol_day

    name = symbol.upper()
    leg_a, leg_b, divide = CROSSES[name]
    fa = synth_symbol_day(leg_a, day, seed, rate)
    fb = synth_symbol_day(leg_b, day, seed, rate)
    if fa.height == 0 or fb.height == 0:
        return pl.DataFrame(schema=TICK_POLARS_SCHEMA)
    j = _legs_asof(fa, fb)
    ma = (j["bid_a"] + j["ask_a"]).to_numpy() / 2
    mb = (j["bid_b"] + j["ask_b"]).to_numpy() / 2
    rel = (j["ask_a"] - j["bid_a"]).to_numpy() / ma + (j["ask_b"] - j["bid_b"]).to_numpy() / mb
    mid = ma / mb if divide else ma * mb
    scale = float(10 ** FX_PRESETS[name].digits)
    spread = np.maximum(np.floor(mid * rel * scale + 0.5), 1.0)
    low = np.floor(mid * scale - 0.5 * spread + 0.5)
    return pl.DataFrame(
        {
            "ts": j["ts"],
            "bid": low / scale,
            "ask": (low + spread) / scale,
            "bid_size": np.minimum(j["bs_a"].to_numpy(), j["bs_b"].to_numpy()),
            "ask_size": np.minimum(j["as_a"].to_numpy(), j["as_b"].to_numpy()),
        },
        schema=TICK_POLARS_SCHEMA,
    )


def is_cross(symbol: str) -> bool:
    return symbol.upper() in CROSSES

