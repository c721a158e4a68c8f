"""Bars from ticks (docs/bars.md): against a plain-Python aggregation with zoneinfo, by
hand around the New York daylight-saving changes, chunking, the bar archive, errors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import backtestr as bt
from backtestr.bars import read_bars
from backtestr.cli import main

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEC = 10**9
TICK = {"EURUSD": Decimal("0.00001"), "USDJPY": Decimal("0.001"), "BTCUSD": Decimal("0.01")}
START = {"EURUSD": 110_000, "USDJPY": 150_000, "BTCUSD": 4_000_000}
UNITS = {"s": 1, "m": 60, "h": 3600}


def utc_ns(*args: int) -> int:
    d = datetime(*args, tzinfo=UTC) - EPOCH
    return (d.days * 86_400 + d.seconds) * SEC + d.microseconds * 1000


# -- the plain-Python aggregation ---------------------------------------------------------------

class Sessions:
    """Trading days and weeks from zoneinfo alone: the day of local date D starts at D hh:mm
    local (fold=0); a day is labelled by the local date of its last instant."""

    def __init__(self, tz: str, hhmm: str) -> None:
        self.z = ZoneInfo(tz)
        self.h, self.m = (int(x) for x in hhmm.split(":"))
        self.weeks: dict[tuple[int, int], tuple[int, int]] = {}
        self.starts: dict[date, int] = {}

    def start(self, d: date) -> int:
        if d not in self.starts:
            local = datetime(d.year, d.month, d.day, self.h, self.m, tzinfo=self.z)
            self.starts[d] = utc_ns(*local.astimezone(UTC).timetuple()[:6])
        return self.starts[d]

    def day(self, t: int) -> tuple[int, int]:
        d0 = (EPOCH + timedelta(microseconds=t // 1000)).date()
        starts = sorted({self.start(d0 + timedelta(days=k)) for k in range(-3, 4)})
        return max(b for b in starts if b <= t), min(b for b in starts if b > t)

    def label(self, day: tuple[int, int]) -> date:
        last = EPOCH + timedelta(microseconds=(day[1] - 1) // 1000)
        return last.astimezone(self.z).date()

    def week(self, t: int) -> tuple[int, int]:
        day = self.day(t)
        if day not in self.weeks:
            self.weeks[day] = self._week(day)
        return self.weeks[day]

    def _week(self, day: tuple[int, int]) -> tuple[int, int]:
        first = day
        while self.label(first).weekday() != 0:
            first = self.day(first[0] - 1)
        nxt = self.day(day[1])
        while self.label(nxt).weekday() != 0:
            nxt = self.day(nxt[1])
        return first[0], nxt[0]


def oracle(ticks: list[tuple[int, str, Decimal, Decimal]], timeframes: list[str], price: str,
           tz: str = "America/New_York", hhmm: str = "17:00") -> list[dict]:
    """Bars by a loop over the ticks: dict rows like the bar frame's, sorted like it."""
    sess = Sessions(tz, hhmm)
    bars: dict[tuple[str, str, int], dict] = {}
    for t, sym, bid, ask in ticks:
        tick = TICK[sym]
        b, a = int(bid / tick), int(ask / tick)
        v = {"bid": b, "ask": a, "mid": b + a}[price]
        for tf in timeframes:
            n, unit = int(tf[:-1]), tf[-1]
            if unit in UNITS:
                length = n * UNITS[unit] * SEC
                lo, hi = (t // length) * length, (t // length + 1) * length
            elif unit == "d":
                lo, hi = sess.day(t)
            else:
                lo, hi = sess.week(t)
            key = (sym, tf, lo)
            if key not in bars:
                bars[key] = {"symbol": sym, "timeframe": tf, "ts_open": lo, "ts_close": hi, "o": v, "h": v,
                             "l": v, "c": v, "n": 0, "smin": a - b, "smax": a - b, "ssum": 0}
            r = bars[key]
            assert r["ts_close"] == hi
            r["h"], r["l"], r["c"] = max(r["h"], v), min(r["l"], v), v
            r["n"] += 1
            r["smin"], r["smax"], r["ssum"] = min(r["smin"], a - b), max(r["smax"], a - b), r["ssum"] + a - b
    return [bars[k] for k in sorted(bars)]


def check_against(frame: pl.DataFrame, want: list[dict], price: str) -> None:
    unit = "half_ticks" if price == "mid" else "ticks"
    assert frame.height == len(want)
    assert frame.schema["ts_open"] == pl.Datetime("ns", "UTC")
    got = frame.with_columns(pl.col("ts_open", "ts_close").dt.epoch("ns")).to_dicts()
    for g, w in zip(got, want, strict=True):
        tick = TICK[w["symbol"]]
        per = tick / 2 if price == "mid" else tick
        assert (g["symbol"], g["timeframe"], g["ts_open"], g["ts_close"]) == \
               (w["symbol"], w["timeframe"], w["ts_open"], w["ts_close"])
        assert [g[f"{f}_{unit}"] for f in ("open", "high", "low", "close")] == [w["o"], w["h"], w["l"], w["c"]]
        for f, k in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c")):
            assert g[f] == pytest.approx(float(w[k] * per), rel=1e-12)
        assert (g["n_ticks"], g["spread_min_ticks"], g["spread_max_ticks"]) == (w["n"], w["smin"], w["smax"])
        assert g["spread_mean"] == pytest.approx(float(Fraction(w["ssum"]) * Fraction(tick) / w["n"]), rel=1e-12)


# -- random ticks -------------------------------------------------------------------------------

def random_ticks(seed: int, spans: list[tuple[int, int]], n_per_span: int) -> list[tuple[int, str, Decimal, Decimal]]:
    """Ticks of three symbols in each span, with gaps, Saturdays left out for EURUSD and
    some ticks exactly on minute, hour and New York 17:00 boundaries."""
    rng = np.random.default_rng(seed)
    out = []
    for sym in TICK:
        px = START[sym]
        times: set[int] = set()
        for lo, hi in spans:
            times |= {int(x) for x in rng.integers(lo, hi, n_per_span)}
            # on boundaries: whole minutes and hours, and 17:00 New York (21:00 or 22:00 UTC)
            for k in rng.integers(0, (hi - lo) // (3600 * SEC), 10):
                h = lo - lo % (3600 * SEC) + int(k) * 3600 * SEC
                times |= {h, h + 60 * SEC, h - 1}
            d = lo - lo % (86_400 * SEC)
            while d < hi:
                times |= {d + 21 * 3600 * SEC, d + 22 * 3600 * SEC, d + 21 * 3600 * SEC - 1}
                d += 86_400 * SEC
            # a gap of a few hours without ticks
            g = int(rng.integers(lo, hi))
            times = {t for t in times if not g <= t < g + 5 * 3600 * SEC}
        tick = TICK[sym]
        for t in sorted(times):
            if sym == "EURUSD" and (EPOCH + timedelta(microseconds=t // 1000)).weekday() == 5:
                continue
            px += int(rng.integers(-3, 4))
            spread = int(rng.integers(0, 6))
            out.append((t, sym, px * tick, (px + spread) * tick))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def tick_frame(ticks: list[tuple[int, str, Decimal, Decimal]]) -> pl.DataFrame:
    return pl.DataFrame({
        "ts": pl.Series([t for t, *_ in ticks], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
        "symbol": [r[1] for r in ticks],
        "bid": [float(r[2]) for r in ticks],
        "ask": [float(r[3]) for r in ticks],
    })


# March: New York leaves EST on Sunday 2024-03-10; November: it returns on Sunday 2024-11-03
SPANS = [(utc_ns(2024, 3, 7, 12), utc_ns(2024, 3, 13)), (utc_ns(2024, 10, 30), utc_ns(2024, 11, 6, 3))]
TICKS = random_ticks(7, SPANS, 1500)
TFS = ["1s", "1m", "7m", "15m", "1h", "4h", "1d", "1w"]


@pytest.fixture(scope="module")
def built() -> dict[str, pl.DataFrame]:
    df = tick_frame(TICKS)
    return {p: bt.bars(df, TFS, price=p) for p in ("bid", "ask", "mid")}


@pytest.mark.parametrize("price", ["bid", "ask", "mid"])
def test_bars_match_plain_python(built: dict[str, pl.DataFrame], price: str) -> None:
    check_against(built[price], oracle(TICKS, TFS, price), price)


def test_calendar_days_in_utc() -> None:
    df = tick_frame(TICKS)
    got = bt.bars(df, ["1d", "1w"], price="mid", session_tz="UTC", session_start="00:00")
    check_against(got, oracle(TICKS, ["1d", "1w"], "mid", "UTC", "00:00"), "mid")
    # calendar days and Monday 00:00 UTC weeks, worked by hand
    days = got.filter(pl.col("timeframe") == "1d")["ts_open"].dt.epoch("ns").to_list()
    assert all(d % (86_400 * SEC) == 0 for d in days)
    weeks = got.filter(pl.col("timeframe") == "1w")
    assert set(weeks["ts_open"].dt.weekday().to_list()) == {1}  # polars: Monday = 1
    assert set((weeks["ts_close"] - weeks["ts_open"]).dt.total_days().to_list()) == {7}


def test_other_session_zone_and_start() -> None:
    ticks = [r for r in TICKS if r[1] == "USDJPY"]
    got = bt.bars(tick_frame(ticks), ["1d", "1w"], price="bid", session_tz="Europe/London", session_start="08:30")
    check_against(got, oracle(ticks, ["1d", "1w"], "bid", "Europe/London", "08:30"), "bid")


def test_new_york_sessions_by_hand() -> None:
    """Sunday 2024-03-10 New York goes from EST (UTC-5) to EDT (UTC-4); Sunday 2024-11-03 back.

    A day starts at 17:00 New York: 22:00 UTC in EST, 21:00 UTC in EDT. The day opened on
    Sunday is Monday's, so the week opens on Sunday 17:00."""
    rows = [
        (utc_ns(2024, 3, 8, 21, 59), "1.10000", "1.10002"),  # Friday 16:59 EST: Thursday 17:00 EST day
        (utc_ns(2024, 3, 10, 20, 59), "1.10010", "1.10012"),  # Sunday 16:59 EDT: Saturday's 17:00 EST day
        (utc_ns(2024, 3, 10, 21, 0), "1.10020", "1.10021"),  # Sunday 17:00 EDT: Monday's day, a new week
        (utc_ns(2024, 3, 11, 20, 59), "1.10005", "1.10008"),  # Monday 16:59 EDT: same day
        (utc_ns(2024, 11, 3, 21, 30), "1.10030", "1.10031"),  # Sunday 16:30 EST: Saturday's 17:00 EDT day
        (utc_ns(2024, 11, 3, 22, 0), "1.10040", "1.10042"),  # Sunday 17:00 EST: Monday's day
    ]
    df = pl.DataFrame({"ts": pl.Series([r[0] for r in rows], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
                       "symbol": "EURUSD", "bid": [float(r[1]) for r in rows], "ask": [float(r[2]) for r in rows]})
    got = bt.bars(df, ["1d", "1w"], price="bid")
    want_days = [
        (utc_ns(2024, 3, 7, 22), utc_ns(2024, 3, 8, 22), 110000, 1),
        (utc_ns(2024, 3, 9, 22), utc_ns(2024, 3, 10, 21), 110010, 1),
        (utc_ns(2024, 3, 10, 21), utc_ns(2024, 3, 11, 21), 110020, 2),
        (utc_ns(2024, 11, 2, 21), utc_ns(2024, 11, 3, 22), 110030, 1),
        (utc_ns(2024, 11, 3, 22), utc_ns(2024, 11, 4, 22), 110040, 1),
    ]
    d = got.filter(pl.col("timeframe") == "1d")
    assert list(zip(d["ts_open"].dt.epoch("ns"), d["ts_close"].dt.epoch("ns"), d["open_ticks"], d["n_ticks"],
                    strict=True)) == want_days
    assert d["close_ticks"].to_list() == [110000, 110010, 110005, 110030, 110040]
    assert d["low_ticks"].to_list() == [110000, 110010, 110005, 110030, 110040]
    assert d["spread_max_ticks"].to_list() == [2, 2, 3, 1, 2]
    assert d["spread_mean"].to_list() == pytest.approx([0.00002, 0.00002, 0.00002, 0.00001, 0.00002], rel=1e-12)
    w = got.filter(pl.col("timeframe") == "1w")
    want_weeks = [
        (utc_ns(2024, 3, 3, 22), utc_ns(2024, 3, 10, 21), 2),  # Sunday 17:00 EST .. Sunday 17:00 EDT
        (utc_ns(2024, 3, 10, 21), utc_ns(2024, 3, 17, 21), 2),
        (utc_ns(2024, 10, 27, 21), utc_ns(2024, 11, 3, 22), 1),  # Sunday 17:00 EDT .. Sunday 17:00 EST
        (utc_ns(2024, 11, 3, 22), utc_ns(2024, 11, 10, 22), 1),
    ]
    assert list(zip(w["ts_open"].dt.epoch("ns"), w["ts_close"].dt.epoch("ns"), w["n_ticks"],
                    strict=True)) == want_weeks


def test_intraday_buckets_by_hand() -> None:
    """A tick on a boundary opens the next bar; empty intervals have no bar; mid in half ticks."""
    t0 = utc_ns(2024, 1, 2)
    ts = [t0 + 59 * SEC, t0 + 60 * SEC, t0 + 61 * SEC, t0 + 245 * SEC]
    df = pl.DataFrame({"ts": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")), "symbol": "EURUSD",
                       "bid": [1.1, 1.10003, 1.09999, 1.1], "ask": [1.10001, 1.10005, 1.10001, 1.10001]})
    got = bt.bars(df, ["1m"], price="mid")
    assert got["ts_open"].dt.epoch("ns").to_list() == [t0, t0 + 60 * SEC, t0 + 240 * SEC]
    assert got["ts_close"].dt.epoch("ns").to_list() == [t0 + 60 * SEC, t0 + 120 * SEC, t0 + 300 * SEC]
    # 1.1 + 1.10001 = 220001 half ticks; then 220008 and 220000
    assert got["open_half_ticks"].to_list() == [220001, 220008, 220001]
    assert got["high_half_ticks"].to_list() == [220001, 220008, 220001]
    assert got["low_half_ticks"].to_list() == [220001, 220000, 220001]
    assert got["close_half_ticks"].to_list() == [220001, 220000, 220001]
    assert got["open"].to_list() == pytest.approx([1.100005, 1.10004, 1.100005], rel=1e-12)
    assert got["n_ticks"].to_list() == [1, 2, 1]
    assert got["spread_min_ticks"].to_list() == [1, 2, 1]
    assert got["spread_mean"].to_list() == pytest.approx([0.00001, 0.00002, 0.00001], rel=1e-12)


# -- chunking and archives ----------------------------------------------------------------------

@pytest.mark.parametrize("rows", [1, 3, 64, 997])
def test_chunking_anywhere_gives_the_same_bars(built: dict[str, pl.DataFrame], rows: int) -> None:
    ticks = TICKS if rows > 3 else TICKS[::5]
    got = bt.bars(tick_frame(ticks), TFS, price="mid", config={"run": {"chunk_rows": rows}})
    want = built["mid"] if ticks is TICKS else bt.bars(tick_frame(ticks), TFS, price="mid")
    assert got.equals(want)
    if ticks is not TICKS:
        check_against(got, oracle(ticks, TFS, "mid"), "mid")


def write_tick_archive(root: Path, ticks: list) -> Path:
    """One file per symbol and UTC date (hive folders), small row groups."""
    df = tick_frame(ticks).with_columns(pl.col("ts").dt.date().alias("date"))
    for (sym, day), part in df.group_by("symbol", "date"):
        path = root / f"symbol={sym}" / f"date={day}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part.select("ts", "bid", "ask").to_arrow(), path, row_group_size=50)
    return root


def test_archive_input_equals_frame_input(tmp_path: Path, built: dict[str, pl.DataFrame]) -> None:
    root = write_tick_archive(tmp_path / "ticks", TICKS)
    got = bt.bars(root, TFS, price="ask", config={"run": {"chunk_rows": 128}})
    assert got.equals(built["ask"])
    one = bt.bars(str(root / "symbol=USDJPY" / "**" / "*.parquet"), ["1h"], price="ask")
    assert one.equals(built["ask"].filter((pl.col("symbol") == "USDJPY") & (pl.col("timeframe") == "1h")))


def test_symbols_and_time_range_from_config(built: dict[str, pl.DataFrame]) -> None:
    lo, hi = utc_ns(2024, 3, 8), utc_ns(2024, 3, 11, 5)
    ticks = [r for r in TICKS if r[1] == "BTCUSD" and lo <= r[0] < hi]
    got = bt.bars(tick_frame(TICKS), ["1m", "1d"], price="bid",
                  config={"data": {"symbols": ["BTCUSD"], "start": "2024-03-08", "end": "2024-03-11T05:00:00"}})
    check_against(got, oracle(ticks, ["1m", "1d"], "bid"), "bid")


def test_cli_writes_the_bar_archive(tmp_path: Path, built: dict[str, pl.DataFrame],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = write_tick_archive(tmp_path / "ticks", TICKS)
    out = tmp_path / "bars"
    assert main(["data", "bars", str(root), "--timeframes", ",".join(TFS), "--price", "mid",
                 "--out", str(out), "--set", "run.chunk_rows=100"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["bars"]["EURUSD"]["1d"] == built["mid"].filter(
        (pl.col("symbol") == "EURUSD") & (pl.col("timeframe") == "1d")).height
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert files == sorted(f"symbol={s}/timeframe={t}/part-0.parquet" for s in TICK for t in TFS)
    assert pq.read_schema(out / "symbol=BTCUSD" / "timeframe=1m" / "part-0.parquet").names[:2] == \
        ["ts_open", "ts_close"]
    meta = json.loads((out / "bars.json").read_text())
    assert (meta["price"], meta["session_tz"], meta["session_start"]) == ("mid", "America/New_York", "17:00")
    assert read_bars(out).equals(built["mid"])
    # a second build into the same folder is refused without --force, and the archive is untouched
    before = (out / "bars.json").read_text()
    assert main(["data", "bars", str(root), "--timeframes", "1h", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "bars.json").read_text() == before
    assert main(["data", "bars", str(root), "--timeframes", "1h", "--out", str(out), "--force", "--quiet"]) == 0
    assert sorted(p.name for p in out.glob("symbol=EURUSD/*")) == ["timeframe=1h"]


@pytest.mark.parametrize(("flag", "value", "text"), [
    ("--timeframes", "1m,5x", "--timeframes: '5x' is not a timeframe"),
    ("--timeframes", "2d", "--timeframes: '2d' is not a timeframe: daily and weekly bars are '1d' and '1w' only"),
    ("--timeframes", "0m", "--timeframes: '0m' is not a timeframe"),
    ("--timeframes", "1w,1W", "--timeframes: '1W' is not a timeframe"),
    ("--price", "last", "--price: 'last' is not a price basis"),
    ("--session-tz", "Mars/Olympus", "--session-tz: unknown time zone 'Mars/Olympus'"),
    ("--session-start", "25:00", "--session-start: '25:00' is not a time of day"),
])
def test_cli_refuses_bad_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str,
                                  text: str) -> None:
    root = write_tick_archive(tmp_path / "ticks", TICKS[:50])
    out = tmp_path / "bars"
    assert main(["data", "bars", str(root), flag, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtestr: error: ") and text in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "ticks"]


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"timeframes": ["1m", "90"]}, "timeframes: '90' is not a timeframe"),
    ({"timeframes": "1h30m"}, "timeframes: '1h30m' is not a timeframe"),
    ({"timeframes": []}, "timeframes: give at least one timeframe"),
    ({"timeframes": ["1m", "1m"]}, "timeframes: '1m' is given twice"),
    ({"price": "Bid"}, "price: 'Bid' is not a price basis"),
    ({"session_tz": "Nowhere/Town"}, "session_tz: unknown time zone 'Nowhere/Town'"),
    ({"session_start": "5pm"}, "session_start: '5pm' is not a time of day"),
])
def test_python_names_the_bad_argument(kwargs: dict, text: str) -> None:
    with pytest.raises(bt.ConfigError) as exc:
        bt.bars(tick_frame(TICKS[:20]), **kwargs)
    assert text in str(exc.value)


def test_unknown_symbol_and_no_ticks() -> None:
    df = pl.DataFrame({"ts": pl.Series([utc_ns(2024, 1, 2)], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
                       "symbol": "NOPE", "bid": [1.0], "ask": [1.0]})
    with pytest.raises(bt.ConfigError, match="unknown symbol.*NOPE"):
        bt.bars(df, ["1m"])
    with pytest.raises(bt.DataError, match="no ticks to build bars from"):
        bt.bars(tick_frame(TICKS[:20]), ["1m"], config={"data": {"start": "2030-01-01"}})


def test_bad_rows_follow_the_run_rules() -> None:
    df = tick_frame(TICKS[:40])
    bad = pl.concat([df[:10], df[10:11].with_columns(pl.col("ask") - 1.0), df[11:]])  # ask below bid
    with pytest.raises(bt.DataError, match="crossed"):
        bt.bars(bad, ["1m"])
    skipped = bt.bars(bad, ["1m"], config={"run": {"on_bad_rows": "skip"}})
    check_against(skipped, oracle(TICKS[:10] + TICKS[11:40], ["1m"], "bid"), "bid")


def test_pyarrow_table_input(built: dict[str, pl.DataFrame]) -> None:
    table: pa.Table = tick_frame(TICKS).to_arrow()
    assert bt.bars(table, TFS, price="bid").equals(built["bid"])


def test_cli_unknown_symbol_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = [(r[0], "ZZZ", r[2], r[3]) for r in TICKS[:30] if r[1] == "EURUSD"]
    root = write_tick_archive(tmp_path / "ticks", t)
    assert main(["data", "bars", str(root), "--out", str(tmp_path / "bars")]) == 2
    err = capsys.readouterr().err
    assert "unknown symbol(s) ZZZ" in err and "--instruments FILE" in err
    assert not (tmp_path / "bars").exists()
    reg = tmp_path / "zzz.toml"
    reg.write_text('[ZZZ]\ntick_size = "0.00001"\nlot_step = "0.01"\n')
    assert main(["data", "bars", str(root), "--out", str(tmp_path / "bars"), "--instruments", str(reg),
                 "--timeframes", "1h", "--quiet"]) == 0
    got = read_bars(tmp_path / "bars")
    assert got["symbol"].unique().to_list() == ["ZZZ"] and got["n_ticks"].sum() == len(t)


def test_cli_bars_refuses_a_folder_holding_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = [r for r in TICKS[:30] if r[1] == "EURUSD"]
    root = write_tick_archive(tmp_path / "ticks", t)
    out = tmp_path / "bars"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["data", "bars", str(root), "--out", str(out), "--timeframes", "1h", "--quiet", "--force"]) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    # an earlier bar archive is replaced with --force, refused without it
    out2 = tmp_path / "bars2"
    assert main(["data", "bars", str(root), "--out", str(out2), "--timeframes", "1h", "--quiet"]) == 0
    assert main(["data", "bars", str(root), "--out", str(out2), "--timeframes", "1h", "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["data", "bars", str(root), "--out", str(out2), "--timeframes", "15m", "--quiet", "--force"]) == 0
    assert read_bars(out2)["timeframe"].unique().to_list() == ["15m"]
