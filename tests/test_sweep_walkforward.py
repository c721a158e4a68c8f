"""Walk-forward windows, the best set per window and stitched equity (docs/sweeps.md §4)."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

from backtestr.errors import ConfigError
from backtestr.sweep.walkforward import select_best, stitch, window_list, windows

DAY = 86_400 * 10**9


def utc_ns(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp()) * 10**9


def test_rolling_windows_by_hand():
    t0 = utc_ns(2024, 1, 1)
    ws = window_list("2024-01-01", "2024-03-01", "30d", "10d")
    # span 60 days: tests [30,40) [40,50) [50,60) days after t0; [60,70) would end after the span
    assert [(w.train_start - t0, w.train_end - t0, w.test_start - t0, w.test_end - t0) for w in ws] == [
        (0, 30 * DAY, 30 * DAY, 40 * DAY), (10 * DAY, 40 * DAY, 40 * DAY, 50 * DAY),
        (20 * DAY, 50 * DAY, 50 * DAY, 60 * DAY)]


def test_anchored_windows_and_a_step_longer_than_the_test():
    t0 = utc_ns(2024, 1, 1)
    ws = window_list(t0, t0 + 100 * DAY, 20 * DAY, "5d", step="15d", mode="anchored")
    # test k: [20 + 15k, 25 + 15k) days; k = 0..5 (the last ends at 100)
    assert [(w.train_start - t0, w.test_start - t0, w.test_end - t0) for w in ws] == [
        (0, (20 + 15 * k) * DAY, (25 + 15 * k) * DAY) for k in range(6)]
    assert all(w.train_end == w.test_start for w in ws)


def test_windows_frame_has_utc_datetimes():
    df = windows("2024-01-01", "2024-01-03", "1d", "1d")
    assert df.columns == ["window", "train_start", "train_end", "test_start", "test_end"]
    assert df.schema["test_start"] == pl.Datetime("ns", "UTC")
    assert df["test_start"].dt.epoch("ns").to_list() == [utc_ns(2024, 1, 2)]


def test_day_aligned_windows_follow_local_midnights_across_a_clock_change():
    # New York: EST (UTC-5) until 2024-03-10 02:00, then EDT (UTC-4). Start 2024-03-01 03:00 UTC is
    # 2024-02-29 22:00 local, so the first local midnight is 2024-03-01 00:00 EST = 05:00 UTC.
    ws = window_list("2024-03-01T03:00", "2024-03-25", "7d", "7d", tz="America/New_York")
    assert ws[0].train_start == utc_ns(2024, 3, 1, 5)
    assert ws[0].test_start == utc_ns(2024, 3, 8, 5)       # 2024-03-08 00:00 EST
    assert ws[0].test_end == utc_ns(2024, 3, 15, 4)        # 2024-03-15 00:00 EDT: a week of 167 hours
    assert ws[1].test_end == utc_ns(2024, 3, 22, 4)
    assert len(ws) == 2                                     # the next test would end 2024-03-29


@pytest.mark.parametrize("args,kw,msg", [
    (("2024-01-02", "2024-01-01", "1d", "1d"), {}, "end must be after start"),
    (("2024-01-01", "2024-01-03", "2d", "1d"), {}, "shorter than one train and test window"),
    (("2024-01-01", "2024-02-01", "1d", "0"), {}, "test: must be longer than zero"),
    (("2024-01-01", "2024-02-01", "36h", "1d"), {"tz": "UTC"}, "train: with tz the lengths must be whole days"),
    (("2024-01-01", "2024-02-01", "1d", "1d"), {"tz": "Mars/Base"}, "unknown time zone"),
    (("2024-01-01", "2024-02-01", "1d", "1d"), {"mode": "sliding"}, "mode: 'sliding'"),
    (("yesterday", "2024-02-01", "1d", "1d"), {}, "start: 'yesterday' is not an ISO-8601 time"),
])
def test_bad_windows_are_named(args, kw, msg):
    with pytest.raises(ConfigError, match=msg):
        window_list(*args, **kw)


def test_select_best_per_window_ties_to_the_smaller_set_id_and_nulls_never_win():
    r = pl.DataFrame({
        "window": [0, 0, 0, 1, 1, 1],
        "set_id": [0, 1, 2, 0, 1, 2],
        "fast": [5, 10, 20, 5, 10, 20],
        "net_pnl": [3.0, 7.0, 7.0, None, 1.0, -2.0],
    })
    best = select_best(r, "net_pnl")
    assert best.to_dicts() == [{"window": 0, "set_id": 1, "fast": 10, "net_pnl": 7.0},
                               {"window": 1, "set_id": 1, "fast": 10, "net_pnl": 1.0}]
    worst = select_best(r, "net_pnl", maximize=False)
    assert worst["set_id"].to_list() == [0, 2]
    with pytest.raises(ConfigError, match="no column 'sharpe'"):
        select_best(r, "sharpe")


def test_stitch_compounds_returns_or_adds_pnl_from_the_previous_end():
    a = pl.DataFrame({"ts": [1, 2, 3], "equity": [100.0, 110.0, 120.0]})
    b = pl.DataFrame({"ts": [4, 5], "equity": [100.0, 90.0]})
    # returns: b continues from 120: 120 * 100/100 = 120, 120 * 90/100 = 108
    assert stitch([a, b])["equity"].to_list() == [100.0, 110.0, 120.0, 120.0, 108.0]
    # pnl: 120 + (100 - 100) = 120, 120 + (90 - 100) = 110
    assert stitch([a, b], mode="pnl")["equity"].to_list() == [100.0, 110.0, 120.0, 120.0, 110.0]
    assert stitch([a, b])["window"].to_list() == [0, 0, 0, 1, 1]
    # each test run started from 100 in cash, the curve from 1000: 1000*1.0, *1.1, *1.2, 1200*1.0, 1200*0.9
    assert stitch([a, b], start_value=100.0, initial=1000.0)["equity"].to_list() == pytest.approx(
        [1000.0, 1100.0, 1200.0, 1200.0, 1080.0])


def test_stitch_refuses_overlapping_segments():
    a = pl.DataFrame({"ts": [1, 2, 3], "equity": [100.0, 110.0, 120.0]})
    with pytest.raises(ConfigError, match="segment 1 starts at 3, not after the previous segment's end 3"):
        stitch([a, a.with_columns(pl.col("ts") + 2)])
    with pytest.raises(ConfigError, match="segment 0 has no column 'equity'"):
        stitch([a.select("ts")])
