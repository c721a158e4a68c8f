import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from backtestr.synth import (
    ROW_GROUP_ROWS,
    SYMBOL_PRESETS,
    TICK_SCHEMA,
    synth_symbol_day,
    write_archive,
)

# 2024-01-05 is a Friday: Fri, Sat, Sun, Mon.
START = dt.date(2024, 1, 5)
DAYS = 4
SYMBOLS = ["EURUSD", "BTCUSD", "XAUUSD"]
RATE = 0.05


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "a"
    summary = write_archive(out, SYMBOLS, DAYS, seed=7, start=START, rate=RATE)
    return out, summary


def _frames(out: Path):
    for path in sorted(out.rglob("*.parquet")):
        symbol = path.parent.parent.name.removeprefix("symbol=")
        day = dt.date.fromisoformat(path.parent.name.removeprefix("date="))
        yield symbol, day, path, pl.read_parquet(path)


def test_same_arguments_give_byte_identical_files(archive, tmp_path):
    out, _ = archive
    again = tmp_path / "b"
    write_archive(again, SYMBOLS, DAYS, seed=7, start=START, rate=RATE, workers=2)
    first, second = _files(out), _files(again)
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] for k in first)


def test_other_seed_gives_other_data(archive, tmp_path):
    out, _ = archive
    other = tmp_path / "c"
    write_archive(other, ["BTCUSD"], 1, seed=8, start=START, rate=RATE)
    name = f"symbol=BTCUSD/date={START.isoformat()}/part-0.parquet"
    assert (out / name).read_bytes() != (other / name).read_bytes()


def test_layout_weekend_and_summary(archive):
    out, summary = archive
    found = {(s, d) for s, d, _, _ in _frames(out)}
    days = [START + dt.timedelta(days=i) for i in range(DAYS)]
    saturday = dt.date(2024, 1, 6)
    expected = {("BTCUSD", d) for d in days}  # crypto trades every day
    expected |= {(s, d) for s in ("EURUSD", "XAUUSD") for d in days if d != saturday}
    assert found == expected
    assert summary["files"] == len(expected)
    rows = {s: 0 for s in SYMBOLS}
    for s, _, _, frame in _frames(out):
        rows[s] += frame.height
    assert summary["symbols"] == rows
    assert summary["ticks"] == sum(rows.values())
    # the manifest, no temp files
    assert [p for p in out.rglob("*") if p.name.startswith(".")] == [out / ".backtestr-manifest.json"]


def test_schema_has_no_symbol_column(archive):
    out, _ = archive
    for _, _, path, _ in _frames(out):
        assert pq.read_schema(path).remove_metadata() == TICK_SCHEMA


def test_prices_on_tick_grid_and_spread_at_least_one_tick(archive):
    out, _ = archive
    for symbol, _, _, frame in _frames(out):
        scale = 10 ** SYMBOL_PRESETS[symbol].digits
        bid, ask = frame["bid"].to_numpy(), frame["ask"].to_numpy()
        for price in (bid, ask):
            ticks = np.rint(price * scale)
            assert np.array_equal(ticks / scale, price)  # exactly on the grid
        assert (ask > bid).all()
        assert (np.rint(ask * scale) - np.rint(bid * scale) >= 1).all()
        assert (frame["bid_size"] > 0).all() and (frame["ask_size"] > 0).all()


def test_timestamps_strictly_increasing_inside_their_day(archive):
    out, _ = archive
    for _, day, _, frame in _frames(out):
        ts = frame["ts"].cast(pl.Int64).to_numpy()
        assert (np.diff(ts) > 0).all()
        start = (day - dt.date(1970, 1, 1)).days * 86_400 * 10**9
        assert start <= ts[0] and ts[-1] < start + 86_400 * 10**9


def test_trading_hours(archive):
    out, _ = archive
    frames = {(s, d): f for s, d, _, f in _frames(out)}
    friday, sunday, monday = dt.date(2024, 1, 5), dt.date(2024, 1, 7), dt.date(2024, 1, 8)

    def hours(frame):
        return frame["ts"].dt.hour() + frame["ts"].dt.minute() / 60

    assert hours(frames["EURUSD", friday]).max() < 22  # FX closes Friday 22:00 UTC
    assert hours(frames["EURUSD", sunday]).min() >= 22  # and opens Sunday 22:00 UTC
    assert hours(frames["XAUUSD", sunday]).min() >= 23  # gold opens Sunday 23:00 UTC
    gold_monday = hours(frames["XAUUSD", monday])
    assert not ((gold_monday >= 22) & (gold_monday < 23)).any()  # daily break
    assert hours(frames["BTCUSD", friday]).max() > 23  # crypto runs through the night


def test_one_day_alone_equals_the_archive_file(archive):
    out, _ = archive
    day = dt.date(2024, 1, 7)
    alone = synth_symbol_day("BTCUSD", day, 7, rate=RATE)
    stored = pl.read_parquet(out / "symbol=BTCUSD" / f"date={day}" / "part-0.parquet")
    assert alone.equals(stored)


def test_days_join_up(archive):
    out, _ = archive
    btc = [f for s, _, _, f in _frames(out) if s == "BTCUSD"]
    for prev, nxt in zip(btc, btc[1:], strict=False):
        last = (prev["bid"][-1] + prev["ask"][-1]) / 2
        first = (nxt["bid"][0] + nxt["ask"][0]) / 2
        # A day's move is ~3 %; across midnight the mid moves by far less.
        assert abs(math.log(first / last)) < 0.01


def test_rate_sets_the_mean_tick_rate():
    day = dt.date(2024, 1, 3)  # a Wednesday
    n = synth_symbol_day("BTCUSD", day, 1, rate=0.05).height
    assert 0.5 * 0.05 * 86_400 < n < 2 * 0.05 * 86_400
    assert synth_symbol_day("BTCUSD", day, 1, rate=0.2).height > 2 * n


def test_spread_wider_in_quiet_hours():
    frame = synth_symbol_day("EURUSD", dt.date(2024, 1, 3), 3, rate=0.5)
    spread = ((frame["ask"] - frame["bid"]) * 1e5).round(0)
    hour = frame["ts"].dt.hour()
    quiet = spread.filter((hour >= 2) & (hour < 5)).median()
    busy = spread.filter((hour >= 13) & (hour < 16)).median()
    assert quiet > busy
    assert spread.n_unique() > 5


def test_closed_day_is_empty_frame_with_schema():
    frame = synth_symbol_day("EURUSD", dt.date(2024, 1, 6), 1)
    assert frame.height == 0
    assert frame.schema == {
        "ts": pl.Datetime("ns", "UTC"),
        "bid": pl.Float64,
        "ask": pl.Float64,
        "bid_size": pl.Float64,
        "ask_size": pl.Float64,
    }


def test_row_groups_are_limited(tmp_path):
    # ~4 ticks/s over a crypto day is ~345k rows: more than one row group.
    write_archive(tmp_path, ["ETHUSD"], 1, seed=2, start=dt.date(2024, 1, 3), rate=4.0)
    meta = pq.ParquetFile(next(tmp_path.rglob("*.parquet"))).metadata
    assert meta.num_rows > ROW_GROUP_ROWS
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert max(sizes) <= ROW_GROUP_ROWS and sum(sizes) == meta.num_rows
    stats = meta.row_group(0).column(0).statistics
    assert stats is not None and stats.has_min_max


def test_bad_arguments():
    with pytest.raises(KeyError, match="unknown synthetic symbol 'NOPE'.*known: .*USDJPY"):
        synth_symbol_day("NOPE", dt.date(2024, 1, 3), 1)
    with pytest.raises(ValueError, match="seed"):
        synth_symbol_day("EURUSD", dt.date(2024, 1, 3), -1)
    with pytest.raises(ValueError, match="rate"):
        synth_symbol_day("EURUSD", dt.date(2024, 1, 3), 1, rate=0.0)
