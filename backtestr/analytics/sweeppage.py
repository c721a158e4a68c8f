"""The sweep page of ``backtestr report`` (docs/sweeps.md §8): the ranked sets, the objective over
two parameters, parallel coordinates and, when per-set returns were kept, the deflated Sharpe
ratio of the best set and the PBO. The page itself is the report's (``report.page``)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import BacktestrError, ConfigError
from .source import AnalyticsError

RESULTS = "results.parquet"


@dataclass(frozen=True)
class SweepPage:
    """What the sweep page shows: the ``top`` sets; the heatmap over parameters ``x`` and ``y``
    (default: the first two keys of the space), other parameters aggregated by ``reduce``
    (max, mean, median, min); ``objective`` (``"col"``, ``"-col"`` to rank lowest first;
    default: the sweep's, or ``final_equity`` for a folder); ``n_blocks`` of the PBO (at most)."""

    top: int = 20
    x: str | None = None
    y: str | None = None
    reduce: str = "max"
    objective: str | None = None
    n_blocks: int = 16


@dataclass
class Loaded:
    """A sweep ready to be drawn: its results ranked by ``objective``, its parameters, its kept curves."""

    results: pl.DataFrame
    params: list[str]
    objective: Any  # sweep.executor.Objective
    settings: SweepPage
    curves: dict[int, pl.DataFrame] | None
    initial: dict[int, float] | None
    out: Path | None
    title: str


def load(source: Any, settings: SweepPage) -> Loaded:
    """A ``SweepResult`` or a sweep's output folder (``results.parquet``, and ``curves.parquet``
    when the per-set equity was kept), checked against ``settings``."""
    from ..sweep.executor import Objective, SweepResult, rank
    from ..sweep.plots import CURVES_FILE, REDUCERS, curves_of, parameters

    if isinstance(source, SweepResult):
        results, curves, initial, out = source.results, source.curves, source.initial, source.out
        default_obj: Any = source.objective
    else:
        out = Path(source)
        if not (out / RESULTS).is_file():
            raise AnalyticsError(f"{out}: no {RESULTS}; expected the --out folder of `backtestr sweep`")
        try:
            results = pl.read_parquet(out / RESULTS)
            frame = pl.read_parquet(out / CURVES_FILE) if (out / CURVES_FILE).is_file() else None
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise AnalyticsError(f"{out}: cannot read the sweep's results ({exc})") from None
        curves, initial = curves_of(frame) if frame is not None else (None, None)
        default_obj = "final_equity"
    if results.height == 0:
        raise AnalyticsError("the sweep has no results")
    obj = Objective.of(settings.objective if settings.objective is not None else default_obj)
    params = parameters(results)
    _check(settings, results, params, obj.column, REDUCERS)
    name = out.name if out is not None else "sweep"
    return Loaded(rank(results.drop("rank", strict=False), obj), params, obj, settings, curves, initial, out,
                  f"backtestr sweep report: {name}")


def _check(st: SweepPage, results: pl.DataFrame, params: list[str], objective: str, reducers: tuple) -> None:
    if isinstance(st.top, bool) or not isinstance(st.top, int) or st.top < 1:
        raise ConfigError(f"top: expected a whole number of sets, at least 1, got {st.top!r}")
    for name, v in (("x", st.x), ("y", st.y)):
        if v is not None and v not in params:
            raise ConfigError(f"{name}: {v!r} is not a parameter of the sweep (parameters: {', '.join(params)})")
    if st.x is not None and st.x == st.y:
        raise ConfigError(f"x and y: both are {st.x!r}; choose two different parameters")
    if st.reduce not in reducers:
        raise ConfigError(f"reduce: {st.reduce!r} is not one of {', '.join(reducers)}")
    if objective not in results.columns or objective in params or objective == "set_id":
        cols = [c for c in results.columns if c not in params and c not in ("rank", "set_id")]
        raise ConfigError(f"objective: {objective!r} is not a result column of the sweep (columns: {', '.join(cols)})")


def axes(sw: Loaded) -> tuple[str, str] | None:
    """The heatmap's parameters: the chosen ones, else the first two keys of the space (the one
    given and the first other key when only one is chosen); None when the space has fewer than two."""
    st, ps = sw.settings, sw.params
    if st.x is not None and st.y is not None:
        return st.x, st.y
    if len(ps) < 2:
        return None
    if st.x is not None:
        return st.x, next(p for p in ps if p != st.x)
    if st.y is not None:
        return next(p for p in ps if p != st.y), st.y
    return ps[0], ps[1]


def _top_table(sw: Loaded) -> pl.DataFrame:
    from ..sweep.executor import FIGURES

    shown = ["net_pnl", "max_drawdown_pct", "commission", "fills", "orders_rejected", "stop_outs"]
    metrics = [c for c in sw.results.columns if c not in FIGURES and c not in sw.params and c not in ("rank", "set_id")]
    cols = ["rank", "set_id", *sw.params, sw.objective.column]
    cols += [c for c in [*shown, *metrics] if c in sw.results.columns and c not in cols]
    return sw.results.head(sw.settings.top).select(cols)


def overfitting(sw: Loaded) -> tuple[dict[str, Any], Any] | str:
    """``({figure: value}, PBO)`` from the kept per-set returns, or the reason there are none."""
    from ..sweep.curves import returns_matrix
    from ..sweep.overfit import deflated_sharpe, pbo, sharpe

    if sw.curves is None:
        return ("The sweep kept no per-set returns, so the deflated Sharpe ratio and the PBO are not shown "
                "(run the sweep with returns_every='1d', or another period).")
    ids, _, m = returns_matrix(sw.curves, sw.initial)
    m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
    t, n = m.shape
    if t < 4 or n < 2:
        return f"Too little to judge overfitting: {t} periods of {n} sets (at least 4 periods of 2 sets are needed)."
    best = int(sw.results["set_id"][0])
    srs = np.asarray(sharpe(m), dtype=float)
    try:
        d = deflated_sharpe(m[:, ids.index(best)], n, float(np.var(srs, ddof=1)))
        blocks = max(2, min(sw.settings.n_blocks, t) // 2 * 2)
        p = pbo(m, n_blocks=blocks)
    except (BacktestrError, ValueError) as exc:
        return f"The overfitting statistics could not be computed: {exc}"
    figures = {"best set (rank 1)": best, "Sharpe ratio per period": d.sharpe,
               "expected best Sharpe of N noise sets (SR0)": d.expected_max, "sets tried (N)": n,
               "variance of the sets' Sharpe ratios (V)": d.sr_variance, "periods (T)": t,
               "deflated Sharpe ratio": d.dsr, "PBO": p.pbo, "PBO blocks": p.n_blocks}
    return figures, p


def _figures_table(figures: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>" for k, v in figures.items())
    return f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table>"


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def render_sweep(sw: Loaded) -> list[str]:
    """The sweep page's HTML fragments (for ``report.page``)."""
    from ..sweep.plots import heatmap, parallel, pbo_figure
    from .report import _table, charts_html

    obj = sw.objective
    direction = "highest" if obj.maximize else "lowest"
    info = (f"{sw.results.height} sets · parameters {html.escape(', '.join(sw.params) or 'none')} · ranked by "
            f"{html.escape(obj.column)}, {direction} first")
    figs = []
    xy = axes(sw)
    if xy is not None:
        figs.append(heatmap(sw.results, xy[0], xy[1], obj.column, sw.settings.reduce))
    if sw.params:
        figs.append(parallel(sw.results, sw.params, obj.column))
    over = overfitting(sw)
    if isinstance(over, str):
        over_html = [f"<p>{html.escape(over)}</p>"]
    else:
        figs.append(pbo_figure(over[1]))
        over_html = [_figures_table(over[0])]
    top = min(sw.settings.top, sw.results.height)
    return [f"<p>{info}</p>", f"<h2>Best sets (top {top} of {sw.results.height})</h2>", _table(_top_table(sw)),
            "<h2>Overfitting</h2>", *over_html,
            "<p>Deflated Sharpe ratio: the probability that the best set's Sharpe ratio is above the highest one "
            "the selection among N sets of noise would give; PBO: how often the best set in sample is at or below "
            "the median out of sample (docs/sweeps.md §5).</p>",
            "<h2>Charts</h2>", charts_html(figs)]
