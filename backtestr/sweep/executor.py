"""``sweep``: run every set of a space and rank the results (docs/sweeps.md §3).

The sets are settled first (``settle.plan``), so a bad key or value stops the
sweep before any run. Each set's orders or signals come from the strategy's
builder, ``builder(params) -> frame``. The sets then run through
``_run_sets_sequential``: one ``backtestr.run.run`` per set on the same data,
in this process, one after the other. That function is the seam the
multi-account engine pass replaces (every set's account over one read of the
data): it takes the data, the settled sets and a way to get each set's
inputs, and yields each set with its run's Result, in any order. With
``cluster=``/``workers=`` the sets run as tasks on a Dask cluster instead
(cluster.py); each run's Result is reduced to the set's Outcome (``measure``)
where it ran, in this process or on a worker.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import BacktestrError, ConfigError
from .cluster import cluster_settings, shared_data
from .constraints import Constraint
from .curves import every_ns, period_equity, returns_matrix
from .multi import PassSettings, run_sets_one_pass
from .setlogs import SETS_DIR, check_logs, logs_level, with_level
from .settle import BaseConfig, Plan, SettledSet, plan
from .space import SET_ID

# summary figures kept per set (docs/outputs.md names them); all are exact repeats for a repeated set
FIGURES: tuple[str, ...] = (
    "final_equity", "net_pnl", "realized_pnl", "unrealized_pnl", "commission", "swap", "max_drawdown",
    "max_drawdown_pct", "fills", "orders", "orders_filled", "orders_rejected", "positions", "positions_open",
    "margin_calls", "stop_outs", "ticks",
)
RANK = "rank"
RESULTS_FILE = "results.parquet"

Builder = Callable[[dict[str, Any]], Any]
Metrics = Callable[[Any], Mapping[str, Any]]


@dataclass(frozen=True)
class Objective:
    """The column that ranks the sets and whether a higher value is better."""

    column: str
    maximize: bool = True

    @classmethod
    def of(cls, value: str | tuple[str, str] | Objective) -> Objective:
        """``"col"`` (maximise), ``"-col"`` (minimise), ``("col", "max" | "min")`` or an Objective."""
        if isinstance(value, Objective):
            return value
        if isinstance(value, str) and value.strip():
            v = value.strip()
            return cls(v[1:], False) if v.startswith("-") else cls(v, True)
        if isinstance(value, tuple) and len(value) == 2 and value[1] in ("max", "min"):
            return cls(str(value[0]), value[1] == "max")
        raise ConfigError(f"objective: expected 'column', '-column' or ('column', 'max'|'min'), got {value!r}")


@dataclass
class SweepResult:
    """A finished sweep: ``results`` (one row per set, best first), the settled ``plan``."""

    results: pl.DataFrame
    plan: Plan
    objective: Objective
    out: Path | None = None
    study: Any = None  # the optuna study of a search (search.py)
    curves: dict[int, pl.DataFrame] | None = None  # set id -> (period, equity) with returns_every
    initial: dict[int, float] | None = None  # set id -> initial cash, with returns_every

    def returns(self) -> tuple[list[int], list[Any], np.ndarray]:
        """``(set_ids, periods, matrix)``: the sets' period returns (``returns_every``), one
        column per set, for ``pbo`` and ``deflated_sharpe_of`` (curves.returns_matrix)."""
        if self.curves is None:
            raise BacktestrError("no equity curves were kept: run the sweep with returns_every='1d' (or another period)")
        return returns_matrix(self.curves, self.initial)

    @property
    def best(self) -> dict[str, Any]:
        """The best set's row (rank 1)."""
        return self.results.row(0, named=True)

    def logs_of(self, set_id: int) -> Any:
        """A set's logs written with ``set_logs`` (``out/sets/<set_id>/``), as a run's Result
        whose frames are read from there when asked for."""
        from ..run import Result

        folder = self.out / SETS_DIR / str(set_id) if self.out is not None else None
        if folder is None or not (folder / "summary.json").is_file():
            raise BacktestrError(f"no logs of set {set_id}: run the sweep with out= and set_logs='trades' "
                                 "(or another level)")
        import json

        return Result(json.loads((folder / "summary.json").read_text()), out=folder)

    def params_of(self, set_id: int) -> dict[str, Any]:
        """The strategy parameters of a set (defaults filled in)."""
        for s in self.plan.sets:
            if s.set_id == set_id:
                return dict(s.params)
        raise BacktestrError(f"no set {set_id} in this sweep")


@dataclass(frozen=True)
class RunInputs:
    """What one set's account trades: an orders frame, a signals frame, or both; or a
    compiled strategy class with the set's parameters."""

    orders: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    strategy: type | None = None
    params: Mapping[str, Any] | None = None


def inputs_of(built: Any, set_id: int) -> RunInputs:
    """A builder's return value as RunInputs: a frame (signals when it has a ``target``
    column, else orders) or a dict with ``orders`` and/or ``signals``."""
    if isinstance(built, pl.DataFrame):
        return RunInputs(signals=built) if "target" in built.columns else RunInputs(orders=built)
    if isinstance(built, Mapping) and built and set(built) <= {"orders", "signals"}:
        return RunInputs(orders=built.get("orders"), signals=built.get("signals"))
    raise BacktestrError(f"set {set_id}: the strategy's builder returned {type(built).__name__}; expected a "
                         "Polars frame of orders or signals, or a dict with 'orders' and/or 'signals'")


@dataclass(frozen=True)
class ClassInputs:
    """The inputs of a compiled strategy class: each set's account gets the class (compiled
    once) and its own parameter record (a picklable callable, for the cluster)."""

    cls: type

    def __call__(self, s: SettledSet) -> RunInputs:
        return RunInputs(strategy=self.cls, params=dict(s.params))


def builder_inputs(build: Builder) -> Callable[[SettledSet], RunInputs]:
    """The function giving a set's inputs: the builder called with the set's parameters. An
    exception in the builder stops the sweep, naming the set (a BacktestrError keeps its kind)."""
    def inputs(s: SettledSet) -> RunInputs:
        try:
            built = build(dict(s.params))
        except BacktestrError as exc:
            raise type(exc)(f"set {s.set_id} {_shown(s)}: {exc}") from exc
        except Exception as exc:
            raise BacktestrError(f"set {s.set_id} {_shown(s)}: the strategy's builder failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        return inputs_of(built, s.set_id)
    return inputs


def _run_sets_sequential(data: Any, sets: Sequence[SettledSet], inputs: Callable[[SettledSet], RunInputs],
                         instruments: Sequence[str | Path] = ()) -> Iterator[tuple[SettledSet, Any]]:
    """Each set through ``backtestr.run.run`` on ``data``, in order (the reference executor).

    Replaced by the multi-account engine pass, which takes the same arguments and
    yields the same pairs. A failing set stops the sweep with its id and parameters.
    """
    from ..run import run

    for s in sets:
        ins = inputs(s)
        try:
            result = run(data, orders=ins.orders, signals=ins.signals, config=s.config,
                         instruments=list(instruments), strategy=ins.strategy,
                         params=ins.params if ins.strategy is not None else None)
        except BacktestrError as exc:
            raise type(exc)(f"set {s.set_id} {_shown(s)}: {exc}") from exc
        yield s, result


@dataclass(frozen=True)
class Measure:
    """What is kept of each set's run: the metrics callable, the equity period in ns
    (``returns_every``, None for none) and the plan's columns (a metric must not repeat one)."""

    metrics: Metrics | None = None
    every: int | None = None
    columns: tuple[str, ...] = ()


@dataclass
class Outcome:
    """One set's result as kept by the sweep: its results row (set id, summary figures,
    metrics) and, with ``returns_every``, its equity per period and initial cash."""

    set_id: int
    row: dict[str, Any]
    curve: pl.DataFrame | None = None
    initial: float | None = None


def measure(s: SettledSet, result: Any, m: Measure) -> Outcome:
    """A run's Result reduced to the set's Outcome (where the run happened: in this process
    or on a cluster worker, so only the small Outcome travels)."""
    row: dict[str, Any] = {SET_ID: s.set_id, **{k: result.summary.get(k) for k in FIGURES}}
    if m.metrics is not None:
        extra = dict(m.metrics(result))
        clash = [k for k in extra if k in row or k in m.columns]
        if clash:
            raise ConfigError(f"metrics: column(s) {', '.join(clash)} already exist in the results")
        row.update(extra)
    if m.every is None:
        return Outcome(s.set_id, row)
    return Outcome(s.set_id, row, period_equity(result.equity, m.every), float(result.summary["initial_cash"]))


def _shown(s: SettledSet) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in {**s.params, **s.overrides}.items()) + ")"


def _strategy_inputs(strategy: Any, params: Mapping[str, Any] | None) -> tuple[Callable[[SettledSet], RunInputs],
                                                                                 Mapping[str, Any] | None]:
    """The function giving each set's inputs and the declared parameters: a compiled strategy
    class (backtestr.strategies.Strategy) declares its ``params``; a builder its ``params``
    attribute, or ``params=``."""
    if inspect.isclass(strategy):
        from ..strategies.base import check

        check(strategy, "sweep(strategy=...)")
        declared = dict(strategy.params)
        if params is not None and dict(params) != declared:
            extra = [k for k in params if k not in declared]
            if extra:
                raise ConfigError(f"sweep(params=...): strategy {strategy.__name__} has no parameter(s) "
                                  f"{', '.join(extra)} (it has: {', '.join(declared) or 'none'})")
            declared = {**declared, **params}
        return ClassInputs(strategy), declared
    build = _builder(strategy)
    declared = params if params is not None else getattr(strategy, "params", None)
    if declared is not None and not isinstance(declared, Mapping):
        raise ConfigError("sweep(params=...): expected a dict {name: default} of the strategy's parameters")
    return builder_inputs(build), declared


def _builder(strategy: Any) -> Builder:
    if not callable(strategy):
        raise ConfigError(f"sweep(strategy=...): expected a callable builder(params), got {type(strategy).__name__}")
    return strategy


def sweep(data: Any, strategy: Builder | type, grid: Any, *, params: Mapping[str, Any] | None = None,
          constraints: Sequence[Constraint] = (), config: BaseConfig = None,
          overrides: Mapping[str, Any] | Sequence[str] | None = None,
          objective: str | tuple[str, str] | Objective = "final_equity", instruments: Sequence[str | Path] = (),
          metrics: Metrics | None = None, returns_every: str | None = None, out: str | Path | None = None,
          force: bool = False, progress: bool = False, cluster: Any = None,
          workers: int | None = None, engine: PassSettings | None = None,
          set_logs: str | None = None) -> SweepResult:
    """Run every set of ``grid`` on ``data`` and rank the sets by ``objective``.

    ``strategy``: a builder ``builder(params) -> frame`` (orders, or signals when the
    frame has a ``target`` column; or a dict with ``orders``/``signals``); it gets the
    strategy parameters, the declared defaults with the set's values over them.
    ``params``: the declared parameters ``{name: default}`` (default: the builder's
    ``params`` attribute). ``grid``: a dict of lists, ``random(n, ranges, seed)`` or a
    list of dicts. ``constraints``: expressions or callables a set must satisfy.
    ``config``/``overrides``: the base config every set is settled from.
    ``objective``: a result column, ``"-col"`` to minimise. ``metrics``: a callable
    ``metrics(result) -> {column: value}`` adding columns per set. ``returns_every``: keep
    each set's last equity per period (``"1d"``, ``"1h"``) for ``result.returns()``
    (needs ``run.log_level`` trades or above). ``out``: a folder
    to write ``results.parquet`` into, whole or not at all (``force`` replaces it).
    ``cluster``: a Dask scheduler address (``"tcp://host:8786"``) or a
    ``distributed.Client`` to run the sets on; ``workers=N`` without an address starts a
    local cluster of N processes for the sweep (docs/sweeps.md §9). The results are the
    in-process sweep's. ``engine``: the one-pass engine's ``PassSettings`` (threads, block
    rows, sets built per batch, sets per pass; docs/sweeps.md §10). ``set_logs``: a log level
    (``"trades"``, ``"events"``, ``"ticks"``; default None, off): every set runs at that
    level and its logs and summary.json are written under ``out/sets/<set_id>/``, as
    ``run(out=...)`` of the set alone writes them (needs ``out``; not with ``cluster``).
    """
    inputs, declared = _strategy_inputs(strategy, params)
    obj = Objective.of(objective)
    level = logs_level(set_logs)
    the_plan = plan(grid, params=declared, constraints=constraints, config=config, overrides=overrides)
    where = cluster_settings(cluster, workers)
    if level != "off":
        check_logs(level, out, where is not None, the_plan)
        the_plan = with_level(the_plan, level)
    _check_columns(the_plan, obj, metrics)
    keep = _Curves(the_plan, returns_every) if returns_every is not None else None
    out_path = check_out(out, force)
    m = Measure(metrics, keep.every if keep else None, tuple(the_plan.frame.columns))
    # with per-set logs, the staging folder is made first: the sets' logs stream into it
    staged = _stage(out_path, force) if out_path is not None and level != "off" else None
    try:
        rows = _run_all(data, the_plan, inputs, instruments, (m, obj, keep), (where, engine),
                        staged.path / SETS_DIR if staged is not None else None, progress)
        results = rank(the_plan.frame.join(pl.DataFrame(rows), on=SET_ID, how="inner"), obj)
        res = SweepResult(results, the_plan, obj, out_path, curves=keep.curves if keep else None,
                          initial=keep.initial if keep else None)
        if out_path is not None:
            curves = None
            if keep is not None:
                from .plots import curves_frame

                curves = curves_frame(res)
            write_results(results, out_path, force, curves, staged)
    except BaseException:
        if staged is not None:
            staged.discard()  # a failed or interrupted sweep leaves no OUT, and no set's logs
        raise
    return res


def _run_all(data: Any, the_plan: Plan, inputs: Callable[[SettledSet], RunInputs], instruments: Sequence[str | Path],
             kept: tuple[Measure, Objective, Any], how: tuple[Any, PassSettings | None], logs: Path | None,
             progress: bool) -> list[dict[str, Any]]:
    """Every set run (in this process or on the cluster ``how[0]``) and measured: the rows."""
    m, obj, keep = kept
    where, engine = how
    bar = _progress_bar(progress, len(the_plan))
    ticks = _ticks_bar(bar)
    try:
        if where is None:
            pairs = run_sets_one_pass(data, the_plan.sets, inputs, instruments, engine, ticks, logs)
            outcomes = (measure(s, r, m) for s, r in pairs)
        else:
            from .cluster import run_sets_on_cluster

            pairs = None
            outcomes = run_sets_on_cluster(shared_data(data), the_plan.sets, inputs, instruments, m, where)
        try:
            with closing(outcomes):  # a cluster the sweep started is closed even when a set fails
                return _collect_outcomes(outcomes, obj, bar, keep)
        finally:
            if pairs is not None:
                pairs.close()  # the accounts' log writers stopped before the staging folder goes
    finally:
        for b in (ticks, bar):
            if b is not None:
                b.close()


def _stage(out: Path, force: bool) -> Any:
    from ..outputs import stage

    return stage(out, "sweep", "sweep", replace=force)


class _Curves:
    """Keeps each set's last equity per period (``returns_every``)."""

    def __init__(self, the_plan: Plan, every: Any) -> None:
        self.every = every_ns(every)
        off = [s.set_id for s in the_plan.sets if s.config["run.log_level"] == "off"]
        if off:
            raise ConfigError(f"returns_every needs the runs' equity rows: run.log_level is off for set(s) "
                              f"{', '.join(map(str, off[:5]))}; set it to trades")
        self.curves: dict[int, pl.DataFrame] = {}
        self.initial: dict[int, float] = {}

    def __call__(self, o: Outcome) -> None:
        self.curves[o.set_id] = o.curve
        self.initial[o.set_id] = o.initial


def _check_columns(the_plan: Plan, obj: Objective, metrics: Metrics | None) -> None:
    """Parameter names must not be result columns; the objective must be one (checked again per
    set when ``metrics`` adds columns)."""
    clash = [c for c in the_plan.frame.columns if c in FIGURES or c == RANK]
    if clash:
        raise ConfigError(f"strategy parameter(s) {', '.join(clash)} have the name of a result column; rename them")
    if metrics is None and obj.column not in FIGURES:
        raise ConfigError(f"objective {obj.column!r} is not a result column (columns: {', '.join(FIGURES)}; "
                          "more come from metrics=)")


def _collect(pairs: Iterator[tuple[SettledSet, Any]], the_plan: Plan, obj: Objective, metrics: Metrics | None,
             bar: Any) -> list[dict[str, Any]]:
    """The rows of ``(set, Result)`` pairs run in this process (``_collect_outcomes``)."""
    m = Measure(metrics, None, tuple(the_plan.frame.columns))
    return _collect_outcomes((measure(s, r, m) for s, r in pairs), obj, bar)


def _collect_outcomes(outcomes: Iterator[Outcome], obj: Objective, bar: Any,
             keep: Callable[[Outcome], None] | None = None) -> list[dict[str, Any]]:
    """One row per set, in set id order whatever order the sets finished in; ``bar`` (tqdm
    or None) advances by one per set and shows the best objective so far; ``keep(outcome)``
    sees each set's Outcome."""
    rows: dict[int, dict[str, Any]] = {}
    best: float | None = None
    for o in outcomes:
        row = o.row
        if obj.column not in row:
            raise ConfigError(f"objective {obj.column!r} is not a result column "
                              f"(columns: {', '.join(k for k in row if k != SET_ID)})")
        rows[o.set_id] = row
        if keep is not None:
            keep(o)
        if bar is not None:
            v = row[obj.column]
            if v is not None and (best is None or (v > best if obj.maximize else v < best)):
                best = v
            bar.set_postfix({obj.column: best}, refresh=False)
            bar.update(1)
    return [rows[k] for k in sorted(rows)]


def rank(results: pl.DataFrame, obj: Objective) -> pl.DataFrame:
    """Sort best first (ties: smaller set id; a null objective last) and number the ranks from 1."""
    out = results.sort([obj.column, SET_ID], descending=[obj.maximize, False], nulls_last=True)
    return out.select(pl.int_range(1, out.height + 1, dtype=pl.Int64).alias(RANK), pl.all())


def check_out(out: str | Path | None, force: bool) -> Path | None:
    """Refuse ``out`` before any set runs when the results could not be written there."""
    if out is None:
        return None
    out_path = Path(out)
    try:
        from ..outputs import check_target
    except ImportError:
        check_target = None
    if check_target is not None:
        check_target(out_path, "sweep", "sweep", replace=force)
    elif out_path.exists() and not force:
        raise BacktestrError(f"output folder {out_path} exists; pass force=True to replace it")
    return out_path


def write_results(results: pl.DataFrame, out: Path, force: bool, curves: pl.DataFrame | None = None,
                  staged: Any = None) -> None:
    """``out/results.parquet`` (and, when the sweep kept equity curves, ``curves.parquet``
    beside it) appear whole or not at all: written into a staging folder beside ``out``
    (``staged``: one made before the sets ran, holding their logs), which is then renamed to
    ``out`` (replacing an earlier sweep's with ``force``; docs/safety.md)."""
    from .plots import CURVES_FILE

    with staged if staged is not None else _stage(out, force) as staged:
        results.write_parquet(staged.path / RESULTS_FILE)
        if curves is not None:
            curves.write_parquet(staged.path / CURVES_FILE)


def _ticks_bar(sets_bar: Any) -> Any:
    """With a progress bar over the sets, a second one over the ticks each pass reads (the
    one-pass engine finishes its sets together, at the end of the pass)."""
    if sets_bar is None:
        return None
    from tqdm import tqdm

    return tqdm(unit=" ticks", unit_scale=True, desc="ticks read", file=sys.stderr, position=1, leave=False)


def _progress_bar(enabled: bool, total: int) -> Any:
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" sets", desc="sweep", file=sys.stderr)
