"""A fills table (an account's executions) -> replayed-fill ORDER records (docs/fills.md).

Columns: ``ts``, ``symbol``, ``side`` (buy|sell), ``qty`` (lots, > 0, whole lot
steps), ``price`` (on the tick grid, > 0), ``fee`` (money in the account
currency; negative = a rebate), all required and never null; optional ``id``
(unique whole numbers >= 0, default the row's 0-based position), ``position``
(the account's position id: required by a hedging account, carried as it is
otherwise) and ``tag``. Other columns are carried into the orders log as they
are. A row that breaks a rule stops the run before it starts, naming the file
(or frame), the row (counted from 1) and the column.

Each row becomes one ORDER of type OT_FILL: ``price_ticks`` its price,
``size_val`` its fee in minor units, ``act_ts = ts`` (booked at the first tick of
its symbol at or after ``ts``), ``ref`` (hedging) the internal index of the row
that opened the position it belongs to, -1 for a row that opens one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import polars as pl

from .errors import OrdersError, row_label, term
from .instruments import Instrument
from .kernels.records import (
    MODE_HEDGING,
    ORDER,
    OS_NEW,
    OT_FILL,
    R_NONE,
    SZ_QTY,
    TIF_GTC,
    OrderStatus,
    Reason,
)
from .order_fields import check, numbers, plain, rel_tol, times, to_ticks, whole_numbers, words
from .orders import SIDES, OrderBook, _carried, _read, _steps, _symbols, _tags

FILL_COLUMNS = ("ts", "symbol", "side", "qty", "price", "fee")
KNOWN = (*FILL_COLUMNS, "id", "tag")


@dataclass
class FillBook(OrderBook):
    """The replayed fills as ORDER records, and where each came from (for messages)."""

    where: str = ""
    rows: dict[int, int] = field(default_factory=dict)  # order id -> input row (0-based)

    def _label(self, oid: int) -> str:
        return f"{self.where}: {row_label(self.rows[oid])}"

    def check_start(self, recs: np.ndarray, first_ts: int, symbols: list[str]) -> None:
        """Refuse a fill stamped before the first tick of the run: the position it made
        cannot be marked, and every later fill of its symbol would be booked against the
        wrong position."""
        early = recs["act_ts"] < first_ts
        if early.any():
            o = recs[int(np.argmax(early))]
            raise OrdersError(
                f"{self._label(int(o['order_id']))}: the fill at {_iso(int(o['ts']))} ({symbols[o['symbol']]}) "
                f"is before the first tick of the data ({_iso(first_ts)}); {int(early.sum())} fill(s) are: "
                f"give ticks from before the first fill ({term('data')}), or drop the earlier fills")

    def check_end(self, recs: np.ndarray, symbols: list[str]) -> None:
        """Refuse a fill that no tick of its symbol came at or after, or that could not be
        booked (rejected: a conversion leg without a quote, a position no longer open)."""
        bad = recs["status"] == OrderStatus.REJECTED
        if bad.any():
            o = recs[int(np.argmax(bad))]
            why = {Reason.NO_QUOTE: f"a currency conversion leg of {symbols[o['symbol']]} had no quote yet "
                                    "(docs/currency.md): give ticks of the legs from before the fill",
                   Reason.NOT_WORKING: "the position it names was no longer open"}.get(int(o["reason"]),
                                                                                         "rejected")
            raise OrdersError(f"{self._label(int(o['order_id']))}: the fill at {_iso(int(o['ts']))} could not be "
                              f"booked: {why} ({int(bad.sum())} fill(s) could not)")
        open_ = np.isin(recs["status"], (OrderStatus.NEW, OrderStatus.WORKING))
        if open_.any():
            o = recs[int(np.argmax(open_))]
            raise OrdersError(
                f"{self._label(int(o['order_id']))}: no tick of {symbols[o['symbol']]} at or after the fill's "
                f"time {_iso(int(o['ts']))} ({int(open_.sum())} fill(s) after their symbol's last tick): "
                f"give ticks that cover the fills ({term('data')}, data.end), or drop the later fills")


def _iso(ns: int) -> str:
    return str(np.datetime64(ns, "ns")) + "Z"


def fee_minor(df: pl.DataFrame, where: str, digits: int) -> np.ndarray:
    """The ``fee`` column -> whole minor units of the account currency.

    The one rule: the fee as written (a decimal column's value, an integer, or a
    float's shortest decimal text) times 10**digits, rounded to the nearest whole
    minor unit, ties to even.
    """
    col = df.get_column("fee")
    if not (col.dtype.is_numeric() or col.dtype == pl.Null):
        raise OrdersError(f"{where}: column fee has type {col.dtype}; expected a number")
    check(col.is_null().to_numpy(), where, "fee is missing (give 0 for a fill without a fee)")
    if col.dtype.is_float():
        v = col.cast(pl.Float64).to_numpy()
        check(~np.isfinite(v), where, lambda r: f"fee {float(v[r])!r} is not a finite number")
        text = [str(np.float32(x)) for x in v] if col.dtype == pl.Float32 else [repr(float(x)) for x in v]
        values = [Decimal(t) for t in text]
    else:
        values = [Decimal(x) if not isinstance(x, Decimal) else x for x in col.to_list()]
    scale = Decimal(10) ** digits
    out = np.array([int((d * scale).to_integral_value(rounding=ROUND_HALF_EVEN)) for d in values], np.int64)
    check(np.abs(out) >= 2**62, where, lambda r: f"fee {plain(df, 'fee', r)} is too large")
    return out


def _positions(df: pl.DataFrame, where: str, sym: np.ndarray, side: np.ndarray, qty: np.ndarray,
               order: np.ndarray) -> np.ndarray:
    """Hedging: for each row (input order) the input row that opened the position it belongs to,
    -1 for a row that opens one. Rows are walked in booking order; a row of the opposite side
    closes at most what its position holds."""
    if "position" not in df.columns:
        raise OrdersError(f"{where}: missing column position: a hedging account's fills must say which "
                          "position each belongs to (the account's position id)")
    col = df.get_column("position")
    check(col.is_null().to_numpy(), where, "position is missing (a hedging account needs it on every fill)")
    keys = col.cast(pl.String).to_list()
    opened: dict[tuple[int, str], tuple[int, int, int]] = {}  # key -> (opening row, side, open steps)
    ref = np.full(df.height, -1, np.int64)
    for i in order.tolist():
        k = (int(sym[i]), keys[i])
        cur = opened.get(k)
        if cur is None:
            opened[k] = (i, int(side[i]), int(qty[i]))
            continue
        first, pside, open_q = cur
        ref[i] = first
        if side[i] == pside:
            opened[k] = (first, pside, open_q + int(qty[i]))
        elif qty[i] > open_q:
            raise OrdersError(f"{where}: {row_label(i)}: qty {plain(df, 'qty', i)} closes more than position "
                              f"{keys[i]} holds then ({open_q} lot steps, opened at {row_label(first)})")
        elif qty[i] == open_q:
            del opened[k]  # closed: the key may open a new position later
        else:
            opened[k] = (first, pside, open_q - int(qty[i]))
    return ref


def load_fills(src: str | Path | pl.DataFrame, symbols: list[str], inst: list[Instrument], *,
               minor_digits: int, account_mode: int, ts_unit: str | None = None) -> FillBook:
    """Validate and convert a fills table; ``inst`` is aligned with ``symbols``."""
    df, where = _read(src, "fills")
    carried = _carried(df, where, KNOWN)
    missing = [c for c in FILL_COLUMNS if c not in df.columns]
    if missing:
        raise OrdersError(f"{where}: missing column(s) {', '.join(missing)} (a fills table has "
                          f"{', '.join(FILL_COLUMNS)}; have: {', '.join(df.columns)})")
    n = df.height
    ts, has_ts = times(df, "ts", where, ts_unit)
    check(~has_ts, where, "ts is missing")
    sym = _symbols(df, where, {s: i for i, s in enumerate(symbols)})
    side, has_side = words(df, "side", where, SIDES, 0)
    check(~has_side, where, "side is missing")
    qty, has_qty = numbers(df, "qty", where)
    check(~has_qty, where, "qty is missing")
    steps, _ = _steps(df, qty, sym, inst, where, "qty", signed=False)
    price, has_price = numbers(df, "price", where)
    check(~has_price, where, "price is missing")
    check(price <= 0, where, lambda r: f"price {plain(df, 'price', r)} must be positive")
    tick = np.array([float(i.tick_size) for i in inst], np.float64)[sym]
    ticks, off = to_ticks(price, has_price, tick, rel_tol(df, "price"))
    check(off, where, lambda r: (f"price {plain(df, 'price', r)} is not on the tick grid of "
                                 f"{symbols[sym[r]]} (tick size {inst[sym[r]].tick_size})"))
    fee = fee_minor(df, where, minor_digits)
    ids, has_id = whole_numbers(df, "id", where)
    ids = np.where(has_id, ids, np.arange(n, dtype=np.int64))
    uniq, first = np.unique(ids, return_index=True)
    if uniq.shape[0] < n:
        dup = np.ones(n, bool)
        dup[first] = False
        r = int(np.argmax(dup))
        raise OrdersError(f"{where}: {row_label(r)}: id {int(ids[r])} is also the id of "
                          f"{row_label(int(np.argmax(ids == ids[r])))}")
    order = np.argsort(ts, kind="stable")  # booking order: by ts, then row
    ref_row = (_positions(df, where, sym, side, steps, order) if account_mode == MODE_HEDGING
               else np.full(n, -1, np.int64))
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    rec = np.zeros(n, ORDER)
    rec["order_id"] = ids[order]
    rec["ts"] = ts[order]
    rec["act_ts"] = ts[order]  # the fill has happened: booked on the first tick at or after it
    rec["symbol"] = sym[order]
    rec["side"] = side[order]
    rec["type"] = OT_FILL
    rec["tif"] = TIF_GTC
    rec["sizing"] = SZ_QTY
    rec["qty_steps"] = steps[order]
    rec["price_ticks"] = ticks[order]
    rec["size_val"] = fee[order]
    ref = ref_row[order]
    rec["ref"] = np.where(ref >= 0, pos[np.maximum(ref, 0)], -1)
    rec["ref_id"] = np.where(ref >= 0, ids[np.maximum(ref, 0)], -1)
    rec["status"] = OS_NEW
    rec["reason"] = R_NONE
    for f in ("parent_id", "position_id", "next_working", "oco_group", "oco_next"):
        rec[f] = -1
    tags = {int(i): t for i, t in zip(ids.tolist(), _tags(df), strict=True) if t is not None}
    extra = carried.with_columns(pl.Series("order_id", ids)).sort("order_id") if carried is not None else None
    table = extra.select("order_id", pl.exclude("order_id")).to_arrow() if extra is not None else None
    return FillBook(rec, tags, 0, table, where=where, rows={int(i): r for r, i in enumerate(ids.tolist())})


def replay_params(p: np.ndarray) -> None:
    """A replay makes no fills of its own: no stop-out, no close at the end of the data."""
    p["so_ppm"] = -1
    p["close_at_end"] = 0
