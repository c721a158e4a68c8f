"""``backtestr report OUT``: one self-contained HTML file with the statistics and every chart.

Of a run: its statistics and charts; of a sweep (a folder with ``results.parquet``):
the sweep page (sweeppage.py). Both pages are ``page()``: one template.

The file works offline: plotly.js is embedded, nothing is fetched. It is
written beside the run's folder (``OUT.report.html``) unless ``--html`` says
otherwise, so the run's folder holds only what the run wrote. It is written
to a temporary file and renamed into place, and it replaces only an earlier
report (recognised by its generator tag), never another file.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import webbrowser
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..errors import ConfigError
from .plots import BUCKETS, MAX_TRADES, Plots, plot
from .settings import CALENDARS, StatsSettings, settle
from .source import AnalyticsError
from .stats import Stats, _show
from .sweeppage import SweepPage

MARK = '<meta name="generator" content="backtestr report">'
_CSS = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;
margin-top:28px}table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;
padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
td.note{text-align:left;color:#666;font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:24px}
.chart{margin:12px 0}"""


def default_path(out: Path) -> Path:
    """Where the report of run folder ``out`` goes by default: beside it, ``NAME.report.html``."""
    return out.parent / f"{out.name}.report.html"


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise AnalyticsError(f"{path} is a folder; give --html a file name such as report.html")
    if path.exists():
        try:
            with path.open("rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
        except OSError as exc:
            raise AnalyticsError(f"{path}: cannot read ({exc.strerror})") from None
        if MARK not in head:
            raise AnalyticsError(f"{path} exists and is not a report written by `backtestr report`; it was left "
                                 "untouched (choose another --html file)")
    if not path.parent.is_dir():
        raise AnalyticsError(f"{path.parent}: no such folder for the report (--html)")


def _table(df: pl.DataFrame, pct: tuple[str, ...] = ()) -> str:
    if df.height == 0:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for r in df.iter_rows():
        cells = []
        for c, v in zip(df.columns, r, strict=True):
            if v is None:
                s = ""
            elif c == "year":
                s = str(v)
            else:
                s = f"{v:.2f}" if c in pct and isinstance(v, float) else _show(v)
            cells.append(f"<td>{html.escape(s)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _stats_table(st: Stats) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_show(v))}</td>"
                   f"<td class=note>{html.escape(st.notes.get(k, ''))}</td></tr>" for k, v in st.values.items())
    return f"<table><tr><th>statistic</th><th>value</th><th>note</th></tr>{rows}</table>"


def render(plots: Plots, summary: dict[str, Any], title: str) -> str:
    """The report's HTML text."""
    st = plots.stats
    assert st is not None
    cal = st.settings.describe()
    info = (f"{html.escape(', '.join(map(str, summary.get('symbols', []))))} · {summary.get('start')} to "
            f"{summary.get('end')} · {summary.get('ticks', 0):,} ticks · account {html.escape(str(summary.get('account_currency', '')))}"
            f" · backtestr {html.escape(str(summary.get('version', '')))}")
    calendar = (f"Returns on the {cal['calendar']} calendar: daily closes at {cal['day_end']} "
                f"{html.escape(cal['timezone'])}, {cal['periods_per_year']} periods a year, risk-free "
                f"{cal['risk_free']}, target {cal['target']} (docs/analytics.md).")
    pct = ("win_rate",)
    return page(title, [
        f"<p>{info}</p>", f"<p>{calendar}</p>",
        "<h2>Statistics</h2>", _stats_table(st),
        "<h2>Monthly returns (%)</h2>", _table(st.monthly_table(), pct=tuple(st.monthly_table().columns)),
        '<div class="grid"><div><h2>By symbol</h2>', _table(st.by_symbol, pct), "</div>",
        "<div><h2>By side</h2>", _table(st.by_side, pct), "</div>",
        "<div><h2>By tag</h2>", _table(st.by_tag, pct), "</div></div>",
        "<h2>Charts</h2>", charts_html(plots.figures())])


def charts_html(figures: list[Any]) -> str:
    """Plotly figures as ``div``s (ids ``chart-0``, ``chart-1``, …) drawn by the page's plotly.js."""
    return "".join(f'<div class="chart">{f.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{i}")}'
                   "</div>" for i, f in enumerate(figures))


def page(title: str, body: list[str]) -> str:
    """A self-contained HTML page (plotly.js embedded, the report's style and generator tag) with
    ``title`` as its heading and the HTML fragments of ``body`` under it: every report's template."""
    from plotly.offline import get_plotlyjs

    return "\n".join([
        "<!DOCTYPE html>", "<html lang=\"en\"><head>", '<meta charset="utf-8">', MARK,
        f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>', "</head><body>",
        f"<h1>{html.escape(title)}</h1>", *body,
        f"<p style=\"color:#888\">written by backtestr {html.escape(__version__)} report</p>",
        "</body></html>", ""])


def write_report(out: str | Path, html_file: str | Path | None = None, data: Any = None,
                 settings: StatsSettings | None = None, buckets: int = BUCKETS,
                 max_trades: int = MAX_TRADES) -> Path:
    """Write the report of run folder ``out``; returns its path (default ``OUT.report.html`` beside it).
    A sweep's folder gets the sweep page (``write_sweep_report``)."""
    out = Path(out)
    if is_sweep(out):
        return write_sweep_report(out, html_file)
    plots = plot(out, data=data, settings=settings, buckets=buckets, max_trades=max_trades)
    target = Path(html_file) if html_file is not None else default_path(out.resolve())
    _check_target(target)
    _publish(target, render(plots, json.loads((out / "summary.json").read_text()), f"backtestr report: {out.name}"))
    return target


def _publish(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it into place."""
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        tmp.write_text(text, encoding="utf-8")
        _check_target(target)  # still not someone else's file
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def is_sweep(out: Path) -> bool:
    """Whether folder ``out`` holds a sweep's output (manifest of kind ``sweep``, or results without a run's summary)."""
    from ..outputs import read_manifest

    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is not None:
        return manifest.get("kind") == "sweep"
    return (out / "results.parquet").is_file() and not (out / "summary.json").exists()


def write_sweep_report(source: Any, html_file: str | Path | None = None,
                       settings: SweepPage | None = None) -> Path:
    """Write the sweep page of a sweep's output folder (or of a ``SweepResult``, which needs
    ``html_file`` unless it was written with ``out=``); default ``OUT.report.html`` beside the folder."""
    from .sweeppage import load, render_sweep

    sw = load(source, settings or SweepPage())
    if html_file is None and sw.out is None:
        raise AnalyticsError("write_sweep_report: this sweep was not written to a folder; give html_file")
    target = Path(html_file) if html_file is not None else default_path(sw.out.resolve())
    _check_target(target)
    _publish(target, page(sw.title, render_sweep(sw)))
    return target


# -- command line -------------------------------------------------------------------------------------------

_FLAGS = {"timezone": "--timezone", "day_end": "--day-end", "calendar": "--calendar",
          "periods_per_year": "--periods-per-year", "risk_free": "--risk-free", "target": "--target"}


def _settings(a: argparse.Namespace) -> StatsSettings:
    given = {k: getattr(a, k) for k in _FLAGS if getattr(a, k) is not None}
    try:
        return settle(given)
    except ConfigError as exc:
        msg = str(exc)
        for k, flag in _FLAGS.items():
            if msg.startswith(k + " "):
                msg = flag + msg[len(k):]
        raise ConfigError(msg) from None


def _add_calendar(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("calendar of returns (docs/analytics.md)")
    g.add_argument("--timezone", help="IANA time zone of the daily close (default America/New_York)")
    g.add_argument("--day-end", dest="day_end", metavar="HH:MM", help="local time of the daily close (17:00)")
    g.add_argument("--calendar", choices=CALENDARS, help="weekdays (252 a year), daily (365) or auto")
    g.add_argument("--periods-per-year", dest="periods_per_year", type=int, metavar="N",
                   help="periods a year for annualising (default from --calendar: 252 or 365)")
    g.add_argument("--risk-free", dest="risk_free", type=float, metavar="RATE", help="annual, e.g. 0.02")
    g.add_argument("--target", type=float, metavar="RETURN", help="per-period target of Sortino and Omega")


_SWEEP_FLAGS = {"top": "--top", "x": "--x", "y": "--y", "reduce": "--reduce", "objective": "--objective"}


def _sweep_report(a: argparse.Namespace) -> Path:
    for flag, given in (("--data", a.data is not None), *((f, getattr(a, k) is not None) for k, f in _FLAGS.items())):
        if given and Path(a.out).is_dir():
            raise ConfigError(f"{flag} applies to a run's report; {a.out} holds a sweep")
    page_settings = SweepPage(**{k: getattr(a, k) for k in _SWEEP_FLAGS if getattr(a, k) is not None})
    try:
        return write_sweep_report(a.out, a.html, page_settings)
    except ConfigError as exc:
        msg = str(exc)
        for k, flag in _SWEEP_FLAGS.items():
            for sep in (": ", " and "):
                if msg.startswith(k + sep):
                    msg = flag + msg[len(k):]
        raise ConfigError(msg.replace("x and y: both", "--x and --y: both")) from None


def _report(a: argparse.Namespace) -> int:
    if is_sweep(Path(a.out)):
        path = _sweep_report(a)
    else:
        given = [f for k, f in _SWEEP_FLAGS.items() if getattr(a, k) is not None]
        if given and Path(a.out).is_dir():
            raise ConfigError(f"{given[0]} applies to a sweep's report; {a.out} is no sweep's output folder")
        path = write_report(a.out, a.html, data=a.data, settings=_settings(a))
    print(f"report written to {path}")
    if a.open:
        webbrowser.open(path.resolve().as_uri())
    return 0


def _stats(a: argparse.Namespace) -> int:
    from .stats import stats

    st = stats(a.out, _settings(a), data=a.data)
    print(json.dumps(st.values, indent=2, default=str) if a.json else repr(st))
    return 0


def add_parser(sub: Any) -> None:
    """Add ``backtestr report`` and ``backtestr stats`` to the command line's subcommands."""
    r = sub.add_parser("report", help="write a self-contained HTML report of a run or a sweep (statistics and charts)")
    r.add_argument("out", metavar="OUT", help="the --out folder of a finished run or sweep")
    r.add_argument("--html", metavar="FILE", help="report file (default: OUT.report.html beside the folder)")
    r.add_argument("--data", metavar="PATH", help="the run's tick archive, to draw trades on price bars and measure slippage")
    r.add_argument("--open", action="store_true", help="open the report in the web browser")
    g = r.add_argument_group("a sweep's report (OUT holds results.parquet; docs/sweeps.md)")
    g.add_argument("--top", type=int, metavar="N", help="sets in the ranked table (default 20)")
    g.add_argument("--x", metavar="PARAM", help="heatmap's x parameter (default: the space's first key)")
    g.add_argument("--y", metavar="PARAM", help="heatmap's y parameter (default: the space's second key)")
    g.add_argument("--reduce", choices=("max", "mean", "median", "min"),
                   help="how other parameters are aggregated in a heatmap cell (default max)")
    g.add_argument("--objective", metavar="COL", help="result column ranking the sets, -COL lowest first "
                   "(default final_equity)")
    _add_calendar(r)
    r.set_defaults(fn=_report)
    s = sub.add_parser("stats", help="print the statistics of a run")
    s.add_argument("out", metavar="OUT", help="the --out folder of a finished run")
    s.add_argument("--json", action="store_true", help="print them as JSON")
    s.add_argument("--data", metavar="PATH", help="the run's tick archive, to measure slippage against the mid")
    _add_calendar(s)
    s.set_defaults(fn=_stats)
