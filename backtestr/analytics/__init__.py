"""Statistics, plots and reports computed from a run's logs (docs/analytics.md).

``stats`` needs only Polars and numpy; ``plot`` and ``write_report`` import
plotly when they are called.
"""

from __future__ import annotations

from typing import Any

from .settings import StatsSettings
from .source import AnalyticsError
from .stats import Stats, stats


def plot(source: Any, data: Any = None, **kw: Any) -> Any:
    """Every chart of a run (``Plots``); see ``backtestr.analytics.plots.plot``."""
    from .plots import plot as _plot

    return _plot(source, data=data, **kw)


def write_report(out: Any, html_file: Any = None, **kw: Any) -> Any:
    """Write the HTML report of run folder ``out``; see ``backtestr.analytics.report.write_report``."""
    from .report import write_report as _write

    return _write(out, html_file, **kw)


def summary_stats(summary: dict[str, Any], source: Any) -> None:
    """Put the headline statistics into a run's ``summary`` under ``stats`` (default calendar).

    ``source``: the run's folder (staging, before it is published) or its
    Result. An analytics failure is recorded there, never raised: the run's
    own outputs stand without it.
    """
    from .source import open_logs
    from .stats import compute

    try:
        summary["stats"] = compute(open_logs(source, summary), StatsSettings()).headline()
    except Exception as exc:  # noqa: BLE001 - the run's outputs are complete without its statistics
        summary["stats"] = {"error": f"{type(exc).__name__}: {exc}"}


__all__ = ["AnalyticsError", "Stats", "StatsSettings", "plot", "stats", "summary_stats", "write_report"]
