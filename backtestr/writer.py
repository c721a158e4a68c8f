"""Record buffers -> Arrow tables -> Parquet, written whole or not at all.

Each log keeps the columns of its record dtype (integers are authoritative),
with time columns typed as UTC timestamps, each enum column as its names (an
Arrow dictionary column: a Polars Categorical) beside its integer ``*_code``,
and float convenience columns for analytics (docs/outputs.md).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .kernels.records import (
    EV_REJECTED,
    INTERNAL,
    SEVERITY,
    Action,
    Effect,
    Event,
    OrderStatus,
    OrderType,
    Reason,
    Severity,
    Sizing,
    StopKind,
    TimeInForce,
    enum_names,
)
from .outputs import Staged, stage

TS_COLS = ("ts", "act_ts", "expire_ts", "fill_ts", "open_ts", "close_ts")
NULL_WHEN_ZERO = ("expire_ts", "fill_ts", "close_ts")
DROP = INTERNAL  # links and working state of the live records are not output
KINDS = ("orders", "fills", "positions", "equity", "events")
_SIDE = {1: "buy", -1: "sell"}  # 0 (none): null
_ORDER_EVENTS = (EV_REJECTED,)  # events whose side is an order's (buy/sell), not a position's
_POS_SIDE = {1: "long", -1: "short"}
_EVENT_SIDE = {**_SIDE, **{2 * k: v for k, v in _POS_SIDE.items() if k}}  # position sides doubled


# enum columns by log: record field -> its names (code -> name); "symbol" is the run's symbols
_ENUMS: dict[str, dict[str, dict[int, str]]] = {
    "orders": {"side": _SIDE, "type": enum_names(OrderType), "action": enum_names(Action),
               "tif": enum_names(TimeInForce), "status": enum_names(OrderStatus), "reason": enum_names(Reason),
               "sizing": enum_names(Sizing), **{f"{k}_kind": enum_names(StopKind) for k in ("sl", "tp", "trail")}},
    "fills": {"side": _SIDE, "effect": enum_names(Effect), "reason": enum_names(Reason)},
    "positions": {"side": _POS_SIDE, "exit_reason": enum_names(Reason), "trail_kind": enum_names(StopKind)},
    "equity": {},
    "events": {"event": enum_names(Event), "severity": enum_names(Severity), "reason": enum_names(Reason),
               "side": _EVENT_SIDE},
}


@dataclass
class Decoder:
    symbols: list[str]
    tick_size: np.ndarray  # float64 per symbol
    lot_step: np.ndarray
    minor_digits: int
    carried: pa.Table | None = None  # orders: order_id (ascending) and input columns carried into the log
    _tag_index: tuple[Mapping[int, str], np.ndarray, pa.Array] | None = field(default=None, init=False, repr=False)

    def money(self, minor: np.ndarray) -> np.ndarray:
        return minor.astype(np.float64) / 10.0**self.minor_digits

    def table(self, kind: str, rec: np.ndarray, tags: Mapping[int, str] | None = None) -> pa.Table:
        cols: dict[str, pa.Array | None] = {}
        enums = _ENUMS[kind]
        for name in rec.dtype.names:
            if name in DROP.get(kind, ()):
                continue
            a = rec[name]
            if name in TS_COLS:
                mask = (a == 0) if name in NULL_WHEN_ZERO else None
                cols[name] = pa.array(a, pa.int64(), mask=mask).cast(pa.timestamp("ns", tz="UTC"))
            elif name in enums or name == "symbol":
                cols[name] = None  # the names, here; the codes beside them
                cols[name + "_code"] = pa.array(a)
            else:
                cols[name] = pa.array(a)
        if "symbol" in rec.dtype.names:
            idx = rec["symbol"].astype(np.int32)
            none = idx < 0  # account events have no symbol
            idx = np.where(none, 0, idx)
            cols["symbol"] = pa.DictionaryArray.from_arrays(
                pa.array(idx, mask=none if none.any() else None), pa.array(self.symbols, pa.string()))
            tick, step = self.tick_size[idx], self.lot_step[idx]
        else:
            tick = step = np.empty(0)
        for name, names in enums.items():
            cols[name] = self._names(rec[name], names)
        getattr(self, "_" + kind)(rec, cols, tick, step)
        if tags is not None:
            cols["tag"] = self._tags(rec["order_id"], tags)
            if self.carried is not None:
                cols.update(self._carried(rec["order_id"]))
        return pa.table(cols)

    def _carried(self, ids: np.ndarray) -> dict[str, pa.Array]:
        """The carried input columns of each order id (null where the order has none)."""
        assert self.carried is not None
        keys = self.carried.column("order_id").to_numpy()
        at = np.minimum(np.searchsorted(keys, ids), keys.shape[0] - 1)
        take = pa.array(at, mask=keys[at] != ids)
        return {c: self.carried.column(c).take(take).combine_chunks() for c in self.carried.column_names
                if c != "order_id"}

    def _tags(self, ids: np.ndarray, tags: Mapping[int, str]) -> pa.Array:
        """The tag of each order id (null where it has none), without a Python loop over rows.

        The sorted index of ``tags`` is built once and kept for the next block.
        """
        if not tags:
            return pa.nulls(ids.shape[0], pa.string())
        if self._tag_index is None or self._tag_index[0] is not tags:
            keys = np.fromiter(tags.keys(), np.int64, len(tags))
            order = np.argsort(keys)
            self._tag_index = (tags, keys[order], pa.array(list(tags.values()), pa.string()).take(pa.array(order)))
        _, keys, values = self._tag_index
        at = np.minimum(np.searchsorted(keys, ids), keys.shape[0] - 1)
        return values.take(pa.array(at, mask=keys[at] != ids))

    @staticmethod
    def _names(codes: np.ndarray, names: dict[int, str]) -> pa.Array:
        """Enum codes to a dictionary column of their names (the dictionary is every name of the
        enum, in code order, the same for every block of a log); an unknown code is null."""
        keys = np.array(sorted(names), np.int64)
        c = codes.astype(np.int64)
        at = np.minimum(np.searchsorted(keys, c), keys.shape[0] - 1)
        unknown = keys[at] != c
        return pa.DictionaryArray.from_arrays(pa.array(at.astype(np.int32), mask=unknown if unknown.any() else None),
                                              pa.array([names[int(k)] for k in keys], pa.string()))

    @staticmethod
    def _prices(ticks: np.ndarray, tick: np.ndarray) -> pa.Array:
        """Prices in ticks -> float prices, null where 0 (not set)."""
        return pa.array(ticks * tick, pa.float64(), mask=ticks == 0)

    def _orders(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        c["severity"] = self._names(np.where(r["status"] == OrderStatus.REJECTED, SEVERITY[r["reason"]], -1),
                                    enum_names(Severity))  # null unless rejected
        c["price"] = self._prices(r["price_ticks"], tick)
        c["stop"] = self._prices(r["stop_ticks"], tick)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["filled_qty"] = pa.array(r["filled_steps"] * step)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(r["filled_steps"] > 0, r["fill_value"] / np.maximum(r["filled_steps"], 1) * tick, np.nan)
        c["avg_fill_price"] = pa.array(avg, mask=r["filled_steps"] == 0)
        c["commission"] = pa.array(self.money(r["commission_minor"]))

    def _fills(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        c["price"] = pa.array(r["price_ticks"] * tick)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["commission"] = pa.array(self.money(r["commission_minor"]))
        c["realized_pnl"] = pa.array(self.money(r["realized_pnl_minor"]))
        c["cash_after"] = pa.array(self.money(r["cash_after_minor"]))

    def _positions(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            c["avg_entry_price"] = pa.array(r["entry_value"] / r["entry_steps"] * tick, mask=r["entry_steps"] == 0)
            c["avg_exit_price"] = pa.array(r["exit_value"] / r["exit_steps"] * tick, mask=r["exit_steps"] == 0)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["max_qty"] = pa.array(r["max_qty_steps"] * step)
        net = r["realized_pnl_minor"] - r["commission_minor"] - r["swap_minor"]
        c["net_pnl_minor"] = pa.array(net)
        c["realized_pnl"] = pa.array(self.money(r["realized_pnl_minor"]))
        c["commission"] = pa.array(self.money(r["commission_minor"]))
        c["swap"] = pa.array(self.money(r["swap_minor"]))
        c["unrealized_pnl"] = pa.array(self.money(r["unrealized_pnl_minor"]))
        c["net_pnl"] = pa.array(self.money(net))
        # (the integer record already has a column trail_stop, in ticks)
        for k, f in (("sl", "sl_ticks"), ("tp", "tp_ticks"), ("trail_stop_price", "trail_stop"),
                     ("mae", "mae_ticks"), ("mfe", "mfe_ticks")):
            c[k] = self._prices(r[f], tick)
        c["mae_money"] = pa.array(self.money(r["mae_minor"]))
        c["mfe_money"] = pa.array(self.money(r["mfe_minor"]))

    def _equity(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        for k in ("cash", "equity", "unrealized", "drawdown"):
            c[k] = pa.array(self.money(r[k + "_minor"]))

    def _events(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        side = np.where(np.isin(r["event"], _ORDER_EVENTS), r["side"], 2 * r["side"])
        c["side"] = self._names(side, _EVENT_SIDE)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["price"] = self._prices(r["price_ticks"], tick)


class LogSink:
    """Collects log rows in memory, or streams them to Parquet in a staging folder.

    With a staging folder, each kind of log has one background thread that
    turns the record blocks into Arrow tables and appends them to its file in
    the order they were added, so decoding and writing (numpy and pyarrow, which
    run without the GIL) overlap the kernel and each other. The blocks handed
    in belong to the sink from then on. ``close`` waits for every write and
    raises the first error.

    A record buffer handed in with ``recycle`` is zeroed by the writer once its
    rows are decoded (the Arrow table holds copies) and given out again by
    ``buffer``, so the kernel writes into memory that is already mapped.
    """

    SPARE = 2  # zeroed buffers kept per kind

    def __init__(self, decoder: Decoder, staging: Path | None) -> None:
        self.decoder = decoder
        self.staging = staging
        self.parts: dict[str, list[pa.Table]] = {k: [] for k in KINDS}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pools: dict[str, ThreadPoolExecutor] = {}
        self.pending: list[Future] = []
        self.spare: dict[str, list[np.ndarray]] = {k: [] for k in KINDS}
        self._lock = threading.Lock()

    def buffer(self, kind: str, like: np.ndarray) -> np.ndarray:
        """A zeroed buffer of the shape and dtype of ``like``: a recycled one, else a new one."""
        with self._lock:
            spare = self.spare[kind]
            for i, b in enumerate(spare):
                if b.shape == like.shape and b.dtype == like.dtype:
                    return spare.pop(i)
        return np.zeros(like.shape[0], like.dtype)

    def add(self, kind: str, rec: np.ndarray, tags: Mapping[int, str] | None = None, recycle: bool = False) -> None:
        """Hand over ``rec`` (not to be changed afterwards) to be written as rows of ``kind``.

        With ``recycle``, ``rec`` is the first rows of a buffer (``rec.base``)
        that ``buffer`` may give out again once those rows are decoded.
        """
        if self.staging is None:
            self.parts[kind].append(self.decoder.table(kind, rec, tags))
            self._recycle(kind, rec, recycle)
            return
        pool = self.pools.get(kind)
        if pool is None:
            pool = self.pools[kind] = ThreadPoolExecutor(1, thread_name_prefix=f"backtestr-{kind}")
        elif rec.shape[0] == 0:
            return
        self.pending.append(pool.submit(self._write, kind, rec, tags, recycle))
        self.pending = [f for f in self.pending if not f.done() or f.exception() is not None]

    def _recycle(self, kind: str, rec: np.ndarray, recycle: bool) -> None:
        base = rec.base
        if (not recycle or not isinstance(base, np.ndarray) or base.dtype != rec.dtype or base.ndim != 1
                or rec.ctypes.data != base.ctypes.data):
            return
        base.view(np.uint8)[:rec.shape[0] * rec.dtype.itemsize] = 0  # the rows after were never written
        with self._lock:
            if len(self.spare[kind]) < self.SPARE:
                self.spare[kind].append(base)

    def _write(self, kind: str, rec: np.ndarray, tags: Mapping[int, str] | None, recycle: bool = False) -> None:
        t = self.decoder.table(kind, rec, tags)
        self._recycle(kind, rec, recycle)
        w = self.writers.get(kind)
        if w is None:
            assert self.staging is not None
            # dictionary pages only for the name columns: numbers encode faster and smaller plain
            names = [f.name for f in t.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
            w = self.writers[kind] = pq.ParquetWriter(self.staging / f"{kind}.parquet", t.schema,
                                                      compression="zstd", use_dictionary=names)
        w.write_table(t)

    def abort(self) -> None:
        """Stop the writer threads without starting queued writes (after an error)."""
        for pool in self.pools.values():
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> dict[str, pa.Table]:
        for kind, pool in self.pools.items():
            self.pending.append(pool.submit(self._finish, kind))
        for pool in self.pools.values():
            pool.shutdown(wait=True)
        for f in self.pending:
            f.result()  # the first error of a write, if any
        return {k: pa.concat_tables(v) for k, v in self.parts.items() if v}

    def _finish(self, kind: str) -> None:
        w = self.writers.get(kind)
        if w is not None:
            w.close()


def staging_dir(out: Path, force: bool) -> Path:
    """Check ``out`` and create the folder a run's results are written into before
    :func:`publish` renames them to ``out`` (backtestr/outputs.py: only an earlier
    run's outputs are replaced, and only with ``force``)."""
    return stage(out, "run", "run", replace=force).path


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def publish(tmp: Path, out: Path) -> None:
    """Atomically move the finished staging folder into place, with its manifest."""
    Staged(tmp, out, "run", "run", replace=True, add=False, replace_arg="force").commit()
