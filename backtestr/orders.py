"""Strategy input: an orders table or a signals table -> ORDER records.

Orders: ``ts, symbol, side (buy|sell), qty, type (market|limit|stop), price,
sl, tp, trail, tag``; signals: ``ts, symbol, target`` (signed position in
lots). Both act strictly after ``ts`` (docs/architecture.md §3). Order ids are
input row numbers (orders first, then signals).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .errors import OrdersError
from .instruments import Instrument
from .kernels.records import ORDER, OrderStatus, OrderType, Side

QTY_TOL = 1e-6  # in lot steps
ORDER_COLUMNS = ("ts", "symbol", "side", "qty", "type", "price", "sl", "tp", "trail", "tag")
SIGNAL_COLUMNS = ("ts", "symbol", "target")
_LATER = ("price", "sl", "tp", "trail")


@dataclass
class OrderBook:
    """ORDER records sorted by (act_ts, order_id) and the tags by order id."""

    records: np.ndarray
    tags: list[str | None]


def _read(src: str | Path | pl.DataFrame, what: str) -> tuple[pl.DataFrame, str]:
    if isinstance(src, pl.DataFrame):
        return src, f"{what} frame"
    p = Path(src)
    if not p.is_file():
        raise OrdersError(f"{what} file {p} does not exist")
    try:
        if p.suffix.lower() == ".csv":
            return pl.read_csv(p, try_parse_dates=True), str(p)
        return pl.read_parquet(p), str(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        raise OrdersError(f"{p}: cannot read {what}: {exc}") from None


def _ts_ns(df: pl.DataFrame, where: str) -> np.ndarray:
    col = df.get_column("ts")
    if col.dtype == pl.Datetime or isinstance(col.dtype, pl.Datetime):
        if col.dtype.time_zone is not None:  # type: ignore[union-attr]
            col = col.dt.convert_time_zone("UTC")
        col = col.cast(pl.Datetime("ns", col.dtype.time_zone)).dt.replace_time_zone(None).cast(pl.Int64)  # type: ignore[union-attr]
    elif col.dtype == pl.String:
        try:
            col = col.str.to_datetime(time_unit="ns", time_zone="UTC").dt.replace_time_zone(None).cast(pl.Int64)
        except Exception:  # noqa: BLE001
            raise OrdersError(f"{where}: column ts: cannot parse times such as {col[0]!r}") from None
    elif col.dtype.is_integer():
        col = col.cast(pl.Int64)
    else:
        raise OrdersError(f"{where}: column ts has type {col.dtype}; expected a datetime or int64 ns")
    if col.null_count():
        raise OrdersError(f"{where}: row {int(col.is_null().arg_max())}: ts is missing")
    return col.to_numpy().astype(np.int64)


def _symbols(df: pl.DataFrame, where: str, index: dict[str, int]) -> np.ndarray:
    col = df.get_column("symbol").cast(pl.String)
    idx = col.replace_strict(index, default=None, return_dtype=pl.Int32)
    if idx.null_count():
        row = int(idx.is_null().arg_max())
        raise OrdersError(f"{where}: row {row}: unknown symbol {col[row]!r} (this run has: {', '.join(index)})")
    return idx.to_numpy().astype(np.int32)


def _steps(qty: np.ndarray, sym: np.ndarray, inst: list[Instrument], where: str, col: str,
           signed: bool) -> np.ndarray:
    step = np.array([float(i.lot_step) for i in inst])[sym]
    q = qty / step
    r = np.rint(q)
    bad = ~np.isfinite(q) | (np.abs(q - r) > QTY_TOL) | ((r <= 0) if not signed else False)
    if bad.any():
        row = int(np.argmax(bad))
        s = inst[sym[row]]
        why = (f"is not a whole number of lot steps of {s.lot_step}" if np.isfinite(q[row]) and
               (signed or r[row] > 0) else "must be a positive number")
        raise OrdersError(f"{where}: row {row}: {col} {qty[row]!r} {why} ({s.symbol})")
    return r.astype(np.int64)


def _require(df: pl.DataFrame, cols: tuple[str, ...], where: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise OrdersError(f"{where}: missing column(s) {', '.join(missing)} (have: {', '.join(df.columns)})")


def _float_col(df: pl.DataFrame, name: str, where: str) -> np.ndarray:
    col = df.get_column(name)
    if not col.dtype.is_numeric():
        raise OrdersError(f"{where}: column {name} has type {col.dtype}; expected a number")
    if col.null_count():
        raise OrdersError(f"{where}: row {int(col.is_null().arg_max())}: {name} is missing")
    return col.cast(pl.Float64).to_numpy()


def _orders(df: pl.DataFrame, where: str, index: dict[str, int], inst: list[Instrument]) -> tuple:
    _require(df, ("ts", "symbol", "side", "qty"), where)
    unknown = [c for c in df.columns if c not in ORDER_COLUMNS]
    if unknown:
        raise OrdersError(f"{where}: unknown column(s) {', '.join(unknown)} (known: {', '.join(ORDER_COLUMNS)})")
    ts = _ts_ns(df, where)
    sym = _symbols(df, where, index)
    raw = df.get_column("side").cast(pl.String)
    code = raw.str.to_lowercase().replace_strict({"buy": int(Side.BUY), "sell": int(Side.SELL)}, default=None,
                                                 return_dtype=pl.Int8)
    if code.null_count():
        row = int(code.is_null().arg_max())
        raise OrdersError(f"{where}: row {row}: side {raw[row]!r} is not buy or sell")
    side = code.to_numpy().astype(np.int8)
    if "type" in df.columns:
        for row, t in enumerate(df.get_column("type").cast(pl.String).to_list()):
            if t is not None and t.lower() != "market":
                raise OrdersError(f"{where}: row {row}: order type {t!r} is not supported in this version "
                                  "(market only)")
    for c in _LATER:
        if c in df.columns and df.get_column(c).null_count() < df.height:
            row = int(df.get_column(c).is_not_null().arg_max())
            raise OrdersError(f"{where}: row {row}: column {c} is set but only market orders are supported "
                              "in this version; leave it null")
    qty = _steps(_float_col(df, "qty", where), sym, inst, where, "qty", signed=False)
    tags = df.get_column("tag").cast(pl.String).to_list() if "tag" in df.columns else [None] * df.height
    return ts, sym, side, qty, np.full(df.height, OrderType.MARKET, np.int8), tags


def _signals(df: pl.DataFrame, where: str, index: dict[str, int], inst: list[Instrument]) -> tuple:
    _require(df, SIGNAL_COLUMNS, where)
    unknown = [c for c in df.columns if c not in (*SIGNAL_COLUMNS, "tag")]
    if unknown:
        raise OrdersError(f"{where}: unknown column(s) {', '.join(unknown)} (known: ts, symbol, target, tag)")
    ts = _ts_ns(df, where)
    sym = _symbols(df, where, index)
    target = _steps(_float_col(df, "target", where), sym, inst, where, "target", signed=True)
    tags = df.get_column("tag").cast(pl.String).to_list() if "tag" in df.columns else [None] * df.height
    return ts, sym, np.zeros(df.height, np.int8), target, np.full(df.height, OrderType.TARGET, np.int8), tags


def load_orders(orders: str | Path | pl.DataFrame | None, signals: str | Path | pl.DataFrame | None,
                symbols: list[str], inst: list[Instrument], latency_ns: int) -> OrderBook:
    """Validate and convert; ``inst`` is aligned with ``symbols``."""
    index = {s: i for i, s in enumerate(symbols)}
    parts = []
    if orders is not None:
        df, where = _read(orders, "orders")
        parts.append(_orders(df, where, index, inst))
    if signals is not None:
        df, where = _read(signals, "signals")
        parts.append(_signals(df, where, index, inst))
    if not parts:
        parts.append((np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int8),
                      np.empty(0, np.int64), np.empty(0, np.int8), []))
    ts, sym, side, qty, typ = (np.concatenate([p[i] for p in parts]) for i in range(5))
    tags = [t for p in parts for t in p[5]]
    n = ts.shape[0]
    rec = np.zeros(n, ORDER)
    rec["order_id"] = np.arange(n)
    rec["parent_id"] = -1
    rec["ts"] = ts
    rec["act_ts"] = ts + max(1, int(latency_ns))
    rec["symbol"] = sym
    rec["side"] = side
    rec["type"] = typ
    rec["status"] = OrderStatus.NEW
    rec["qty_steps"] = qty
    rec["position_id"] = -1
    rec["next_working"] = -1
    order = np.argsort(rec["act_ts"], kind="stable")
    return OrderBook(rec[order], tags)
