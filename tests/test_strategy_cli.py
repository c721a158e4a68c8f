"""``backtestr run --strategy MODULE:CLASS --param NAME=VALUE`` (docs/strategies.md §1)."""

from __future__ import annotations

import polars as pl

from backtestr.cli import main
from tests.strategy_kit import ticks_frame


def _data(tmp_path):
    path = tmp_path / "ticks.parquet"
    ticks_frame(20_000, seed=11).write_parquet(path)
    return path


def test_run_with_a_strategy_and_parameters_writes_the_same_fills_as_the_python_call(tmp_path, capsys):
    import backtestr as bt
    from backtestr.examples.sma_cross import SmaCross

    data = _data(tmp_path)
    out = tmp_path / "out"
    rc = main(["run", "--data", str(data), "--strategy", "backtestr.examples.sma_cross:SmaCross",
               "--param", "fast=5", "--param", "slow=20", "--param", "qty=100", "--out", str(out), "--quiet"])
    assert rc == 0
    fills = pl.read_parquet(out / "fills.parquet")
    ref = bt.run(data, strategy=SmaCross, params={"fast": 5, "slow": 20, "qty": 100})
    assert fills.height == ref.fills.height > 0
    assert fills["price_ticks"].to_list() == ref.fills["price_ticks"].to_list()


def test_bad_strategy_arguments_are_named_in_command_line_terms(tmp_path, capsys):
    data = _data(tmp_path)
    out = tmp_path / "out"
    base = ["run", "--data", str(data), "--out", str(out), "--quiet"]
    assert main(base + ["--strategy", "backtestr.examples.sma_cross:SmaCross", "--param", "fsat=3"]) == 2
    err = capsys.readouterr().err
    assert "--param: strategy sma_cross has no parameter 'fsat' (it has: fast, slow, qty)" in err
    assert main(base + ["--strategy", "backtestr.examples.sma_cross:SmaCross", "--param", "fast"]) == 2
    assert "--param 'fast': expected NAME=VALUE" in capsys.readouterr().err
    assert main(base + ["--strategy", "backtestr.examples.nothing:X"]) == 2
    assert "--strategy: cannot load 'backtestr.examples.nothing:X'" in capsys.readouterr().err
    assert main(base + ["--strategy", "backtestr.examples.sma_cross:SmaCross", "--signals", str(data)]) == 2
    assert "--strategy takes the place of --orders and --signals" in capsys.readouterr().err
    assert not out.exists()
