"""Batched search with optuna (docs/sweeps.md §6): ask a batch of sets, run them, tell the results.

optuna is an optional dependency (``pip install backtestr[sweep]``), imported
only when a search starts. The search space has the form of ``random``'s
ranges: ``(lo, hi)`` or ``Range`` (whole numbers when both ends are ints),
``(lo, hi, "log")``, or a list of choices. Each batch is settled and run like
the sets of a sweep (the same executor), so a batch is what the multi-account
engine pass will run over one read of the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ConfigError
from .constraints import Constraint
from .executor import (
    Builder,
    Metrics,
    Objective,
    SweepResult,
    _check_columns,
    _collect,
    _progress_bar,
    _strategy_inputs,
    check_out,
    rank,
    write_results,
)
from .multi import run_sets_one_pass
from .settle import BaseConfig, Plan, plan
from .space import SET_ID, Range, random


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError("search() needs optuna: pip install 'backtestr[sweep]' (or pip install optuna)") from None
    return optuna


def distributions(ranges: Mapping[str, Any]) -> dict[str, Any]:
    """optuna distributions of a search space given like ``random``'s ranges."""
    optuna = _optuna()
    d = optuna.distributions
    out: dict[str, Any] = {}
    for key, r in random(1, ranges).ranges.items():
        if isinstance(r, Range):
            if r.integer:
                out[key] = d.IntDistribution(int(r.lo), int(r.hi), log=r.log)
            else:
                out[key] = d.FloatDistribution(float(r.lo), float(r.hi), log=r.log)
        else:
            out[key] = d.CategoricalDistribution(list(r))
    return out


def search(data: Any, strategy: Builder | type, ranges: Mapping[str, Any], n_trials: int, *, batch_size: int = 8,
           params: Mapping[str, Any] | None = None, constraints: Sequence[Constraint] = (),
           config: BaseConfig = None, overrides: Mapping[str, Any] | Sequence[str] | None = None,
           objective: str | tuple[str, str] | Objective = "final_equity", instruments: Sequence[str | Path] = (),
           metrics: Metrics | None = None, sampler: Any = None, seed: int | None = None,
           out: str | Path | None = None, force: bool = False, progress: bool = False) -> SweepResult:
    """Search ``ranges`` with optuna in batches of ``batch_size`` sets, ``n_trials`` sets in all.

    Each set's id is its trial number. A set the constraints exclude is told to
    the study as pruned and gets no result row; a set whose objective is missing
    or not finite is told as failed. ``sampler``: an optuna sampler (default TPE
    with ``seed``). The other arguments are those of ``sweep``; the study is
    ``result.study``.
    """
    optuna = _optuna()
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"search(n_trials=...): expected a whole number >= 1, got {n_trials!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"search(batch_size=...): expected a whole number >= 1, got {batch_size!r}")
    inputs, declared = _strategy_inputs(strategy, params)
    obj = Objective.of(objective)
    dists = distributions(ranges)
    # settle one set of the space first: a bad key, value or objective stops the search before any run
    probe = {k: (v.choices[0] if hasattr(v, "choices") else v.low) for k, v in dists.items()}
    _check_columns(plan([probe], params=declared, config=config, overrides=overrides, allow_empty=True), obj,
                   metrics)
    out_path = check_out(out, force)
    study = optuna.create_study(direction="maximize" if obj.maximize else "minimize",
                                sampler=sampler if sampler is not None else optuna.samplers.TPESampler(seed=seed))


    def run_batch(trials: list[Any], bar: Any) -> tuple[Plan, list[dict[str, Any]]]:
        batch = plan([t.params for t in trials], params=declared, constraints=constraints, config=config,
                     overrides=overrides, ids=[t.number for t in trials], allow_empty=True)
        return batch, _collect(run_sets_one_pass(data, batch.sets, inputs, instruments), batch, obj, metrics, bar)

    bar = _progress_bar(progress, n_trials)
    try:
        batches = _ask_run_tell(study, dists, n_trials, batch_size, obj, run_batch, bar)
    finally:
        if bar is not None:
            bar.close()
    rows = [r for _, got in batches for r in got]
    if not rows:
        raise ConfigError(f"the constraints exclude every one of the {n_trials} sets the search asked for")
    sets = [s for p, _ in batches for s in p.sets]
    frame = pl.concat([p.frame for p, _ in batches], how="diagonal_relaxed")
    config_keys = list(dict.fromkeys(k for p, _ in batches for k in p.config_keys))
    all_plan = Plan(sets, frame, list(declared or {}), config_keys, n_trials - len(sets), n_trials)
    results = rank(frame.join(pl.DataFrame(rows), on=SET_ID, how="inner"), obj)
    if out_path is not None:
        write_results(results, out_path, force)
    return SweepResult(results, all_plan, obj, out_path, study)


def _ask_run_tell(study: Any, dists: dict[str, Any], n_trials: int, batch_size: int, obj: Objective,
                  run_batch: Any, bar: Any) -> list[tuple[Plan, list[dict[str, Any]]]]:
    """Ask ``batch_size`` trials at a time, run them as one batch, tell each its objective."""
    import optuna

    state = optuna.trial.TrialState
    out = []
    done = 0
    while done < n_trials:
        trials = [study.ask(dists) for _ in range(min(batch_size, n_trials - done))]
        done += len(trials)
        batch, rows = run_batch(trials, bar)
        got = {r[SET_ID]: r for r in rows}
        for t in trials:
            row = got.get(t.number)
            value = None if row is None else row.get(obj.column)
            if row is None:
                study.tell(t, state=state.PRUNED)
            elif value is None or not math.isfinite(float(value)):
                study.tell(t, state=state.FAIL)
            else:
                study.tell(t, float(value))
        out.append((batch, rows))
    return out
