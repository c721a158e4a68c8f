"""Charts: the min/max reduction keeps every extreme; the figures carry what they claim to draw."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest

from backtestr.analytics.bars import bar_interval, price_bars
from backtestr.analytics.plots import Plots, equity_figure, plot, reduce_minmax, trades_figure
from backtestr.analytics.source import open_logs
from tests.statlogs import INIT, equity_records, position_records, utc_ns, write_run

T0 = utc_ns("2024-01-02T00:00")
S = 10**9


def test_reduction_keeps_first_last_and_each_buckets_extremes():
    rng = np.random.default_rng(3)
    n, buckets = 100_000, 50
    ts = T0 + np.arange(n, dtype=np.int64) * S
    v = np.cumsum(rng.normal(0, 1, n))
    lf = pl.DataFrame({"ts": pl.Series(ts).cast(pl.Datetime("ns", "UTC")), "v": v}).lazy()
    r = reduce_minmax(lf, pl.col("v"), buckets)
    assert r.height <= 4 * buckets
    assert r["ts"].is_sorted() and r["ts"].n_unique() == r.height
    assert r["ts"][0] == ts[0] and r["v"][0] == v[0] and r["ts"][-1] == ts[-1] and r["v"][-1] == v[-1]
    width = (ts[-1] - ts[0]) // buckets + 1
    b_all, b_red = (ts - ts[0]) // width, (r["ts"].to_numpy() - ts[0]) // width
    for b in range(buckets):  # every bucket's lowest and highest value is among the points kept
        kept = r["v"].to_numpy()[b_red == b]
        assert kept.min() == v[b_all == b].min() and kept.max() == v[b_all == b].max()


def test_equity_figure_draws_the_reduced_equity_and_the_drawdown(tmp_path):
    rows = [(T0 + i * 60 * S, INIT + (i % 7) * 1000 - i * 10) for i in range(5000)]
    logs = open_logs(write_run(tmp_path / "run", equity=equity_records(rows)))
    fig = equity_figure(logs, buckets=100)
    eq, dd = fig.data
    e = np.array([r[1] for r in rows]) / 100
    assert len(eq.y) <= 400
    assert max(eq.y) == pytest.approx(e.max(), abs=1e-9) and min(eq.y) == pytest.approx(e.min(), abs=1e-9)
    peak = np.maximum.accumulate(np.concatenate(([INIT / 100], e)))[1:]
    assert min(dd.y) == pytest.approx(-100 * ((peak - e) / peak).max())
    assert "5,000 rows drawn as" in fig.layout.title.text


def test_trades_figure_marks_entries_exits_and_stops_by_pnl(tmp_path):
    pos = position_records([
        {"side": 1, "open_ts": T0 + 60 * S, "close_ts": T0 + 600 * S, "net": 500, "entry_ticks": 110_000,
         "exit_ticks": 110_050, "sl_ticks": 109_900, "tp_ticks": 110_050},
        {"side": -1, "open_ts": T0 + 900 * S, "close_ts": T0 + 1200 * S, "net": -300, "entry_ticks": 110_020,
         "exit_ticks": 110_050},
    ])
    logs = open_logs(write_run(tmp_path / "run", positions=pos, start=T0, end=T0 + 1800 * S))
    secs = np.arange(0, 1800, 5)
    mid = 1.1 + 0.0005 * np.sin(secs / 200)
    ticks = pl.DataFrame({"ts": pl.Series(T0 + secs * S).cast(pl.Datetime("ns", "UTC")),
                          "symbol": "EURUSD", "bid": mid - 0.00005, "ask": mid + 0.00005})
    fig = trades_figure(logs, "EURUSD", data=ticks)
    by = {t.name: t for t in fig.data}
    assert isinstance(by[next(n for n in by if n.startswith("mid"))], go.Candlestick)
    assert list(by["winning entries"].y) == [pytest.approx(1.1)]
    assert list(by["winning exits"].y) == [pytest.approx(1.1005)]
    assert list(by["losing entries"].marker.symbol) == ["triangle-down"]
    assert [y for y in by["SL"].y if y is not None] == [pytest.approx(1.099)] * 2
    assert [y for y in by["TP"].y if y is not None] == [pytest.approx(1.1005)] * 2
    assert by["winning entries"].marker.color != by["losing entries"].marker.color


def test_price_bars_are_ohlc_of_the_mid():
    ticks = pl.DataFrame({"ts": pl.Series([T0, T0 + 10 * S, T0 + 50 * S, T0 + 70 * S]).cast(pl.Datetime("ns", "UTC")),
                          "symbol": "X", "bid": [1.0, 3.0, 0.0, 5.0], "ask": [2.0, 4.0, 1.0, 6.0]})
    b = price_bars(ticks, "X", T0, T0 + 100 * S, "1m")
    # mids 1.5, 3.5, 0.5 in the first minute; 5.5 in the second
    assert b.select("open", "high", "low", "close").rows() == [(1.5, 3.5, 0.5, 0.5), (5.5, 5.5, 5.5, 5.5)]
    assert bar_interval(86_400) == "1m" and bar_interval(1000) == "1s" and bar_interval(1e9) == "1w"


def test_plot_of_an_empty_run_and_its_notebook_html(tmp_path):
    p = plot(write_run(tmp_path / "off"))
    assert isinstance(p, Plots) and len(p.figures()) == 5  # equity, EURUSD trades, MAE/MFE, returns, months
    assert "no equity log" in p.equity.layout.title.text
    assert p._repr_html_().count("Plotly.newPlot") == 5
