"""Run configuration (docs/config.md): unknown keys and bad values refused by
name, precedence defaults < file < overrides, ``--set`` parsing, per-symbol
commission, custom instruments, currency conversion, docs kept true.

EURUSD and GBPUSD: tick 0.00001, lot step 0.01, contract 100000, USD account
with 2 minor digits: one tick on one lot step is worth 1 minor unit (1 cent),
and 1 lot is 100 steps.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import backtestr as bt
from backtestr.config import INSTRUMENT_KEYS, SCHEMA, load_config
from tests.tickdata import hive_file, ns, orders_frame, ts_ns

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# -- unknown sections and keys ------------------------------------------------

def test_unknown_section_in_toml_names_section_and_file(tmp_path):
    f = _write(tmp_path, "c.toml", '[runn]\nlog_level = "ticks"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "runn" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_key_in_toml_names_key_and_file(tmp_path):
    f = _write(tmp_path, "c.toml", '[run]\nlog_levle = "ticks"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "run.log_levle" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_key_in_json_names_key_and_file(tmp_path):
    f = _write(tmp_path, "c.json", json.dumps({"account": {"cash": "5"}}))
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "account.cash" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_section_in_json_names_section_and_file(tmp_path):
    f = _write(tmp_path, "c.json", json.dumps({"risk": {"max_qty": 1}}))
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "risk" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_key_in_per_symbol_commission_table(tmp_path):
    f = _write(tmp_path, "c.toml", '[commission.EURUSD]\nper_lots = "1"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "per_lots" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_instrument_key(tmp_path):
    f = _write(tmp_path, "c.toml", '[instruments.ABC]\ntick_size = "0.01"\nlot_step = "1"\ntick = "1"\n')
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert "instruments.ABC.tick" in str(ei.value)
    assert str(f) in str(ei.value)


def test_unknown_key_from_overrides_names_key():
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=["run.speed=3"])
    assert "run.speed" in str(ei.value)
    assert 'overrides["run.speed"]' in str(ei.value)  # Python names the argument, not the CLI flag
    assert "--set" not in str(ei.value)


# -- bad values ----------------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("account.initial_cash", '"-5"'),
    ("account.initial_cash", "-5"),
    ("account.initial_cash", '"lots"'),
    ("run.log_level", '"verbose"'),
    ("run.latency", '"5 parsecs"'),
    ("run.latency", '"-1s"'),
    ("run.equity_interval", '"0"'),
    ("run.equity_interval", '"soon"'),
    ("run.on_bad_rows", '"ignore"'),
    ("run.close_at_end", '"maybe"'),
    ("run.chunk_rows", "0"),
    ("account.currency", '"dollars"'),
    ("commission.per_lot", '"-3.5"'),
    ("data.start", '"yesterday"'),
])
def test_bad_value_in_file_is_refused_by_name(tmp_path, key, value):
    sec, k = key.split(".")
    f = _write(tmp_path, "c.toml", f"[{sec}]\n{k} = {value}\n")
    with pytest.raises(bt.ConfigError) as ei:
        load_config(f)
    assert key in str(ei.value)
    assert str(f) in str(ei.value)


@pytest.mark.parametrize("item", ["account.initial_cash=-100", "run.log_level=loud", "run.latency=fast",
                                  "run.equity_interval=0s"])
def test_bad_value_from_set_is_refused_by_name(item):
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=[item])
    assert item.split("=")[0] in str(ei.value)


def test_end_before_start_is_refused():
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=["data.start=2024-01-03", "data.end=2024-01-02"])
    assert "data.end" in str(ei.value)


def test_bad_config_stops_the_run_before_data_is_read(tmp_path):
    # The data path does not exist: a config error must come first.
    with pytest.raises(bt.ConfigError) as ei:
        bt.run(tmp_path / "nowhere", overrides={"run.log_level": "chatty"})
    assert "run.log_level" in str(ei.value)


FINER_THAN_MINOR = [
    # USD has 2 minor digits: 100.001 USD and 0.001 USD are not whole cents
    pytest.param("account.initial_cash", '[account]\ninitial_cash = "100.001"\n', id="initial_cash"),
    pytest.param("commission.per_order", '[commission]\nper_order = "0.001"\n', id="per_order"),
]


@pytest.mark.parametrize(("key", "text"), FINER_THAN_MINOR)
def test_money_finer_than_the_minor_unit_is_refused_naming_key_and_file(tmp_path, key, text):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", [1, 2], [1.1, 1.1], [1.10002, 1.10002])
    f = _write(tmp_path, "c.toml", text)
    with pytest.raises(bt.ConfigError) as ei:
        bt.run(root, config=f)
    assert key in str(ei.value)
    assert str(f) in str(ei.value)


@pytest.mark.parametrize(("key", "text"), FINER_THAN_MINOR)
def test_money_finer_than_the_minor_unit_is_refused_before_data_is_read(tmp_path, key, text):
    f = _write(tmp_path, "c.toml", text)
    with pytest.raises(bt.ConfigError) as ei:
        bt.run(tmp_path / "nowhere", config=f)
    assert key in str(ei.value)


# -- precedence ----------------------------------------------------------------

def test_defaults_then_file_then_overrides(tmp_path):
    d = load_config()
    assert d["run.log_level"] == "trades"
    assert d["run.chunk_rows"] == 1_000_000
    assert d["account.initial_cash"] == Decimal("100000")
    assert d["run.latency"] == 0
    f = _write(tmp_path, "c.toml", '[run]\nlog_level = "ticks"\nchunk_rows = 500\n'
                                   '[account]\ninitial_cash = "2500"\n')
    c = load_config(f)
    assert c["run.log_level"] == "ticks"
    assert c["run.chunk_rows"] == 500
    assert c["account.initial_cash"] == Decimal("2500")
    assert c["run.latency"] == 0  # not in the file: default
    o = load_config(f, ["run.log_level=off", "run.latency=250ms"])
    assert o["run.log_level"] == "off"  # --set beats the file
    assert o["run.chunk_rows"] == 500  # file beats the default
    assert o["run.latency"] == 250 * 10**6
    assert o.sources["run.log_level"] == 'overrides["run.log_level"]'
    assert o.sources["run.chunk_rows"] == str(f)
    assert o.sources["run.close_at_end"] == "default"


def test_same_file_as_json_gives_the_same_config(tmp_path):
    t = _write(tmp_path, "c.toml", '[run]\nlog_level = "ticks"\n[commission]\nper_lot = "3.5"\n'
                                   '[commission.GBPUSD]\nper_lot = "7"\n')
    j = _write(tmp_path, "c.json", json.dumps({"run": {"log_level": "ticks"}, "commission": {
        "per_lot": "3.5", "GBPUSD": {"per_lot": "7"}}}))
    a, b = load_config(t), load_config(j)
    assert a.values == b.values
    assert a.commission_by_symbol == b.commission_by_symbol == {"GBPUSD": {"per_lot": Decimal("7")}}


def test_overrides_mapping_beats_config_dict_in_run(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", [1, 2, 3], [1.1, 1.1, 1.1], [1.10002, 1.10002, 1.10002])
    res = bt.run(root, config={"run": {"log_level": "trades"}}, overrides={"run.log_level": "ticks"})
    # ticks level: one equity row per tick, 3 rows
    assert res.equity.height == 3


# -- --set parsing -------------------------------------------------------------

def test_set_values_are_read_as_toml_else_as_text():
    c = load_config(overrides=[
        "run.close_at_end=true",          # TOML boolean
        "run.chunk_rows=500",             # TOML integer
        'account.initial_cash="2500.50"',  # TOML string
        "run.latency=50ms",               # not TOML: kept as text, then parsed as a duration
        'data.symbols=["EURUSD", "GBPUSD"]',  # TOML array
        "data.start=2024-01-02T00:00:00",  # TOML local date-time
    ])
    assert c["run.close_at_end"] is True
    assert c["run.chunk_rows"] == 500
    assert c["account.initial_cash"] == Decimal("2500.50")
    assert c["run.latency"] == 50 * 10**6
    assert c["data.symbols"] == ["EURUSD", "GBPUSD"]
    assert c["data.start"] == ns(0)


def test_set_text_list_of_symbols():
    assert load_config(overrides=["data.symbols=EURUSD,GBPUSD"])["data.symbols"] == ["EURUSD", "GBPUSD"]


def test_set_value_may_contain_equals_sign():
    # only the first "=" splits; "1=2" is not TOML and stays text, which is not a level
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=["run.log_level=1=2"])
    assert "run.log_level" in str(ei.value)


def test_set_per_symbol_commission():
    c = load_config(overrides=["commission.GBPUSD.per_lot=7"])
    assert c.commission_by_symbol == {"GBPUSD": {"per_lot": Decimal("7")}}
    assert c["commission.per_lot"] == Decimal(0)


@pytest.mark.parametrize("item", ["run.log_level", "log_level=ticks"])
def test_malformed_set_is_refused(item):
    with pytest.raises(bt.ConfigError) as ei:
        load_config(overrides=[item])
    assert item in str(ei.value)


# -- per-symbol commission -----------------------------------------------------

def _two_symbols(root: Path) -> None:
    hive_file(root, "EURUSD", [1, 2, 3], [1.10000, 1.10001, 1.10004], [1.10002, 1.10003, 1.10006])
    hive_file(root, "GBPUSD", [1, 2, 3], [1.25000, 1.25001, 1.25010], [1.25002, 1.25003, 1.25012])


def test_commission_table_for_one_symbol_overrides_only_that_symbol(tmp_path):
    root = tmp_path / "arch"
    _two_symbols(root)
    f = _write(tmp_path, "c.toml", '[commission]\nper_lot = "3.5"\n'
                                   '[commission.GBPUSD]\nfraction = "0.0001"\n')
    orders = orders_frame([(1, "EURUSD", "buy", 1), (1, "GBPUSD", "buy", 1),
                           (2, "EURUSD", "sell", 1), (2, "GBPUSD", "sell", 1)])
    res = bt.run(root, orders=orders, config=f)
    got = {(r["symbol"], r["side"]): r["commission_minor"] for r in res.fills.iter_rows(named=True)}
    # EURUSD, per_lot only: 3.5 USD x 1 lot = 350 minor, on entry and on exit.
    assert got[("EURUSD", "buy")] == 350
    assert got[("EURUSD", "sell")] == 350
    # GBPUSD keeps per_lot 3.5 (350 minor) and adds fraction 0.0001 of notional:
    #   entry buy at ask 1.25003 (2 s): 0.0001 x 125003 ticks x 100 steps x 1 = 1250.03 -> 1250
    #   exit sell at bid 1.25010 (3 s): 0.0001 x 125010 x 100 = 1250.10 -> 1250
    assert got[("GBPUSD", "buy")] == 1250 + 350
    assert got[("GBPUSD", "sell")] == 1250 + 350
    # 350 + 350 + 1600 + 1600
    assert res.summary["commission_minor"] == 3900


def test_commission_minimum_per_symbol(tmp_path):
    root = tmp_path / "arch"
    _two_symbols(root)
    orders = orders_frame([(1, "EURUSD", "buy", 0.1), (1, "GBPUSD", "buy", 0.1)])
    res = bt.run(root, orders=orders, config={"commission": {"per_lot": "3.5", "GBPUSD": {"minimum": "1"}}})
    got = {r["symbol"]: r["commission_minor"] for r in res.fills.iter_rows(named=True)}
    # 3.5 USD x 0.1 lot = 0.35 USD = 35 minor; GBPUSD raised to its minimum 1.00 USD = 100 minor.
    assert got == {"EURUSD": 35, "GBPUSD": 100}


# -- instruments -----------------------------------------------------------------

def test_custom_instrument_from_config_is_usable(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "XYZUSD", [1, 2, 3], [100.0, 100.0, 101.0], [100.5, 100.5, 101.5])
    f = _write(tmp_path, "c.toml", '[instruments.XYZUSD]\ntick_size = "0.5"\nlot_step = "1"\n'
                                   'contract_size = "2"\nquote = "USD"\n')
    orders = orders_frame([(1, "XYZUSD", "buy", 3), (2, "XYZUSD", "sell", 3)])
    res = bt.run(root, orders=orders, config=f)
    # buy 3 at ask 100.5 (2 s) = 201 ticks; sell 3 at bid 101.0 (3 s) = 202 ticks.
    assert res.fills["price_ticks"].to_list() == [201, 202]
    assert res.fills["qty_steps"].to_list() == [3, 3]
    # (101.0 - 100.5) x 3 lots x 2 units = 3.00 USD = 300 minor
    assert res.summary["realized_pnl_minor"] == 300
    assert res.summary["final_cash_minor"] == 10_000_000 + 300


def test_custom_instrument_must_have_tick_size_and_lot_step(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "XYZUSD", [1, 2], [100.0, 100.0], [100.5, 100.5])
    with pytest.raises(bt.ConfigError) as ei:
        bt.run(root, config={"instruments": {"XYZUSD": {"tick_size": "0.5"}}})
    assert "XYZUSD" in str(ei.value)
    assert "lot_step" in str(ei.value)


def test_other_quote_currency_needs_quote_to_account(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "ABCEUR", [1, 2, 3], [10.0, 10.0, 10.5], [10.0, 10.0, 10.5])
    inst = {"tick_size": "0.01", "lot_step": "1", "quote": "EUR"}
    with pytest.raises(bt.ConfigError) as ei:
        bt.run(root, config={"instruments": {"ABCEUR": inst}})
    assert "ABCEUR" in str(ei.value)
    assert "quote_to_account" in str(ei.value)


def test_quote_to_account_converts_pnl(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "ABCEUR", [1, 2, 3], [10.0, 10.0, 10.5], [10.0, 10.0, 10.5])
    inst = {"tick_size": "0.01", "lot_step": "1", "quote": "EUR", "quote_to_account": "1.10"}
    orders = orders_frame([(1, "ABCEUR", "buy", 1), (2, "ABCEUR", "sell", 1)])
    res = bt.run(root, orders=orders, config={"instruments": {"ABCEUR": inst}})
    assert ts_ns(res.fills) == [ns(2), ns(3)]
    # 1 unit bought at 10.00 EUR, sold at 10.50: 0.50 EUR x 1.10 = 0.55 USD = 55 minor
    assert res.summary["realized_pnl_minor"] == 55


def test_instrument_in_account_currency_other_than_usd(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "ABCEUR", [1, 2, 3], [10.0, 10.0, 10.5], [10.0, 10.0, 10.5])
    inst = {"tick_size": "0.01", "lot_step": "1", "quote": "EUR"}
    orders = orders_frame([(1, "ABCEUR", "buy", 2), (2, "ABCEUR", "sell", 2)])
    res = bt.run(root, orders=orders, config={"instruments": {"ABCEUR": inst}, "account": {"currency": "EUR"}})
    # EUR account, EUR quote: 0.50 x 2 = 1.00 EUR = 100 minor
    assert res.summary["realized_pnl_minor"] == 100
    assert res.summary["account_currency"] == "EUR"


# -- docs stay true --------------------------------------------------------------

def _doc_sections() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    sec = None
    for line in DOCS.read_text().splitlines():
        m = re.match(r"^##\s+\[([A-Za-z_.]+)\]", line)
        if m:
            sec = m.group(1).split(".")[0]
            out.setdefault(sec, set())
            continue
        m = re.match(r"^\|\s*`([a-z_]+)`\s*\|", line)
        if m and sec is not None:
            out[sec].add(m.group(1))
    return out


def test_every_config_key_is_documented():
    docs = _doc_sections()
    missing = [f"{s}.{k}" for s, keys in SCHEMA.items() for k in keys if k not in docs.get(s, set())]
    assert not missing, f"docs/config.md lacks: {missing}"


def test_every_instrument_key_is_documented():
    docs = _doc_sections()
    missing = [k for k in INSTRUMENT_KEYS if k not in docs.get("instruments", set())]
    assert not missing, f"docs/config.md lacks instrument keys: {missing}"


def test_documented_defaults_match_the_schema():
    # e.g. | `log_level` | `"trades"` | ...: the documented default is the real one.
    text = DOCS.read_text()
    d = load_config()
    for sec, keys in SCHEMA.items():
        for key in keys:
            m = re.search(rf"^\|\s*`{key}`\s*\|\s*`([^`]*)`", text, re.M)
            if m is None:
                continue
            doc = m.group(1).strip('"')
            val = d[f"{sec}.{key}"]
            if isinstance(val, bool):
                assert doc == str(val).lower(), key
            elif isinstance(val, (int, Decimal)) and key not in ("latency", "equity_interval"):
                assert Decimal(doc) == Decimal(val), key
            elif isinstance(val, str):
                assert doc == val, key
