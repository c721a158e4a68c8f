"""Sweep charts and the sweep page of the report, on small hand-made results (docs/sweeps.md §8)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from backtestr.analytics.report import MARK, write_sweep_report
from backtestr.analytics.sweeppage import SweepPage
from backtestr.cli import main
from backtestr.errors import ConfigError
from backtestr.outputs import write_manifest
from backtestr.sweep import WalkForward, heatmap, parallel, walk_forward_figure
from backtestr.sweep.executor import Objective, SweepResult
from backtestr.sweep.plots import CURVES_FILE, heatmap_table, parameters

# 2 x 2 x 3 sets: fast in {2, 4}, slow in {10, 20}, model in {a, b, c}; final_equity by hand
EQ = {(2, 10): [100.0, 110.0, 160.0], (2, 20): [90.0, None, 95.0],
      (4, 10): [120.0, 121.0, 50.0], (4, 20): [70.0, 80.0, 90.0]}


def results() -> pl.DataFrame:
    rows = []
    for (fast, slow), vals in EQ.items():
        for model, v in zip("abc", vals, strict=True):
            rows.append({"set_id": len(rows), "fast": fast, "slow": slow, "model": model, "final_equity": v,
                         "net_pnl": None if v is None else v - 100.0})
    df = pl.DataFrame(rows)
    return df.select(pl.lit(0, pl.Int64).alias("rank"), pl.all())


def test_parameters_are_the_columns_between_set_id_and_the_figures():
    assert parameters(results()) == ["fast", "slow", "model"]


@pytest.mark.parametrize("reduce,cell_2_10,cell_2_20", [
    ("max", 160.0, 95.0),          # max(100, 110, 160); max(90, 95): the missing value left out
    ("mean", 370.0 / 3, 92.5),     # (100 + 110 + 160) / 3; (90 + 95) / 2
    ("median", 110.0, 92.5),
    ("min", 100.0, 90.0),
])
def test_heatmap_cell_is_the_reducer_over_the_matching_rows(reduce, cell_2_10, cell_2_20):
    xs, ys, z = heatmap_table(results(), "fast", "slow", "final_equity", reduce)
    assert xs == [2, 4] and ys == [10, 20]
    assert z[0, 0] == pytest.approx(cell_2_10)  # row: slow = 10, column: fast = 2
    assert z[1, 0] == pytest.approx(cell_2_20)
    fig = heatmap(results(), "fast", "slow", "final_equity", reduce=reduce)
    (tr,) = fig.data
    assert tr.type == "heatmap" and list(tr.x) == ["2", "4"] and list(tr.y) == ["10", "20"]
    assert np.asarray(tr.z, dtype=float)[0, 1] == pytest.approx(
        {"max": 121.0, "mean": 291.0 / 3, "median": 120.0, "min": 50.0}[reduce])  # fast 4, slow 10
    assert f"({reduce} over model)" in fig.layout.title.text


def test_heatmap_over_text_parameter_and_empty_cells():
    df = results().filter(~((pl.col("fast") == 4) & (pl.col("model") == "c")))
    xs, ys, z = heatmap_table(df, "model", "fast", "net_pnl", "max")
    assert xs == ["a", "b", "c"] and ys == [2, 4]
    assert z[0].tolist() == [0.0, 10.0, 60.0]  # fast 2: max over slow of (0, -10), (10, None), (60, -5)
    assert z[1, 0] == 20.0 and z[1, 1] == 21.0 and np.isnan(z[1, 2])  # no set with fast 4 and model c


def test_heatmap_refuses_bad_arguments():
    with pytest.raises(ConfigError, match="heatmap x: the results have no column 'fats'"):
        heatmap_table(results(), "fats", "slow")
    with pytest.raises(ConfigError, match="x and y are both 'fast'"):
        heatmap_table(results(), "fast", "fast")
    with pytest.raises(ConfigError, match="'sum' is not one of max, mean, median, min"):
        heatmap_table(results(), "fast", "slow", reduce="sum")


def test_parallel_coordinates_axes_and_colours():
    fig = parallel(results())
    (tr,) = fig.data
    assert tr.type == "parcoords"
    assert [d.label for d in tr.dimensions] == ["fast", "slow", "model", "final_equity"]
    assert list(tr.dimensions[0]["values"]) == [2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4]
    model = tr.dimensions[2]
    assert list(model["values"]) == [0, 1, 2] * 4 and list(model.ticktext) == ["a", "b", "c"]
    colour = np.asarray(tr.line.color, dtype=float)
    assert colour[0] == 100.0 and np.isnan(colour[4]) and colour[-1] == 90.0


def test_methods_on_the_sweep_result_use_its_objective():
    res = SweepResult(results(), plan=None, objective=Objective("net_pnl"))  # type: ignore[arg-type]
    fig = res.heatmap("fast", "slow", reduce="mean")
    assert fig.layout.title.text.startswith("net_pnl over fast and slow (mean over model)")
    assert np.asarray(fig.data[0].z, dtype=float)[0, 0] == pytest.approx(70.0 / 3)  # (0 + 10 + 60) / 3
    assert res.parallel().data[0].dimensions[-1].label == "net_pnl"


def _ts(*days: int) -> list[datetime]:
    return [datetime(2024, 1, d, tzinfo=timezone.utc) for d in days]


def test_walk_forward_figure_shows_equity_boundaries_and_chosen_sets():
    equity = pl.DataFrame({"window": [0, 0, 1, 1, 1], "ts": _ts(3, 4, 5, 6, 7), "equity": [100., 110., 110., 99., 120.]})
    chosen = pl.DataFrame({"window": [0, 1], "set_id": [3, 7], "fast": [2, 4], "train_final_equity": [130.0, 125.0],
                           "test_net_pnl": [10.0, 10.0], "test_fills": [4, 6]})
    wf = WalkForward(train=pl.DataFrame(), chosen=chosen, equity=equity)
    fig = wf.plot()
    line, table = fig.data
    assert line.type == "scatter" and list(line.y) == [100., 110., 110., 99., 120.]
    starts = sorted(s.x0 for s in fig.layout.shapes)
    assert starts == _ts(3, 5)  # one boundary at each window's first out-of-sample row
    assert [a.text for a in fig.layout.annotations] == ["w0", "w1"]
    assert table.type == "table"
    assert list(table.header.values) == ["window", "set_id", "fast", "train_final_equity", "test_net_pnl"]
    assert [list(c) for c in table.cells.values][:3] == [["0", "1"], ["3", "7"], ["2", "4"]]
    assert walk_forward_figure(wf).layout.title.text.startswith("Walk-forward: out-of-sample equity over 2 windows")


def sweep_folder(tmp_path, curves: bool = True):
    out = tmp_path / "sw"
    out.mkdir()
    df = results().with_columns(pl.col("final_equity").fill_null(0.0))
    df.write_parquet(out / "results.parquet")
    files = ["results.parquet"]
    if curves:
        rng = np.random.default_rng(3)
        periods = [datetime(2024, 1, 1, h, tzinfo=timezone.utc) for h in range(24)]
        parts = []
        for sid in df["set_id"].to_list():
            eq = 1000.0 * np.cumprod(1 + rng.normal(0.001 * (sid == 5), 0.01, len(periods)))
            parts.append(pl.DataFrame({"set_id": [sid] * len(periods), "period": periods, "equity": eq,
                                       "initial_cash": [1000.0] * len(periods)}))
        pl.concat(parts).write_parquet(out / CURVES_FILE)
        files.append(CURVES_FILE)
    write_manifest(out, "sweep", "sweep", files)
    return out


def test_sweep_page_from_a_folder(tmp_path):
    out = sweep_folder(tmp_path)
    path = write_sweep_report(out, settings=SweepPage(top=5, x="model", y="slow", reduce="median"))
    assert path == tmp_path / "sw.report.html"
    text = path.read_text()
    assert MARK in text and text.count("<!DOCTYPE html>") == 1
    assert "final_equity over model and slow (median over fast)" in text
    assert "Best sets (top 5 of 12)" in text
    # ranked by final_equity, highest first: 160 (set 2), 121 (set 7), 120 (set 6), ...
    first = text.index("<h2>Best sets")
    rows = text[first:text.index("</table>", first)].split("<tr>")[2:]
    assert [r.split("<td>")[2].split("<")[0] for r in rows] == ["2", "7", "6", "1", "0"]
    assert "deflated Sharpe ratio" in text and "PBO blocks" in text
    assert text.count('class="plotly-graph-div"') == 3  # heatmap, parallel coordinates, PBO logits


def test_sweep_page_without_curves_says_why(tmp_path):
    out = sweep_folder(tmp_path, curves=False)
    text = write_sweep_report(out, tmp_path / "p.html", SweepPage(objective="-net_pnl")).read_text()
    assert "kept no per-set returns" in text and "lowest first" in text
    assert "net_pnl over fast and slow (max over model)" in text
    assert text.count('class="plotly-graph-div"') == 2


def test_report_command_on_a_sweep_folder(tmp_path, capsys):
    out = sweep_folder(tmp_path)
    assert main(["report", str(out), "--top", "3", "--reduce", "mean"]) == 0
    assert "report written to" in capsys.readouterr().out
    assert "(mean over model)" in (tmp_path / "sw.report.html").read_text()
    for argv, msg in [(["--x", "nope"], "--x: 'nope' is not a parameter of the sweep (parameters: fast, slow, model)"),
                      (["--x", "fast", "--y", "fast"], "--x and --y: both are 'fast'"),
                      (["--top", "0"], "--top: expected a whole number of sets, at least 1"),
                      (["--objective", "sharpe"], "--objective: 'sharpe' is not a result column of the sweep"),
                      (["--timezone", "UTC"], "--timezone applies to a run's report")]:
        assert main(["report", str(out), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("backtestr: error: ") and msg in err, err
        assert err.count("\n") == 1


def test_sweep_flags_on_a_run_folder_are_refused(tmp_path, capsys):
    from tests.statlogs import INIT, equity_records, utc_ns, write_run

    t0 = utc_ns("2024-01-02T00:00")
    run = write_run(tmp_path / "run", equity=equity_records([(t0 + i * 3600 * 10**9, INIT + i) for i in range(48)]))
    assert main(["report", str(run), "--x", "fast"]) == 2
    assert "--x applies to a sweep's report" in capsys.readouterr().err
    assert not (tmp_path / "run.report.html").exists()


def test_curves_round_trip_and_the_page_of_a_sweep_result(tmp_path):
    p0 = [datetime(2024, 1, 1, h, tzinfo=timezone.utc) for h in range(6)]
    curves = {0: pl.DataFrame({"period": p0, "equity": [100.0, 101, 99, 102, 103, 101]}),
              1: pl.DataFrame({"period": p0[1:], "equity": [100.0, 100, 98, 97, 99]})}
    res = SweepResult(results().filter(pl.col("set_id") < 2), plan=None,  # type: ignore[arg-type]
                      objective=Objective("final_equity"), curves=curves, initial={0: 100.0, 1: 100.0})
    from backtestr.sweep.plots import curves_frame, curves_of

    back, initial = curves_of(curves_frame(res))
    assert initial == {0: 100.0, 1: 100.0}
    assert back[1]["equity"].to_list() == [100.0, 100, 98, 97, 99] and back[0].height == 6
    with pytest.raises(Exception, match="give html_file"):
        write_sweep_report(res)
    text = write_sweep_report(res, tmp_path / "r.html").read_text()
    # 6 periods of 2 sets: the PBO over 6 blocks; best by final_equity is set 1 (110 > 100)
    assert "<td>best set (rank 1)</td><td>1</td>" in text and "<td>PBO blocks</td><td>6</td>" in text
    assert "<td>periods (T)</td><td>6</td>" in text
