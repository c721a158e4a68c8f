"""Returns on the calendar (worked by hand) and the ratios checked against empyrical-reloaded."""

from __future__ import annotations

import math
from datetime import date

import empyrical as ep
import numpy as np
import pytest

from backtestr.analytics import StatsSettings, stats
from backtestr.analytics.returns import ratios
from backtestr.errors import ConfigError
from tests.statlogs import INIT, equity_records, utc_ns, write_run

# Friday 2024-03-08 (New York on EST, UTC-5: the close 17:00 is 22:00 UTC); daylight saving starts on
# Sunday 2024-03-10, so Monday's close 17:00 EDT is 21:00 UTC.
ROWS = [
    (utc_ns("2024-03-08T14:00"), 10_000_000),  # first tick: Friday's session
    (utc_ns("2024-03-08T21:00"), 10_100_000),  # 16:00 EST: the last row before Friday's close
    (utc_ns("2024-03-08T22:30"), 10_050_000),  # 17:30 EST: after Friday's close (Saturday's session)
    (utc_ns("2024-03-11T20:59"), 10_200_000),  # 16:59 EDT: the last row before Monday's close
    (utc_ns("2024-03-11T21:00"), 9_996_000),  # 17:00 EDT exactly: Tuesday's session, and the end
]


@pytest.fixture
def dst_run(tmp_path):
    return write_run(tmp_path / "run", equity=equity_records(ROWS))


def test_weekday_closes_by_hand(dst_run):
    st = stats(dst_run)  # EURUSD, no row on a Saturday: auto is the weekday calendar
    assert st.settings.calendar == "weekdays" and st.settings.periods == 252
    d = st.daily
    assert d["day"].to_list() == [date(2024, 3, 8), date(2024, 3, 11), date(2024, 3, 12)]
    assert d["close"].dt.epoch("ns").to_list() == [utc_ns("2024-03-08T22:00"), utc_ns("2024-03-11T21:00"),
                                                   utc_ns("2024-03-12T21:00")]
    # Friday 10,100,000 (16:00 row); Monday 10,200,000 (16:59 row; the 17:30 Friday row is inside
    # Monday's period); Tuesday: the last row, 9,996,000 (at 17:00 it belongs to the next session)
    assert d["equity_minor"].to_list() == [10_100_000, 10_200_000, 9_996_000]
    r = d["ret"].to_list()
    assert r[0] == pytest.approx(0.01, abs=1e-15)  # 10,100,000 / 10,000,000 - 1
    assert r[1] == pytest.approx(1 / 101, abs=1e-15)  # 10,200,000 / 10,100,000 - 1
    assert r[2] == pytest.approx(-0.02, abs=1e-15)  # 9,996,000 / 10,200,000 - 1
    assert st["total_return_pct"] == pytest.approx(-0.04, abs=1e-12)  # 9,996,000 / 10,000,000 - 1
    # drawdown: peak 10,200,000 (Monday 20:59), then 9,996,000: 204,000 cents = 2,040.00, 2 %
    assert st["max_drawdown"] == 2040.0
    assert st["max_drawdown_pct"] == pytest.approx(2.0, abs=1e-12)
    assert st["max_drawdown_start"] == "2024-03-11T20:59:00Z"
    assert st["max_drawdown_end"] is None and "not recovered" in st.notes["max_drawdown_end"]
    assert st["max_drawdown_duration_s"] == 60.0  # to the end of the run
    # the first drawdown: 10,100,000 -> 10,050,000 on Friday 22:30, recovered at Monday 20:59
    assert st["drawdowns"] == 2
    assert st["longest_drawdown_s"] == (utc_ns("2024-03-11T20:59") - utc_ns("2024-03-08T21:00")) / 1e9


def test_daily_calendar_by_hand(dst_run):
    st = stats(dst_run, calendar="daily")
    assert st.settings.periods == 365
    d = st.daily
    assert d["day"].to_list() == [date(2024, 3, d_) for d_ in (8, 9, 10, 11, 12)]
    # Saturday's session holds the 17:30 Friday row; Sunday has none and keeps Saturday's equity
    assert d["equity_minor"].to_list() == [10_100_000, 10_050_000, 10_050_000, 10_200_000, 9_996_000]
    assert d["ret"][2] == 0.0


def test_crypto_and_saturday_rows_choose_the_daily_calendar(tmp_path):
    st = stats(write_run(tmp_path / "c", equity=equity_records(ROWS), symbols=("BTCUSD",)))
    assert st.settings.calendar == "daily"
    rows = [*ROWS[:2], (utc_ns("2024-03-09T12:00"), 10_070_000), *ROWS[3:]]  # a Saturday row
    st = stats(write_run(tmp_path / "s", equity=equity_records(rows)))
    assert st.settings.calendar == "daily"


def test_time_zone_and_day_end_are_settings(dst_run):
    st = stats(dst_run, timezone="UTC", day_end="00:00", calendar="weekdays")
    # closes at midnight UTC, labelled by their date: Sat 9 and Sun 10 00:00 are not weekdays, so the
    # periods end Mon 11 00:00 (the last row before: Friday 22:30) and Tue 12 00:00 (the last row)
    assert st.daily["close"].dt.epoch("ns").to_list() == [utc_ns("2024-03-11T00:00"), utc_ns("2024-03-12T00:00")]
    assert st.daily["equity_minor"].to_list() == [10_050_000, 9_996_000]


def test_bad_settings_name_the_argument():
    with pytest.raises(ConfigError, match="timezone 'Mars/Olympus'"):
        StatsSettings(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="day_end '5pm'"):
        StatsSettings(day_end="5pm")
    with pytest.raises(ConfigError, match="periods_per_year 0"):
        StatsSettings(periods_per_year=0)
    with pytest.raises(ConfigError, match="unknown statistics setting"):
        stats("nowhere", calender="daily")


def _reference(r: np.ndarray, s: StatsSettings) -> dict[str, float]:
    p = s.periods
    return {
        "annual_return": ep.annual_return(r, annualization=p),
        "volatility": ep.annual_volatility(r, annualization=p),
        "sharpe": ep.sharpe_ratio(r, risk_free=s.risk_free / p, annualization=p),
        "sortino": ep.sortino_ratio(r, required_return=s.target, annualization=p),
        "calmar": ep.calmar_ratio(r, annualization=p),
        "omega": ep.omega_ratio(r, risk_free=0.0, required_return=(1 + s.target) ** p - 1, annualization=p),
        "daily_max_drawdown_pct": -100 * ep.max_drawdown(r),
    }


CASES = [StatsSettings(calendar="weekdays"), StatsSettings(calendar="daily"),
         StatsSettings(calendar="weekdays", risk_free=0.03, target=0.0002),
         StatsSettings(calendar="daily", periods_per_year=360, target=-0.001)]


@pytest.mark.parametrize("s", CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ratios_match_empyrical(s, seed):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0004, 0.01, 300)
    got, ref = ratios(r, s), _reference(r, s)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_ratios_of_a_run_match_empyrical(tmp_path):
    """Equity rows over 80 weekdays: the run's own daily returns, fed to empyrical, give the same ratios."""
    rng = np.random.default_rng(7)
    t0 = utc_ns("2024-01-02T15:00")
    rows, e = [], INIT
    for day in range(112):
        for h in range(0, 24, 6):
            t = t0 + (day * 24 + h) * 3600 * 10**9
            if (t // 86_400_000_000_000 + 3) % 7 == 5:  # no row on a Saturday (UTC): weekday calendar
                continue
            e = max(1, round(e * (1 + rng.normal(0.0002, 0.004))))
            rows.append((t, e))
    for s in (StatsSettings(), StatsSettings(risk_free=0.02, target=0.0001)):
        st = stats(write_run(tmp_path / f"r{s.risk_free}", equity=equity_records(rows)), s)
        assert st.settings.calendar == "weekdays"
        r = st.daily["ret"].to_numpy()
        assert r.shape[0] == st["periods"] > 70
        ref = _reference(r, st.settings)
        assert st["annual_return_pct"] == pytest.approx(100 * ref["annual_return"], rel=1e-9)
        assert st["volatility_pct"] == pytest.approx(100 * ref["volatility"], rel=1e-9)
        for k in ("sharpe", "sortino", "calmar", "omega", "daily_max_drawdown_pct"):
            assert st[k] == pytest.approx(ref[k], rel=1e-9), k
        # the period returns compound to the total return
        assert math.prod(1 + x for x in r) - 1 == pytest.approx(st["total_return_pct"] / 100, rel=1e-9)


def test_undefined_ratios_are_null_and_explained(tmp_path):
    flat = [(utc_ns("2024-01-02T12:00"), INIT), (utc_ns("2024-01-05T12:00"), INIT)]
    st = stats(write_run(tmp_path / "flat", equity=equity_records(flat)))
    assert st["periods"] == 4 and st["total_return_pct"] == 0.0
    for k in ("sharpe", "sortino", "omega", "calmar"):
        assert st[k] is None and st.notes[k], k
    one = [(utc_ns("2024-01-02T12:00"), INIT), (utc_ns("2024-01-02T13:00"), INIT + 500)]
    st = stats(write_run(tmp_path / "one", equity=equity_records(one)))
    assert st["periods"] == 1 and st["sharpe"] is None
    assert "at least 2 periods" in st.notes["sharpe"]


def test_drawdown_episodes_by_hand(tmp_path):
    h = 3600
    t = [utc_ns("2024-01-02T10:00") + k * h * 10**9 for k in (0, 1, 2, 3, 5, 8, 9, 10)]
    rows = list(zip(t, [9_900_000,  # below the initial 10,000,000 from the first row: an episode from the start
                        10_000_000,  # back at the peak after 1 h
                        10_200_000,  # a new peak (12:00)
                        9_996_000,  # the deepest: 204,000 below 10,200,000 = 2 % (13:00)
                        10_100_000,
                        10_200_000,  # recovered at 18:00: 6 h after the peak, 5 h after the trough
                        10_300_000,  # a new peak (19:00)
                        10_250_000], strict=True))  # 50,000 below it at the end (20:00): not recovered
    st = stats(write_run(tmp_path / "dd", equity=equity_records(rows)))
    assert st["drawdowns"] == 3
    assert st["max_drawdown"] == 2040.0 and st["max_drawdown_pct"] == pytest.approx(2.0)
    assert (st["max_drawdown_start"], st["max_drawdown_trough"], st["max_drawdown_end"]) == (
        "2024-01-02T12:00:00Z", "2024-01-02T13:00:00Z", "2024-01-02T18:00:00Z")
    assert st["max_drawdown_duration_s"] == 6 * h and st["max_drawdown_recovery_s"] == 5 * h
    assert st["longest_drawdown_s"] == 6 * h  # the others: 1 h from the start, 1 h to the end
