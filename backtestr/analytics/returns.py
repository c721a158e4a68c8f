"""Returns on a calendar of daily closes, the ratios made from them, and drawdowns.

Every pass over the equity log is a lazy Polars query that reads only the
columns it needs; the results are small (one row per day or per drawdown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from .settings import StatsSettings

NS = 10**9
_UTC = timezone.utc
ENGINE = "streaming"  # Polars' streaming engine: the log is read in batches, never whole


def _close_ns(d: date, tz: ZoneInfo, minutes: int) -> int:
    local = datetime(d.year, d.month, d.day, minutes // 60, minutes % 60, tzinfo=tz)
    return int(local.astimezone(_UTC).timestamp()) * NS


def calendar_closes(start_ns: int, end_ns: int, s: StatsSettings) -> tuple[np.ndarray, list[date]]:
    """Every day's close (UTC ns) from the first after ``start_ns`` to the first weekday close after ``end_ns``,
    with their local dates."""
    tz, minutes = ZoneInfo(s.timezone), s.day_end_minutes
    d = datetime.fromtimestamp(start_ns / NS, _UTC).astimezone(tz).date() - timedelta(days=1)
    closes, days = [], []
    while True:
        c = _close_ns(d, tz, minutes)
        if c > start_ns:
            closes.append(c)
            days.append(d)
            if c > end_ns and d.weekday() < 5:
                break
        d += timedelta(days=1)
    return np.array(closes, np.int64), days


@dataclass
class EquityScan:
    """What one pass over the equity log gives: the equity at each close and the drawdown episodes."""

    closes: np.ndarray  # UTC ns of every day's close (calendar_closes)
    days: list[date]
    at_close: np.ndarray  # equity (minor) at each close: the last row before it; -1 where no row is
    saturday: bool  # a row falls on a Saturday (UTC)
    rows: int
    final_minor: int
    drawdown: dict[str, Any]


def scan_equity(equity: pl.LazyFrame, start_ns: int, end_ns: int, s: StatsSettings,
                need_pct: bool = True) -> EquityScan:
    """One lazy select over the equity log (``ts``, ``equity_minor``, ``drawdown_minor``); the result is small.

    The equity at a close is that of the last row before it (a row at the
    close itself belongs to the next day). A drawdown episode runs from a row
    at a peak (``drawdown_minor == 0``; the run's start when the first rows
    are already below the initial cash) to the next row at a peak (its
    recovery), or to the end when there is none. ``need_pct``: also the
    largest drawdown in percent of its peak (the run's summary has it exact).
    """
    closes, days = calendar_closes(start_ns, end_ns, s)
    c = pl.Series("c", closes, pl.Int64).cast(pl.Datetime("ns", "UTC"))
    t = pl.col("ts").dt.epoch("ns")
    dd = pl.col("drawdown_minor")
    peak = dd == 0
    starts = peak & (dd.shift(-1) > 0)  # a peak row followed by a drawdown
    tp = t.filter(peak)
    trough = t.gather(dd.arg_max())
    before = pl.col("ts").search_sorted(c, side="left")  # rows before each close
    day = 86_400 * NS
    sat0 = (start_ns // day - (start_ns // day + 3) % 7 + 5) * day  # the Saturday (UTC) of start's week
    sats = np.arange(sat0, end_ns + day, 7 * day, dtype=np.int64)  # 1970-01-01 was a Thursday (3, Monday 0)
    edges = pl.Series("s", np.stack([sats, sats + day], axis=1).ravel(), pl.Int64).cast(pl.Datetime("ns", "UTC"))
    r = equity.select(
        before.implode().alias("n_before"),
        pl.col("equity_minor").gather((before.cast(pl.Int64) - 1).clip(0)).implode().alias("at"),
        pl.col("ts").search_sorted(edges, side="left").implode().alias("saturdays"),  # rows before each edge
        pl.len().alias("rows"),
        pl.col("equity_minor").last().alias("final"),
        dd.max().alias("dd"),
        *([(dd / (pl.col("equity_minor") + dd)).max().alias("pct")] if need_pct else []),
        trough.first().alias("trough"),
        tp.filter(tp <= trough.first()).max().alias("peak"),
        tp.filter(tp > trough.first()).min().alias("back"),
        (tp.shift(-1) - tp).filter(starts.filter(peak)).max().alias("longest"),
        tp.filter(starts.filter(peak)).last().alias("last_start"),
        tp.min().alias("first_peak"),
        starts.sum().alias("episodes"),
        (dd.first() > 0).alias("head"),
    ).collect(engine=ENGINE).row(0, named=True)
    n_before = np.array(r["n_before"], np.int64)
    at = np.where(n_before > 0, np.array(r["at"], np.int64), -1)
    saturday = bool(np.any(np.diff(np.array(r["saturdays"], np.int64))[::2] > 0))  # rows inside a Saturday
    return EquityScan(closes, days, at, saturday, int(r["rows"]), int(r["final"]),
                      _episodes(r, start_ns, end_ns))


def _episodes(r: dict[str, Any], start_ns: int, end_ns: int) -> dict[str, Any]:
    if not r["dd"]:
        return {"max_drawdown_minor": 0, "max_drawdown_pct": 0.0, "max_drawdown_start": None,
                "max_drawdown_trough": None, "max_drawdown_end": None, "max_drawdown_duration_s": 0.0,
                "max_drawdown_recovery_s": 0.0, "longest_drawdown_s": 0.0, "drawdowns": 0}
    begin = r["peak"] if r["peak"] is not None else start_ns
    back = r["back"]
    spans = [r["longest"] or 0]
    if r["head"]:  # below the initial cash from the first row: from the start to the first peak
        spans.append((r["first_peak"] if r["first_peak"] is not None else end_ns) - start_ns)
    if r["last_start"] is not None and (back is None or r["last_start"] > back):
        spans.append(end_ns - r["last_start"])  # the last episode, not recovered
    elif back is None:
        spans.append(end_ns - begin)
    return {
        "max_drawdown_minor": int(r["dd"]),
        "max_drawdown_pct": float(r["pct"]) * 100.0 if "pct" in r else None,
        "max_drawdown_start": int(begin),
        "max_drawdown_trough": int(r["trough"]),
        "max_drawdown_end": None if back is None else int(back),
        "max_drawdown_duration_s": ((end_ns if back is None else back) - begin) / NS,
        "max_drawdown_recovery_s": None if back is None else (back - r["trough"]) / NS,
        "longest_drawdown_s": max(spans) / NS,
        "drawdowns": int(r["episodes"]) + int(bool(r["head"])),
    }


def daily_equity(scan: EquityScan, initial_minor: int, end_ns: int, s: StatsSettings,
                 crypto: bool = False) -> tuple[pl.DataFrame, StatsSettings]:
    """Equity at each close of the calendar and the period returns between them.

    ``s.calendar`` may be ``auto``: then it is ``daily`` when ``crypto`` (a
    symbol trades every day) or the equity log has a row on a Saturday (UTC,
    when every FX market is closed), else ``weekdays``. Returns the frame
    (``close``, ``day``, ``equity_minor``, ``ret``) and the settings with the
    calendar resolved. The first period starts at the first tick from
    ``initial_minor``; the last ends at the last equity row, labelled with
    the close that follows it.
    """
    closes, days = scan.closes, scan.days
    n = closes.shape[0]
    s = s.resolved(scan.saturday or crypto)
    if s.calendar == "daily":
        on = np.zeros(n, bool)
        on[:int(np.searchsorted(closes, end_ns, side="right")) + 1] = True
    else:
        on = np.array([d.weekday() < 5 for d in days], bool)
    eq = np.where(scan.at_close >= 0, scan.at_close, initial_minor)[on]
    prev = np.concatenate(([initial_minor], eq[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(prev > 0, eq / prev.astype(np.float64) - 1.0, np.nan)
    frame = pl.DataFrame({
        "close": pl.Series(closes[on], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        .dt.convert_time_zone(s.timezone),
        "day": pl.Series([d for d, o in zip(days, on, strict=True) if o], dtype=pl.Date),
        "equity_minor": eq.astype(np.int64),
        "ret": ret,
    })
    return frame, s


def ratios(r: np.ndarray, s: StatsSettings) -> dict[str, float | None]:
    """The ratios of the period returns ``r`` (docs/analytics.md §2). None where undefined."""
    p, n = s.periods, r.shape[0]
    out: dict[str, float | None] = dict.fromkeys(
        ("annual_return", "volatility", "sharpe", "sortino", "calmar", "omega", "daily_max_drawdown_pct"))
    if n == 0 or not np.all(np.isfinite(r)):
        return out
    growth = float(np.prod(1.0 + r))
    out["annual_return"] = growth ** (p / n) - 1.0 if growth > 0 else None
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peak = np.maximum.accumulate(wealth)
    dd = float(np.min((wealth - peak) / peak))
    out["daily_max_drawdown_pct"] = -dd * 100.0
    if out["annual_return"] is not None and dd < 0:
        out["calmar"] = out["annual_return"] / -dd
    if n < 2:
        return out
    rf = s.risk_free / p
    sd = float(np.std(r, ddof=1))
    out["volatility"] = sd * math.sqrt(p)
    ex = r - rf
    sd_ex = float(np.std(ex, ddof=1))
    out["sharpe"] = float(np.mean(ex)) / sd_ex * math.sqrt(p) if sd_ex > 0 else None
    adj = r - s.target
    down = math.sqrt(float(np.mean(np.minimum(adj, 0.0) ** 2))) * math.sqrt(p)
    out["sortino"] = float(np.mean(adj)) * p / down if down > 0 else None
    gain, loss = float(adj[adj > 0].sum()), float(-adj[adj < 0].sum())
    out["omega"] = gain / loss if loss > 0 else None
    return out


def period_table(daily: pl.DataFrame, initial_minor: int, every: str) -> pl.DataFrame:
    """Returns per calendar month (``every='month'``) or year, compounded from the closes."""
    key = [pl.col("day").dt.year().alias("year")]
    if every == "month":
        key.append(pl.col("day").dt.month().alias("month"))
    names = [k.meta.output_name() for k in key]
    per = daily.group_by(key, maintain_order=True).agg(pl.col("equity_minor").last().alias("end_minor"))
    per = per.with_columns(pl.col("end_minor").shift(1).fill_null(initial_minor).alias("start_minor"))
    ok = pl.col("start_minor") > 0
    return per.select(*names, "start_minor", "end_minor",
                      pl.when(ok).then(pl.col("end_minor") / pl.col("start_minor") - 1.0).alias("ret"))
