"""``stats(OUT)``: every statistic of a run, with the undefined ones null and explained."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl

from .returns import daily_equity, period_table, ratios, scan_equity
from .settings import StatsSettings, settle
from .slippage import NO_DATA_NOTE as SLIPPAGE_NOTE  # noqa: F401 - the note without ticks
from .slippage import measure
from .source import RunLogs, open_logs
from .trades import breakdown, closed_trades, exposure, trade_stats

NS = 10**9
HEADLINE = ("total_return_pct", "annual_return_pct", "volatility_pct", "sharpe", "sortino", "calmar", "omega",
            "max_drawdown", "max_drawdown_pct", "max_drawdown_duration_s", "max_drawdown_recovery_s",
            "exposure_pct", "trades", "win_rate", "profit_factor", "expectancy", "payoff_ratio", "sqn",
            "max_win_streak", "max_loss_streak", "commission", "swap_and_funding")


def _ns(iso: Any) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (dt.replace(tzinfo=dt.tzinfo or timezone.utc) - epoch) // timedelta(microseconds=1) * 1000


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // NS, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stats:
    """The statistics of a run (docs/analytics.md). ``values`` holds every figure (None where
    undefined, explained in ``notes``); the tables are Polars frames."""

    values: dict[str, Any]
    notes: dict[str, str]
    settings: StatsSettings
    daily: pl.DataFrame = field(repr=False)
    monthly: pl.DataFrame = field(repr=False)
    yearly: pl.DataFrame = field(repr=False)
    by_symbol: pl.DataFrame = field(repr=False)
    by_side: pl.DataFrame = field(repr=False)
    by_tag: pl.DataFrame = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def headline(self) -> dict[str, Any]:
        """The figures written into summary.json under ``stats``."""
        out = {k: self.values.get(k) for k in HEADLINE}
        out["calendar"] = self.settings.describe()
        out["notes"] = {k: v for k, v in self.notes.items() if k in out}
        return out

    def table(self) -> pl.DataFrame:
        """Every figure as rows of (statistic, value, note)."""
        keys = list(self.values)
        return pl.DataFrame({"statistic": keys, "value": [_show(self.values[k]) for k in keys],
                             "note": [self.notes.get(k, "") for k in keys]})

    def monthly_table(self) -> pl.DataFrame:
        """Monthly returns in percent, a row per year and a column per month, with the year's return."""
        if self.monthly.height == 0:
            return pl.DataFrame()
        wide = (self.monthly.with_columns((pl.col("ret") * 100).alias("pct"))
                .pivot(on="month", index="year", values="pct", sort_columns=True))
        names = {str(m): n for m, n in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                   "Oct", "Nov", "Dec"), start=1)}
        wide = wide.rename({c: names[c] for c in wide.columns if c in names})
        year = self.yearly.select("year", (pl.col("ret") * 100).alias("Year"))
        return wide.join(year, on="year", how="left").sort("year")

    def __repr__(self) -> str:
        width = max(len(k) for k in self.values)
        lines = [f"{k:<{width}}  {_show(v)}" + (f"   ({self.notes[k]})" if k in self.notes else "")
                 for k, v in self.values.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_show(v))}</td>"
                       f"<td>{html.escape(self.notes.get(k, ''))}</td></tr>" for k, v in self.values.items())
        return f"<table><tr><th>statistic</th><th>value</th><th>note</th></tr>{rows}</table>"


def _show(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def stats(source: Any, settings: StatsSettings | Mapping[str, Any] | None = None, data: Any = None,
          **kw: Any) -> Stats:
    """The statistics of a run: ``source`` is a run's output folder or a ``Result``.

    ``settings`` (or keywords: ``timezone``, ``day_end``, ``calendar``,
    ``periods_per_year``, ``risk_free``, ``target``) set the calendar returns
    are taken on (docs/analytics.md §1). ``data``: the run's ticks (archive path or
    frame), to measure the fills' slippage against the mid (§5); without it ``slippage``
    is null.
    """
    s = settle(settings, **kw)
    return compute(open_logs(source), s, data)


def compute(logs: RunLogs, s: StatsSettings, data: Any = None) -> Stats:
    scale, summ = logs.scale, logs.summary
    init = int(summ.get("initial_cash_minor", 0))
    start, end = _ns(summ.get("start")), _ns(summ.get("end"))
    v: dict[str, Any] = {"start": summ.get("start"), "end": summ.get("end"),
                         "currency": logs.currency, "initial_equity": init / scale}
    notes: dict[str, str] = {}
    eq = logs.scan("equity")
    empty_daily = pl.DataFrame(schema={"close": pl.Datetime("ns", "UTC"), "day": pl.Date,
                                       "equity_minor": pl.Int64, "ret": pl.Float64})
    daily = empty_daily
    rows = eq.select(pl.len()).collect().item() if eq is not None else 0  # from the Parquet footer
    need_pct = "max_drawdown_pct" not in summ
    scan = scan_equity(eq, start, end, s, need_pct) if eq is not None and rows and start is not None and end else None
    if scan is not None:
        daily, s = daily_equity(scan, init, end, s, _crypto(summ.get("symbols", ())))
        final = scan.final_minor
        v["final_equity"] = final / scale
        v["total_return_pct"] = (final / init - 1.0) * 100 if init > 0 else None
        r = daily["ret"].to_numpy()
        rat = ratios(r, s)
        v["periods"] = int(r.shape[0])
        v["annual_return_pct"] = _pct(rat["annual_return"])
        v["volatility_pct"] = _pct(rat["volatility"])
        for k in ("sharpe", "sortino", "calmar", "omega"):
            v[k] = rat[k]
        v["daily_max_drawdown_pct"] = rat["daily_max_drawdown_pct"]
        dd = scan.drawdown
        # the run's own figure is exact (every tick); the log may hold one row per equity_interval
        v["max_drawdown"] = summ.get("max_drawdown_minor", dd["max_drawdown_minor"]) / scale
        v["max_drawdown_pct"] = summ.get("max_drawdown_pct", dd["max_drawdown_pct"])
        for k in ("start", "trough", "end"):
            v[f"max_drawdown_{k}"] = _iso(dd[f"max_drawdown_{k}"])
        for k in ("max_drawdown_duration_s", "max_drawdown_recovery_s", "longest_drawdown_s", "drawdowns"):
            v[k] = dd[k]
        _return_notes(v, r, s, notes, dd)
    else:
        why = ("the run wrote no equity rows (log level off, or a run without ticks)" if eq is None or
               start is None else "the equity log has no rows")
        for k in ("final_equity", "total_return_pct", "periods", "annual_return_pct", "volatility_pct", "sharpe",
                  "sortino", "calmar", "omega", "daily_max_drawdown_pct", "max_drawdown", "max_drawdown_pct",
                  "max_drawdown_start", "max_drawdown_trough", "max_drawdown_end", "max_drawdown_duration_s",
                  "max_drawdown_recovery_s", "longest_drawdown_s", "drawdowns"):
            v[k] = None
            notes[k] = why
    pos = logs.scan("positions")
    if pos is not None and start is not None and end is not None:
        x = exposure(pos, start, end)
        v["exposure_pct"] = None if x is None else x * 100
        trades = closed_trades(pos, logs.scan("orders"))
    else:
        v["exposure_pct"] = None
        notes["exposure_pct"] = "the run wrote no positions log (log level off)"
        trades = closed_trades(_EMPTY_POS.lazy(), None)
    ts = trade_stats(trades, scale)
    v.update(ts)
    _trade_notes(ts, notes, pos is not None)
    _costs(logs, v, notes, scale, data)
    monthly = period_table(daily, init, "month")
    yearly = period_table(daily, init, "year")
    return Stats(v, notes, s, daily, monthly, yearly, breakdown(trades, "symbol", scale),
                 breakdown(trades, "side", scale), breakdown(trades, "tag", scale))


def _crypto(symbols: Any) -> bool:
    """Whether a symbol is a crypto instrument in the built-in registry (trades every day)."""
    from ..config import load_config
    from ..instruments import load_registry

    reg = load_registry(load_config())
    return any(sym in reg and reg[sym].kind == "crypto" for sym in symbols or ())


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def _return_notes(v: dict, r: np.ndarray, s: StatsSettings, notes: dict, dd: dict) -> None:
    n = r.shape[0]
    if not np.all(np.isfinite(r)):
        why = "the equity fell to zero or below, so returns after it are undefined"
        for k in ("annual_return_pct", "volatility_pct", "sharpe", "sortino", "calmar", "omega"):
            notes[k] = why
        return
    if n < 2:
        for k in ("volatility_pct", "sharpe", "sortino", "omega"):
            notes[k] = f"needs at least 2 periods of returns; the run spans {n} on the {s.calendar} calendar"
    else:
        if v["sharpe"] is None:
            notes["sharpe"] = "the period returns do not vary (standard deviation 0)"
        if v["sortino"] is None:
            notes["sortino"] = "no period return below the target, so there is no downside deviation"
        if v["omega"] is None:
            notes["omega"] = "no period return below the target"
    if v["calmar"] is None:
        notes["calmar"] = ("no drawdown on the daily closes" if v["annual_return_pct"] is not None
                           else "the annualised return is undefined")
    if v["annual_return_pct"] is None and n == 0:
        notes["annual_return_pct"] = "no period of returns"
    if dd["max_drawdown_end"] is None and dd["drawdowns"]:
        notes["max_drawdown_end"] = "not recovered by the end of the run"
        notes["max_drawdown_recovery_s"] = "not recovered by the end of the run"
        notes["max_drawdown_duration_s"] = "to the end of the run (not recovered)"
    elif not dd["drawdowns"]:
        for k in ("max_drawdown_start", "max_drawdown_trough", "max_drawdown_end"):
            notes[k] = "the equity never fell below its peak"


def _trade_notes(ts: dict, notes: dict, have_log: bool) -> None:
    why_none = "no closed trades" if have_log else "the run wrote no positions log (log level off)"
    for k, val in ts.items():
        if val is not None:
            continue
        if ts["trades"] == 0:
            notes[k] = why_none
        elif k == "profit_factor":
            notes[k] = "no losing trade"
        elif k in ("avg_win",):
            notes[k] = "no winning trade"
        elif k in ("avg_loss",):
            notes[k] = "no losing trade"
        elif k == "payoff_ratio":
            notes[k] = "needs at least one winning and one losing trade"
        elif k == "sqn":
            notes[k] = "needs at least 2 trades with P&Ls that differ"
        elif k.endswith("_efficiency"):
            notes[k] = "no trade moved between its MAE and MFE"


def _costs(logs: RunLogs, v: dict, notes: dict, scale: int, data: Any = None) -> None:
    fills, pos, ev = logs.scan("fills"), logs.scan("positions"), logs.scan("events")
    if fills is not None:
        v["commission"] = int(fills.select(pl.col("commission_minor").sum()).collect().item() or 0) / scale
    else:
        v["commission"] = logs.summary.get("commission")
    total = int(pos.select(pl.col("swap_minor").sum()).collect().item() or 0) if pos is not None else \
        logs.summary.get("swap_minor")
    v["swap_and_funding"] = None if total is None else total / scale
    if ev is not None:
        parts = (ev.filter(pl.col("event").is_in(["swap", "funding"]))
                 .group_by("event").agg((pl.col("after") - pl.col("before")).sum().alias("minor"))
                 .collect())
        got = dict(zip(parts["event"].to_list(), parts["minor"].to_list(), strict=True))
        v["swap"] = got.get("swap", 0) / scale
        v["funding"] = got.get("funding", 0) / scale
    else:
        v["swap"] = v["funding"] = None
        notes["swap"] = notes["funding"] = ("split only from the events log (log level events or ticks); "
                                            "swap_and_funding is their sum")
    measure(fills, data, logs.currency, v, notes)


_EMPTY_POS = pl.DataFrame(schema={
    "position_id": pl.Int64, "symbol": pl.String, "side_code": pl.Int8, "is_open": pl.Int8,
    "open_ts": pl.Datetime("ns", "UTC"), "close_ts": pl.Datetime("ns", "UTC"), "realized_pnl_minor": pl.Int64,
    "commission_minor": pl.Int64, "swap_minor": pl.Int64, "mae_minor": pl.Int64, "mfe_minor": pl.Int64,
    "open_order_id": pl.Int64})
