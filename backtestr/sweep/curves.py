"""Equity curves of the sets as period returns: the T x N matrix the overfitting statistics
take (docs/sweeps.md §5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from ..config import parse_duration_ns
from ..errors import ConfigError

PERIOD = "period"


def duration_ns(v: Any, what: str) -> int:
    """A length (a ``timedelta``, whole ns, or text such as ``"1d"``, ``"90s"``) in ns,
    refused unless longer than zero; ``what`` names it in messages."""
    if isinstance(v, timedelta):
        ns = (v.days * 86_400 + v.seconds) * 10**9 + v.microseconds * 1000
    elif isinstance(v, int) and not isinstance(v, bool):
        ns = v
    else:
        try:
            ns = parse_duration_ns(v)
        except ValueError as exc:
            raise ConfigError(f"{what}: {exc}") from None
    if ns <= 0:
        raise ConfigError(f"{what}: must be longer than zero, got {v!r}")
    return ns


def every_ns(every: Any) -> int:
    """A period length (``"1d"``, ``"1h"``, seconds) in ns; refused unless longer than zero."""
    return duration_ns(every, "returns_every")


def period_equity(equity: pl.DataFrame, every: int) -> pl.DataFrame:
    """The last equity of each period (``period``: its start, periods of ``every`` ns from
    the epoch, so whole days are UTC days), one row per period that has an equity row."""
    return (equity.select(pl.col("ts").dt.truncate(f"{every}ns").alias(PERIOD), pl.col("equity").cast(pl.Float64))
            .group_by(PERIOD, maintain_order=True).agg(pl.col("equity").last()))


def returns_matrix(curves: Mapping[int, pl.DataFrame],
                   initial: Mapping[int, float] | None = None) -> tuple[list[int], list[Any], np.ndarray]:
    """Period returns of each set: ``(set_ids, periods, matrix)`` with one row per period (the
    union of the sets' periods, in time order) and one column per set (ids ascending).

    A set's equity in a period where it has no row is its last one before (no change); before
    its first row it is ``initial[set_id]`` when given, else its first value. The return of a
    period is ``E(p) / E(p - 1) - 1``; the first period's is from ``initial`` (a row of
    zeros when no initial values are given, so the first row is dropped then).
    """
    if not curves:
        raise ConfigError("returns_matrix: no curves")
    ids = sorted(curves)
    wide: pl.DataFrame | None = None
    for sid in ids:
        c = curves[sid].select(PERIOD, pl.col("equity").alias(str(sid)))
        wide = c if wide is None else wide.join(c, on=PERIOD, how="full", coalesce=True)
    assert wide is not None
    wide = wide.sort(PERIOD)
    cols = [str(s) for s in ids]
    filled = wide.with_columns(pl.col(cols).forward_fill())
    eq = filled.select(cols).to_numpy().astype(float)
    base = np.array([float(initial[s]) for s in ids]) if initial is not None else None
    lead = base if base is not None else np.array([float(curves[s]["equity"][0]) for s in ids])
    for j in range(eq.shape[1]):  # before a set's first row: its initial (or first) value
        eq[np.isnan(eq[:, j]), j] = lead[j]
    prev = np.vstack([base if base is not None else eq[:1], eq[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = eq / prev - 1.0
    periods = wide[PERIOD].to_list()
    if base is None:
        rets, periods = rets[1:], periods[1:]
    return ids, periods, rets
