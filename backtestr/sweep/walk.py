"""``walk_forward``: a sweep on each train window, the best set run on its test window, the
test equity stitched into one out-of-sample curve (docs/sweeps.md §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ConfigError
from .constraints import Constraint
from .executor import (
    FIGURES,
    RANK,
    Builder,
    Metrics,
    Objective,
    _run_sets_sequential,
    _strategy_inputs,
    sweep,
)
from .settle import BaseConfig, _base_overrides, plan
from .space import SET_ID, enumerate_space
from .walkforward import Window, stitch

WINDOW = "window"


@dataclass
class WalkForward:
    """``train``: every set's results per window; ``chosen``: the best set per window with its
    test figures; ``equity``: the stitched out-of-sample curve (``window``, ``ts``, ``equity``)."""

    train: pl.DataFrame
    chosen: pl.DataFrame
    equity: pl.DataFrame


def _when(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ns // 1000)


def _window_list(wins: pl.DataFrame | Sequence[Window]) -> list[Window]:
    if isinstance(wins, pl.DataFrame):
        need = ["window", "train_start", "train_end", "test_start", "test_end"]
        missing = [c for c in need if c not in wins.columns]
        if missing:
            raise ConfigError(f"walk_forward(windows=...): the frame has no column(s) {', '.join(missing)}")
        cols = [wins[c] if c == "window" else wins[c].dt.epoch("ns") for c in need]
        return [Window(*(int(v) for v in row)) for row in zip(*(c.to_list() for c in cols), strict=True)]
    return list(wins)


def walk_forward(data: Any, strategy: Builder | type, grid: Any, windows: pl.DataFrame | Sequence[Window], *,
                 params: Mapping[str, Any] | None = None, constraints: Sequence[Constraint] = (),
                 config: BaseConfig = None, overrides: Mapping[str, Any] | Sequence[str] | None = None,
                 objective: str | tuple[str, str] | Objective = "final_equity",
                 instruments: Sequence[str | Path] = (), metrics: Metrics | None = None,
                 mode: str = "returns", progress: bool = False) -> WalkForward:
    """For each window: sweep ``grid`` over the train span (``data.start``/``data.end`` set to
    it), take the best set by ``objective`` (ties: the smaller set id), run it over the test
    span at log level ``trades`` (for its equity), and stitch the test equity curves with
    ``stitch(mode=mode)`` from each test run's initial cash. The other arguments are those
    of ``sweep``."""
    inputs, declared = _strategy_inputs(strategy, params)
    obj = Objective.of(objective)
    base = _base_overrides(overrides)
    spans = sorted({k for _, s in enumerate_space(grid) for k in s} & {"data.start", "data.end"})
    if spans:
        raise ConfigError(f"walk_forward: the grid sets {', '.join(spans)}, which the windows set")
    train_frames, chosen_rows, segments = [], [], []
    for w in _window_list(windows):
        span = {"data.start": _when(w.train_start), "data.end": _when(w.train_end)}
        res = sweep(data, strategy, grid, params=params, constraints=constraints, config=config,
                    overrides={**base, **span}, objective=obj, instruments=instruments, metrics=metrics,
                    progress=progress)
        train_frames.append(res.results.select(pl.lit(w.window, pl.Int64).alias(WINDOW), pl.all()))
        best = res.results.row(0, named=True)
        chosen = next(s for s in res.plan.sets if s.set_id == best[SET_ID])
        keys = [c for c in res.plan.frame.columns if c != SET_ID]
        test_over = {**base, "data.start": _when(w.test_start), "data.end": _when(w.test_end),
                     "run.log_level": "trades"}
        test_plan = plan([{**chosen.params, **chosen.overrides}], params=declared, config=config,
                         overrides=test_over, ids=[chosen.set_id])
        ((_, result),) = list(_run_sets_sequential(data, test_plan.sets, inputs, instruments))
        row = {WINDOW: w.window, SET_ID: best[SET_ID], **{k: best[k] for k in keys},
               f"train_{obj.column}": best[obj.column], **{f"test_{k}": result.summary.get(k) for k in FIGURES}}
        if metrics is not None:
            row.update({f"test_{k}": v for k, v in dict(metrics(result)).items()})
        chosen_rows.append(row)
        segments.append((w.window, result.equity.select("ts", "equity"), float(result.summary["initial_cash"])))
    equity = _stitch_all(segments, mode)
    train = pl.concat(train_frames, how="diagonal_relaxed").drop(RANK)
    return WalkForward(train, pl.DataFrame(chosen_rows), equity)


def _stitch_all(segments: list[tuple[int, pl.DataFrame, float]], mode: Any) -> pl.DataFrame:
    """Each test run starts from its own initial cash (``stitch``'s start value); the curve
    starts from the first run's. Segments are labelled with their window."""
    parts: list[pl.DataFrame] = []
    level = None
    for window, f, s in segments:
        if f.height == 0:
            continue
        if parts and f["ts"][0] <= parts[-1]["ts"][-1]:
            raise ConfigError(f"walk_forward: the test span of window {window} overlaps the one before it "
                              "(a step shorter than the test length)")
        part = stitch([f], start_value=s, initial=level, mode=mode)
        parts.append(part.with_columns(pl.lit(window, pl.Int64).alias(WINDOW)))
        level = float(part["equity"][-1])
    if not parts:
        raise ConfigError("walk_forward: no test window has any equity row")
    return pl.concat(parts)
