"""A strategy's orders as an orders table (backtestr/orders.py columns).

Run with ``orders=`` it gives the same results as the strategy
(docs/strategies.md §5): the rows are the orders as submitted, stamped with
their time, ids = order ids, in id order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..kernels.enums import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    K_PPM,
    K_PRICE,
    K_REMOVE,
    K_TICKS,
    OT_LIMIT,
    OT_STOP,
    OT_STOP_LIMIT,
    SZ_EQUITY_PCT,
    SZ_KELLY,
    SZ_NOTIONAL,
    SZ_QTY,
    SZ_RISK_PCT,
    TIF_GTD,
    TIF_IOC,
)

_ACTIONS = {A_NEW: "new", A_MODIFY: "modify", A_CANCEL: "cancel", A_CLOSE: "close"}
_TYPES = {0: "market", 1: "limit", 2: "stop", 3: "stop_limit"}
_SIZING = {SZ_QTY: None, SZ_NOTIONAL: "notional", SZ_EQUITY_PCT: "equity_pct", SZ_RISK_PCT: "risk_pct",
           SZ_KELLY: "kelly"}
SCHEMA = {"id": pl.Int64, "ts": pl.Int64, "symbol": pl.String, "action": pl.String,
          "side": pl.String, "qty": pl.Float64, "type": pl.String, "price": pl.Float64, "stop": pl.Float64,
          "tif": pl.String, "expire": pl.Int64, "oco": pl.Int64, "ref": pl.Int64, "sl": pl.Float64, "tp": pl.Float64,
          "sl_ticks": pl.Int64, "tp_ticks": pl.Int64, "sl_pct": pl.Float64, "tp_pct": pl.Float64,
          "trail": pl.Float64, "trail_ticks": pl.Int64, "trail_pct": pl.Float64, "trail_activation": pl.Int64,
          "trail_step": pl.Int64, "sizing": pl.String, "size": pl.Float64, "tag": pl.String}


def _stop(r: dict, base: str, kind: int, val: int, tick: float) -> None:
    if kind == K_PRICE:
        r[base] = val * tick
    elif kind == K_TICKS:
        r[f"{base}_ticks"] = val
    elif kind == K_PPM:
        r[f"{base}_pct"] = val / 10_000
    elif kind == K_REMOVE:
        r[f"{base}_ticks"] = 0  # a stop of 0 removes it on a modify


def orders_table(recs: np.ndarray, symbols: list[str], insts: list, minor_digits: int = 2,
                 tags: dict[int, str] | None = None) -> pl.DataFrame:
    """ORDER records as submitted -> an orders table (``tags``: order id -> tag)."""
    tags = tags or {}
    rows = []
    for o in recs:
        s = int(o["symbol"])
        tick, step = float(insts[s].tick_size), float(insts[s].lot_step)
        act = int(o["action"])
        r: dict = {"id": int(o["order_id"]), "ts": int(o["ts"]), "symbol": symbols[s], "action": _ACTIONS[act]}
        qty = int(o["qty_steps"])
        if act == A_NEW:
            r["side"] = "buy" if o["side"] == 1 else "sell"
            typ = int(o["type"])
            r["type"] = _TYPES[typ]
            if typ in (OT_LIMIT, OT_STOP_LIMIT):
                r["price"] = int(o["price_ticks"]) * tick
            if typ in (OT_STOP, OT_STOP_LIMIT):
                r["stop"] = int(o["stop_ticks"]) * tick
            if int(o["tif"]) == TIF_IOC:
                r["tif"] = "ioc"
            elif int(o["tif"]) == TIF_GTD:
                r["tif"], r["expire"] = "gtd", int(o["expire_ts"])
            if int(o["oco_group"]) >= 0:
                r["oco"] = int(o["oco_group"])
            sz = _SIZING[int(o["sizing"])]
            if sz is not None:
                r["sizing"] = sz
                if sz == "notional":
                    r["size"] = int(o["size_val"]) / 10**minor_digits
                elif sz != "kelly":
                    r["size"] = int(o["size_val"]) / 10_000
            if sz in (None, "kelly") and qty > 0:
                r["qty"] = qty * step
        else:
            if int(o["ref_id"]) >= 0:
                r["ref"] = int(o["ref_id"])
            if qty > 0:
                r["qty"] = qty * step
            if act == A_MODIFY:
                if o["price_ticks"] > 0:
                    r["price"] = int(o["price_ticks"]) * tick
                if o["stop_ticks"] > 0:
                    r["stop"] = int(o["stop_ticks"]) * tick
        if act in (A_NEW, A_MODIFY):
            _stop(r, "sl", int(o["sl_kind"]), int(o["sl_val"]), tick)
            _stop(r, "tp", int(o["tp_kind"]), int(o["tp_val"]), tick)
            _stop(r, "trail", int(o["trail_kind"]), int(o["trail_val"]), tick)
            if int(o["trail_kind"]) not in (0, K_REMOVE):
                if o["trail_act"]:
                    r["trail_activation"] = int(o["trail_act"])
                if o["trail_step"]:
                    r["trail_step"] = int(o["trail_step"])
        if r["id"] in tags:
            r["tag"] = tags[r["id"]]
        rows.append(r)
    df = pl.DataFrame(rows, schema=SCHEMA)
    return df.with_columns(pl.col("ts", "expire").cast(pl.Datetime("ns", "UTC")))
