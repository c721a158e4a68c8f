"""Slippage against the mid (docs/analytics.md §5), worked by hand on hand-made ticks.

EURUSD (built-in registry): contract 100,000, quoted in USD, account in USD
(rate 1). Per fill: cost = side × (price − mid) × qty × 100,000;
spread_cost = (ask − bid) / 2 × qty × 100,000; beyond = cost − spread_cost.

Ticks (seconds after 2024-01-02T00:00Z):
  t10 bid 1.10000 ask 1.10002   mid 1.10001, half spread 0.00001
  t15 bid 1.10010 ask 1.10014   mid 1.10012, half spread 0.00002
  t19 bid 1.30000 ask NaN       (a bad row: no quote)
  t21 bid 1.20000 ask 1.20100   (after the sell at t20: must not be used)
  t30 bid 1.10020 ask 1.10022   mid 1.10021, half spread 0.00001

Fills:
  A buy 1 lot at t10 at the ask 1.10002: cost 0.00001 × 1 × 1e5 = 1.00, spread 1.00, beyond 0
  B sell 2 lots at t20 at the bid 1.10010 of t15: cost −(1.10010 − 1.10012) × 2 × 1e5 = 4.00,
    spread 0.00002 × 2 × 1e5 = 4.00, beyond 0
  C buy 0.5 lot at t30 at 1.10025 (3 ticks above the ask): cost 0.00004 × 0.5 × 1e5 = 2.00,
    spread 0.00001 × 0.5 × 1e5 = 0.50, beyond 1.50
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from backtestr.kernels.records import FILL

import backtestr as bt
from backtestr.analytics.stats import SLIPPAGE_NOTE
from backtestr.cli import main
from backtestr.run import Result
from tests.statlogs import write_run
from tests.tickdata import hive_file, ns, tick_table

A = (10, "EURUSD", 1, 100, 110002)  # (sec, symbol, side, qty_steps, price_ticks)
B = (20, "EURUSD", -1, 200, 110010)
C = (30, "EURUSD", 1, 50, 110025)


def fill_records(rows, symbols=("EURUSD",)) -> np.ndarray:
    rec = np.zeros(len(rows), FILL)
    for i, (sec, sym, side, steps, price) in enumerate(rows):
        rec[i]["fill_id"] = rec[i]["order_id"] = rec[i]["position_id"] = i
        rec[i]["ts"], rec[i]["symbol"], rec[i]["side"] = ns(sec), symbols.index(sym), side
        rec[i]["qty_steps"], rec[i]["price_ticks"], rec[i]["reason"] = steps, price, 1
    return rec


def eurusd_ticks(root):
    hive_file(root, "EURUSD", [10, 15, 19, 21, 30], [1.10000, 1.10010, 1.30000, 1.20000, 1.10020],
              [1.10002, 1.10014, float("nan"), 1.20100, 1.10022])
    hive_file(root, "USDJPY", [5, 12], [150.000, 150.100], [150.010, 150.110])
    return root


def run_with(tmp_path, rows, symbols=("EURUSD",)):
    return write_run(tmp_path / "run", fills=fill_records(rows, symbols), symbols=symbols,
                     start=ns(10), end=ns(30))


@pytest.mark.parametrize("rows, want", [
    ([A], (1.0, 1.0, 0.0)),  # a buy at the ask: half the spread × qty × contract
    ([B], (4.0, 4.0, 0.0)),  # a sell at the bid of the last quote before it
    ([C], (2.0, 0.5, 1.5)),  # extra slippage beyond the half spread
    ([A, B, C], (7.0, 5.5, 1.5)),
])
def test_hand_worked_fills_against_hand_made_ticks(tmp_path, rows, want):
    data = eurusd_ticks(tmp_path / "ticks")
    st = bt.stats(run_with(tmp_path, rows), data=data)
    got = (st["slippage"], st["spread_cost"], st["slippage_beyond_spread"])
    assert got == pytest.approx(want, abs=1e-7)
    assert "includes the half spread" in st.notes["slippage"]
    assert "spread_cost" not in st.notes


def test_a_frame_of_ticks_and_the_results_method_give_the_same(tmp_path):
    out = run_with(tmp_path, [A, B, C])
    t = tick_table([10, 15, 21, 30], [1.10000, 1.10010, 1.20000, 1.10020], [1.10002, 1.10014, 1.20100, 1.10022],
                   ["EURUSD"] * 4)
    frame = pl.from_arrow(t)
    st = Result(json.loads((out / "summary.json").read_text()), out=out).stats(data=frame)
    assert st["slippage"] == pytest.approx(7.0, abs=1e-7)
    assert st["spread_cost"] == pytest.approx(5.5, abs=1e-7)


def test_a_live_converted_symbol_is_left_out_and_named(tmp_path):
    # USDJPY is quoted in JPY, the account in USD, no fixed quote_to_account: the run converted
    # it at the live rate, which the fills log does not hold.
    data = eurusd_ticks(tmp_path / "ticks")
    both = bt.stats(run_with(tmp_path, [A, (12, "USDJPY", 1, 100, 150110)], ("EURUSD", "USDJPY")), data=data)
    assert both["slippage"] == pytest.approx(1.0, abs=1e-7)  # A only
    assert "USDJPY" in both.notes["slippage"] and "USDJPY" in both.notes["spread_cost"]
    only = bt.stats(write_run(tmp_path / "jpy", fills=fill_records([(12, "USDJPY", 1, 100, 150110)], ("USDJPY",)),
                              symbols=("USDJPY",), start=ns(5), end=ns(12)), data=data)
    assert only["slippage"] is None and only["spread_cost"] is None
    assert "USDJPY" in only.notes["slippage"] and "live rate" in only.notes["slippage"]


def test_data_of_the_wrong_kind_is_refused_by_name(tmp_path):
    with pytest.raises(bt.analytics.AnalyticsError, match="data: expected"):
        bt.stats(run_with(tmp_path, [A]), data=42)


def test_without_data_slippage_stays_null_with_its_note(tmp_path):
    st = bt.stats(run_with(tmp_path, [A, B, C]))
    assert st["slippage"] is None
    assert st.notes["slippage"] == SLIPPAGE_NOTE
    assert "cannot be told from the logs" in SLIPPAGE_NOTE
    assert "spread_cost" not in st.values and "slippage_beyond_spread" not in st.values


def test_the_command_line_data_flag(tmp_path, capsys):
    out = run_with(tmp_path, [A, B, C])
    data = eurusd_ticks(tmp_path / "ticks")
    assert main(["stats", str(out), "--json", "--data", str(data)]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["slippage"] == pytest.approx(7.0, abs=1e-7)
    assert got["slippage_beyond_spread"] == pytest.approx(1.5, abs=1e-7)
    assert main(["stats", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["slippage"] is None
    assert main(["stats", str(out), "--data", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    html_file = tmp_path / "r.html"
    assert main(["report", str(out), "--html", str(html_file), "--data", str(data)]) == 0
    page = html_file.read_text()
    assert "<td>slippage_beyond_spread</td><td>1.5</td>" in page


def test_a_run_with_fixed_slippage_shows_it_beyond_the_spread(tmp_path):
    # Realistic model, fixed slippage 2 ticks: every fill is 2 ticks beyond its side quote, so
    # slippage_beyond_spread = Σ 2 × tick_size × qty × contract: EURUSD 2 × 0.00001 × 100,000 = 2.00
    # per lot, BTCUSD (tick 0.01, contract 1) 0.02 per lot.
    from pathlib import Path

    from backtestr.demo import momentum_signals

    data = Path(__file__).resolve().parents[1] / "data" / "fixture"
    res = bt.run(data, signals=momentum_signals(data), out=tmp_path / "run",
                 config={"run": {"log_level": "trades", "close_at_end": True},
                         "execution": {"model": "realistic", "slippage": "fixed", "slippage_ticks": 2}})
    lots = dict(res.fills.group_by(pl.col("symbol").cast(pl.String)).agg(pl.col("qty").sum()).iter_rows())
    assert lots["EURUSD"] > 0 and lots["BTCUSD"] > 0
    st = res.stats(data=data)
    assert st["slippage_beyond_spread"] == pytest.approx(2.0 * lots["EURUSD"] + 0.02 * lots["BTCUSD"], abs=1e-6)
    assert st["spread_cost"] > 0 and st["slippage"] == pytest.approx(st["spread_cost"] + st["slippage_beyond_spread"])
