"""Column helpers of the orders table (backtestr/orders.py), vectorised.

Every helper reads one column of a Polars frame into NumPy arrays plus a
``given`` mask (the cell is not null); a missing column is all null. Values that
can never be right are refused with an ``OrdersError`` naming the file or frame,
the row (counted from 1, the first data row; a CSV header is not a row) and the column.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import polars as pl

from .errors import OrdersError, row_label
from .kernels.records import K_NONE, K_PPM, K_PRICE, K_REMOVE, K_TICKS

TOL = 1e-6  # absolute, in ticks, lot steps, minor units or 1/10_000 percent
REL = 1e-12  # relative: float64 quotients carry a few ulps of error
PPM_PER_PCT = 10_000  # 1 % = 10_000 parts per million


def fail(where: str, row: int, msg: str) -> NoReturn:
    raise OrdersError(f"{where}: {row_label(row)}: {msg}")


def check(bad: np.ndarray, where: str, msg: str | object) -> None:
    """Refuse the first row where ``bad``; ``msg`` is text or ``row -> text``."""
    if bad.any():
        row = int(np.argmax(bad))
        fail(where, row, msg(row) if callable(msg) else str(msg))


def words(df: pl.DataFrame, name: str, where: str, codes: dict[str, int], default: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Enum words (case-insensitive, blanks trimmed) -> int8 codes; null -> ``default``."""
    n = df.height
    if name not in df.columns:
        return np.full(n, default, np.int8), np.zeros(n, bool)
    raw = df.get_column(name).cast(pl.String)
    code = raw.str.strip_chars().str.to_lowercase().replace_strict(codes, default=None, return_dtype=pl.Int16)
    has = raw.is_not_null().to_numpy()
    bad = has & code.is_null().to_numpy()
    check(bad, where, lambda r: f"{name} {raw[r]!r} is not one of {', '.join(codes)}")
    return code.fill_null(default).to_numpy().astype(np.int8), has


def numbers(df: pl.DataFrame, name: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as float64 (NaN where null) and its given mask."""
    n = df.height
    if name not in df.columns:
        return np.full(n, np.nan), np.zeros(n, bool)
    col = df.get_column(name)
    if not (col.dtype.is_numeric() or col.dtype == pl.Null):
        raise OrdersError(f"{where}: column {name} has type {col.dtype}; expected a number")
    has = col.is_not_null().to_numpy()
    v = col.cast(pl.Float64).to_numpy().astype(np.float64)
    check(has & ~np.isfinite(v), where, lambda r: f"{name} {float(v[r])!r} is not a finite number")
    return v, has


def whole_numbers(df: pl.DataFrame, name: str, where: str, what: str = "a whole number"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A column of non-negative whole numbers as int64 (0 where null) and its given mask."""
    n = df.height
    if name not in df.columns:
        return np.zeros(n, np.int64), np.zeros(n, bool)
    col = df.get_column(name)
    if col.dtype.is_integer():
        has = col.is_not_null().to_numpy()
        out = col.cast(pl.Int64).fill_null(0).to_numpy().astype(np.int64)
    else:
        v, has = numbers(df, name, where)
        r = np.rint(np.where(has, v, 0.0))
        check(has & (np.abs(v - r) > TOL), where, lambda row: f"{name} {float(v[row])!r} is not {what}")
        check(has & (np.abs(r) >= 2.0**62), where, lambda row: f"{name} {float(v[row])!r} is too large")
        out = r.astype(np.int64)
    check(has & (out < 0), where, lambda r: f"{name} {out[r]} is negative")
    return out, has


TS_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_I64 = np.iinfo(np.int64).max


def rel_tol(df: pl.DataFrame, name: str) -> float:
    """Relative round-off of a number column's type: two ulps of a float32 (the nearest
    float32 to a value is that value), a few ulps of a float64; 0 for integers."""
    if name not in df.columns:
        return 0.0
    dt = df.schema[name]
    if dt == pl.Float32:
        return 2.0 * 2.0**-23
    if dt == pl.Float64:
        return 4.0 * 2.0**-52
    return 0.0


def plain(df: pl.DataFrame, name: str, row: int) -> str:
    """A cell as a plain number, as the frame holds it (a float32 as its shortest text)."""
    v = df.get_column(name)[row]
    return str(np.float32(v)) if df.schema[name] == pl.Float32 else repr(v)


def times(df: pl.DataFrame, name: str, where: str, unit: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A time column as int64 ns UTC (0 where null): a datetime (a naive one is UTC), ISO text
    (UTC unless it carries an offset), or integers in ``unit`` (refused without one)."""
    n = df.height
    if name not in df.columns:
        return np.zeros(n, np.int64), np.zeros(n, bool)
    col = df.get_column(name)
    has = col.is_not_null().to_numpy()
    if isinstance(col.dtype, pl.Datetime):
        if col.dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC")
        col = col.cast(pl.Datetime("ns", col.dtype.time_zone)).dt.replace_time_zone(None).cast(pl.Int64)  # type: ignore[union-attr]
    elif col.dtype == pl.String:
        from .importer import parse_times  # the one parser of time text (docs/safety.md)

        parsed = parse_times(col.str.strip_chars())
        check(has & parsed.is_null().to_numpy(), where, lambda r: f"{name} {col[r]!r} is not a time "
              "(ISO-8601 such as 2024-01-02 03:04[:05[.f]][Z|+01:00], UTC when no offset, or epoch digits)")
        col = parsed
    elif col.dtype == pl.Null:
        col = col.cast(pl.Int64)
    elif col.dtype.is_integer():
        if unit is None:
            raise OrdersError(f"{where}: column {name} holds integers ({col.dtype}) and no time unit was given: "
                              "give its unit (s, ms, us or ns): ts_unit= in Python, --ts-unit on the command "
                              "line, or data.ts_unit in the config; or give times as datetimes or ISO text")
        raw = col.cast(pl.Int64).fill_null(0).to_numpy().astype(np.int64)
        f = TS_UNITS[unit]
        check(np.abs(raw) > _I64 // f, where, lambda r: f"{name} {int(raw[r])} {unit} is out of range")
        return raw * f, has
    else:
        raise OrdersError(f"{where}: column {name} has type {col.dtype}; expected a datetime, ISO text or "
                          "integers with a unit (ts_unit)")
    return col.fill_null(0).to_numpy().astype(np.int64), has


def to_ticks(v: np.ndarray, has: np.ndarray, tick: np.ndarray, rel: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Prices -> whole ticks (nearest) and the mask of given prices that are off the tick grid
    (``rel``: the column type's relative round-off, ``rel_tol``)."""
    q = np.where(has, v, 0.0) / tick
    r = np.rint(q)
    off = has & (np.abs(q - r) > np.maximum(TOL, np.abs(r) * max(REL, rel)))
    return r.astype(np.int64), off


def _to_units(x: np.ndarray, has: np.ndarray, scale: float, where: str, name: str, finer: str) -> np.ndarray:
    """x * scale as whole units (int64, 0 where not given); a value finer than one unit is
    refused with ``finer``, a value past 2**62 units as too large."""
    f = np.where(has, x, 0.0) * scale
    u = np.rint(f)
    check(has & (np.abs(f) >= 2.0**62), where, lambda r: f"{name} {float(x[r])!r} is too large")
    check(has & (np.abs(f - u) > np.maximum(TOL, np.abs(u) * REL)), where,
          lambda r: f"{name} {float(x[r])!r} {finer}")
    return np.where(has, u, 0.0).astype(np.int64)


def to_ppm(pct: np.ndarray, has: np.ndarray, where: str, name: str) -> np.ndarray:
    """Percent -> parts per million (int64, 0 where not given); more than 4 decimals is refused."""
    return _to_units(pct, has, PPM_PER_PCT, where, name, "has more than 4 decimals")


def to_minor(money: np.ndarray, has: np.ndarray, digits: int, where: str, name: str) -> np.ndarray:
    """Money in the account currency -> whole minor units (int64, 0 where not given).

    ``digits`` are the decimal places of the minor unit; an amount finer than
    one minor unit is refused.
    """
    unit = f"{10.0**-digits:.{digits}f}" if digits > 0 else "1"
    return _to_units(money, has, 10.0**digits, where, name,
                     f"is not a whole number of minor units of the account currency ({unit})")


def stop_spec(df: pl.DataFrame, base: str, where: str, tick: np.ndarray, use: np.ndarray, remove: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One stop (``sl``, ``tp`` or ``trail``) from its three forms: price, ``_ticks``, ``_pct``.

    Returns ``kind`` (K_*), ``val`` (price ticks, distance ticks or ppm), the mask
    of rows whose price is off the tick grid, and the mask of rows giving any form.
    A price for ``trail`` is a distance, so it becomes K_TICKS. A value of 0 is
    K_REMOVE on ``remove`` rows (modify), else K_NONE. Only ``use`` rows get a kind.
    """
    names = (base, f"{base}_ticks", f"{base}_pct")
    price, has_p = numbers(df, names[0], where)
    ticks, has_t = whole_numbers(df, names[1], where, "a whole number of ticks")
    pct, has_c = numbers(df, names[2], where)
    n_forms = has_p.astype(np.int8) + has_t + has_c
    check(n_forms > 1, where, lambda r: (
        f"{' and '.join(c for c, h in zip(names, (has_p, has_t, has_c), strict=True) if h[r])} are both set; "
        f"give at most one of {', '.join(names)}"))
    for name, v, h in ((names[0], price, has_p), (names[2], pct, has_c)):
        check(h & (v < 0), where, lambda r, name=name, v=v: f"{name} {float(v[r])!r} is negative")
    ppm = to_ppm(pct, has_c, where, names[2])
    p_ticks, off = to_ticks(price, has_p, tick, rel_tol(df, names[0]))
    val = np.where(has_p, p_ticks, np.where(has_t, ticks, ppm))
    kind = np.select([has_p, has_t, has_c], [K_TICKS if base == "trail" else K_PRICE, K_TICKS, K_PPM],
                     K_NONE).astype(np.int8)
    any_form = n_forms > 0
    zero = (has_p & (price == 0)) | (has_t & (ticks == 0)) | (has_c & (pct == 0))
    kind = np.where(zero, np.where(remove, K_REMOVE, K_NONE), kind)
    kind = np.where(use, kind, K_NONE).astype(np.int8)
    val = np.where(use & ~zero, val, 0).astype(np.int64)
    return kind, val, off & use & ~zero, any_form
