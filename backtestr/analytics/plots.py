"""Plotly charts of a run: equity and drawdown, trades on price bars, MAE/MFE, trade returns, months.

Long logs are reduced before they are drawn: the equity curve keeps, per
time bucket (``buckets`` of them, about one per pixel), its first, last,
lowest and highest rows, so every peak and trough is still drawn while a
50M-row log becomes a few thousand points.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from .bars import bar_interval, price_bars
from .settings import StatsSettings
from .source import RunLogs, open_logs
from .stats import Stats, compute

BUCKETS = 2000
MAX_TRADES = 2000  # trades drawn on a price chart
MAX_POINTS = 10_000  # points of the MAE/MFE scatter
WIN, LOSS, FLAT = "#2ca02c", "#d62728", "#7f7f7f"
NS = 10**9


def reduce_minmax(lf: pl.LazyFrame, value: pl.Expr | list[pl.Expr], buckets: int = BUCKETS) -> Any:
    """``ts``, ``v``: per time bucket its first row, lowest value, highest value and last row, in time order.

    A bucket is about one pixel wide, so its lowest and highest values are
    drawn at a third and two thirds of the bucket's rows' span: the vertical
    stroke a pixel column would show. With a list of expressions, one frame
    per expression from one pass over ``lf``.
    """
    values = value if isinstance(value, list) else [value]
    t = pl.col("ts").dt.epoch("ns")
    span = lf.select(t.first().alias("lo"), t.last().alias("hi")).collect()  # the logs are in time order
    if span.height == 0 or span["lo"][0] is None:
        empty = pl.DataFrame(schema={"ts": pl.Int64, "v": pl.Float64})
        return [empty] * len(values) if isinstance(value, list) else empty
    lo, hi = int(span["lo"][0]), int(span["hi"][0])
    width = max((hi - lo) // buckets + 1, 1)
    aggs = [pl.col("t").first().alias("t0"), pl.col("t").last().alias("t3")]
    for j in range(len(values)):
        v = pl.col(f"v{j}")
        aggs += [v.first().alias(f"v{j}_0"), v.min().alias(f"v{j}_1"), v.max().alias(f"v{j}_2"),
                 v.last().alias(f"v{j}_3")]
    per = (lf.select(t.alias("t"), *[e.cast(pl.Float64).alias(f"v{j}") for j, e in enumerate(values)])
           .with_columns(((pl.col("t") - lo) // width).alias("b"))
           .set_sorted("b")  # rows in time order: the buckets are runs, grouped without hashing
           .group_by("b").agg(aggs).collect(engine="streaming")
           .with_columns((pl.col("t0") + (pl.col("t3") - pl.col("t0")) // 3).alias("t1"),
                         (pl.col("t0") + 2 * (pl.col("t3") - pl.col("t0")) // 3).alias("t2")))
    out = []
    for j in range(len(values)):
        parts = [per.select(pl.col(f"t{i}").alias("ts"), pl.col(f"v{j}_{i}").alias("v")) for i in range(4)]
        out.append(pl.concat(parts).unique(subset="ts", keep="first").sort("ts"))
    return out if isinstance(value, list) else out[0]


def _dt(ns: pl.Series | np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")


def equity_figure(logs: RunLogs, buckets: int = BUCKETS) -> go.Figure:
    """Equity (account currency) with the drawdown in percent underneath, sharing the time axis."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    eq = logs.scan("equity")
    title = "Equity and drawdown"
    if eq is not None:
        scale = logs.scale
        peak = pl.col("equity_minor") + pl.col("drawdown_minor")
        e, d = reduce_minmax(eq, [pl.col("equity_minor") / scale,
                                  pl.when(peak > 0).then(-100.0 * pl.col("drawdown_minor") / peak).otherwise(0.0)],
                             buckets)
        fig.add_trace(go.Scatter(x=_dt(e["ts"]), y=e["v"].to_numpy(), mode="lines", name="equity",
                                   line={"color": "#1f77b4", "width": 1.5}), row=1, col=1)
        fig.add_trace(go.Scatter(x=_dt(d["ts"]), y=d["v"].to_numpy(), mode="lines", name="drawdown %",
                                   fill="tozeroy", line={"color": LOSS, "width": 1}), row=2, col=1)
        rows = eq.select(pl.len()).collect().item()
        if rows > e.height:
            title += f" ({rows:,} rows drawn as {e.height:,} points: lowest and highest per time bucket)"
    else:
        title += " (no equity log: log level off)"
    fig.update_yaxes(title_text=logs.currency or "equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(title=title, height=520, showlegend=False, margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return fig


def _segments(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> tuple[list, list]:
    """Line segments (x0, y0)-(x1, y1) as one trace's points, separated by gaps."""
    xs: list[Any] = []
    ys: list[Any] = []
    for a, b, c, d in zip(x0, y0, x1, y1, strict=True):
        xs += [a, c, None]
        ys += [b, d, None]
    return xs, ys


def trades_figure(logs: RunLogs, symbol: str, data: Any = None, max_trades: int = MAX_TRADES) -> go.Figure:
    """Trades of ``symbol`` on its price: entries, exits, SL and TP levels, coloured by net P&L.

    With ``data`` (the tick archive) the price is drawn as OHLC bars of the
    mid; without it, as the line of the symbol's fill prices.
    """
    pos = logs.scan("positions")
    fig = go.Figure()
    if pos is None:
        fig.update_layout(title=f"{symbol}: no positions log (log level off)")
        return fig
    t = (pos.filter((pl.col("symbol").cast(pl.String) == symbol) & (pl.col("is_open") == 0))
         .select("open_ts", "close_ts", "side_code", "avg_entry_price", "avg_exit_price", "sl", "tp", "net_pnl_minor")
         .sort("close_ts").collect())
    total = t.height
    if total > max_trades:
        t = t.tail(max_trades)
    title = f"{symbol}: trades" + (f" (the last {max_trades:,} of {total:,})" if total > max_trades else "")
    if t.height:
        lo = int(t["open_ts"].dt.epoch("ns").min())
        hi = int(t["close_ts"].dt.epoch("ns").max())
    else:
        lo = hi = 0
    if data is not None and t.height:
        every = bar_interval((hi - lo) / NS)
        b = price_bars(data, symbol, lo, hi, every)
        fig.add_trace(go.Candlestick(x=b["ts"].to_numpy(), open=b["open"].to_numpy(), high=b["high"].to_numpy(),
                                     low=b["low"].to_numpy(), close=b["close"].to_numpy(), name=f"mid {every}",
                                     increasing_line_color="#999", decreasing_line_color="#555"))
        title += f" on {every} bars of the mid"
    else:
        fills = logs.scan("fills")
        if fills is not None:
            f = (fills.filter(pl.col("symbol").cast(pl.String) == symbol).select("ts", "price")
                 .collect())
            if f.height > 4 * BUCKETS:
                f = reduce_minmax(f.lazy(), pl.col("price")).select(pl.col("ts").alias("ts"),
                                                                      pl.col("v").alias("price"))
                x = _dt(f["ts"])
            else:
                x = f["ts"].to_numpy()
            fig.add_trace(go.Scatter(x=x, y=f["price"].to_numpy(), mode="lines", name="fill prices",
                                       line={"color": "#bbb", "width": 1}))
            title += " (price: fill prices; give the tick data for bars)"
    for label, color, mask in (("winning", WIN, t["net_pnl_minor"] > 0), ("losing", LOSS, t["net_pnl_minor"] <= 0)):
        sub = t.filter(mask)
        if sub.height == 0:
            continue
        xs, ys = _segments(sub["open_ts"].to_numpy(), sub["avg_entry_price"].to_numpy(),
                           sub["close_ts"].to_numpy(), sub["avg_exit_price"].to_numpy())
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": 1, "dash": "dot"},
                                 name=f"{label} trades", hoverinfo="skip"))
        hover = [f"{'long' if s > 0 else 'short'} net {p / logs.scale:,.2f}"
                 for s, p in zip(sub["side_code"].to_list(), sub["net_pnl_minor"].to_list(), strict=True)]
        fig.add_trace(go.Scatter(x=sub["open_ts"].to_numpy(), y=sub["avg_entry_price"].to_numpy(),
                                 mode="markers", name=f"{label} entries", text=hover,
                                 marker={"color": color, "size": 8, "line": {"width": 0.5, "color": "#333"},
                                         "symbol": ["triangle-up" if s > 0 else "triangle-down"
                                                    for s in sub["side_code"].to_list()]}))
        fig.add_trace(go.Scatter(x=sub["close_ts"].to_numpy(), y=sub["avg_exit_price"].to_numpy(),
                                 mode="markers", name=f"{label} exits", text=hover,
                                 marker={"color": color, "size": 7, "symbol": "x"}))
    for level, color in (("sl", LOSS), ("tp", WIN)):
        sub = t.filter(pl.col(level).is_not_null())
        if sub.height:
            xs, ys = _segments(sub["open_ts"].to_numpy(), sub[level].to_numpy(), sub["close_ts"].to_numpy(),
                               sub[level].to_numpy())
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=level.upper(),
                                     line={"color": color, "width": 1, "dash": "dash"}))
    fig.update_layout(title=title, height=480, xaxis_rangeslider_visible=False,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return fig


def _sample(df: pl.DataFrame, n: int) -> pl.DataFrame:
    """At most ``n`` rows, evenly spaced (deterministic)."""
    if df.height <= n:
        return df
    idx = np.linspace(0, df.height - 1, n).round().astype(np.int64)
    return df[idx]


def excursion_figure(logs: RunLogs, max_points: int = MAX_POINTS) -> go.Figure:
    """MAE against MFE per closed trade (account currency), coloured by net P&L."""
    fig = go.Figure()
    pos = logs.scan("positions")
    if pos is None:
        return fig.update_layout(title="MAE / MFE: no positions log (log level off)")
    t = (pos.filter(pl.col("is_open") == 0).select("mae_minor", "mfe_minor", "net_pnl_minor").collect())
    total = t.height
    t = _sample(t, max_points)
    s = logs.scale
    for label, color, mask in (("winning", WIN, t["net_pnl_minor"] > 0), ("losing", LOSS, t["net_pnl_minor"] <= 0)):
        sub = t.filter(mask)
        fig.add_trace(go.Scatter(x=(-sub["mae_minor"] / s).to_numpy(), y=(sub["mfe_minor"] / s).to_numpy(),
                                   mode="markers", name=f"{label} trades",
                                   marker={"color": color, "size": 5, "opacity": 0.7}))
    title = "Adverse (MAE) and favourable (MFE) excursion per trade"
    if total > t.height:
        title += f" ({t.height:,} of {total:,} trades, evenly spaced)"
    fig.update_layout(title=title, height=420, xaxis_title=f"MAE, adverse move ({logs.currency})",
                      yaxis_title=f"MFE, favourable move ({logs.currency})",
                      margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def returns_figure(logs: RunLogs, bins: int = 60) -> go.Figure:
    """Histogram of the trades' returns: the price move in the trade's direction, in percent, before costs."""
    fig = go.Figure()
    pos = logs.scan("positions")
    if pos is None:
        return fig.update_layout(title="Trade returns: no positions log (log level off)")
    r = (pos.filter((pl.col("is_open") == 0) & (pl.col("avg_entry_price") > 0))
         .select((pl.col("side_code") * (pl.col("avg_exit_price") / pl.col("avg_entry_price") - 1.0) * 100)
                 .alias("r")).collect()["r"].drop_nulls().to_numpy())
    if r.size:
        counts, edges = np.histogram(r, bins=bins)
        mid = (edges[:-1] + edges[1:]) / 2
        fig.add_trace(go.Bar(x=mid, y=counts, width=np.diff(edges), name="trades",
                             marker={"color": [WIN if m > 0 else LOSS for m in mid]}))
    fig.update_layout(title=f"Distribution of trade returns ({r.size:,} trades)", height=380, bargap=0.02,
                      xaxis_title="return of the trade's price move, % (before costs)", yaxis_title="trades",
                      margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def monthly_figure(st: Stats) -> go.Figure:
    """Heatmap of monthly returns (percent), a row per year."""
    fig = go.Figure()
    m = st.monthly
    if m.height:
        years = sorted(set(m["year"].to_list()))
        z = np.full((len(years), 12), np.nan)
        for y, mo, r in zip(m["year"].to_list(), m["month"].to_list(), m["ret"].to_list(), strict=True):
            z[years.index(y), mo - 1] = np.nan if r is None else r * 100
        lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
        text = [["" if np.isnan(v) else f"{v:.2f}%" for v in row] for row in z]
        fig.add_trace(go.Heatmap(z=z, x=["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec"], y=[str(y) for y in years], text=text,
                                 texttemplate="%{text}", colorscale="RdYlGn", zmid=0, zmin=-lim, zmax=lim,
                                 colorbar={"title": "%"}))
    fig.update_layout(title="Monthly returns (%)", height=160 + 40 * max(1, m["year"].n_unique() if m.height else 1),
                      yaxis={"type": "category", "autorange": "reversed"},
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return fig


@dataclass
class Plots:
    """The charts of a run; shown one under the other in a notebook."""

    equity: go.Figure
    trades: dict[str, go.Figure]
    excursions: go.Figure
    returns: go.Figure
    monthly: go.Figure
    stats: Stats | None = field(default=None, repr=False)

    def figures(self) -> list[go.Figure]:
        return [self.equity, *self.trades.values(), self.excursions, self.returns, self.monthly]

    def show(self) -> None:
        for f in self.figures():
            f.show()

    def _repr_html_(self) -> str:
        from plotly.offline import get_plotlyjs

        parts = [f.to_html(full_html=False, include_plotlyjs=False) for f in self.figures()]
        return f'<script type="text/javascript">{get_plotlyjs()}</script>' + "".join(
            f"<div>{p}</div>" for p in parts)

    def __repr__(self) -> str:
        names = ", ".join(html.escape(s) for s in self.trades)
        return f"Plots(equity, trades[{names}], excursions, returns, monthly)"


def plot(source: Any, data: str | Path | pl.DataFrame | None = None, settings: StatsSettings | None = None,
         buckets: int = BUCKETS, max_trades: int = MAX_TRADES) -> Plots:
    """Every chart of a run (a run's output folder or a ``Result``); ``data``: its ticks, for price bars."""
    logs = open_logs(source)
    st = compute(logs, settings or StatsSettings(), data)
    symbols = [str(s) for s in logs.summary.get("symbols", [])]
    return Plots(equity_figure(logs, buckets), {s: trades_figure(logs, s, data, max_trades) for s in symbols},
                 excursion_figure(logs), returns_figure(logs), monthly_figure(st), st)
