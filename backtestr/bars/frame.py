"""Bar rows of the kernel (int64) -> the Polars bar frame (docs/bars.md §3)."""

from __future__ import annotations

import numpy as np
import polars as pl

from ..instruments import Instrument
from ..kernels import barsagg as B
from .timeframes import Timeframe

PRICE_FIELDS = ("open", "high", "low", "close")
_COLS = (B.B_OPEN, B.B_HIGH, B.B_LOW, B.B_CLOSE)
UTC_NS = pl.Datetime("ns", "UTC")


def price_unit(price: str) -> str:
    """Suffix of the integer price columns: ``ticks`` (bid, ask) or ``half_ticks`` (mid)."""
    return "half_ticks" if price == "mid" else "ticks"


def schema(price: str) -> dict[str, pl.DataType]:
    """Columns of a bar frame for the price basis, in order."""
    unit = price_unit(price)
    cols: dict[str, pl.DataType] = {"symbol": pl.String(), "timeframe": pl.String(), "ts_open": UTC_NS,
                                    "ts_close": UTC_NS}
    cols.update({f"{f}_{unit}": pl.Int64() for f in PRICE_FIELDS})
    cols.update({f: pl.Float64() for f in PRICE_FIELDS})
    cols.update({"n_ticks": pl.Int64(), "spread_min_ticks": pl.Int64(), "spread_max_ticks": pl.Int64(),
                 "spread_mean": pl.Float64()})
    return cols


def bar_frame(rows: np.ndarray, tf: Timeframe, symbols: list[str], insts: list[Instrument],
              price: str) -> pl.DataFrame:
    """The bars of one timeframe: ``rows`` as written by ``barsagg``."""
    sym = rows[:, B.B_SYM]
    tick = np.array([float(i.tick_size) for i in insts], np.float64)[sym]
    per_unit = tick / 2.0 if price == "mid" else tick  # price of one integer unit
    unit = price_unit(price)
    n = rows[:, B.B_N]  # >= 1 in every bar
    cols: dict[str, object] = {
        "symbol": np.array(symbols, dtype=object)[sym],
        "timeframe": [tf.text] * rows.shape[0],
        "ts_open": rows[:, B.B_OPEN_TS],
        "ts_close": rows[:, B.B_CLOSE_TS],
    }
    for f, c in zip(PRICE_FIELDS, _COLS, strict=True):
        cols[f"{f}_{unit}"] = rows[:, c]
    for f, c in zip(PRICE_FIELDS, _COLS, strict=True):
        cols[f] = rows[:, c] * per_unit
    cols["n_ticks"] = n
    cols["spread_min_ticks"] = rows[:, B.B_SPREAD_MIN]
    cols["spread_max_ticks"] = rows[:, B.B_SPREAD_MAX]
    cols["spread_mean"] = rows[:, B.B_SPREAD_SUM] * tick / n
    sch = schema(price)
    df = pl.DataFrame({k: pl.Series(k, v, dtype=pl.Int64 if sch[k] == UTC_NS else sch[k]) for k, v in cols.items()})
    return df.with_columns(pl.col("ts_open", "ts_close").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"))
