"""Record buffers -> Arrow tables -> Parquet, written whole or not at all.

Each log keeps the columns of its record dtype (integers are authoritative),
with time columns typed as UTC timestamps, enum codes joined by their names,
and float convenience columns for analytics (docs/outputs.md).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import BacktestrError
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

TS_COLS = ("ts", "act_ts", "expire_ts", "fill_ts", "open_ts", "close_ts")
NULL_WHEN_ZERO = ("expire_ts", "fill_ts", "close_ts")
DROP = INTERNAL  # links and working state of the live records are not output
KINDS = ("orders", "fills", "positions", "equity", "events")
_SIDE = {1: "buy", -1: "sell", 0: ""}
_ORDER_EVENTS = (EV_REJECTED,)  # events whose side is an order's (buy/sell), not a position's
_POS_SIDE = {1: "long", -1: "short", 0: ""}


@dataclass
class Decoder:
    symbols: list[str]
    tick_size: np.ndarray  # float64 per symbol
    lot_step: np.ndarray
    minor_digits: int

    def money(self, minor: np.ndarray) -> np.ndarray:
        return minor.astype(np.float64) / 10.0**self.minor_digits

    def table(self, kind: str, rec: np.ndarray, tags: Mapping[int, str] | None = None) -> pa.Table:
        cols: dict[str, pa.Array] = {}
        for name in rec.dtype.names:
            if name in DROP.get(kind, ()):
                continue
            a = rec[name]
            if name in TS_COLS:
                mask = (a == 0) if name in NULL_WHEN_ZERO else None
                cols[name] = pa.array(a, pa.int64(), mask=mask).cast(pa.timestamp("ns", tz="UTC"))
            else:
                cols[name] = pa.array(a)
        if "symbol" in rec.dtype.names:
            idx = rec["symbol"].astype(np.int32)
            none = idx < 0  # account events have no symbol
            idx = np.where(none, 0, idx)
            cols["symbol_name"] = pa.DictionaryArray.from_arrays(
                pa.array(idx, mask=none if none.any() else None), pa.array(self.symbols, pa.string()))
            tick, step = self.tick_size[idx], self.lot_step[idx]
        else:
            tick = step = np.empty(0)
        getattr(self, "_" + kind)(rec, cols, tick, step)
        if tags is not None:
            cols["tag"] = pa.array([tags.get(i) for i in rec["order_id"].tolist()], pa.string())
        return pa.table(cols)

    @staticmethod
    def _names(codes: np.ndarray, names: dict[int, str]) -> pa.Array:
        """Enum codes to their names, vectorised (unknown codes keep their number)."""
        keys = np.unique(np.concatenate([np.fromiter(names, np.int64), codes.astype(np.int64)]))
        labels = pa.array([names.get(int(k), str(int(k))) for k in keys], pa.string())
        return labels.take(pa.array(np.searchsorted(keys, codes)))

    @staticmethod
    def _prices(ticks: np.ndarray, tick: np.ndarray) -> pa.Array:
        """Prices in ticks -> float prices, null where 0 (not set)."""
        return pa.array(ticks * tick, pa.float64(), mask=ticks == 0)

    def _orders(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        c["side_name"] = self._names(r["side"], _SIDE)
        c["type_name"] = self._names(r["type"], enum_names(OrderType))
        c["action_name"] = self._names(r["action"], enum_names(Action))
        c["tif_name"] = self._names(r["tif"], enum_names(TimeInForce))
        c["status_name"] = self._names(r["status"], enum_names(OrderStatus))
        c["reason_name"] = self._names(r["reason"], enum_names(Reason))
        c["severity_name"] = self._names(np.where(r["status"] == OrderStatus.REJECTED, SEVERITY[r["reason"]], -1),
                                         {**enum_names(Severity), -1: ""})
        c["sizing_name"] = self._names(r["sizing"], enum_names(Sizing))
        for k in ("sl", "tp", "trail"):
            c[f"{k}_kind_name"] = self._names(r[f"{k}_kind"], enum_names(StopKind))
        c["price"] = self._prices(r["price_ticks"], tick)
        c["stop"] = self._prices(r["stop_ticks"], tick)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["filled_qty"] = pa.array(r["filled_steps"] * step)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(r["filled_steps"] > 0, r["fill_value"] / np.maximum(r["filled_steps"], 1) * tick, np.nan)
        c["avg_fill_price"] = pa.array(avg, mask=r["filled_steps"] == 0)
        c["commission"] = pa.array(self.money(r["commission_minor"]))

    def _fills(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        c["side_name"] = self._names(r["side"], _SIDE)
        c["effect_name"] = self._names(r["effect"], enum_names(Effect))
        c["reason_name"] = self._names(r["reason"], enum_names(Reason))
        c["price"] = pa.array(r["price_ticks"] * tick)
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["commission"] = pa.array(self.money(r["commission_minor"]))
        c["realized_pnl"] = pa.array(self.money(r["realized_pnl_minor"]))
        c["cash_after"] = pa.array(self.money(r["cash_after_minor"]))

    def _positions(self, r: np.ndarray, c: dict, tick: np.ndarray, step: np.ndarray) -> None:
        c["side_name"] = self._names(r["side"], _POS_SIDE)
        c["exit_reason_name"] = self._names(r["exit_reason"], enum_names(Reason))
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
        c["trail_kind_name"] = self._names(r["trail_kind"], enum_names(StopKind))
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
        c["event_name"] = self._names(r["event"], enum_names(Event))
        c["severity_name"] = self._names(r["severity"], enum_names(Severity))
        c["reason_name"] = self._names(r["reason"], enum_names(Reason))
        side = np.where(np.isin(r["event"], _ORDER_EVENTS), r["side"], 2 * r["side"])
        c["side_name"] = self._names(side, {1: "buy", -1: "sell", 2: "long", -2: "short", 0: ""})
        c["qty"] = pa.array(r["qty_steps"] * step)
        c["price"] = self._prices(r["price_ticks"], tick)


class LogSink:
    """Collects log rows in memory, or streams them to Parquet in a staging folder.

    Tables are built on the caller's thread and written by one background
    thread in the order they were added (pyarrow writes without the GIL), so
    writing overlaps the kernel and the building of the next table. ``close``
    waits for every write and raises the first error.
    """

    def __init__(self, decoder: Decoder, staging: Path | None) -> None:
        self.decoder = decoder
        self.staging = staging
        self.parts: dict[str, list[pa.Table]] = {k: [] for k in KINDS}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="backtestr-write") if staging is not None else None
        self.pending: list[Future] = []

    def add(self, kind: str, rec: np.ndarray, tags: Mapping[int, str] | None = None) -> None:
        if rec.shape[0] == 0 and kind in self.writers:
            return
        t = self.decoder.table(kind, rec, tags)
        if self.staging is None:
            self.parts[kind].append(t)
            return
        w = self.writers.get(kind)
        if w is None:
            w = pq.ParquetWriter(self.staging / f"{kind}.parquet", t.schema, compression="zstd")
            self.writers[kind] = w
        assert self.pool is not None
        self.pending.append(self.pool.submit(w.write_table, t))
        self.pending = [f for f in self.pending if not f.done() or f.exception() is not None]

    def abort(self) -> None:
        """Stop the writer thread without waiting for queued writes (after an error)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> dict[str, pa.Table]:
        if self.pool is not None:
            for w in self.writers.values():
                self.pending.append(self.pool.submit(w.close))
            self.pool.shutdown(wait=True)
            for f in self.pending:
                f.result()  # the first error of a write, if any
        return {k: pa.concat_tables(v) for k, v in self.parts.items() if v}


def staging_dir(out: Path, force: bool) -> Path:
    """Create the folder results are written into before they are renamed to ``out``."""
    if out.exists() and not force:
        raise BacktestrError(f"output folder {out} exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def publish(tmp: Path, out: Path) -> None:
    """Atomically move the finished staging folder into place."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
