"""The HTML report: self-contained, written atomically, replacing only an earlier report."""

from __future__ import annotations

import re

import numpy as np
import pytest

from backtestr.analytics import AnalyticsError, write_report
from backtestr.analytics.report import MARK, default_path
from tests.statlogs import INIT, equity_records, position_records, utc_ns, write_run

T0 = utc_ns("2024-01-02T00:00")
S = 10**9


@pytest.fixture
def run(tmp_path):
    rows = [(T0 + i * 3600 * S, INIT + round(5000 * np.sin(i / 9))) for i in range(24 * 40)]
    pos = position_records([{"side": 1 if i % 2 else -1, "open_ts": T0 + i * 36_000 * S,
                             "close_ts": T0 + (i * 36_000 + 7200) * S, "net": (i % 5 - 2) * 1000,
                             "mae_minor": -1500, "mfe_minor": 2500} for i in range(90)])
    return write_run(tmp_path / "run", equity=equity_records(rows), positions=pos)


def test_report_beside_the_run_with_statistics_and_every_chart(run):
    path = write_report(run)
    assert path == default_path(run.resolve()) == run.parent / "run.report.html"
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and MARK in text[:4096]
    assert "<td>sharpe</td>" in text and "<td>profit_factor</td>" in text and "Monthly returns" in text
    assert "<th>Jan</th><th>Feb</th>" in text and "<td>2024</td>" in text  # 40 days from 2 January
    assert len(re.findall(r'id="chart-\d+"', text)) == 5  # equity, EURUSD trades, MAE/MFE, returns, months
    # offline: plotly.js is inside the file; no script, style sheet or frame is loaded from elsewhere
    assert "Plotly.newPlot" in text and "<script src" not in text and "<link" not in text
    assert "<iframe" not in text
    assert sorted(p.name for p in run.parent.iterdir()) == ["run", "run.report.html"]  # no temporary left
    assert sorted(p.name for p in run.iterdir()) == ["equity.parquet", "fills.parquet", "orders.parquet",
                                                      "positions.parquet", "summary.json"]  # the run untouched


def test_an_earlier_report_is_replaced_another_file_is_not(run, tmp_path):
    target = tmp_path / "r.html"
    write_report(run, target)
    first = target.stat().st_mtime_ns
    write_report(run, target)  # an earlier report: replaced
    assert target.stat().st_mtime_ns >= first and MARK in target.read_text()[:4096]
    other = tmp_path / "notes.html"
    other.write_text("<html>my notes</html>")
    with pytest.raises(AnalyticsError, match="not a report written by `backtestr report`; it was left untouched"):
        write_report(run, other)
    assert other.read_text() == "<html>my notes</html>"
    with pytest.raises(AnalyticsError, match="is a folder"):
        write_report(run, tmp_path)
    with pytest.raises(AnalyticsError, match="no such folder for the report"):
        write_report(run, tmp_path / "missing" / "r.html")
    assert not list(tmp_path.glob(".*tmp-*"))
