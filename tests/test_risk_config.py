"""Risk limits (docs/risk.md §4, docs/config.md "Risk limits"): precedence of the
sources (defaults < config [risk] < risk file < RISK_ variables < explicit) with
each value's source, bad input refused by key and file, the kernel PARAMS values
worked out by hand, trading-day starts across daylight-saving changes, the
``backtestr risk show`` command, and the instrument keys leverage / margin_rate.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from backtestr.kernels.records import PARAMS

import backtestr as bt
from backtestr.cli import main
from backtestr.config import Config, load_config
from backtestr.instruments import load_registry
from backtestr.risk import RISK_KEYS, RiskLimits, day_starts, load_risk, max_order_steps, risk_params, show

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"
DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    """ns since the epoch of a UTC wall time."""
    return int(datetime(y, mo, d, h, mi, tzinfo=timezone.utc).timestamp()) * 10**9


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture(autouse=True)
def _no_risk_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("RISK_"):
            monkeypatch.delenv(name)


# -- precedence and sources ------------------------------------------------------

def test_defaults_and_their_source():
    r = load_risk(env={})
    assert r["margin_call_level"] == Decimal(100)
    assert r["stop_out_level"] == Decimal(50)
    assert r["timezone"] == "UTC" and r["day_start"] == "00:00"
    assert r["order_window"] == 10**9  # 1 s
    assert r["breaker_cooldown"] == 3_600 * 10**9  # 1 h
    assert r["kelly_fraction"] == Decimal("0.5")
    assert r["kelly_min_trades"] == 30
    assert r["kelly_cap_pct"] == Decimal(25)
    for key in ("max_order_qty", "max_order_notional", "max_positions", "daily_loss_limit", "max_exposure_pct",
                "max_price_deviation_pct", "max_orders", "breaker_losses", "breaker_rejections"):
        assert r[key] is None, key
    assert set(r.sources.values()) == {"default"}
    assert set(r.sources) == set(RISK_KEYS)


def test_each_layer_overrides_the_one_before(tmp_path):
    # max_positions is set by all four layers (1, 2, 3, 4); each other key by one layer only.
    f = _write(tmp_path, "limits.toml", "max_positions = 2\nmax_orders = 7\n")
    r = load_risk(section={"max_positions": 1, "breaker_losses": 4}, section_where="run.toml", file=f,
                  env={"RISK_MAX_POSITIONS": "3", "RISK_TIMEZONE": "Europe/London", "HOME": "/x"},
                  explicit={"max_positions": 4})
    assert r["max_positions"] == 4 and r.sources["max_positions"] == 'risk["max_positions"]'
    assert r["breaker_losses"] == 4 and r.sources["breaker_losses"] == "run.toml"
    assert r["max_orders"] == 7 and r.sources["max_orders"] == str(f)
    assert r["timezone"] == "Europe/London" and r.sources["timezone"] == "env RISK_TIMEZONE"
    assert r.sources["kelly_cap_pct"] == "default"
    # drop the top layer each time: the one below shows through
    r = load_risk(section={"max_positions": 1}, section_where="run.toml", file=f,
                  env={"RISK_MAX_POSITIONS": "3"})
    assert (r["max_positions"], r.sources["max_positions"]) == (3, "env RISK_MAX_POSITIONS")
    r = load_risk(section={"max_positions": 1}, section_where="run.toml", file=f, env={})
    assert (r["max_positions"], r.sources["max_positions"]) == (2, str(f))
    r = load_risk(section={"max_positions": 1}, section_where="run.toml", env={})
    assert (r["max_positions"], r.sources["max_positions"]) == (1, "run.toml")


def test_load_config_layers_config_file_risk_file_env_set_and_argument(tmp_path):
    cfg_file = _write(tmp_path, "run.toml", '[risk]\nmax_positions = 1\nmax_exposure = "5000"\n')
    risk_file = _write(tmp_path, "risk.yaml", "risk:\n  max_positions: 2\n  daily_loss_limit_pct: 2.5\n")
    env = {"RISK_MAX_POSITIONS": "3", "RISK_MAX_ORDERS": "9"}
    cfg = load_config(cfg_file, ["risk.max_positions=4", "risk.breaker_losses=3"], risk_file=risk_file,
                      env=env, risk={"max_positions": 5})
    r = cfg.risk
    # each explicit value is named by the argument that gave it
    assert (r["max_positions"], r.sources["max_positions"]) == (5, 'risk["max_positions"]')
    assert (r["breaker_losses"], r.sources["breaker_losses"]) == (3, 'overrides["risk.breaker_losses"]')
    assert (r["max_orders"], r.sources["max_orders"]) == (9, "env RISK_MAX_ORDERS")
    assert (r["daily_loss_limit_pct"], r.sources["daily_loss_limit_pct"]) == (Decimal("2.5"), str(risk_file))
    assert (r["max_exposure"], r.sources["max_exposure"]) == (Decimal(5000), str(cfg_file))
    # --set risk.* is explicit: it beats the environment; risk={...} beats --set
    cfg = load_config(cfg_file, ["risk.max_positions=4"], risk_file=risk_file, env=env)
    assert cfg.risk["max_positions"] == 4


def test_config_dict_risk_section_and_env_from_os_environ(monkeypatch):
    monkeypatch.setenv("RISK_KELLY_MIN_TRADES", "12")
    cfg = load_config(data={"risk": {"max_positions_per_symbol": 2}})
    assert cfg.risk["max_positions_per_symbol"] == 2 and cfg.risk.sources["max_positions_per_symbol"] == "config"
    assert cfg.risk["kelly_min_trades"] == 12
    assert cfg.risk.sources["kelly_min_trades"] == "env RISK_KELLY_MIN_TRADES"


def test_config_built_directly_has_default_limits():
    cfg = Config({}, {}, {}, {})
    assert isinstance(cfg.risk, RiskLimits)
    assert cfg.risk["margin_call_level"] == Decimal(100) and cfg.risk.sources["max_orders"] == "default"


@pytest.mark.parametrize("name,text", [
    ("r.toml", '[risk]\nmax_positions = 6\nday_start = "17:00"\n'),
    ("r.json", json.dumps({"max_positions": 6, "day_start": "17:00"})),
    ("r.yml", "max_positions: 6\nday_start: 17:00\n"),  # not read as base-60 1020
])
def test_risk_file_formats_top_level_or_under_risk(tmp_path, name, text):
    f = _write(tmp_path, name, text)
    r = load_risk(file=f, env={})
    assert r["max_positions"] == 6
    assert r["day_start"] == "17:00"
    assert r.sources["day_start"] == str(f)


def test_off_values_turn_a_limit_off_again(tmp_path):
    f = _write(tmp_path, "r.json", json.dumps({"max_orders": None, "max_exposure": "off"}))
    r = load_risk(section={"max_orders": 5, "max_exposure": 100}, file=f, env={"RISK_BREAKER_LOSSES": "off"})
    assert r["max_orders"] is None and r["max_exposure"] is None and r["breaker_losses"] is None
    assert r.sources["max_orders"] == str(f)


# -- bad input -------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [
    ("max_positions", -1), ("daily_loss_limit", "-5"), ("max_exposure_pct", -0.5), ("margin_call_level", -10),
    ("max_order_qty", "-0.01"), ("order_window", -1), ("kelly_min_trades", -3),
])
def test_negative_value_refused_naming_key_and_file(tmp_path, key, value):
    f = _write(tmp_path, "r.json", json.dumps({"risk": {key: value}}))
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    msg = str(ei.value)
    assert f"risk.{key}" in msg and str(f) in msg
    assert "negative" in msg or "not a duration" in msg


@pytest.mark.parametrize("key", ["max_order_notional", "max_positions", "stop_out_level", "kelly_fraction"])
def test_non_numeric_value_refused_naming_key_and_file(tmp_path, key):
    f = _write(tmp_path, "r.toml", f'{key} = "abc"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    assert f"risk.{key}" in str(ei.value) and str(f) in str(ei.value)
    assert "'abc'" in str(ei.value)


def test_non_numeric_env_value_names_the_variable():
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(env={"RISK_MAX_POSITIONS": "five"})
    assert "env RISK_MAX_POSITIONS" in str(ei.value) and "risk.max_positions" in str(ei.value)


def test_stop_out_above_margin_call_names_both_keys_and_sources(tmp_path):
    f = _write(tmp_path, "r.yaml", "stop_out_level: 120\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    msg = str(ei.value)
    assert "risk.stop_out_level = 120" in msg and f"from {f}" in msg
    assert "risk.margin_call_level = 100" in msg and "from default" in msg
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(env={"RISK_MARGIN_CALL_LEVEL": "40"})  # below the default stop-out 50
    assert "from env RISK_MARGIN_CALL_LEVEL" in str(ei.value) and "risk.stop_out_level = 50" in str(ei.value)
    # equal levels are allowed; a later layer can fix an earlier conflict
    r = load_risk(section={"margin_call_level": 80, "stop_out_level": 90}, env={},
                  explicit={"stop_out_level": 80})
    assert r["stop_out_level"] == r["margin_call_level"] == Decimal(80)


def test_unknown_time_zone_refused_by_name(tmp_path):
    f = _write(tmp_path, "r.toml", 'timezone = "Mars/Olympus_Mons"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    msg = str(ei.value)
    assert "Mars/Olympus_Mons" in msg and "risk.timezone" in msg and str(f) in msg
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        day_starts("Mars/Olympus_Mons", "00:00", 0, DAY)


def test_yaml_file_with_unknown_key_names_key_and_file(tmp_path):
    f = _write(tmp_path, "r.yaml", "risk:\n  max_postions: 5\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    assert "max_postions" in str(ei.value) and str(f) in str(ei.value)


def test_unknown_key_beside_the_risk_table_refused(tmp_path):
    f = _write(tmp_path, "r.toml", "max_orders = 3\n[risk]\nmax_positions = 5\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(file=f, env={})
    assert "max_orders" in str(ei.value) and str(f) in str(ei.value)


def test_unknown_key_in_config_risk_section_names_key_and_file(tmp_path):
    f = _write(tmp_path, "run.toml", "[risk]\nmax_qty = 1\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f, env={})
    assert "risk.max_qty" in str(ei.value) and str(f) in str(ei.value)


def test_unknown_risk_env_variable_named():
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(env={"RISK_MAX_POSITION": "5"})
    assert str(ei.value).startswith("unknown environment variable RISK_MAX_POSITION (known: ")
    assert "RISK_MAX_POSITIONS," in str(ei.value)


@pytest.mark.parametrize("key,value,words", [
    ("max_order_notional_pct", "2.50001", "4 decimal places"),
    ("kelly_fraction", 0, "(0, 1]"),
    ("kelly_fraction", "1.5", "(0, 1]"),
    ("kelly_cap_pct", 101, "above 100"),
    ("margin_call_level", 0, "not above 0"),
    ("max_orders", 0, "below 1"),
    ("breaker_rejections", "2.5", "whole number"),
    ("order_window", "0s", "longer than zero"),
    ("day_start", "24:00", "time of day"),
    ("max_positions", True, "whole number"),
])
def test_out_of_range_values_refused(key, value, words):
    with pytest.raises(bt.ConfigError) as ei:
        load_risk(explicit={key: value}, env={})
    assert f'risk["{key}"]: risk.{key}' in str(ei.value) and words in str(ei.value)


def test_missing_and_unknown_kind_of_risk_file(tmp_path):
    with pytest.raises(bt.ConfigError, match="does not exist"):
        load_risk(file=tmp_path / "nope.toml", env={})
    f = _write(tmp_path, "r.ini", "x")
    with pytest.raises(bt.ConfigError, match=r"r\.ini.*unknown extension"):
        load_risk(file=f, env={})


def test_money_finer_than_the_minor_unit_refused_at_load(tmp_path):
    f = _write(tmp_path, "run.toml", '[risk]\ndaily_loss_limit = "10.005"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f, env={})
    assert "risk.daily_loss_limit" in str(ei.value) and str(f) in str(ei.value)
    # JPY has no minor digits: 10.5 yen is refused, 10 yen is fine
    with pytest.raises(bt.ConfigError, match="risk.max_exposure"):
        load_config(data={"account": {"currency": "JPY"}, "risk": {"max_exposure": "10.5"}}, env={})
    assert load_config(data={"account": {"currency": "JPY"}, "risk": {"max_exposure": 10}}, env={})


def test_set_risk_with_a_nested_key_refused():
    with pytest.raises(bt.ConfigError, match="risk.a.b"):
        load_config(overrides=["risk.a.b=1"], env={})


# -- kernel values, by hand ----------------------------------------------------------

def test_risk_params_by_hand():
    r = load_risk(env={}, explicit={
        "margin_call_level": "120.5", "stop_out_level": 50, "max_order_notional": "1234.56",
        "max_order_notional_pct": "0.0001", "max_positions": 5, "max_positions_per_symbol": 2,
        "daily_loss_limit": 500, "daily_loss_limit_pct": 3, "max_exposure": "1000000", "max_exposure_pct": 150,
        "max_price_deviation_pct": "0.5", "max_orders": 10, "order_window": "250ms", "breaker_losses": 3,
        "breaker_rejections": 5, "breaker_cooldown": "30m", "kelly_fraction": "0.25", "kelly_min_trades": 10,
        "kelly_cap_pct": "12.5"})
    p = risk_params(r, 2)
    assert p == {
        "call_ppm": 1_205_000,  # 120.5 % x 10_000
        "so_ppm": 500_000,
        "max_notional_minor": 123_456,  # 1234.56 x 100
        "max_notional_ppm": 1,  # 0.0001 %
        "max_positions": 5,
        "max_positions_sym": 2,
        "daily_loss_minor": 50_000,
        "daily_loss_ppm": 30_000,
        "max_exposure_minor": 100_000_000,
        "max_exposure_ppm": 1_500_000,
        "max_dev_ppm": 5_000,
        "max_orders": 10,
        "order_window_ns": 250_000_000,
        "breaker_losses": 3,
        "breaker_rejects": 5,
        "breaker_cooldown_ns": 1_800_000_000_000,  # 30 x 60 s
        "kelly_fraction": 0.25,
        "kelly_min_trades": 10,
        "kelly_cap": 0.125,
    }
    # a 0-digit currency: 1234.56 is not a whole minor unit
    with pytest.raises(bt.ConfigError, match=r'risk\["max_order_notional"\]: risk.max_order_notional = 1234.56'):
        risk_params(r, 0)


def test_risk_params_defaults_and_the_params_record():
    p = risk_params(load_risk(env={}), 2)
    assert p["call_ppm"] == 1_000_000 and p["so_ppm"] == 500_000
    assert p["order_window_ns"] == 10**9 and p["breaker_cooldown_ns"] == 3_600 * 10**9
    assert p["kelly_fraction"] == 0.5 and p["kelly_min_trades"] == 30 and p["kelly_cap"] == 0.25
    off = [k for k in p if k not in ("call_ppm", "so_ppm", "order_window_ns", "breaker_cooldown_ns",
                                     "kelly_fraction", "kelly_min_trades", "kelly_cap")]
    assert len(off) == 12 and all(p[k] == 0 for k in off)
    # exactly the risk fields of PARAMS, and they fit the record
    names = list(PARAMS.names)
    assert list(p) == names[names.index("call_ppm"):names.index("kelly_cap") + 1]
    rec = np.zeros(1, PARAMS)
    for k, v in p.items():
        rec[0][k] = v
    assert rec[0]["call_ppm"] == 1_000_000 and rec[0]["kelly_cap"] == 0.25


def test_max_order_steps_rounds_down_in_lot_steps():
    assert max_order_steps(load_risk(env={}), Decimal("0.01")) == 0  # off
    r = load_risk(env={}, explicit={"max_order_qty": "1.5"})
    assert max_order_steps(r, Decimal("0.01")) == 150
    assert max_order_steps(r, Decimal("1")) == 1
    r = load_risk(env={}, explicit={"max_order_qty": "0.00015"})
    assert max_order_steps(r, Decimal("0.0001")) == 1  # 1.5 steps -> 1


# -- trading-day starts ------------------------------------------------------------

def test_day_starts_new_york_across_spring_forward():
    # 2024-03-10 is the change: 00:00 EST (UTC-5) = 05:00 UTC; from 03-11 00:00 EDT (UTC-4) = 04:00 UTC.
    got = day_starts("America/New_York", "00:00", utc(2024, 3, 9), utc(2024, 3, 12))
    # window [03-07 00:00, 03-14 00:00] UTC
    want = [utc(2024, 3, 7, 5), utc(2024, 3, 8, 5), utc(2024, 3, 9, 5), utc(2024, 3, 10, 5),
            utc(2024, 3, 11, 4), utc(2024, 3, 12, 4), utc(2024, 3, 13, 4)]
    assert got.dtype == np.int64
    assert got.tolist() == want
    assert np.diff(got).tolist() == [DAY, DAY, DAY, DAY - HOUR, DAY, DAY]  # the 23-hour day


def test_day_starts_new_york_across_fall_back():
    # 2024-11-03 00:00 is still EDT = 04:00 UTC; 11-04 00:00 EST = 05:00 UTC (a 25-hour day).
    got = day_starts("America/New_York", "00:00", utc(2024, 11, 3), utc(2024, 11, 3))
    assert got.tolist() == [utc(2024, 11, 1, 4), utc(2024, 11, 2, 4), utc(2024, 11, 3, 4), utc(2024, 11, 4, 5)]


def test_day_start_in_a_skipped_or_repeated_local_time_takes_the_earlier_offset():
    # 02:30 does not exist on 2024-03-10 in New York: fold=0 takes EST (UTC-5) -> 07:30 UTC.
    got = day_starts("America/New_York", "02:30", utc(2024, 3, 10), utc(2024, 3, 10))
    assert got.tolist() == [utc(2024, 3, 8, 7, 30), utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 30),
                            utc(2024, 3, 11, 6, 30)]
    # 01:30 happens twice on 2024-11-03: fold=0 takes the first, EDT (UTC-4) -> 05:30 UTC.
    got = day_starts("America/New_York", "01:30", utc(2024, 11, 3), utc(2024, 11, 3))
    assert got.tolist() == [utc(2024, 11, 1, 5, 30), utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30),
                            utc(2024, 11, 4, 6, 30)]


def test_day_starts_a_skipped_local_date_gives_one_instant():
    # Samoa skipped 2011-12-30: 12-29 00:00 at UTC-10 = 12-29 10:00 UTC; the missing 12-30 00:00
    # at the old offset and 12-31 00:00 at UTC+14 are both 12-30 10:00 UTC: listed once.
    # Window [12-27 12:00, 12-31 12:00] UTC; 2012-01-01 00:00 at UTC+14 = 12-31 10:00 UTC.
    got = day_starts("Pacific/Apia", "00:00", utc(2011, 12, 29, 12), utc(2011, 12, 29, 12))
    assert got.tolist() == [utc(2011, 12, 28, 10), utc(2011, 12, 29, 10), utc(2011, 12, 30, 10),
                            utc(2011, 12, 31, 10)]


def test_day_starts_a_hundred_years_quickly():
    end = utc(2070, 1, 1)  # 36_525 days after 1970-01-01 (25 leap days)
    t0 = time.perf_counter()
    got = day_starts("UTC", "00:00", 0, end)
    ny = day_starts("America/New_York", "17:00", 0, end)
    elapsed = time.perf_counter() - t0
    # UTC: every midnight from -2 days to 36_525 + 2 days
    assert len(got) == 36_530 and got[0] == -2 * DAY and got[-1] == end + 2 * DAY
    assert (np.diff(got) == DAY).all()
    # New York 17:00 = 22:00 UTC (EST) or 21:00 UTC (EDT): one start per local day, gaps of 23, 24, 25 h
    assert set(np.diff(ny).tolist()) == {DAY - HOUR, DAY, DAY + HOUR}
    # the window opens at 1969-12-30 00:00 UTC; the first start after it is 12-30 17:00 EST = 22:00 UTC
    assert ny[0] == utc(1969, 12, 30, 22)
    assert elapsed < 2.0


# -- show and the command line -------------------------------------------------------

def _rows(text: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in text.splitlines()[1:]:
        key, value, source = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        out[key] = (value, source)
    return out


def test_show_lists_every_key_in_human_form():
    r = load_risk(env={"RISK_ORDER_WINDOW": "250ms"}, explicit={"max_exposure": "2500.50", "max_orders": 3})
    text = show(r)
    assert text.splitlines()[0].split() == ["key", "value", "source"]
    rows = _rows(text)
    assert list(rows) == list(RISK_KEYS)
    assert rows["margin_call_level"] == ("100 %", "default")
    assert rows["max_exposure"] == ("2500.5", 'risk["max_exposure"]')
    assert rows["max_orders"] == ("3", 'risk["max_orders"]')
    assert rows["order_window"] == ("250ms", "env RISK_ORDER_WINDOW")
    assert rows["breaker_cooldown"] == ("1h", "default")
    assert rows["daily_loss_limit"] == ("off", "default")
    assert rows["kelly_fraction"] == ("0.5", "default")


def test_cli_risk_show_prints_values_and_sources(tmp_path, monkeypatch, capsys):
    cfg = _write(tmp_path, "run.toml", "[risk]\nmax_positions = 3\n")
    risk = _write(tmp_path, "risk.yaml", "timezone: America/New_York\nday_start: 17:00\n")
    monkeypatch.setenv("RISK_DAILY_LOSS_LIMIT_PCT", "2.5")
    rc = main(["risk", "show", "--config", str(cfg), "--risk", str(risk), "--set", "risk.max_orders=20"])
    assert rc == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["max_positions"] == ("3", str(cfg))
    assert rows["timezone"] == ("America/New_York", str(risk))
    assert rows["day_start"] == ("17:00", str(risk))
    assert rows["daily_loss_limit_pct"] == ("2.5 %", "env RISK_DAILY_LOSS_LIMIT_PCT")
    assert rows["max_orders"] == ("20", "--set risk.max_orders")  # the command line names its flag
    assert rows["stop_out_level"] == ("50 %", "default")


def test_cli_risk_show_bad_input_exits_2_naming_key_and_file(tmp_path, capsys):
    risk = _write(tmp_path, "risk.yaml", "max_postions: 5\n")
    assert main(["risk", "show", "--risk", str(risk)]) == 2
    err = capsys.readouterr().err
    assert "max_postions" in err and str(risk) in err
    assert main(["risk", "show", "--set", "risk.stop_out_level=150"]) == 2
    err = capsys.readouterr().err
    assert "risk.stop_out_level = 150 % (from --set risk.stop_out_level)" in err
    assert "risk.margin_call_level = 100 % (from default)" in err


def test_cli_run_passes_the_risk_file(tmp_path, monkeypatch):
    run_mod = importlib.import_module("backtestr.run")

    seen = {}

    def fake_run(data, **kw):
        seen.update(kw)
        return SimpleNamespace(summary={})

    monkeypatch.setattr(run_mod, "run", fake_run)
    risk = _write(tmp_path, "risk.toml", "[risk]\nmax_positions = 4\n")
    rc = main(["run", "--data", "x", "--orders", "o.csv", "--out", str(tmp_path / "out"), "--risk", str(risk),
               "--set", "risk.max_orders=8", "--quiet"])
    assert rc == 0
    cfg = seen["config"]
    assert isinstance(cfg, Config)
    assert (cfg.risk["max_positions"], cfg.risk.sources["max_positions"]) == (4, str(risk))
    assert cfg.risk["max_orders"] == 8
    bad = _write(tmp_path, "bad.toml", "max_positions = -2\n")
    assert main(["run", "--data", "x", "--orders", "o.csv", "--out", str(tmp_path / "o2"), "--risk", str(bad),
                 "--quiet"]) == 2
    assert not (tmp_path / "o2").exists()


# -- instrument margin keys ------------------------------------------------------------

def test_instrument_leverage_and_margin_rate():
    cfg = load_config(data={"instruments": {"EURUSD": {"leverage": 30}, "GBPUSD": {"margin_rate": "0.05"}}},
                      env={})
    reg = load_registry(cfg)
    assert reg["EURUSD"].leverage == Decimal(30) and reg["EURUSD"].margin_rate is None
    assert reg["GBPUSD"].margin_rate == Decimal("0.05") and reg["GBPUSD"].leverage is None
    assert reg["USDJPY"].leverage is None and reg["USDJPY"].margin_rate is None


def test_instrument_both_leverage_and_margin_rate_refused_by_name(tmp_path):
    f = _write(tmp_path, "run.toml", '[instruments.EURUSD]\nleverage = 30\nmargin_rate = "0.05"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f, env={})
    assert "EURUSD" in str(ei.value) and "leverage" in str(ei.value) and "margin_rate" in str(ei.value)
    assert str(f) in str(ei.value)
    # set in two layers for one instrument: still both
    f = _write(tmp_path, "run2.toml", "[instruments.EURUSD]\nleverage = 30\n")
    with pytest.raises(bt.ConfigError, match="EURUSD"):
        load_config(f, ["instruments.EURUSD.margin_rate=0.05"], env={})


def test_leverage_from_an_instrument_file_and_margin_rate_from_the_config_are_refused(tmp_path):
    # Each layer alone is fine; the registry merges them, and the instrument would have both.
    inst = _write(tmp_path, "inst.toml", "[EURUSD]\ntick_size = 0.00001\nlot_step = 0.01\nleverage = 30\n")
    cfg = _write(tmp_path, "run.toml", '[instruments.EURUSD]\nmargin_rate = "0.05"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_registry(load_config(cfg, env={}), [inst])
    msg = str(ei.value)
    assert "EURUSD" in msg and "leverage" in msg and "margin_rate" in msg and str(inst) in msg


@pytest.mark.parametrize("key,value", [("margin_rate", "1.5"), ("margin_rate", 0), ("leverage", 0),
                                       ("leverage", "-10")])
def test_instrument_margin_values_out_of_range(key, value):
    with pytest.raises(bt.ConfigError) as ei:
        load_config(data={"instruments": {"EURUSD": {key: value}}}, env={})
    assert f"instruments.EURUSD.{key}" in str(ei.value)


# -- docs stay true ----------------------------------------------------------------------

def _risk_doc_rows() -> dict[str, str]:
    text = DOCS.read_text()
    part = text[text.index("## Risk limits"):]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\|\s*`([a-z_]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|", part, re.M)}


def test_every_risk_key_is_documented_with_its_default():
    rows = _risk_doc_rows()
    assert list(rows) == list(RISK_KEYS)
    defaults = RiskLimits().values
    for key, doc in rows.items():
        if doc == "none":
            assert defaults[key] is None, key
        else:
            assert RISK_KEYS[key][0](doc.strip("`").strip('"')) == defaults[key], key


def test_instrument_margin_keys_are_documented():
    text = DOCS.read_text()
    assert re.search(r"^\|\s*`leverage`\s*\|", text, re.M)
    assert re.search(r"^\|\s*`margin_rate`\s*\|", text, re.M)
