"""Run folders built by hand with the real log schemas, for the analytics tests.

The records use the kernel's dtypes (kernels/records.py) and are turned into
Arrow tables by the writer's own ``Decoder``, so the columns are exactly
those of a run's logs (docs/outputs.md). Money is in cents (2 digits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from backtestr.kernels.records import EQUITY, FILL, ORDER, POSITION

from backtestr.writer import Decoder

NS = 10**9
DIGITS = 2
INIT = 10_000_000  # 100,000.00 in cents


def utc_ns(text: str) -> int:
    """``'2024-03-08T14:00'`` (UTC) -> ns since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) * NS


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def equity_records(rows: Sequence[tuple[int, int]], initial: int = INIT) -> np.ndarray:
    """``[(ts_ns, equity_minor), ...]`` -> equity records; drawdown from the running peak (from ``initial``)."""
    rec = np.zeros(len(rows), EQUITY)
    peak = initial
    for i, (t, e) in enumerate(rows):
        peak = max(peak, e)
        rec[i]["ts"], rec[i]["equity_minor"], rec[i]["cash_minor"] = t, e, e
        rec[i]["drawdown_minor"] = peak - e
    return rec


def position_records(trades: Sequence[dict[str, Any]]) -> np.ndarray:
    """Closed positions from dicts of POSITION fields (``net`` sets realized P&L with the costs added)."""
    rec = np.zeros(len(trades), POSITION)
    for i, t in enumerate(trades):
        t = dict(t)
        rec[i]["position_id"] = rec[i]["open_order_id"] = t.pop("position_id", i)
        rec[i]["parent_id"] = -1
        rec[i]["side"] = t.pop("side", 1)
        rec[i]["entry_steps"] = rec[i]["exit_steps"] = rec[i]["max_qty_steps"] = 100
        rec[i]["entry_value"] = t.pop("entry_ticks", 110_000) * 100
        rec[i]["exit_value"] = t.pop("exit_ticks", 110_000) * 100
        net = t.pop("net", None)
        for k, v in t.items():
            rec[i][k] = v
        if net is not None:
            rec[i]["realized_pnl_minor"] = net + rec[i]["commission_minor"] + rec[i]["swap_minor"]
        rec[i]["exit_reason"] = 1
    return rec


def write_run(folder: Path, *, equity: np.ndarray | None = None, positions: np.ndarray | None = None,
              fills: np.ndarray | None = None, orders: np.ndarray | None = None, tags: dict[int, str] | None = None,
              symbols: Sequence[str] = ("EURUSD",), start: int | None = None, end: int | None = None,
              initial: int = INIT, **summary: Any) -> Path:
    """Write a run folder: the logs given (with the real schemas) and a summary.json."""
    folder.mkdir(parents=True, exist_ok=True)
    dec = Decoder(list(symbols), np.full(len(symbols), 0.00001), np.full(len(symbols), 0.01), DIGITS)
    logs = {"equity": equity, "positions": positions,
            "fills": fills if fills is not None else np.zeros(0, FILL),
            "orders": orders if orders is not None else np.zeros(0, ORDER)}
    for kind, rec in logs.items():
        if rec is None:
            continue
        pq.write_table(dec.table(kind, rec, tags if kind == "orders" else None), folder / f"{kind}.parquet")
    ts = [int(t) for t in (equity["ts"] if equity is not None and equity.shape[0] else [])]
    start = start if start is not None else (ts[0] if ts else utc_ns("2024-01-02T00:00"))
    end = end if end is not None else (ts[-1] if ts else start)
    dd = int(equity["drawdown_minor"].max()) if equity is not None and equity.shape[0] else 0
    s = {"version": "test", "account_currency": "USD", "symbols": list(symbols), "start": _iso(start),
         "end": _iso(end), "ticks": len(ts), "initial_cash": initial / 10**DIGITS, "initial_cash_minor": initial,
         "max_drawdown_minor": dd, "max_drawdown": dd / 10**DIGITS}
    if equity is not None and equity.shape[0]:
        peak = np.maximum.accumulate(np.concatenate(([initial], equity["equity_minor"])))[1:]
        s["max_drawdown_pct"] = float(np.max(equity["drawdown_minor"] / peak)) * 100
    s.update(summary)
    (folder / "summary.json").write_text(json.dumps(s))
    return folder
