"""Small helpers that build tick archives and strategy inputs for tests.

Times are given in whole or fractional seconds after ``T0`` (2024-01-02
00:00:00 UTC) and stored as ``timestamp[ns, UTC]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

T0 = 1_704_153_600 * 10**9  # 2024-01-02T00:00:00Z in ns
SEC = 10**9
DAY = "2024-01-02"


def ns(sec: float) -> int:
    """Nanoseconds since the epoch of ``T0 + sec`` seconds (exact for ms steps)."""
    return T0 + round(sec * 1000) * 10**6


def tick_table(secs: Sequence[float], bid: Sequence[float], ask: Sequence[float],
               symbol: Sequence[str] | None = None) -> pa.Table:
    cols: dict[str, pa.Array] = {
        "ts": pa.array([ns(s) for s in secs], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        "bid": pa.array(bid, pa.float64()),
        "ask": pa.array(ask, pa.float64()),
    }
    if symbol is not None:
        cols["symbol"] = pa.array(symbol, pa.string())
    return pa.table(cols)


def write_file(path: Path, table: pa.Table, row_group_size: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def hive_file(root: Path, symbol: str, secs: Sequence[float], bid: Sequence[float], ask: Sequence[float],
              date: str = DAY, part: str = "part-0.parquet", row_group_size: int | None = None) -> Path:
    """Write ``root/symbol=SYMBOL/date=DATE/PART`` and return its path."""
    return write_file(root / f"symbol={symbol}" / f"date={date}" / part, tick_table(secs, bid, ask),
                      row_group_size)


def utc(col: str, secs: Sequence[float]) -> pl.Series:
    return pl.Series(col, [ns(s) for s in secs], pl.Int64).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")


def orders_frame(rows: Sequence[tuple], **extra: Sequence) -> pl.DataFrame:
    """``[(sec, symbol, side, qty), ...]`` -> an orders frame (extra columns by keyword)."""
    df = pl.DataFrame({
        "ts": utc("ts", [r[0] for r in rows]),
        "symbol": [r[1] for r in rows],
        "side": [r[2] for r in rows],
        "qty": pl.Series([float(r[3]) for r in rows], dtype=pl.Float64),
    })
    for name, values in extra.items():
        df = df.with_columns(pl.Series(name, list(values)))
    return df


def signals_frame(rows: Sequence[tuple]) -> pl.DataFrame:
    """``[(sec, symbol, target), ...]`` -> a signals frame."""
    return pl.DataFrame({
        "ts": utc("ts", [r[0] for r in rows]),
        "symbol": [r[1] for r in rows],
        "target": pl.Series([float(r[2]) for r in rows], dtype=pl.Float64),
    })


def ts_ns(frame: pl.DataFrame, col: str = "ts") -> list[int]:
    """A timestamp column as int ns since the epoch."""
    return frame.get_column(col).dt.replace_time_zone(None).cast(pl.Int64).to_list()
