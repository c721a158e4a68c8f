"""Returns on a calendar of daily closes, the ratios made from them, and drawdowns.

Every pass over the equity log is a lazy Polars query that reads only the
columns it needs; the results are small (one row per day or per drawdown).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from .settings import StatsSettings

NS = 10**9
_UTC = timezone.utc


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


def sessions(equity: pl.LazyFrame, closes: np.ndarray) -> pl.DataFrame:
    """Per session k (rows with ``closes[k-1] <= ts < closes[k]``): its last equity, and whether a row of
    it falls on a Saturday (UTC)."""
    t = pl.col("ts").dt.epoch("ns")
    k = pl.lit(pl.Series("c", closes, pl.Int64)).search_sorted(t, side="right")
    saturday = (t // (86_400 * NS) + 3) % 7 == 5  # 1970-01-01 was a Thursday (3, Monday 0)
    return (equity.select(k.cast(pl.Int64).alias("k"), "equity_minor", saturday.alias("sat"))
            .group_by("k").agg(pl.col("equity_minor").last().alias("last"), pl.col("sat").any())
            .sort("k").collect())


def daily_equity(equity: pl.LazyFrame, initial_minor: int, start_ns: int, end_ns: int,
                 s: StatsSettings, crypto: bool = False) -> tuple[pl.DataFrame, StatsSettings]:
    """Equity at each close of the calendar and the period returns between them.

    ``s.calendar`` may be ``auto``: then it is ``daily`` when ``crypto`` (a
    symbol trades every day) or the equity log has a row on a Saturday (UTC,
    when every FX market is closed), else ``weekdays``. Returns the frame
    (``close``, ``day``, ``equity_minor``, ``ret``) and the settings with the
    calendar resolved. The first period starts at the first tick from
    ``initial_minor``; the last ends at the last equity row, labelled with
    the close that follows it.
    """
    closes, days = calendar_closes(start_ns, end_ns, s)
    per = sessions(equity, closes)
    n = closes.shape[0]
    last = np.full(n, -1, np.int64)
    have = np.zeros(n, bool)
    ks = per["k"].to_numpy()
    inside = ks < n
    last[ks[inside]] = per["last"].to_numpy()[inside]
    have[ks[inside]] = True
    s = s.resolved(bool(per["sat"].any()) or crypto)
    if s.calendar == "daily":
        on = np.zeros(n, bool)
        on[:int(np.searchsorted(closes, end_ns, side="right")) + 1] = True
    else:
        on = np.array([d.weekday() < 5 for d in days], bool)
    # the equity at a close: the last row of that session or of any before it
    idx = np.maximum.accumulate(np.where(have, np.arange(n), -1))
    eq = np.where(idx >= 0, last[np.maximum(idx, 0)], initial_minor)[on]
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


def drawdowns(equity: pl.LazyFrame, start_ns: int, end_ns: int) -> dict[str, float | int | None]:
    """Drawdown episodes from every equity row: the deepest (money) with its duration and recovery.

    An episode runs from the last row at a peak (``drawdown_minor == 0``; the
    run's start when the first rows are already below the initial cash) to
    the next row at a peak (its recovery), or to the end when there is none.
    """
    ts = pl.col("ts").dt.epoch("ns")
    at_peak = pl.col("drawdown_minor") == 0
    ep = (equity.select(ts.alias("t"), "drawdown_minor", "equity_minor")
          .with_columns(at_peak.cast(pl.Int64).cum_sum().alias("ep"),
                        pl.when(at_peak).then(pl.col("t")).forward_fill().alias("peak_t"),
                        pl.when(at_peak).then(pl.col("t")).backward_fill().alias("back_t"))
          .filter(pl.col("drawdown_minor") > 0)
          .group_by("ep")
          .agg(pl.col("peak_t").first(), pl.col("back_t").first(),
               pl.col("drawdown_minor").max().alias("dd"),
               pl.col("t").get(pl.col("drawdown_minor").arg_max()).alias("trough_t"),
               (pl.col("drawdown_minor") / (pl.col("equity_minor") + pl.col("drawdown_minor")))
               .max().alias("pct"))
          .collect())
    none = {"max_drawdown_minor": 0, "max_drawdown_pct": 0.0, "max_drawdown_start": None,
            "max_drawdown_trough": None, "max_drawdown_end": None, "max_drawdown_duration_s": 0.0,
            "max_drawdown_recovery_s": 0.0, "longest_drawdown_s": 0.0, "drawdowns": 0}
    if ep.height == 0:
        return none
    start = ep["peak_t"].fill_null(start_ns).to_numpy()
    end_or_now = ep["back_t"].fill_null(end_ns).to_numpy()
    order = np.argsort(start, kind="stable")  # episodes in time order: the first of equal depths
    i = int(order[np.argmax(ep["dd"].to_numpy()[order])])
    back = ep["back_t"][i]
    return {
        "max_drawdown_minor": int(ep["dd"][i]),
        "max_drawdown_pct": float(ep["pct"].max()) * 100.0,
        "max_drawdown_start": int(start[i]),
        "max_drawdown_trough": int(ep["trough_t"][i]),
        "max_drawdown_end": None if back is None else int(back),
        "max_drawdown_duration_s": (int(end_or_now[i]) - int(start[i])) / NS,
        "max_drawdown_recovery_s": None if back is None else (int(back) - int(ep["trough_t"][i])) / NS,
        "longest_drawdown_s": float((end_or_now - start).max()) / NS,
        "drawdowns": ep.height,
    }


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
