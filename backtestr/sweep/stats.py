"""Every headline statistic of a set's run as result columns (docs/sweeps.md §3).

``sweep(..., metrics=headline)`` (``backtestr sweep --stats``) adds to each set's
row the statistics a single run puts into its summary.json (docs/analytics.md):
returns, volatility, Sharpe, Sortino, Calmar, omega, drawdown duration,
exposure, trade counts and ratios, streaks. They are computed from the set's
logs, so the sets must run at ``run.log_level`` trades or above.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

_NOT_COLUMNS = ("calendar", "notes")
# figures the results already have from the summary (docs/outputs.md), under the same names
_IN_FIGURES = ("max_drawdown", "max_drawdown_pct", "commission")


def headline(result: Any) -> dict[str, Any]:
    """The run's headline statistics (default calendar), one column each; a figure the
    summary already gives (max drawdown, commission) is not repeated."""
    from ..analytics.settings import StatsSettings
    from ..analytics.source import open_logs
    from ..analytics.stats import compute

    if result.equity.height == 0:  # no equity rows: the run's log level was off
        raise ConfigError("the statistics per set (metrics=headline, --stats) are computed from each set's "
                          "logs: set run.log_level to trades or above (--set run.log_level=trades)")
    stats = compute(open_logs(result, result.summary), StatsSettings()).headline()
    return {k: v for k, v in stats.items() if k not in _NOT_COLUMNS and k not in _IN_FIGURES}
