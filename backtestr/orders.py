"""Strategy input: an orders table and/or a signals table -> ORDER records.

Orders (docs/execution.md §1-§4): ``ts`` and ``symbol`` are required, every other
column is optional: ``id`` (unique, >= 0; default the row's 0-based position, orders first,
then signals), ``action`` (new|modify|cancel|close, default new), ``side``
(buy|sell, required for new), ``qty`` (lots; required for new unless sized
below, optional for modify and close), ``type`` (market|limit|stop|stop_limit,
default market), ``price`` (limit, stop_limit), ``stop`` (stop, stop_limit), ``tif``
(gtc|gtd|ioc, default gtc), ``expire`` (gtd), ``oco`` (group id), ``ref`` (the
id of the order or position a modify, cancel or close refers to), stops ``sl``/
``tp`` (prices), ``sl_ticks``/``tp_ticks`` (whole ticks), ``sl_pct``/``tp_pct``
(percent, at most 4 decimals), trailing ``trail`` (price distance),
``trail_ticks``, ``trail_pct``, ``trail_activation``, ``trail_step`` (ticks),
sizing (docs/risk.md §2) ``sizing`` (qty|notional|equity_pct|risk_pct|kelly,
default qty; new orders only) with ``size`` (money in the account currency for
notional, percent with at most 4 decimals for equity_pct and risk_pct; > 0; the
kernel finds ``qty`` when the order acts, so ``qty`` is left null; kelly uses
``qty`` until the minimum trade count), and ``tag``. Signals: ``ts, symbol,
target`` (signed position in lots), ``tag``; a target is never sized.

A row that can never be right stops the run (``OrdersError`` naming the file,
row counted from 1, and column). A row that is well formed but cannot act is kept and rejected
at once (status ``rejected``): a price off the tick grid (``off_tick``), a GTD
expiry at or before ``ts`` (``expiry_past``), a ``ref`` no order has
(``unknown_ref``), in that order of precedence. Columns a row's action does not
use are ignored, except those refused below (``price`` on market/stop orders,
``stop`` on market/limit orders, ``expire`` without ``tif = gtd`` and ``ref`` on
a new order, ``trail_activation``/``trail_step`` without a trailing stop,
``size`` without a sizing that uses it, ``qty`` on a row sized by notional,
equity_pct or risk_pct).

Every order acts strictly after ``ts`` (docs/architecture.md §3): the records are
sorted stably by ``act_ts = ts + max(1 ns, latency)``; ``ref`` and ``oco_next``
are indices into that sorted array.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from .errors import OrdersError, row_label
from .instruments import Instrument
from .kernels.records import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    ORDER,
    OS_NEW,
    OS_REJECTED,
    OT_LIMIT,
    OT_MARKET,
    OT_STOP,
    OT_STOP_LIMIT,
    OT_TARGET,
    R_BEFORE_DATA,
    R_EXPIRY_PAST,
    R_NONE,
    R_OFF_TICK,
    R_UNKNOWN_REF,
    SZ_EQUITY_PCT,
    SZ_KELLY,
    SZ_NOTIONAL,
    SZ_QTY,
    SZ_RISK_PCT,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
    Action,
    OrderType,
    Side,
    Sizing,
)
from .order_fields import (
    check,
    numbers,
    plain,
    rel_tol,
    stop_spec,
    times,
    to_minor,
    to_ppm,
    to_ticks,
    whole_numbers,
    words,
)

QTY_TOL = 1e-6  # in lot steps
ORDER_COLUMNS = ("id", "action", "ts", "symbol", "side", "qty", "type", "price", "stop", "tif", "expire", "oco",
                 "ref", "sl", "tp", "sl_ticks", "tp_ticks", "sl_pct", "tp_pct", "trail", "trail_ticks",
                 "trail_pct", "trail_activation", "trail_step", "sizing", "size", "tag")
SIGNAL_COLUMNS = ("ts", "symbol", "target")
ACTIONS = {"new": A_NEW, "modify": A_MODIFY, "cancel": A_CANCEL, "close": A_CLOSE}
TYPES = {"market": OT_MARKET, "limit": OT_LIMIT, "stop": OT_STOP, "stop_limit": OT_STOP_LIMIT}
TIFS = {"gtc": TIF_GTC, "gtd": TIF_GTD, "ioc": TIF_IOC}
SIDES = {"buy": int(Side.BUY), "sell": int(Side.SELL)}
SIZINGS = {"qty": SZ_QTY, "notional": SZ_NOTIONAL, "equity_pct": SZ_EQUITY_PCT, "risk_pct": SZ_RISK_PCT,
           "kelly": SZ_KELLY}
_ACTION_NAME = {int(a): a.name.lower() for a in Action}
_TYPE_NAME = {int(t): t.name.lower() for t in OrderType}
_SIZING_NAME = {int(z): z.name.lower() for z in Sizing}
# ORDER fields an input part fills (the rest take their defaults in load_orders)
_FIELDS = ("ts", "expire_ts", "symbol", "side", "type", "action", "tif", "qty_steps", "price_ticks",
           "stop_ticks", "sl_kind", "sl_val", "tp_kind", "tp_val", "trail_kind", "trail_val", "trail_act",
           "trail_step", "ref_id", "oco_group", "sizing", "size_val", "reason")
_DEFAULT = {"ref_id": -1, "oco_group": -1}  # for a part that does not give the field


@dataclass
class OrderBook:
    """ORDER records sorted by (act_ts, input row) and the tags by order id (non-null only)."""

    records: np.ndarray
    tags: dict[int, str]
    qty_rounded: int = 0  # qty and target cells rounded down to whole lot steps (run.qty_rounding = "down")
    carried: pa.Table | None = None  # order_id (ascending) and the input columns the engine does not use


@dataclass
class _Part:
    """One input table converted: ORDER fields by name (input row order), ids, tags."""

    where: str
    fields: dict[str, np.ndarray]
    ids: np.ndarray
    explicit: np.ndarray  # the id came from the ``id`` column
    tags: list[str | None]
    rounded: int = 0  # cells rounded down to whole lot steps
    carried: pl.DataFrame | None = None  # input columns the engine does not use (input row order)


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


def _ts_ns(df: pl.DataFrame, where: str, unit: str | None) -> np.ndarray:
    ts, has = times(df, "ts", where, unit)
    check(~has, where, "ts is missing")
    return ts


def _symbols(df: pl.DataFrame, where: str, index: dict[str, int]) -> np.ndarray:
    col = df.get_column("symbol").cast(pl.String)
    check(col.is_null().to_numpy(), where, "symbol is missing")
    idx = col.replace_strict(index, default=None, return_dtype=pl.Int32)
    if idx.null_count():
        row = int(idx.is_null().arg_max())
        raise OrdersError(f"{where}: {row_label(row)}: unknown symbol {col[row]!r} (this run has: {', '.join(index)})")
    return idx.to_numpy().astype(np.int32)


def _steps(df: pl.DataFrame, qty: np.ndarray, sym: np.ndarray, inst: list[Instrument], where: str, col: str,
           signed: bool, rows: np.ndarray | None = None, rounding: str = "exact") -> tuple[np.ndarray, int]:
    """Lots -> whole lot steps on ``rows`` (all rows when None; 0 elsewhere), and how many
    were rounded.

    A value within round-off of a whole step is that step: QTY_TOL steps, or a few
    ulps of the column's float type (a float32 column's nearest value to 0.3 is 0.3).
    Any other value is refused (``rounding`` "exact") or rounded toward zero to whole
    steps ("down"; counted).
    """
    rows = np.ones(qty.shape[0], bool) if rows is None else rows
    step = np.array([float(i.lot_step) for i in inst])[sym]
    q = np.where(rows, qty, 0.0) / step
    fin = np.isfinite(q)
    qf = np.where(fin, q, 0.0)
    r = np.rint(qf)
    frac = np.abs(qf - r) > np.maximum(QTY_TOL, rel_tol(df, col) * np.abs(qf))
    rounded = rows & fin & frac
    if rounding == "down":
        r = np.where(rounded, np.trunc(qf), r)
        frac = np.zeros_like(frac)
    bad = rows & (~fin | frac | ((r <= 0) if not signed else False))
    if bad.any():
        row = int(np.argmax(bad))
        s = inst[sym[row]]
        if not fin[row] or (not signed and qf[row] <= 0):
            why = "must be a positive number"
        elif frac[row]:
            why = (f"is not a whole number of lot steps of {s.lot_step} (run.qty_rounding = \"down\" "
                   "rounds it down)")
        else:
            why = f"rounds down to 0 lot steps of {s.lot_step}"
        raise OrdersError(f"{where}: {row_label(row)}: {col} {plain(df, col, row)} {why} ({s.symbol})")
    return np.where(rows, r, 0).astype(np.int64), int(rounded.sum())


def _require(df: pl.DataFrame, cols: tuple[str, ...], where: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise OrdersError(f"{where}: missing column(s) {', '.join(missing)} (have: {', '.join(df.columns)})")


def _float_col(df: pl.DataFrame, name: str, where: str) -> np.ndarray:
    col = df.get_column(name)
    if not col.dtype.is_numeric():
        raise OrdersError(f"{where}: column {name} has type {col.dtype}; expected a number")
    if col.null_count():
        raise OrdersError(f"{where}: {row_label(int(col.is_null().arg_max()))}: {name} is missing")
    return col.cast(pl.Float64).to_numpy()


def _tags(df: pl.DataFrame) -> list[str | None]:
    return df.get_column("tag").cast(pl.String).to_list() if "tag" in df.columns else [None] * df.height


def _needed(df: pl.DataFrame, col: str, why: str) -> str:
    return f"{col} is required {why}" + ("" if col in df.columns else f" (there is no {col} column)")


def _sizing(df: pl.DataFrame, where: str, new: np.ndarray, action: np.ndarray, minor_digits: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sizing`` and ``size`` (docs/risk.md §2) -> SZ_* codes, ``size_val`` and the rows sized by amount.

    ``size_val``: minor units of the account currency (notional), ppm of 1
    (equity_pct, risk_pct), 0 otherwise.
    """
    sizing, _ = words(df, "sizing", where, SIZINGS, SZ_QTY)
    check(~new & (sizing != SZ_QTY), where, lambda r: (
        f"sizing {_SIZING_NAME[int(sizing[r])]} is only used by action new, not "
        f"{_ACTION_NAME[int(action[r])]}; leave it null"))
    size, has_size = numbers(df, "size", where)
    money = sizing == SZ_NOTIONAL
    pct = (sizing == SZ_EQUITY_PCT) | (sizing == SZ_RISK_PCT)
    amount = money | pct
    check(amount & ~has_size, where, lambda r: _needed(df, "size", f"for sizing {_SIZING_NAME[int(sizing[r])]}"))
    check(~amount & has_size, where, lambda r: (
        f"size is only used with sizing notional, equity_pct or risk_pct (this row's sizing is "
        f"{_SIZING_NAME[int(sizing[r])]}); leave it null"))
    check(amount & has_size & (size <= 0), where, lambda r: f"size {float(size[r])!r} must be positive")
    val = np.where(money, to_minor(size, money, minor_digits, where, "size"),
                   np.where(pct, to_ppm(size, pct, where, "size"), 0)).astype(np.int64)
    return sizing, val, amount


# columns of the orders log an input column carried into it would clash with
_LOG_COLUMNS = frozenset(ORDER.names) | {f"{c}_code" for c in ORDER.names} | {
    "severity", "filled_qty", "avg_fill_price", "commission"}


def _carried(df: pl.DataFrame, where: str, known: tuple[str, ...]) -> pl.DataFrame | None:
    """The input columns the engine does not use, carried into the orders log as they are."""
    extra = [c for c in df.columns if c not in known]
    clash = [c for c in extra if c in _LOG_COLUMNS]
    if clash:
        raise OrdersError(f"{where}: column(s) {', '.join(clash)} would replace the orders log's column(s) of "
                          f"that name; rename them (the engine reads: {', '.join(known)})")
    return df.select(extra) if extra else None


def _orders(df: pl.DataFrame, where: str, index: dict[str, int], inst: list[Instrument], minor_digits: int,
            unit: str | None = None, rounding: str = "exact") -> _Part:
    carried = _carried(df, where, ORDER_COLUMNS)
    _require(df, ("ts", "symbol"), where)
    n = df.height
    ts = _ts_ns(df, where, unit)
    sym = _symbols(df, where, index)
    tick = np.array([float(i.tick_size) for i in inst], np.float64)[sym]
    action, _ = words(df, "action", where, ACTIONS, A_NEW)
    typ, _ = words(df, "type", where, TYPES, OT_MARKET)
    tif, _ = words(df, "tif", where, TIFS, TIF_GTC)
    side, has_side = words(df, "side", where, SIDES, 0)
    new, mod, cancel, close = (action == a for a in (A_NEW, A_MODIFY, A_CANCEL, A_CLOSE))
    typ = np.where(new, typ, OT_MARKET).astype(np.int8)
    tif = np.where(new, tif, TIF_GTC).astype(np.int8)
    check(new & ~has_side, where, _needed(df, "side", "for action new"))
    side = np.where(new, side, 0).astype(np.int8)

    # quantity: required for new (unless sized by an amount: the kernel finds it when the order
    # acts), optional (0 = unchanged / all) for modify and close
    sizing, size_val, sized = _sizing(df, where, new, action, minor_digits)
    qty, has_qty = numbers(df, "qty", where)
    check(new & ~sized & ~has_qty, where, lambda r: _needed(
        df, "qty", "for sizing kelly (the quantity until the minimum trade count)" if sizing[r] == SZ_KELLY
        else "for action new"))
    check(sized & has_qty, where, lambda r: (
        f"qty is not used with sizing {_SIZING_NAME[int(sizing[r])]} (the quantity is computed from size); "
        "leave it null"))
    qty_steps, n_rounded = _steps(df, qty, sym, inst, where, "qty", signed=False, rows=has_qty & (new | mod | close),
                                  rounding=rounding)

    # limit and stop prices
    price, has_price = numbers(df, "price", where)
    stop, has_stop = numbers(df, "stop", where)
    wants_price = new & ((typ == OT_LIMIT) | (typ == OT_STOP_LIMIT))
    wants_stop = new & ((typ == OT_STOP) | (typ == OT_STOP_LIMIT))
    for col, want, has in (("price", wants_price, has_price), ("stop", wants_stop, has_stop)):
        check(want & ~has, where, lambda r, col=col: _needed(df, col, f"for type {_TYPE_NAME[int(typ[r])]}"))
        check(new & ~want & has, where, lambda r, col=col: (
            f"{col} is not used by a {_TYPE_NAME[int(typ[r])]} order; leave it null"))
    for col, v, has in (("price", price, has_price), ("stop", stop, has_stop)):
        check(has & (new | mod) & (v <= 0), where,
              lambda r, col=col, v=v: f"{col} {float(v[r])!r} must be positive")
    price_ticks, off_price = to_ticks(price, has_price & (new | mod), tick, rel_tol(df, "price"))
    stop_ticks, off_stop = to_ticks(stop, has_stop & (new | mod), tick, rel_tol(df, "stop"))

    # time in force
    expire, has_exp = times(df, "expire", where, unit)
    gtd = new & (tif == TIF_GTD)
    check(gtd & ~has_exp, where, _needed(df, "expire", "for tif gtd"))
    check(new & ~gtd & has_exp, where, "expire is only used with tif gtd; leave it null or set tif = gtd")
    expire_ts = np.where(gtd, expire, 0)
    past = gtd & (expire <= ts)

    # references and groups
    ids, has_id = whole_numbers(df, "id", where)
    ids = np.where(has_id, ids, np.arange(n, dtype=np.int64))
    ref, has_ref = whole_numbers(df, "ref", where)
    check((mod | cancel) & ~has_ref, where,
          lambda r: _needed(df, "ref", f"for action {_ACTION_NAME[int(action[r])]}"))
    check(new & has_ref, where, "ref is only used by modify, cancel and close; leave it null")
    oco, has_oco = whole_numbers(df, "oco", where)

    # position stops (trail is the last of the loop: has_trail is the trailing stop's)
    stops = new | mod
    fields: dict[str, np.ndarray] = {}
    off = off_price | off_stop
    for base in ("sl", "tp", "trail"):
        kind, val, off_b, has_trail = stop_spec(df, base, where, tick, stops, mod)
        fields[f"{base}_kind"], fields[f"{base}_val"] = kind, val
        off |= off_b
    trail_act, has_act = whole_numbers(df, "trail_activation", where, "a whole number of ticks")
    trail_step, has_step = whole_numbers(df, "trail_step", where, "a whole number of ticks")
    for col, has in (("trail_activation", has_act), ("trail_step", has_step)):
        check(stops & has & ~has_trail, where, f"{col} needs trail, trail_ticks or trail_pct on the same row")

    reason = np.where(off, R_OFF_TICK, np.where(past, R_EXPIRY_PAST, R_NONE))
    fields.update(
        ts=ts, expire_ts=expire_ts, symbol=sym, side=side, type=typ, action=action, tif=tif,
        qty_steps=qty_steps, price_ticks=np.where(wants_price | mod, price_ticks, 0),
        stop_ticks=np.where(wants_stop | mod, stop_ticks, 0),
        trail_act=np.where(stops & has_trail, trail_act, 0),
        trail_step=np.where(stops & has_trail, trail_step, 0),
        ref_id=np.where(has_ref & ~new, ref, -1), oco_group=np.where(new & has_oco, oco, -1), reason=reason,
        sizing=sizing, size_val=size_val,
    )
    return _Part(where, fields, ids, has_id, _tags(df), n_rounded, carried)


def _signals(df: pl.DataFrame, where: str, index: dict[str, int], inst: list[Instrument], first_id: int,
             unit: str | None = None, rounding: str = "exact") -> _Part:
    _require(df, SIGNAL_COLUMNS, where)
    carried = _carried(df, where, (*SIGNAL_COLUMNS, "tag", "sizing", "size"))
    # a target is never sized (docs/risk.md §2): only sizing qty (or null) is accepted
    sizing, _ = words(df, "sizing", where, SIZINGS, SZ_QTY)
    check(sizing != SZ_QTY, where, lambda r: (
        f"sizing {_SIZING_NAME[int(sizing[r])]} is not used by a target; leave it null"))
    _, has_size = numbers(df, "size", where)
    check(has_size, where, "size is not used by a target; leave it null")
    n = df.height
    ts = _ts_ns(df, where, unit)
    sym = _symbols(df, where, index)
    target, n_rounded = _steps(df, _float_col(df, "target", where), sym, inst, where, "target", signed=True,
                               rounding=rounding)
    fields = {"ts": ts, "symbol": sym, "qty_steps": target, "type": np.full(n, OT_TARGET, np.int8)}
    return _Part(where, fields, np.arange(first_id, first_id + n, dtype=np.int64), np.zeros(n, bool), _tags(df),
                 n_rounded, carried)


def _check_unique(parts: list[_Part], ids: np.ndarray) -> None:
    """Refuse a repeated id, naming the row that gave it (explicit ids before row numbers)."""
    if ids.shape[0] < 2:
        return
    by_id = np.argsort(ids, kind="stable")
    s = ids[by_id]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.shape[0] == 0:
        return
    a, b = by_id[dup], by_id[dup + 1]  # a < b: stable sort of the input rows
    j = int(np.argmin(b))
    a, b = int(a[j]), int(b[j])
    starts = np.cumsum([0] + [p.ids.shape[0] for p in parts])

    def locate(k: int) -> tuple[_Part, int]:
        i = int(np.searchsorted(starts, k, side="right")) - 1
        return parts[i], k - int(starts[i])

    (pa_, ra), (pb, rb) = locate(a), locate(b)
    if not pb.explicit[rb]:  # report the row that wrote the id
        (pa_, ra), (pb, rb) = (pb, rb), (pa_, ra)
    other = row_label(ra) if pa_ is pb else f"{pa_.where} {row_label(ra)}"
    note = "" if pa_.explicit[ra] else " (rows without an id take their 0-based position, orders first, then signals)"
    raise OrdersError(f"{pb.where}: {row_label(rb)}: id {int(ids[b])} is also the id of {other}{note}")


def _oco_ring(group: np.ndarray) -> np.ndarray:
    """Next index of the same group (ascending, the last back to the first); -1 outside groups."""
    out = np.full(group.shape[0], -1, np.int64)
    k = np.flatnonzero(group >= 0)
    if k.shape[0] == 0:
        return out
    o = np.lexsort((k, group[k]))
    ks, gs = k[o], group[k][o]
    last = np.r_[gs[1:] != gs[:-1], True]
    start = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    first = ks[start][np.cumsum(np.r_[True, gs[1:] != gs[:-1]]) - 1]
    out[ks] = np.where(last, first, np.roll(ks, -1))
    return out


def load_orders(orders: str | Path | pl.DataFrame | None, signals: str | Path | pl.DataFrame | None,
                symbols: list[str], inst: list[Instrument], latency_ns: int, *, minor_digits: int = 2,
                ts_unit: str | None = None, qty_rounding: str = "exact") -> OrderBook:
    """Validate and convert; ``inst`` is aligned with ``symbols``.

    ``minor_digits``: decimal places of the account currency's minor unit (a
    ``notional`` size must be whole minor units). ``ts_unit``: the unit of integer
    ``ts``/``expire`` columns (refused without one). ``qty_rounding``: "exact" refuses a
    ``qty`` or ``target`` that is not whole lot steps, "down" rounds it toward zero.
    """
    index = {s: i for i, s in enumerate(symbols)}
    parts: list[_Part] = []
    if orders is not None:
        df, where = _read(orders, "orders")
        parts.append(_orders(df, where, index, inst, minor_digits, ts_unit, qty_rounding))
    if signals is not None:
        df, where = _read(signals, "signals")
        parts.append(_signals(df, where, index, inst, sum(p.ids.shape[0] for p in parts), ts_unit, qty_rounding))
    ids = np.concatenate([p.ids for p in parts]) if parts else np.empty(0, np.int64)
    _check_unique(parts, ids)
    n = ids.shape[0]
    # columns in input order, then permuted once into the sorted records (no struct-array copy)
    cols = {f: np.concatenate([p.fields[f] if f in p.fields else np.full(p.ids.shape[0], _DEFAULT.get(f, 0))
                               for p in parts]) if parts else np.zeros(0, np.int64) for f in _FIELDS}
    order = np.argsort(cols["ts"], kind="stable")  # = by act_ts: the latency is the same for all
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    ref_id, reason = cols["ref_id"], cols["reason"]
    # ref ids -> internal indices after the sort; an id no order has is rejected (unknown_ref)
    ref = np.full(n, -1, np.int64)
    has_ref = ref_id >= 0
    if has_ref.any():
        by_id = np.argsort(ids, kind="stable")
        j = np.minimum(np.searchsorted(ids[by_id], ref_id), n - 1)
        found = has_ref & (ids[by_id][j] == ref_id)
        ref = np.where(found, pos[by_id[j]], -1)
        reason = np.where(has_ref & ~found & (reason == R_NONE), R_UNKNOWN_REF, reason)
    rec = np.zeros(n, ORDER)
    for f in _FIELDS:
        if f != "reason":
            rec[f] = cols[f][order]
    rec["order_id"] = ids[order]
    rec["act_ts"] = rec["ts"] + max(1, int(latency_ns))
    rec["reason"] = reason[order]
    rec["status"] = np.where(rec["reason"] != R_NONE, OS_REJECTED, OS_NEW)
    rec["ref"] = ref[order]
    rec["oco_next"] = _oco_ring(rec["oco_group"])
    for f in ("parent_id", "position_id", "next_working"):
        rec[f] = -1
    tags = {int(i): t for p in parts for i, t in zip(p.ids.tolist(), p.tags, strict=True) if t is not None}
    return OrderBook(rec, tags, sum(p.rounded for p in parts), _carried_table(parts))


def _carried_table(parts: list[_Part]) -> pa.Table | None:
    """order_id and the carried columns of every part (null where a part lacks one), by id."""
    frames = [p.carried.with_columns(pl.Series("order_id", p.ids)) for p in parts if p.carried is not None]
    if not frames:
        return None
    try:
        df = pl.concat(frames, how="diagonal_relaxed")
    except Exception as exc:  # noqa: BLE001 - types of the user's columns that do not combine
        raise OrdersError(f"carried columns of the orders and signals do not combine: {exc}") from None
    return df.select("order_id", pl.exclude("order_id")).sort("order_id").to_arrow()


def reject_before_data(rec: np.ndarray, first_ts: int) -> int:
    """Reject (``before_data``) the market, target and close orders that would act before the
    first tick of the run, ``first_ts`` (docs/execution.md §2); working orders (limit, stop,
    stop-limit), modifies and cancels carry into the data. Returns how many were rejected."""
    early = (rec["status"] == OS_NEW) & (rec["act_ts"] < first_ts)
    entry = (rec["action"] == A_NEW) & ((rec["type"] == OT_MARKET) | (rec["type"] == OT_TARGET))
    hit = early & (entry | (rec["action"] == A_CLOSE))
    rec["status"][hit] = OS_REJECTED
    rec["reason"][hit] = R_BEFORE_DATA
    return int(hit.sum())
