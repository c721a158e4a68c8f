"""Walk-forward analysis (docs/sweeps.md §4): windows, the best set per window, stitching.

Times are int64 nanoseconds since the epoch, UTC (as everywhere in backtestr);
``windows`` also takes ISO-8601 text and datetimes, and durations as text
(``"30d"``, ``"12h"``), ``timedelta`` or nanoseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import polars as pl

from ..config import parse_time_ns
from ..errors import ConfigError
from .curves import duration_ns
from .space import SET_ID

_DAY_NS = 86_400 * 10**9
_TS = pl.Datetime("ns", "UTC")


def _ns_time(v: Any, name: str) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    try:
        ns = parse_time_ns(v)
    except ValueError as exc:
        raise ConfigError(f"walk-forward {name}: {exc}") from None
    if ns is None:
        raise ConfigError(f"walk-forward {name}: a time is required")
    return ns


def _ns_len(v: Any, name: str) -> int:
    return duration_ns(v, f"walk-forward {name}")


@dataclass(frozen=True)
class Window:
    """One walk-forward window: train on ``[train_start, train_end)``, test on ``[test_start, test_end)``."""

    window: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


def windows(start: Any, end: Any, train: Any, test: Any, step: Any = None, *,
            mode: Literal["rolling", "anchored"] = "rolling", tz: str | None = None) -> pl.DataFrame:
    """Train and test windows over ``[start, end)``, one row each (columns ``window``,
    ``train_start``, ``train_end``, ``test_start``, ``test_end``, UTC datetimes).

    Window ``k`` (from 0) tests on ``[t0 + train + k*step, t0 + train + k*step + test)``
    (``step`` defaults to ``test``: test windows that touch without overlap) and
    trains on the ``train`` length before it (``rolling``) or on everything from
    ``t0`` (``anchored``). Only windows whose test ends at or before ``end`` are
    made. With ``tz`` (an IANA name) every boundary is a local midnight of that
    zone: ``t0`` is the first local midnight at or after ``start``, and the
    lengths must be whole days, counted as calendar days (a day across a clock
    change is 23 or 25 hours long).
    """
    rows = window_list(start, end, train, test, step, mode=mode, tz=tz)
    cols = {
        "window": pl.Series([w.window for w in rows], dtype=pl.Int64),
        **{k: pl.Series([getattr(w, k) for w in rows], dtype=pl.Int64).cast(_TS)
           for k in ("train_start", "train_end", "test_start", "test_end")},
    }
    return pl.DataFrame(cols)


def window_list(start: Any, end: Any, train: Any, test: Any, step: Any = None, *,
                mode: Literal["rolling", "anchored"] = "rolling", tz: str | None = None) -> list[Window]:
    """The same windows as ``windows``, as a list of ``Window``."""
    if mode not in ("rolling", "anchored"):
        raise ConfigError(f"walk-forward mode: {mode!r} is not one of rolling, anchored")
    t0, t1 = _ns_time(start, "start"), _ns_time(end, "end")
    if t1 <= t0:
        raise ConfigError("walk-forward end must be after start")
    tr, te = _ns_len(train, "train"), _ns_len(test, "test")
    st = te if step is None else _ns_len(step, "step")
    if tz is None:
        at = _utc_clock(t0)
    else:
        for name, v in (("train", tr), ("test", te), ("step", st)):
            if v % _DAY_NS:
                raise ConfigError(f"walk-forward {name}: with tz the lengths must be whole days, got {v} ns")
        tr, te, st = tr // _DAY_NS, te // _DAY_NS, st // _DAY_NS
        at = _local_days(t0, tz)
    out: list[Window] = []
    k = 0
    while True:
        test_start = at(tr + k * st)
        test_end = at(tr + k * st + te)
        if test_end > t1:
            break
        train_start = at(k * st) if mode == "rolling" else at(0)
        out.append(Window(k, train_start, test_start, test_start, test_end))
        k += 1
    if not out:
        raise ConfigError("walk-forward: the span from start to end is shorter than one train and test window")
    return out


def _utc_clock(t0: int) -> Any:
    return lambda n: t0 + n


def _local_days(t0: int, tz: str) -> Any:
    """Function: whole days after the first local midnight at or after ``t0`` -> UTC ns."""
    from ..risk import zone

    try:
        zi = zone(tz)
    except ValueError as exc:
        raise ConfigError(f"walk-forward tz: {exc}") from None
    local = datetime.fromtimestamp(t0 // 10**9, tz=timezone.utc).astimezone(zi)
    first = local.date()
    if _midnight_ns(first, zi) < t0:
        first += timedelta(days=1)
    return lambda n: _midnight_ns(first + timedelta(days=n), zi)


def _midnight_ns(d: date, zi: Any) -> int:
    """UTC ns of 00:00 local on ``d`` (a midnight skipped by a clock change: the offset before it)."""
    dt = datetime(d.year, d.month, d.day, tzinfo=zi)
    return int(dt.timestamp()) * 10**9


def select_best(results: pl.DataFrame, objective: str, *, maximize: bool = True,
                by: str = "window") -> pl.DataFrame:
    """The best set of each window by ``objective``: one row per value of ``by`` (in
    order) with the set's row of ``results`` (its id and parameters). A tie goes to the
    smaller ``set_id``; a null objective never wins."""
    for col in (by, SET_ID, objective):
        if col not in results.columns:
            raise ConfigError(f"select_best: results have no column {col!r} (columns: {', '.join(results.columns)})")
    ranked = results.filter(pl.col(objective).is_not_null()).sort(
        [by, objective, SET_ID], descending=[False, maximize, False])
    best = ranked.group_by(by, maintain_order=True).first()
    missing = set(results[by].unique().to_list()) - set(best[by].to_list())
    if missing:
        raise ConfigError(f"select_best: window(s) {sorted(missing)} have no set with a value of {objective!r}")
    return best.select(results.columns)


def stitch(segments: Sequence[pl.DataFrame], *, start_value: float | None = None,
           initial: float | None = None, mode: Literal["returns", "pnl"] = "returns") -> pl.DataFrame:
    """Out-of-sample equity segments (frames with ``ts`` and ``equity``, in time order)
    as one curve (``window``, ``ts``, ``equity``).

    Segment ``k`` started from ``s`` (``start_value``, the test run's initial cash;
    by default the segment's first equity). It continues from ``E``, the end value
    of the stitched curve so far (for the first segment ``initial``, default ``s``
    of that segment): ``returns`` maps each value ``e`` to ``E * e / s`` (the
    segment's returns compound on the curve), ``pnl`` to ``E + e - s`` (its money
    gains add up). Segments must not overlap in time.
    """
    if mode not in ("returns", "pnl"):
        raise ConfigError(f"stitch mode: {mode!r} is not one of returns, pnl")
    if not segments:
        raise ConfigError("stitch: no segments")
    parts: list[pl.DataFrame] = []
    level: float | None = initial
    last_ts = None
    for k, seg in enumerate(segments):
        for col in ("ts", "equity"):
            if col not in seg.columns:
                raise ConfigError(f"stitch: segment {k} has no column {col!r}")
        if seg.height == 0:
            continue
        seg = seg.select("ts", pl.col("equity").cast(pl.Float64))
        if last_ts is not None and seg["ts"][0] <= last_ts:
            raise ConfigError(f"stitch: segment {k} starts at {seg['ts'][0]}, not after the previous "
                              f"segment's end {last_ts}")
        s = float(seg["equity"][0]) if start_value is None else float(start_value)
        if mode == "returns" and s == 0:
            raise ConfigError(f"stitch: segment {k} starts from 0, so its returns are undefined (use mode='pnl')")
        e0 = s if level is None else level
        eq = pl.col("equity") * (e0 / s) if mode == "returns" else pl.col("equity") + (e0 - s)
        part = seg.select(pl.lit(k, pl.Int64).alias("window"), "ts", eq.alias("equity"))
        parts.append(part)
        level = float(part["equity"][-1])
        last_ts = seg["ts"][-1]
    if not parts:
        raise ConfigError("stitch: every segment is empty")
    return pl.concat(parts)
