"""Trade statistics from the positions log: one trade is one closed position.

Money is summed in integer minor units (``*_minor`` columns) and converted
to the account currency once, at the end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

NS = 10**9
TRADE_COLS = ("position_id", "symbol", "side_code", "open_ts", "close_ts", "realized_pnl_minor",
              "commission_minor", "swap_minor", "mae_minor", "mfe_minor", "open_order_id")
_NET = pl.col("realized_pnl_minor") - pl.col("commission_minor") - pl.col("swap_minor")


def closed_trades(positions: pl.LazyFrame, orders: pl.LazyFrame | None) -> pl.DataFrame:
    """Closed positions in close order with ``net_minor`` and their opening order's ``tag``."""
    lf = (positions.filter(pl.col("is_open") == 0)
          .select(*TRADE_COLS, _NET.alias("net_minor"))
          .with_columns(pl.col("symbol").cast(pl.String)))
    if orders is not None and "tag" in orders.collect_schema().names():
        tags = orders.select(pl.col("order_id").alias("open_order_id"), pl.col("tag").cast(pl.String))
        lf = lf.join(tags, on="open_order_id", how="left")
    else:
        lf = lf.with_columns(pl.lit(None, pl.String).alias("tag"))
    return lf.sort("close_ts", "position_id").collect()


def _streaks(sign: np.ndarray, want: int) -> int:
    """The longest run of ``sign == want`` (a trade of the other sign or of zero ends a run)."""
    hit = np.concatenate(([0], (sign == want).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(hit))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def trade_stats(t: pl.DataFrame, scale: int) -> dict[str, Any]:
    """The statistics of the trades in ``t`` (docs/analytics.md §3); None where undefined."""
    n = t.height
    net = t["net_minor"].to_numpy().astype(np.int64) if n else np.zeros(0, np.int64)
    wins, losses = net[net > 0], net[net < 0]
    gross_win, gross_loss = int(wins.sum()), int(-losses.sum())
    out: dict[str, Any] = {
        "trades": n, "wins": int(wins.size), "losses": int(losses.size),
        "breakeven": int(n - wins.size - losses.size),
        "win_rate": wins.size / n if n else None,
        "net_pnl": int(net.sum()) / scale,
        "gross_profit": gross_win / scale, "gross_loss": gross_loss / scale,
        "profit_factor": gross_win / gross_loss if gross_loss else None,
        "expectancy": float(net.sum()) / n / scale if n else None,
        "avg_win": float(wins.mean()) / scale if wins.size else None,
        "avg_loss": float(losses.mean()) / scale if losses.size else None,
        "payoff_ratio": float(wins.mean()) / -float(losses.mean()) if wins.size and losses.size else None,
        "best_trade": int(net.max()) / scale if n else None,
        "worst_trade": int(net.min()) / scale if n else None,
        "max_win_streak": _streaks(np.sign(net), 1),
        "max_loss_streak": _streaks(np.sign(net), -1),
        "sqn": None,
        "avg_duration_s": None, "median_duration_s": None, "max_duration_s": None,
        "entry_efficiency": None, "exit_efficiency": None, "total_efficiency": None,
    }
    if n >= 2:
        sd = float(np.std(net / scale, ddof=1))
        out["sqn"] = math.sqrt(n) * float(np.mean(net / scale)) / sd if sd > 0 else None
    if n:
        dur = (t["close_ts"] - t["open_ts"]).dt.total_nanoseconds().to_numpy() / NS
        out.update(avg_duration_s=float(dur.mean()), median_duration_s=float(np.median(dur)),
                   max_duration_s=float(dur.max()))
        out.update(efficiency(t))
    return out


def efficiency(t: pl.DataFrame) -> dict[str, float | None]:
    """Mean entry, exit and total efficiency over trades whose excursion range is above 0.

    With the P&L of the entry quantity at 0 on entry, MAE ``a`` (worst, in
    money) and MFE ``f`` (best), and the trade's gross P&L ``g``: entry
    efficiency ``f / (f - a)``, exit efficiency ``(g - a) / (f - a)``, total
    ``g / (f - a)``.
    """
    a = t["mae_minor"].to_numpy().astype(np.float64)
    f = t["mfe_minor"].to_numpy().astype(np.float64)
    g = t["realized_pnl_minor"].to_numpy().astype(np.float64)
    rng = f - a
    ok = rng > 0
    if not ok.any():
        return {"entry_efficiency": None, "exit_efficiency": None, "total_efficiency": None}
    return {"entry_efficiency": float(np.mean(f[ok] / rng[ok])),
            "exit_efficiency": float(np.mean((g[ok] - a[ok]) / rng[ok])),
            "total_efficiency": float(np.mean(g[ok] / rng[ok]))}


def exposure(positions: pl.LazyFrame, start_ns: int, end_ns: int) -> float | None:
    """Share of ``[start, end]`` with at least one position open (the union of their open spans)."""
    span = end_ns - start_ns
    if span <= 0:
        return None
    iv = (positions.select(pl.col("open_ts").dt.epoch("ns").alias("a"),
                           pl.col("close_ts").dt.epoch("ns").fill_null(end_ns).alias("b"))
          .sort("a").collect())
    if iv.height == 0:
        return 0.0
    a, b = iv["a"].to_numpy(), np.minimum(iv["b"].to_numpy(), end_ns)
    reach = np.maximum.accumulate(b)
    starts = np.concatenate(([True], a[1:] > reach[:-1]))  # a new block of overlapping spans
    block = np.cumsum(starts) - 1
    lo = a[starts]
    hi = np.zeros(lo.shape[0], np.int64)
    np.maximum.at(hi, block, b)
    return float(np.clip(hi - lo, 0, None).sum()) / span


def breakdown(t: pl.DataFrame, by: str, scale: int) -> pl.DataFrame:
    """Trade statistics per value of ``by`` (``symbol``, ``side`` or ``tag``)."""
    key = pl.col(by)
    if by == "side":
        key = pl.when(pl.col("side_code") > 0).then(pl.lit("long")).otherwise(pl.lit("short")).alias("side")
    elif by == "tag":
        key = pl.col("tag").fill_null("(none)").alias("tag")
    net = pl.col("net_minor")
    win, loss = net.filter(net > 0), net.filter(net < 0)
    name = "symbol" if by == "symbol" else by
    return (t.group_by(key.alias(name))
            .agg(pl.len().alias("trades"),
                 ((net > 0).sum() / pl.len()).alias("win_rate"),
                 (net.sum() / scale).alias("net_pnl"),
                 (net.mean() / scale).alias("expectancy"),
                 pl.when(loss.sum() < 0).then(win.sum() / -loss.sum()).alias("profit_factor"),
                 (net.max() / scale).alias("best_trade"),
                 (net.min() / scale).alias("worst_trade"),
                 (pl.col("commission_minor").sum() / scale).alias("commission"),
                 (pl.col("swap_minor").sum() / scale).alias("swap"))
            .sort(name))
