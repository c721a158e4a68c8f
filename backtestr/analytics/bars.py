"""Price bars for the trade charts, made from the ticks.

``price_bars`` is the one function the charts call: it builds OHLC bars of
the mid price with Polars ``group_by_dynamic``. When the project's own bar
builder is available it can be switched to here without touching the charts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .source import AnalyticsError

STEPS = (("1s", 1), ("5s", 5), ("15s", 15), ("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600),
         ("4h", 14400), ("1d", 86400), ("1w", 604800))


def bar_interval(span_s: float, bars: int = 1500) -> str:
    """The shortest of the usual intervals that cuts ``span_s`` seconds into at most ``bars`` bars."""
    for name, secs in STEPS:
        if span_s / secs <= bars:
            return name
    return STEPS[-1][0]


def scan_ticks(data: str | Path | pl.DataFrame) -> pl.LazyFrame:
    """The tick archive (file, folder of hive partitions, or glob) or frame as a lazy frame."""
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    p = Path(data)
    if p.is_dir():
        src = str(p / "**" / "*.parquet")
    elif p.is_file() or any(ch in str(data) for ch in "*?["):
        src = str(data)
    else:
        raise AnalyticsError(f"data {data}: no such tick file or folder")
    try:
        lf = pl.scan_parquet(src, hive_partitioning=True)
        names = lf.collect_schema().names()
    except Exception as exc:  # noqa: BLE001 - reported in the interface's terms
        raise AnalyticsError(f"data {data}: cannot read ticks ({str(exc).splitlines()[0]})") from None
    missing = [c for c in ("ts", "bid", "ask", "symbol") if c not in names]
    if missing:
        raise AnalyticsError(f"data {data}: no column(s) {', '.join(missing)} (expected a tick archive)")
    return lf


def price_bars(data: str | Path | pl.DataFrame, symbol: str, start_ns: int, end_ns: int,
               every: str) -> pl.DataFrame:
    """OHLC bars (``ts``, ``open``, ``high``, ``low``, ``close``) of the mid of ``symbol`` in [start, end]."""
    ts = pl.col("ts").dt.epoch("ns")
    return (scan_ticks(data)
            .filter((pl.col("symbol").cast(pl.String) == symbol) & (ts >= start_ns) & (ts <= end_ns))
            .select("ts", ((pl.col("bid") + pl.col("ask")) / 2).alias("mid"))
            .sort("ts")
            .group_by_dynamic("ts", every=every, closed="left", label="left")
            .agg(pl.col("mid").first().alias("open"), pl.col("mid").max().alias("high"),
                 pl.col("mid").min().alias("low"), pl.col("mid").last().alias("close"))
            .collect())
