"""The run summary, with the ledger identity checked before it is written."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from .config import Config
from .errors import BacktestrError
from .kernels.records import SEVERITY, OrderStatus, Reason, Severity, enum_names
from .reader import StreamStats


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rejections(orders: np.ndarray) -> dict[str, int]:
    """Rejected orders counted by reason name."""
    names = enum_names(Reason)
    codes, counts = np.unique(orders["reason"][orders["status"] == OrderStatus.REJECTED], return_counts=True)
    return {names.get(int(c), str(int(c))): int(n) for c, n in zip(codes, counts, strict=True)}


def _by_severity(orders: np.ndarray) -> dict[str, int]:
    names = enum_names(Severity)
    sev = SEVERITY[orders["reason"][orders["status"] == OrderStatus.REJECTED]]
    codes, counts = np.unique(sev, return_counts=True)
    return {names[int(c)]: int(n) for c, n in zip(codes, counts, strict=True)}


def build_summary(a: Any, orders: np.ndarray, open_pos: np.ndarray, params: Any, cfg: Config,
                  symbols: list[str], stats: StreamStats, first_ts: int, wall_s: float, kernel_s: float,
                  digits: int, version: str, compile_s: float = 0.0, *, qty_rounded: int = 0) -> dict[str, Any]:
    """``compile_s``: time spent compiling kernels during the run (0 once cached); it is part of
    ``wall_s`` and left out of ``ticks_per_s``. ``qty_rounded``: qty and target cells the input
    rounded down (run.qty_rounding)."""
    scale = 10**digits
    init = int(params["initial_cash_minor"])
    cash = int(a["cash_minor"])
    realized, comm, swap = int(a["realized_minor"]), int(a["commission_minor"]), int(a["swap_minor"])
    if cash != init + realized - comm - swap:
        raise BacktestrError(f"internal error: ledger does not balance: cash {cash} != {init} + {realized} "
                             f"- {comm} - {swap}")
    equity = int(a["equity_minor"])
    status = orders["status"]

    def money(v: int) -> float:
        return v / scale

    ticks = int(a["n_ticks"])
    return {
        "version": version,
        "account_currency": cfg["account.currency"],
        "symbols": symbols,
        "start": _iso(first_ts),
        "end": _iso(int(a["last_ts"])),
        "ticks": ticks,
        "rows_read": stats.rows_read,
        "bad_rows_skipped": stats.bad_rows,
        "files": stats.files,
        "orders": int(orders.shape[0]),
        "orders_filled": int((status == OrderStatus.FILLED).sum()),
        "orders_rejected": int((status == OrderStatus.REJECTED).sum()),
        "orders_unfilled": int((status == OrderStatus.UNFILLED).sum()),
        "orders_no_action": int((status == OrderStatus.NO_ACTION).sum()),
        "orders_cancelled": int((status == OrderStatus.CANCELLED).sum()),
        "orders_expired": int((status == OrderStatus.EXPIRED).sum()),
        "orders_applied": int((status == OrderStatus.APPLIED).sum()),
        "orders_before_data": int(((status == OrderStatus.REJECTED) & (orders["reason"] == Reason.BEFORE_DATA)).sum()),
        "orders_qty_rounded": qty_rounded,
        "rejections": _rejections(orders),
        "rejections_by_severity": _by_severity(orders),
        "margin_calls": int(a["n_margin_calls"]),
        "stop_outs": int(a["n_stop_outs"]),
        "daily_limit_hits": int(a["n_daily_hits"]),
        "breaker_trips": int(a["n_breaker_trips"]),
        "max_margin_used": money(int(a["max_margin_used_minor"])),
        "max_margin_used_minor": int(a["max_margin_used_minor"]),
        # lowest equity / used margin while margin was used, percent (docs/currency.md §6)
        "min_margin_level_pct": round(float(a["min_level"]) * 100.0, 6) if a["have_level"] else None,
        "fills": int(a["n_fills"]),
        "positions": int(a["n_positions"]),
        "positions_open": int(open_pos.shape[0]),
        "initial_cash": money(init),
        "final_cash": money(cash),
        "final_equity": money(equity),
        "realized_pnl": money(realized),
        "unrealized_pnl": money(int(a["unrealized_minor"])),
        "commission": money(comm),
        "swap": money(swap),
        "net_pnl": money(equity - init),
        "max_drawdown": money(int(a["max_drawdown_minor"])),
        "max_drawdown_pct": round(float(a["max_drawdown_frac"]) * 100.0, 6),
        "initial_cash_minor": init,
        "final_cash_minor": cash,
        "final_equity_minor": equity,
        "realized_pnl_minor": realized,
        "commission_minor": comm,
        "swap_minor": swap,
        "max_drawdown_minor": int(a["max_drawdown_minor"]),
        "wall_s": round(wall_s, 4),
        "kernel_s": round(kernel_s, 4),
        "compile_s": round(compile_s, 4),
        "ticks_per_s": round(ticks / run_s) if (run_s := wall_s - compile_s) > 0 else None,
    }
