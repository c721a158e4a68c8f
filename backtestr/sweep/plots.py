"""Plotly charts of a sweep (docs/sweeps.md §8): a statistic over two parameters, parallel
coordinates, the walk-forward view, and the overfitting figures.

Each function takes a ``SweepResult`` or a results frame (one row per set: ``rank``,
``set_id``, a column per key of the space, the summary figures); ``SweepResult`` and
``WalkForward`` also have them as methods (``res.heatmap("fast", "slow")``,
``wf.plot()``). plotly is imported when the first chart is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import ConfigError
from .executor import FIGURES, RANK, SweepResult
from .space import SET_ID
from .walk import WalkForward

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .overfit import PBO

REDUCERS = ("max", "mean", "median", "min")
CURVES_FILE = "curves.parquet"  # per-set equity per period beside results.parquet (long form)


def _frame(source: SweepResult | pl.DataFrame) -> pl.DataFrame:
    if isinstance(source, SweepResult):
        return source.results
    if isinstance(source, pl.DataFrame):
        return source
    raise ConfigError(f"expected a SweepResult or a results frame, got {type(source).__name__}")


def parameters(results: pl.DataFrame) -> list[str]:
    """The keys of the space: the columns between ``set_id`` and the first summary figure."""
    cols = results.columns
    start = cols.index(SET_ID) + 1 if SET_ID in cols else 0
    out = []
    for c in cols[start:]:
        if c in FIGURES:
            break
        if c != RANK:
            out.append(c)
    return out


def _objective(source: SweepResult | pl.DataFrame, z: str | None) -> str:
    if z is not None:
        return z
    if isinstance(source, SweepResult):
        return source.objective.column
    return "final_equity"


def _need(results: pl.DataFrame, col: str, what: str) -> None:
    if col not in results.columns:
        raise ConfigError(f"{what}: the results have no column {col!r} (columns: {', '.join(results.columns)})")


def _order(values: list[Any]) -> list[Any]:
    """Distinct values in ascending order (numbers as numbers, anything else as text)."""
    uniq = list(dict.fromkeys(v for v in values if v is not None))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def heatmap_table(source: SweepResult | pl.DataFrame, x: str, y: str, z: str | None = None,
                  reduce: str = "max") -> tuple[list[Any], list[Any], np.ndarray]:
    """``(xs, ys, cells)``: cell ``[i, j]`` is ``reduce`` of column ``z`` over the sets with
    ``y == ys[i]`` and ``x == xs[j]`` (the other parameters aggregated; NaN where no set has
    a value). ``reduce`` is one of max, mean, median, min; missing values are left out."""
    df = _frame(source)
    z = _objective(source, z)
    for col, what in ((x, "heatmap x"), (y, "heatmap y"), (z, "heatmap z")):
        _need(df, col, what)
    if x == y:
        raise ConfigError(f"heatmap: x and y are both {x!r}; choose two different parameters")
    if reduce not in REDUCERS:
        raise ConfigError(f"heatmap reduce: {reduce!r} is not one of {', '.join(REDUCERS)}")
    v = pl.col(z).cast(pl.Float64)
    agg = {"max": v.max(), "mean": v.mean(), "median": v.median(), "min": v.min()}[reduce]
    cells = df.group_by(x, y).agg(agg.alias("v"))
    xs, ys = _order(df[x].to_list()), _order(df[y].to_list())
    out = np.full((len(ys), len(xs)), np.nan)
    xi, yi = {v: j for j, v in enumerate(xs)}, {v: i for i, v in enumerate(ys)}
    for a, b, val in cells.iter_rows():
        if a in xi and b in yi and val is not None:
            out[yi[b], xi[a]] = val
    return xs, ys, out


def heatmap(source: SweepResult | pl.DataFrame, x: str, y: str, z: str | None = None,
            reduce: str = "max") -> go.Figure:
    """Heatmap of result column ``z`` (default: the sweep's objective) over parameters ``x`` and
    ``y``; where other parameters vary, each cell is ``reduce`` over its sets (the title says so)."""
    import plotly.graph_objects as go

    df = _frame(source)
    z = _objective(source, z)
    xs, ys, cells = heatmap_table(df, x, y, z, reduce)
    others = [p for p in parameters(df) if p not in (x, y)]
    how = f"{reduce} over {', '.join(others)}" if others else f"{reduce} of the sets in each cell"
    text = [[_short(c) for c in row] for row in cells]
    fig = go.Figure(go.Heatmap(z=cells, x=[str(v) for v in xs], y=[str(v) for v in ys], text=text,
                               texttemplate="%{text}", colorscale="Viridis", colorbar={"title": z},
                               hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{z}=%{{z}}<extra></extra>"))
    fig.update_layout(title=f"{z} over {x} and {y} ({how})", height=460,
                      xaxis={"title": x, "type": "category"}, yaxis={"title": y, "type": "category"},
                      margin={"l": 70, "r": 20, "t": 50, "b": 50})
    return fig


def _short(v: float) -> str:
    if np.isnan(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _dimension(series: pl.Series) -> dict[str, Any]:
    """A parallel-coordinates axis: numbers as they are; text as codes 0, 1, … with the text as ticks."""
    if series.dtype.is_numeric():
        return {"label": series.name, "values": series.cast(pl.Float64).to_numpy()}
    cats = _order(series.to_list())
    code = {v: i for i, v in enumerate(cats)}
    return {"label": series.name, "values": np.array([code.get(v, np.nan) for v in series.to_list()], dtype=float),
            "tickvals": list(range(len(cats))), "ticktext": [str(c) for c in cats]}


def parallel(source: SweepResult | pl.DataFrame, params: Sequence[str] | None = None,
             objective: str | None = None) -> go.Figure:
    """Parallel coordinates: one axis per parameter (default: every key of the space) and a last
    one for the objective; each set is a line coloured by its objective."""
    import plotly.graph_objects as go

    df = _frame(source)
    obj = _objective(source, objective)
    cols = list(params) if params is not None else parameters(df)
    for c in [*cols, obj]:
        _need(df, c, "parallel coordinates")
    dims = [_dimension(df[c]) for c in cols] + [_dimension(df[obj])]
    colour = df[obj].cast(pl.Float64).to_numpy()
    fig = go.Figure(go.Parcoords(dimensions=dims, line={"color": colour, "colorscale": "Viridis",
                                                        "showscale": True, "colorbar": {"title": obj}}))
    fig.update_layout(title=f"Parameters and {obj}, one line per set ({df.height} sets)", height=440,
                      margin={"l": 70, "r": 70, "t": 80, "b": 40})
    return fig


def walk_forward_figure(wf: WalkForward) -> go.Figure:
    """The stitched out-of-sample equity with a dotted line at each window's start, and under it
    the table of the parameters chosen per window with their train objective and test P&L."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    eq, chosen = wf.equity, wf.chosen
    fig = make_subplots(rows=2, cols=1, row_heights=[0.65, 0.35], vertical_spacing=0.08,
                        specs=[[{"type": "xy"}], [{"type": "table"}]])
    fig.add_trace(go.Scatter(x=eq["ts"].to_list(), y=eq["equity"].to_numpy(), mode="lines",
                             name="out-of-sample equity", line={"color": "#1f77b4", "width": 1.5}), row=1, col=1)
    starts = eq.group_by("window", maintain_order=True).agg(pl.col("ts").first())
    for w, ts in starts.iter_rows():
        fig.add_vline(x=ts, line={"color": "#888", "width": 1, "dash": "dot"}, row=1, col=1)
        fig.add_annotation(x=ts, y=1, yref="y domain", text=f"w{w}", showarrow=False, xanchor="left",
                           font={"size": 10, "color": "#666"}, row=1, col=1)
    shown = [c for c in chosen.columns if not c.startswith("test_") or c in ("test_net_pnl", "test_final_equity")]
    cells = [[_cell(v) for v in chosen[c].to_list()] for c in shown]
    fig.add_trace(go.Table(header={"values": shown, "fill_color": "#f4f4f4"}, cells={"values": cells}),
                  row=2, col=1)
    fig.update_layout(title=f"Walk-forward: out-of-sample equity over {chosen.height} windows, chosen sets",
                      height=640, showlegend=False, margin={"l": 60, "r": 20, "t": 50, "b": 30})
    return fig


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.6g}"
    return "" if v is None else str(v)


def pbo_figure(result: PBO) -> go.Figure:
    """Histogram of the logits of the in-sample best set's out-of-sample rank (docs/sweeps.md §5);
    the share at or below 0 is the PBO."""
    import plotly.graph_objects as go

    lg = np.asarray(result.logits, dtype=float)
    lg = lg[np.isfinite(lg)]
    fig = go.Figure(go.Histogram(x=lg, nbinsx=30, name="combinations", marker={"color": "#1f77b4"}))
    fig.add_vline(x=0, line={"color": "#d62728", "dash": "dash"})
    fig.update_layout(title=f"Logits of the in-sample best's out-of-sample rank: PBO = {result.pbo:.3f} "
                      f"({len(result.logits)} combinations of {result.n_blocks} blocks)", height=380,
                      xaxis_title="logit λ (≤ 0: at or below the median out of sample)",
                      yaxis_title="combinations", bargap=0.05, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def curves_frame(res: SweepResult) -> pl.DataFrame:
    """A sweep's kept equity per period in long form (``set_id``, ``period``, ``equity``,
    ``initial_cash``): what ``CURVES_FILE`` holds beside ``results.parquet``."""
    if res.curves is None:
        raise ConfigError("no equity curves were kept: run the sweep with returns_every='1d' (or another period)")
    init = res.initial or {}
    parts = [c.select(pl.lit(sid, pl.Int64).alias(SET_ID), "period", pl.col("equity").cast(pl.Float64),
                      pl.lit(init.get(sid), pl.Float64).alias("initial_cash"))
             for sid, c in sorted(res.curves.items())]
    return pl.concat(parts)


def curves_of(frame: pl.DataFrame) -> tuple[dict[int, pl.DataFrame], dict[int, float] | None]:
    """``curves_frame``'s inverse: (set id -> period, equity) and the initial cash per set."""
    for c in (SET_ID, "period", "equity"):
        _need(frame, c, CURVES_FILE)
    curves = {int(k[0]): g.select("period", "equity") for k, g in frame.sort(SET_ID, "period")
              .group_by(SET_ID, maintain_order=True)}
    initial = None
    if "initial_cash" in frame.columns and frame["initial_cash"].null_count() == 0:
        initial = {int(s): float(v) for s, v in frame.group_by(SET_ID).agg(pl.col("initial_cash").first()).iter_rows()}
    return curves, initial


# the charts as methods of the results (the functions above with the result as first argument)
SweepResult.heatmap = heatmap  # type: ignore[attr-defined]
SweepResult.parallel = parallel  # type: ignore[attr-defined]
WalkForward.plot = walk_forward_figure  # type: ignore[attr-defined]
