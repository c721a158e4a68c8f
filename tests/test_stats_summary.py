"""A run with --out carries its headline statistics in summary.json, the same as ``stats(OUT)`` gives."""

from __future__ import annotations

import json
from pathlib import Path

import backtestr as bt
from backtestr.demo import momentum_signals

DATA = Path(__file__).resolve().parents[1] / "data" / "fixture"


def test_summary_json_holds_the_headline_statistics(tmp_path):
    out = tmp_path / "run"
    res = bt.run(DATA, signals=momentum_signals(DATA),
                 config={"run": {"log_level": "trades", "close_at_end": True}}, out=out)
    written = json.loads((out / "summary.json").read_text())["stats"]
    again = json.loads(json.dumps(bt.stats(out).headline()))
    assert written == again
    assert written["trades"] == res.summary["positions"] > 0  # every position closed at the end
    assert written["calendar"]["periods_per_year"] == 365  # BTCUSD trades every day
    assert written["commission"] == res.summary["commission"]
    st = res.stats()  # the Result's own method, on the written logs
    assert st["trades"] == written["trades"] and st["max_drawdown"] == res.summary["max_drawdown"]
