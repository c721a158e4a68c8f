"""Statistics and reports on folders that are not a finished run's output, or runs without trades or equity."""

from __future__ import annotations

import json

import numpy as np
import pytest
from backtestr.kernels.records import EQUITY, POSITION

from backtestr.analytics import AnalyticsError, stats
from backtestr.cli import main
from tests.statlogs import utc_ns, write_run


def test_missing_file_and_archive_folders_are_named(tmp_path):
    with pytest.raises(AnalyticsError, match="no such folder"):
        stats(tmp_path / "nope")
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(AnalyticsError, match="is a file"):
        stats(f)
    arch = tmp_path / "ticks" / "symbol=EURUSD" / "date=2024-01-02"
    arch.mkdir(parents=True)
    (arch / "part-0.parquet").write_bytes(b"")
    with pytest.raises(AnalyticsError, match=r"not a run's output folder.*tick archive"):
        stats(tmp_path / "ticks")


@pytest.mark.parametrize("name", [".out.tmp-4242", ".out.tmp-4242-9f3a0c1e"])
def test_an_interrupted_runs_staging_folder_is_refused(tmp_path, name):
    staging = write_run(tmp_path / name, equity=np.zeros(0, EQUITY))
    with pytest.raises(AnalyticsError, match=r"staging folder of a run that did not finish.*folder \S*/out$"):
        stats(staging)
    old = write_run(tmp_path / name.replace("tmp", "old"), equity=np.zeros(0, EQUITY))
    with pytest.raises(AnalyticsError, match="a previous output being replaced"):
        stats(old)


def test_damaged_logs_and_summaries_are_named(tmp_path):
    run = write_run(tmp_path / "run", equity=np.zeros(0, EQUITY))
    (run / "equity.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(AnalyticsError, match="equity.parquet cannot be read"):
        stats(run)
    (run / "equity.parquet").unlink()
    (run / "summary.json").write_text("{not json")
    with pytest.raises(AnalyticsError, match="summary.json: not a readable summary"):
        stats(run)


def test_a_run_without_trades_or_equity_rows_gives_explained_nulls(tmp_path):
    t = utc_ns("2024-01-02T00:00")
    st = stats(write_run(tmp_path / "run", equity=np.zeros(0, EQUITY), positions=np.zeros(0, POSITION),
                         start=t, end=t + 3600 * 10**9))
    assert st["trades"] == 0 and st["exposure_pct"] == 0.0
    for k in ("win_rate", "profit_factor", "expectancy", "sqn", "best_trade"):
        assert st[k] is None and st.notes[k] == "no closed trades", k
    for k in ("sharpe", "total_return_pct", "max_drawdown"):
        assert st[k] is None and st.notes[k] == "the equity log has no rows", k
    assert "n/a" in repr(st) and st.table().height == len(st.values)
    json.dumps(st.headline())  # JSON-able with the nulls


def test_a_run_at_log_level_off(tmp_path):
    st = stats(write_run(tmp_path / "off"))  # summary.json only
    assert st["trades"] == 0 and "log level off" in st.notes["win_rate"]
    assert st["sharpe"] is None and "log level off" in st.notes["sharpe"]


def test_the_command_line_says_what_is_wrong_without_a_traceback(tmp_path, capsys):
    staging = write_run(tmp_path / ".out.tmp-7", equity=np.zeros(0, EQUITY))
    for argv in (["stats", str(tmp_path / "nope")], ["report", str(staging)], ["report", str(tmp_path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("backtestr: error: ") and "Traceback" not in err, err
    run = write_run(tmp_path / "run", equity=np.zeros(0, EQUITY), positions=np.zeros(0, POSITION))
    assert main(["stats", str(run), "--timezone", "Nowhere/Land"]) == 2
    assert "--timezone 'Nowhere/Land'" in capsys.readouterr().err
    assert main(["stats", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trades"] == 0
    assert main(["report", str(run)]) == 0  # no trades, no equity rows: a report all the same
    assert (tmp_path / "run.report.html").is_file()
