"""Bars of timeframes built from the closed bars of a shorter one (kernels/bars_live.py):
the same bars, in the same order, as a plain loop over the ticks per timeframe."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from backtestr.kernels.strategy_hook import sources

import backtestr as bt
from tests.strategy_kit import ny_day, python_bars, ticks_frame
from tests.test_strategy import MIN, ROW, Recorder

SEC = 10**9


def test_a_timeframe_is_built_from_the_shortest_fixed_one_nesting_in_it():
    day = np.array([5 * 3600, 29 * 3600, 53 * 3600], np.int64) * SEC  # multiples of 1m, 90s and 1h
    odd = np.array([7, 3600 * SEC + 7], np.int64)  # no fixed bucket nests in these
    none = np.zeros(0, np.int64)
    lengths = [0, 300 * SEC, 90 * SEC, 60 * SEC, 180 * SEC, 3600 * SEC, 0]
    bounds = [day, none, none, none, none, none, odd]
    # days <- 1m, 5m <- 1m, 90s by ticks, 1m by ticks, 3m <- 1m (the shortest), 1h <- 1m, odd by ticks
    assert sources(lengths, bounds) == {0: 3, 1: 3, 4: 3, 5: 3}
    assert sources([90 * SEC, 45 * SEC], [none, none]) == {0: 1}
    assert sources([60 * SEC], [none]) == {}
    assert sources([120 * SEC, 60 * SEC], [none, none]) == {0: 1}


class MixRecorder(Recorder):
    timeframes = ("1d", "5m", "90s", "1m", "3m")


@pytest.fixture(scope="module")
def days() -> pl.DataFrame:
    return ticks_frame(6000, seed=11, gap_ms=80_000)  # about three days


def test_bars_built_from_shorter_ones_match_a_plain_aggregation(days):
    res = bt.run(days, strategy=MixRecorder)
    st = res.strategy_state[0]
    got = st["rows"][: int(st["n"]) * ROW].reshape(-1, ROW)
    refs = (python_bars(days, 0, bucket=ny_day), python_bars(days, 5 * MIN), python_bars(days, 90 * SEC),
            python_bars(days, MIN), python_bars(days, 3 * MIN))
    expected = []
    for tf, ref in enumerate(refs):
        for b in ref:
            if b[-1] is not None:  # closed by a later tick
                expected.append((b[-1], b[2], tf, b[0], b))
    expected.sort(key=lambda x: x[:4])  # by closing tick, ts_close, timeframe (declared order), symbol
    assert len(expected) == got.shape[0]
    assert any(e[2] == 0 for e in expected)  # day bars were closed
    # ties: a day, 5m or 3m bar reported before the 1m bars closing with it (declared first)
    assert any(e[2] == 1 and e[1] % (5 * MIN) == 0 for e in expected)
    for row, (_, _, tf, _, b) in zip(got, expected, strict=True):
        assert tuple(row[:2]) == (tf, b[0])
        assert tuple(row[2:12]) == b[1:11]
        assert row[12] == b[6]
        assert row[13] == b[2]
