"""Deterministic synthetic quote archives.

Every (symbol, UTC day) is generated on its own from ``seed``, the symbol and
the day, yet consecutive days join up: a daily table (one row per day from
1970-01-01 to 2099-12-31, fixed per symbol and seed) gives the log mid at the
start of every day, and each day's path is a bridge from that day's start to
the next day's start. So one day can be generated without the days before it,
and the last mid of a day leads into the first mid of the next.

Model, per symbol:

* daily level: log mid with a weak pull towards the preset level, daily
  volatility from a GARCH(1,1) recursion on daily shocks, rare jumps;
* tick arrivals: Poisson counts per minute with an intraday activity profile
  (FX busy in London and New York hours), a persistent per-minute activity
  noise and a per-day activity factor; uniform times inside each minute;
* tick returns: Gaussian in log space scaled by the elapsed time, the intraday
  volatility profile and a tick-level GARCH-like factor that decays in time
  and jumps up after shocks and jumps;
* spread: whole ticks, at least 1, wider in quiet hours, at the daily rollover
  and when volatility is high;
* sizes: positive, lognormal, rounded to the preset's size step.

Prices are whole ticks converted with ``ticks / 10**digits``, so
``rint(price * 10**digits)`` gives back the integer exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import BacktestrError, term
from .kernels.synthgen import _ar1, _arrivals, _daily_walk, _quotes
from .outputs import stage

__all__ = [
    "ROW_GROUP_ROWS",
    "SYMBOL_PRESETS",
    "TICK_SCHEMA",
    "SynthPreset",
    "partition_path",
    "synth_symbol_day",
    "write_archive",
    "write_tick_file",
]

ROW_GROUP_ROWS = 262_144
TICK_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("bid", pa.float64()),
        ("ask", pa.float64()),
        ("bid_size", pa.float64()),
        ("ask_size", pa.float64()),
    ]
)
TICK_POLARS_SCHEMA = {
    "ts": pl.Datetime("ns", "UTC"),
    "bid": pl.Float64,
    "ask": pl.Float64,
    "bid_size": pl.Float64,
    "ask_size": pl.Float64,
}

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S
MINUTES = 1440
EPOCH = dt.date(1970, 1, 1)
HORIZON = dt.date(2100, 1, 1)
N_DAYS = (HORIZON - EPOCH).days

# Trading week in minutes from Monday 00:00 UTC: (open, close, break start, break end).
_FX_WEEK = (6 * MINUTES + 22 * 60, 4 * MINUTES + 22 * 60, None, None)
_METAL_WEEK = (6 * MINUTES + 23 * 60, 4 * MINUTES + 22 * 60, 22 * 60, 23 * 60)
_SCHEDULES: dict[str, tuple | None] = {"fx": _FX_WEEK, "metal": _METAL_WEEK, "crypto": None}

# Activity bumps per profile: (base, [(weight, centre hour UTC, width hours), ...]).
_PROFILES: dict[str, tuple[float, list[tuple[float, float, float]]]] = {
    "fx": (
        0.25,
        [(0.35, 1.5, 2.5), (1.0, 8.5, 1.5), (0.7, 11.0, 2.5), (1.3, 14.0, 1.8), (0.4, 17.5, 2.0)],
    ),
    "metal": (0.3, [(0.3, 2.0, 2.5), (0.8, 8.5, 1.8), (1.4, 14.5, 2.0), (0.3, 18.0, 2.0)]),
    "crypto": (0.85, [(0.35, 15.0, 3.5), (0.1, 2.0, 3.0)]),
}

# Stream tags mixed into the seed so that each random stream is independent.
_DAILY_TAG = 0xDA11
_INTRADAY_TAG = 0x1D4


@dataclass(frozen=True)
class SynthPreset:
    """Parameters of one synthetic instrument.

    ``digits``: decimals of the price (tick size ``10**-digits``); ``level``:
    typical mid price; ``daily_vol``: standard deviation of the log return over
    a full trading day; ``spread``: typical spread in ticks at busy hours;
    ``rate``: mean ticks per second over a full trading day; ``schedule``
    ("fx", "metal", "crypto"): trading hours; ``profile``: intraday activity
    shape; sizes are lognormal around ``size_mean`` in steps of
    ``10**-size_digits``; ``jump_rate``: expected jumps per trading day.
    """

    symbol: str
    digits: int
    level: float
    daily_vol: float
    spread: float
    rate: float
    schedule: str
    profile: str
    size_mean: float
    size_digits: int
    jump_rate: float

    @property
    def tick_size(self) -> float:
        return 1.0 / 10**self.digits


def _fx(symbol: str, level: float, daily_vol: float, spread: float, rate: float, size: float) -> SynthPreset:
    return SynthPreset(symbol, 5, level, daily_vol, spread, rate, "fx", "fx", size, 2, 0.08)


def _crypto(
    symbol: str, level: float, daily_vol: float, spread: float, size: float, size_digits: int
) -> SynthPreset:
    return SynthPreset(symbol, 2, level, daily_vol, spread, 3.0, "crypto", "crypto", size, size_digits, 0.1)


SYMBOL_PRESETS: dict[str, SynthPreset] = {
    p.symbol: p
    for p in (
        _fx("EURUSD", level=1.08, daily_vol=0.005, spread=6.0, rate=1.4, size=1.5),
        _fx("GBPUSD", level=1.27, daily_vol=0.006, spread=9.0, rate=1.3, size=1.2),
        SynthPreset("USDJPY", 3, 150.0, 0.006, 9.0, 1.2, "fx", "fx", 1.2, 2, 0.08),
        SynthPreset("XAUUSD", 2, 2300.0, 0.009, 25.0, 1.5, "metal", "metal", 2.0, 2, 0.08),
        _crypto("BTCUSD", level=60000.0, daily_vol=0.03, spread=500.0, size=0.5, size_digits=4),
        _crypto("ETHUSD", level=3000.0, daily_vol=0.035, spread=40.0, size=5.0, size_digits=3),
    )
}


# --------------------------------------------------------------------------- tables


class SynthError(BacktestrError, ValueError):
    """An argument of the synthetic generator is wrong, or it would write nothing."""


class UnknownSynthSymbol(SynthError, KeyError):
    """No synthetic preset for this symbol."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _preset(symbol: str) -> SynthPreset:
    from .synth_fx import FX_PRESETS  # USDJPY and the crosses (backtestr/synth_fx.py)

    try:
        return {**SYMBOL_PRESETS, **FX_PRESETS}[symbol.upper()]
    except KeyError:
        known = ", ".join(sorted({*SYMBOL_PRESETS, *FX_PRESETS}))
        raise UnknownSynthSymbol(f"unknown synthetic symbol {symbol!r} in {term('symbols')}; "
                                 f"known: {known}") from None


def _symbol_code(symbol: str) -> int:
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=8).digest(), "little")


def _check_seed(seed: int) -> int:
    seed = int(seed)
    if seed < 0:
        raise SynthError(f"{term('seed')} must be a non-negative integer, got {seed}")
    return seed


def _open_mask(schedule: str, weekday: int) -> np.ndarray:
    """Open minutes (length 1440) of a UTC day with the given weekday (Monday 0)."""
    week = _SCHEDULES[schedule]
    if week is None:
        return np.ones(MINUTES, dtype=bool)
    w_open, w_close, b_start, b_end = week
    minute = np.arange(MINUTES)
    mow = weekday * MINUTES + minute
    mask = (mow >= w_open) | (mow < w_close)
    if b_start is not None:
        mask &= ~((minute >= b_start) & (minute < b_end))
    return mask


@cache
def _shapes(preset: SynthPreset) -> dict[str, np.ndarray]:
    """Per weekday (7 x 1440): open mask, activity, volatility and spread profiles."""
    base, bumps = _PROFILES[preset.profile]
    hours = (np.arange(MINUTES) + 0.5) / 60.0
    act = np.full(MINUTES, base)
    for weight, centre, width in bumps:
        d = np.abs(hours - centre)
        d = np.minimum(d, 24.0 - d)
        act += weight * np.exp(-0.5 * (d / width) ** 2)
    full = _open_mask(preset.schedule, 2)  # a Wednesday: a full trading day
    act /= act[full].mean()
    vol = act**0.6
    vol /= vol[full].mean()
    masks = np.stack([_open_mask(preset.schedule, wd) for wd in range(7)])
    activity = np.where(masks, act, 0.0)
    if preset.schedule == "crypto":
        activity[5:] *= 0.75
    volatility = np.where(masks, vol, 0.0)
    spread = np.clip(act, 1e-9, None) ** -0.5
    spread = np.clip(spread / spread[full].min(), 1.0, 4.0)
    spread = np.broadcast_to(spread, (7, MINUTES)).copy()
    if preset.schedule != "crypto":
        spread[:, 21 * 60 + 50 : 22 * 60 + 15] *= 3.0  # daily rollover
        spread[6, 22 * 60 : 22 * 60 + 30] *= 2.0  # Sunday open
    for arr in (activity, volatility, spread):
        arr.flags.writeable = False
    return {"mask": masks, "activity": activity, "volatility": volatility, "spread": spread}


@lru_cache(maxsize=32)
def _daily_table(preset: SynthPreset, seed: int) -> dict[str, np.ndarray]:
    """Start-of-day log mid, diffusion target, jumps and volatility factor for
    every day from 1970-01-01 to 2099-12-31."""
    shapes = _shapes(preset)
    wd_var = shapes["volatility"].sum(axis=1) / MINUTES  # variance fraction per weekday
    weekday = (np.arange(N_DAYS) + EPOCH.weekday()) % 7
    var_frac = wd_var[weekday]
    rng = np.random.default_rng([seed, _symbol_code(preset.symbol), _DAILY_TAG])
    z = rng.standard_normal(N_DAYS)
    open_frac = shapes["mask"].mean(axis=1)[weekday]
    lam = preset.jump_rate * open_frac + np.where(open_frac == 0.0, 0.1, 0.0)
    counts = np.minimum(rng.poisson(lam), 2)
    sizes = (
        preset.daily_vol
        * 0.2
        * (0.5 + rng.exponential(size=(N_DAYS, 2)))
        * np.where(rng.random((N_DAYS, 2)) < 0.5, -1.0, 1.0)
    )
    sizes[counts < 1, 0] = 0.0
    sizes[counts < 2, 1] = 0.0
    x, diff, g = _daily_walk(
        z,
        sizes.sum(axis=1),
        var_frac,
        math.log(preset.level),
        preset.daily_vol,
        1.0 / 500.0,
        0.08,
        0.90,
    )
    for arr in (x, diff, g, sizes):
        arr.flags.writeable = False
    return {"x": x, "diff": diff, "g": g, "jumps": sizes}


# --------------------------------------------------------------------------- generation


def _empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=TICK_POLARS_SCHEMA)


def synth_symbol_day(symbol: str, day: dt.date, seed: int, rate: float | None = None) -> pl.DataFrame:
    """Ticks of one symbol on one UTC day (empty frame when the market is closed).

    Columns: ``ts`` (Datetime ns UTC, strictly increasing), ``bid``, ``ask``,
    ``bid_size``, ``ask_size`` (Float64). ``rate`` overrides the mean ticks per
    second over open time.
    """
    preset = _preset(symbol)
    seed = _check_seed(seed)
    if isinstance(day, dt.datetime):
        day = day.date()
    from .synth_fx import cross_day, is_cross

    if is_cross(symbol):  # derived from its legs' ticks
        return cross_day(symbol, day, seed, rate)
    if not EPOCH <= day < HORIZON:
        raise SynthError(f"day {day} outside the supported range {EPOCH}..{HORIZON - dt.timedelta(days=1)}")
    mean_rate = preset.rate if rate is None else float(rate)
    if not mean_rate > 0.0:
        raise SynthError(f"{term('rate')} must be positive, got {rate}")
    k = (day - EPOCH).days
    weekday = day.weekday()
    shapes = _shapes(preset)
    if not shapes["mask"][weekday].any():
        return _empty_frame()
    table = _daily_table(preset, seed)
    g_day = float(table["g"][k])
    rng = np.random.default_rng([seed, _symbol_code(preset.symbol), k, _INTRADAY_TAG])

    # Arrivals: Poisson counts per minute, uniform times inside the minute.
    act_noise = np.exp(_ar1(rng.standard_normal(MINUTES), 0.97, 0.3) - 0.045)
    day_factor = math.exp(0.15 * rng.standard_normal() - 0.01125) * g_day**0.25
    lam = mean_rate * 60.0 * shapes["activity"][weekday] * act_noise * day_factor
    counts = rng.poisson(lam)
    n = int(counts.sum())
    if n == 0:
        return _empty_frame()
    day_ns = k * NS_PER_DAY
    expo = rng.standard_exponential(n + int(np.count_nonzero(counts)))
    # The 1 ms margin keeps pushed-apart equal times inside their minute.
    ts, minute = _arrivals(counts, expo, day_ns, NS_PER_MIN - 1_000_000)

    # Volatility and spread per minute, shocks per tick, jumps at random ticks.
    vol_min = shapes["volatility"][weekday] * np.sqrt(act_noise)
    spread_min = preset.spread * shapes["spread"][weekday] * act_noise**0.3
    jump = np.zeros(n)
    for size in table["jumps"][k]:
        if size != 0.0:
            jump[rng.integers(0, n)] += size
    z = rng.standard_normal(n)
    z_spread = rng.standard_normal(n)
    z_size = rng.standard_normal(2 * n)
    size_scale = float(10**preset.size_digits)
    bid, ask, bid_size, ask_size = _quotes(
        ts,
        minute,
        day_ns,
        z,
        z_spread,
        z_size,
        jump,
        vol_min,
        spread_min,
        preset.daily_vol / math.sqrt(86_400.0) * math.sqrt(g_day),
        float(table["x"][k]),
        float(table["diff"][k]),
        float(10**preset.digits),
        math.log(preset.size_mean * size_scale) - 0.18,
        size_scale,
        1200.0,
        0.35,
    )
    return pl.DataFrame(
        {
            "ts": pl.Series("ts", ts.view("datetime64[ns]")).dt.replace_time_zone("UTC"),
            "bid": bid,
            "ask": ask,
            "bid_size": bid_size,
            "ask_size": ask_size,
        },
        schema=TICK_POLARS_SCHEMA,
    )


# --------------------------------------------------------------------------- archive files


def partition_path(out: str | Path, symbol: str, day: dt.date) -> Path:
    """``OUT/symbol=SYM/date=YYYY-MM-DD/part-0.parquet``."""
    return Path(out) / f"symbol={symbol}" / f"date={day.isoformat()}" / "part-0.parquet"


def write_tick_file(path: str | Path, data: pl.DataFrame | pa.Table) -> None:
    """Write ticks to ``path`` atomically with the archive's fixed Parquet settings."""
    path = Path(path)
    table = data.to_arrow() if isinstance(data, pl.DataFrame) else data
    table = table.select(TICK_SCHEMA.names).cast(TICK_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(
            table,
            tmp,
            row_group_size=ROW_GROUP_ROWS,
            compression="zstd",
            write_statistics=True,
        )
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_archive(
    out: str | Path,
    symbols: list[str],
    days: int,
    seed: int,
    start: dt.date = dt.date(2024, 1, 1),
    rate: float | None = None,
    progress: bool = False,
    workers: int = 1,
    force: bool = False,
) -> dict:
    """Write ``days`` consecutive UTC days from ``start`` for each symbol as a
    hive-partitioned archive under ``out``. Closed days write no file; a span
    with no trading day at all is refused (nothing would be written).

    The archive appears whole or not at all. An existing ``out`` must be an
    empty folder, or an archive written by backtestr (replaced with ``force``);
    anything else is refused and left untouched (docs/safety.md).

    Every file depends only on (seed, symbol, day, rate), so ``workers``
    threads give the same files as one.

    Returns ``{"files": n, "ticks": n, "symbols": {symbol: ticks}}``.
    """
    if days < 1:
        raise SynthError(f"{term('days')} must be at least 1, got {days}")
    if workers < 1:
        raise SynthError(f"workers must be >= 1, got {workers}")
    if not symbols:
        raise SynthError(f"{term('symbols')} names no symbol")
    names = [_preset(s).symbol for s in symbols]
    if len(set(names)) != len(names):
        raise SynthError(f"duplicate symbols in {term('symbols')}: {', '.join(symbols)}")
    seed = _check_seed(seed)
    if rate is not None and not float(rate) > 0.0:
        raise SynthError(f"{term('rate')} must be positive, got {rate}")
    last = start + dt.timedelta(days=days - 1)
    if not (start >= EPOCH and last < HORIZON):
        raise SynthError(f"{term('start')} {start} and {term('days')} {days}: days must lie in "
                         f"{EPOCH}..{HORIZON - dt.timedelta(days=1)}")
    staged = stage(out, "archive", "data synth", replace=force)
    with staged:
        info = _write_days(staged.path, names, days, seed, start, rate, progress, workers)
        if not info["files"]:
            raise SynthError(f"no trading day for {', '.join(names)} from {start} to {last} "
                             f"({days} day(s)); nothing was written")
    return info


def _write_days(out: Path, names: list[str], days: int, seed: int, start: dt.date, rate: float | None,
                progress: bool, workers: int) -> dict:
    jobs = [(name, start + dt.timedelta(days=i)) for name in names for i in range(days)]

    def one(job: tuple[str, dt.date]) -> int:
        name, day = job
        frame = synth_symbol_day(name, day, seed, rate)
        if frame.height:
            write_tick_file(partition_path(out, name, day), frame)
        return frame.height

    files = 0
    per_symbol = dict.fromkeys(names, 0)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for (name, day), ticks in zip(jobs, pool.map(one, jobs), strict=True):
            if ticks:
                files += 1
                per_symbol[name] += ticks
            if progress:
                print(f"{name} {day.isoformat()} {ticks:>12,} ticks", file=sys.stderr, flush=True)
    return {"files": files, "ticks": sum(per_symbol.values()), "symbols": per_symbol}
