"""The command line: ``backtestr run`` outputs and summary, errors exit 2
leaving nothing behind, ``--force``, ``data check``, ``data synth``.

EURUSD: tick 0.00001, lot step 0.01, contract 100000, USD account with 2
minor digits: one tick on one lot step is 1 minor unit; 1 lot = 100 steps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from backtestr.cli import main
from tests.tickdata import hive_file, orders_frame

SUMMARY_KEYS = ("ticks", "fills", "initial_cash", "final_cash", "final_equity", "commission", "realized_pnl",
                "max_drawdown", "wall_s", "ticks_per_s")
LOGS = ["equity.parquet", "fills.parquet", "orders.parquet", "positions.parquet"]
OUTPUTS = [".backtestr-manifest.json", *LOGS, "summary.json"]  # "." sorts first


@pytest.fixture
def arch(tmp_path):
    root = tmp_path / "arch"
    hive_file(root, "EURUSD", [1, 2, 3, 4], [1.10000, 1.10001, 1.10004, 1.09990],
              [1.10002, 1.10003, 1.10006, 1.09992])
    return root


@pytest.fixture
def orders_file(tmp_path):
    p = tmp_path / "orders.parquet"
    # buy 1 lot at 1 s -> fills at the 2 s ask 1.10003; sell 1 at 2 s -> fills at the 3 s bid 1.10004
    orders_frame([(1, "EURUSD", "buy", 1), (2, "EURUSD", "sell", 1)]).write_parquet(p)
    return p


def _leftovers(parent: Path, name: str) -> list[str]:
    """Entries in ``parent`` that belong to the output folder ``name``."""
    return sorted(p.name for p in parent.iterdir() if p.name == name or p.name.startswith(f".{name}"))


def test_run_writes_every_output_and_a_balanced_summary(arch, orders_file, tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(out),
               "--set", "commission.per_lot=3.5", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    for name in LOGS:
        pq.read_table(out / name)  # whole, readable Parquet
    manifest = json.loads((out / ".backtestr-manifest.json").read_text())
    assert (manifest["kind"], manifest["command"]) == ("run", "run")
    assert manifest["files"] == [*LOGS, "summary.json"]  # every file the run wrote, and only those
    s = json.loads((out / "summary.json").read_text())
    for k in SUMMARY_KEYS:
        assert k in s, k
    assert s["final_cash_minor"] == (s["initial_cash_minor"] + s["realized_pnl_minor"] - s["commission_minor"]
                                     - s["swap_minor"])
    # By hand: 4 ticks, 2 fills; P&L (110004 - 110003) x 100 steps x 1 minor = 100 minor;
    # commission 3.5 USD per lot on each fill: 350 x 2 = 700 minor.
    assert s["ticks"] == 4
    assert s["fills"] == 2
    assert s["initial_cash_minor"] == 10_000_000
    assert s["realized_pnl_minor"] == 100
    assert s["commission_minor"] == 700
    assert s["final_cash_minor"] == 10_000_000 + 100 - 700
    assert s["final_equity_minor"] == s["final_cash_minor"]  # flat at the end
    assert s["initial_cash"] == 100_000.0
    assert math.isclose(s["final_cash"], 99_994.0)
    assert math.isclose(s["commission"], 7.0)
    assert math.isclose(s["realized_pnl"], 1.0)
    fills = pl.read_parquet(out / "fills.parquet")
    assert fills["price_ticks"].to_list() == [110003, 110004]
    assert fills["commission_minor"].to_list() == [350, 350]
    assert _leftovers(tmp_path, "res") == ["res"]


def test_run_prints_a_summary(arch, orders_file, tmp_path, capsys):
    rc = main(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(tmp_path / "res")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "EURUSD" in text
    assert str(tmp_path / "res") in text


def test_log_level_off_writes_only_the_summary(arch, orders_file, tmp_path):
    out = tmp_path / "res"
    rc = main(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(out),
               "--set", "run.log_level=off", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [".backtestr-manifest.json", "summary.json"]


def test_set_beats_config_file_on_the_command_line(arch, orders_file, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nlog_level = "off"\n[commission]\nper_lot = "1"\n')
    out = tmp_path / "res"
    rc = main(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(out), "--config", str(cfg),
               "--set", "run.log_level=trades", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS  # trades, not off
    # per_lot 1 USD from the file: 100 minor per 1-lot fill, 2 fills
    assert json.loads((out / "summary.json").read_text())["commission_minor"] == 200


def _fails(argv: list[str], capsys, *words: str) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    for w in words:
        assert w in err, (w, err)
    return err


def test_missing_data_path_exits_2_and_writes_nothing(orders_file, tmp_path, capsys):
    missing = tmp_path / "no_such_archive"
    _fails(["run", "--data", str(missing), "--orders", str(orders_file), "--out", str(tmp_path / "res"),
            "--quiet"], capsys, str(missing))
    assert _leftovers(tmp_path, "res") == []


def test_unknown_config_key_exits_2_and_writes_nothing(arch, orders_file, tmp_path, capsys):
    _fails(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(tmp_path / "res"),
            "--set", "run.turbo=true", "--quiet"], capsys, "run.turbo")
    assert _leftovers(tmp_path, "res") == []


def test_unknown_key_in_config_file_exits_2(arch, orders_file, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[account]\ncash = \"5\"\n")
    _fails(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(tmp_path / "res"),
            "--config", str(cfg), "--quiet"], capsys, "account.cash", str(cfg))
    assert _leftovers(tmp_path, "res") == []


def test_bad_orders_exit_2_and_write_nothing(arch, tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    orders_frame([(1, "EURUSD", "buy", 1), (1, "NOPE", "buy", 1)]).write_parquet(bad)
    _fails(["run", "--data", str(arch), "--orders", str(bad), "--out", str(tmp_path / "res"), "--quiet"],
           capsys, "NOPE", "row 2")
    assert _leftovers(tmp_path, "res") == []


def test_bad_row_found_mid_run_exits_2_and_removes_the_staging_folder(tmp_path, orders_file, capsys):
    root = tmp_path / "arch"
    # row 3 is crossed (ask 1.09990 < bid 1.10000); orders fill before it is read
    f = hive_file(root, "EURUSD", [1, 2, 3, 4], [1.1, 1.1, 1.1, 1.1], [1.10002, 1.10002, 1.10002, 1.0999])
    _fails(["run", "--data", str(root), "--orders", str(orders_file), "--out", str(tmp_path / "res"),
            "--quiet"], capsys, str(f), "row 4", "crossed")
    assert _leftovers(tmp_path, "res") == []


def test_missing_orders_and_signals_exit_2(arch, tmp_path, capsys):
    _fails(["run", "--data", str(arch), "--out", str(tmp_path / "res"), "--quiet"], capsys, "--orders")
    assert _leftovers(tmp_path, "res") == []


def test_earlier_run_is_refused_without_force_and_replaced_with_it(arch, orders_file, tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    (out / "summary.json").write_text("{}")  # marks the earlier output
    _fails(argv, capsys, str(out), "earlier", "--force")
    assert (out / "summary.json").read_text() == "{}"
    assert _leftovers(tmp_path, "res") == ["res"]
    assert main([*argv, "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    assert json.loads((out / "summary.json").read_text())["ticks"] == 4
    assert _leftovers(tmp_path, "res") == ["res"]


def test_failed_forced_run_keeps_the_old_output(arch, tmp_path, orders_file, capsys):
    out = tmp_path / "res"
    assert main(["run", "--data", str(arch), "--orders", str(orders_file), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    root = tmp_path / "bad"
    hive_file(root, "EURUSD", [1, 2, 3], [1.1, 1.1, 1.1], [1.10002, 1.10002, 1.0999])  # third row crossed
    _fails(["run", "--data", str(root), "--orders", str(orders_file), "--out", str(out), "--force", "--quiet"],
           capsys, "crossed")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path, "res") == ["res"]


def test_data_check_good_archive_exits_0(arch, capsys):
    assert main(["data", "check", str(arch)]) == 0
    out = capsys.readouterr().out
    assert "EURUSD" in out
    assert "OK" in out


def test_data_check_bad_row_exits_1_naming_it(tmp_path, capsys):
    root = tmp_path / "arch"
    f = hive_file(root, "EURUSD", [1, 2, 3], [1.1, 1.1, 1.1], [1.10002, 1.10002, 1.0999])  # row 3 crossed
    assert main(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert str(f) in out
    assert "row 3" in out  # counted from 1
    assert "crossed" in out


def test_data_check_missing_path_exits_2(tmp_path, capsys):
    _fails(["data", "check", str(tmp_path / "nothing")], capsys, str(tmp_path / "nothing"))


def test_synth_then_check_round_trip(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["data", "synth", "--out", str(out), "--symbols", "EURUSD,BTCUSD", "--days", "1",
                 "--rate", "0.05", "--seed", "3", "--quiet"]) == 0
    files = sorted(out.rglob("*.parquet"))
    assert {f.parent.parent.name for f in files} == {"symbol=EURUSD", "symbol=BTCUSD"}
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "OK" in text
    assert f"{rows:,} rows" in text
    assert "EURUSD" in text and "BTCUSD" in text


# -- clear messages in the interface in use -------------------------------------------------------

def _walk(parser):
    """Every (sub)parser with its command path."""
    import argparse

    yield "backtestr", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"subcommand {name} has no help line"
                for path, p in _walk(sub):
                    yield f"{path.replace('backtestr', name, 1)}", p


def test_every_subcommand_and_option_has_a_help_line():
    from backtestr.cli import _parser

    seen = 0
    for path, p in _walk(_parser()):
        for action in p._actions:
            if action.dest == "help":
                continue
            assert action.help, f"{path}: {action.option_strings or action.dest} has no help line"
            seen += 1
    assert seen > 40  # run, data synth/import/check, risk show, demo and their options


def test_version(capsys):
    from backtestr import __version__

    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"backtestr {__version__}"


def test_unexpected_error_is_one_line_without_traceback(monkeypatch, capsys):
    import backtestr.cli as cli

    def boom(a):
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(cli, "_risk_show", boom)
    monkeypatch.delenv("BACKTESTR_TRACEBACK", raising=False)
    assert main(["risk", "show"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "RuntimeError: something unforeseen" in err and "report" in err


def test_synth_usdjpy_a_builtin_instrument(tmp_path, capsys):
    out = tmp_path / "j"
    assert main(["data", "synth", "--out", str(out), "--symbols", "USDJPY", "--days", "1", "--start", "2024-01-02",
                 "--rate", "0.01", "--quiet"]) == 0
    f = out / "symbol=USDJPY" / "date=2024-01-02" / "part-0.parquet"
    bid = pl.read_parquet(f)["bid"]
    # USDJPY's tick is 0.001 (backtestr/instruments.toml): every price is a whole number of ticks
    assert ((bid * 1000 - (bid * 1000).round()).abs() < 1e-6).all()
    assert 100 < bid.mean() < 200
    assert main(["data", "check", str(out)]) == 0


def test_synth_unknown_symbol_names_it_and_the_flag(tmp_path, capsys):
    _fails(["data", "synth", "--out", str(tmp_path / "x"), "--symbols", "EURUSD,NOPE", "--days", "1"], capsys,
           "'NOPE'", "--symbols", "USDJPY")
    assert not (tmp_path / "x").exists()


def test_synth_span_without_trading_days_exits_2_and_writes_nothing(tmp_path, capsys):
    # 2024-01-06 is a Saturday: the FX market is closed all day (UTC)
    _fails(["data", "synth", "--out", str(tmp_path / "w"), "--symbols", "EURUSD", "--days", "1",
            "--start", "2024-01-06", "--quiet"], capsys, "no trading day", "nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_import_ragged_csv_names_the_row_not_polars_options(tmp_path, capsys):
    src = tmp_path / "r.csv"
    src.write_text("ts,bid,ask\n2024-01-02T00:00:00Z,1.1,1.2\n2024-01-02T00:00:01Z,1.1,1.2\n"
                   "2024-01-02T00:00:02Z,1.1,1.2,9\n")
    err = _fails(["data", "import", str(src), "--out", str(tmp_path / "o"), "--symbol", "EURUSD"], capsys,
                 str(src), "row 3 (line 4)", "4 fields", "header has 3")
    assert "truncate_ragged_lines" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_import_refuses_a_symbol_the_registry_lacks_unless_given_instruments(tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text("ts,bid,ask\n2024-01-02T00:00:00Z,1.1,1.2\n")
    out = tmp_path / "o"
    _fails(["data", "import", str(src), "--out", str(out), "--symbol", "EURSEK"], capsys,
           "EURSEK", "instrument registry", "--instruments FILE")
    assert not out.exists()
    reg = tmp_path / "sek.toml"
    reg.write_text('[EURSEK]\nkind = "fx"\nbase = "EUR"\nquote = "SEK"\ntick_size = "0.0001"\n'
                   'lot_step = "0.01"\ncontract_size = "100000"\n')
    assert main(["data", "import", str(src), "--out", str(out), "--symbol", "EURSEK",
                 "--instruments", str(reg)]) == 0
    assert (out / "symbol=EURSEK" / "date=2024-01-02" / "part-0.parquet").is_file()


def test_import_symbol_column_with_an_unknown_symbol_is_refused(tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text("ts,bid,ask,symbol\n2024-01-02T00:00:00Z,1.1,1.2,EUR/USD\n2024-01-02T00:00:01Z,1.1,1.2,ABC/XYZ\n")
    _fails(["data", "import", str(src), "--out", str(tmp_path / "o")], capsys, "ABCXYZ", "--instruments")
    assert not (tmp_path / "o").exists()


def test_set_risk_error_names_set_not_argument(capsys):
    err = _fails(["risk", "show", "--set", "risk.max_leverage=3"], capsys, "--set risk.max_leverage",
                 "unknown key risk.max_leverage")
    assert "argument" not in err


def test_python_errors_name_arguments_not_flags():
    import backtestr as bt

    with pytest.raises(bt.ConfigError) as ei:
        bt.load_config(overrides={"risk.max_leverage": 3})
    assert 'overrides["risk.max_leverage"]' in str(ei.value) and "--set" not in str(ei.value)
    with pytest.raises(bt.ConfigError) as ei:
        bt.load_config(risk={"max_leverage": 3})
    assert 'risk["max_leverage"]' in str(ei.value) and "--set" not in str(ei.value)


def test_orders_csv_time_without_seconds_parses(arch, tmp_path):
    src = tmp_path / "o.csv"
    # mixed forms: the column stays text and goes through the time parser
    src.write_text("ts,symbol,side,qty\n2024-01-02T00:00:01Z,EURUSD,buy,1\n2024-01-02 00:00,EURUSD,sell,1\n")
    out = tmp_path / "res"
    assert main(["run", "--data", str(arch), "--orders", str(src), "--out", str(out), "--quiet"]) == 0
    # by hand: the sell stamped 00:00 acts before the first tick (00:00:01), so it is rejected as
    # before_data (docs/execution.md); the buy at 1 s fills on the 2 s tick (ask 1.10003)
    fills = pl.read_parquet(out / "fills.parquet")
    assert fills["price_ticks"].to_list() == [110003]
    orders = pl.read_parquet(out / "orders.parquet").sort("order_id")
    assert orders["ts"].dt.strftime("%H:%M:%S").to_list() == ["00:00:01", "00:00:00"]
    assert orders["status"].cast(pl.String).to_list() == ["filled", "rejected"]
    assert orders["reason"].cast(pl.String).to_list()[1] == "before_data"


def test_orders_csv_time_error_quotes_the_failing_value_and_its_row(arch, tmp_path, capsys):
    src = tmp_path / "o.csv"
    src.write_text("ts,symbol,side,qty\n2024-01-02 00:00:01,EURUSD,buy,1\n2024-01-02 00:00:02,EURUSD,sell,1\n"
                   "2024-01-02 00:00:0x,EURUSD,buy,1\n")
    err = _fails(["run", "--data", str(arch), "--orders", str(src), "--out", str(tmp_path / "res"), "--quiet"],
                 capsys, str(src), "row 3", "'2024-01-02 00:00:0x'")
    assert "00:00:01" not in err
    assert _leftovers(tmp_path, "res") == []


def test_import_time_error_quotes_the_failing_value_and_its_row(tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text("ts,bid,ask\n2024-01-02 00:00,1.1,1.2\n2024-01-02 00:00:01.5,1.1,1.2\n"
                   "2024-01-02 00:0x,1.1,1.2\n")
    err = _fails(["data", "import", str(src), "--out", str(tmp_path / "o"), "--symbol", "EURUSD"], capsys,
                 "row 3 (line 4)", "'2024-01-02 00:0x'")
    assert "00:00:01.5" not in err
