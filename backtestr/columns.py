"""Tick columns as numpy arrays: time stamps to int64 ns UTC, prices and quote sizes to
float64, the round-off of a number column's type, a cell as the file holds it. The row
rules that use them are in ``reader.py`` and ``kernels/ingest.py`` (docs/architecture.md §1)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataError, row_label

_MAX = np.iinfo(np.int64).max
SIZE_COLS = ("bid_size", "ask_size")
EMPTY_F = np.empty(0, np.float64)
NO_SIZE_COLS = (EMPTY_F, EMPTY_F)


TS_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
TS_UNIT_HELP = ("give its unit (s, ms, us or ns): ts_unit= in Python, --ts-unit on the command line, "
                "or data.ts_unit in the config; or store ts as a timestamp")


def check_ts_type(t: pa.DataType, where: str, unit: str | None) -> None:
    """Refuse a ts column that is not a timestamp, or integers without a unit."""
    if pa.types.is_timestamp(t):
        return
    if not pa.types.is_integer(t):
        raise DataError(f"{where}: column 'ts' has type {t}; expected a timestamp (or integers with a unit)",
                        path=where, rule="wrong_type")
    if unit is None:
        raise DataError(f"{where}: column 'ts' holds integers ({t}) and no time unit was given: "
                        f"{TS_UNIT_HELP}", path=where, rule="ts_unit")


def _ts_to_ns(arr: pa.Array | pa.ChunkedArray, where: str, unit: str | None, row0: int = 0) -> np.ndarray:
    """Time stamps as int64 ns UTC: timestamps (a naive one is UTC) as they are, integers
    times their ``unit``; ``row0`` is the file row of the batch's first row (for messages)."""
    t = arr.type
    check_ts_type(t, where, unit)
    if pa.types.is_timestamp(t):
        if t.unit != "ns":
            arr = pc.cast(arr, pa.timestamp("ns", tz=t.tz))
        arr = arr.cast(pa.int64())
    if arr.null_count:
        row = row0 + int(pc.index(pc.is_null(arr), True).as_py())
        raise DataError(f"{where}: {row_label(row)}: ts is missing", path=where, row=row + 1, rule="null_ts")
    out = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_integer(t) and unit != "ns":
        f = TS_UNITS[unit]  # type: ignore[index]
        big = np.abs(out) > _MAX // f
        if big.any():
            row = int(np.argmax(big))
            raise DataError(f"{where}: {row_label(row0 + row)}: ts {int(out[row])} {unit} is out of range",
                            path=where, row=row0 + row + 1, rule="wrong_type")
        out = out * f
    return out


def _sizes(b: pa.RecordBatch, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The batch's quote sizes (float lots, NaN where missing), or empty arrays when it has none."""
    if not all(c in b.schema.names for c in SIZE_COLS):
        return NO_SIZE_COLS
    return _price(b.column("bid_size"), "bid_size", where), _price(b.column("ask_size"), "ask_size", where)


def _price(arr: pa.Array | pa.ChunkedArray, name: str, where: str) -> np.ndarray:
    t = arr.type
    if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise DataError(f"{where}: column '{name}' has type {t}; expected a number", path=where,
                        rule="wrong_type")
    if t != pa.float64():
        arr = pc.cast(arr, pa.float64())
    if arr.null_count:
        arr = arr.fill_null(np.nan)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def rel_tol(t: pa.DataType) -> float:
    """Relative round-off of a number column's type, for the off-tick test: two ulps of a
    float32 or float16 (the nearest such float to a tick is that tick); 0 for float64,
    integers and decimals (float64 is within ``ingest.OFF_TICK_TOL`` ticks)."""
    if pa.types.is_float32(t):
        return 2.0 * 2.0**-23
    if pa.types.is_float16(t):
        return 2.0 * 2.0**-10
    return 0.0


def _plain(col: pa.Array | pa.ChunkedArray, row: int) -> str:
    """A cell as a plain number, as the file holds it (a float32 as its shortest text)."""
    v = col[row].as_py()
    if v is None:
        return "null"
    if pa.types.is_float32(col.type):
        return str(np.float32(v))
    return str(v)
