"""``backtestr sweep`` and grid files (docs/sweeps.md §7)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from backtestr.errors import ConfigError
from backtestr.sweep.cli import load_strategy, main
from backtestr.sweep.gridfile import read_grid
from backtestr.sweep.space import RandomSpace, Range
from tests.tickdata import hive_file

STRATEGY = '''
from tests.tickdata import signals_frame

def round_trip(p):
    return signals_frame([(0.5, "EURUSD", p["qty"]), (1.5, "EURUSD", 0)])

round_trip.params = {"qty": 1}

def broken(p):
    return {}["missing"]

broken.params = {"qty": 1}
'''


@pytest.fixture
def setup(tmp_path):
    # ask at t=1 1.10012, bid at t=2 1.10050: 38 USD per lot on the round trip (as in test_sweep_executor)
    hive_file(tmp_path / "data", "EURUSD", [0, 1, 2, 3], [1.10000, 1.10010, 1.10050, 1.10020],
              [1.10002, 1.10012, 1.10052, 1.10022])
    (tmp_path / "strat.py").write_text(STRATEGY)
    (tmp_path / "grid.toml").write_text(
        'objective = "-commission"\nconstraints = ["qty < 3"]\n'
        '[grid]\nqty = [1, 2, 3]\ncommission.per_lot = ["0", "3"]\n')
    return tmp_path


def argv(t, *more, strategy="{t}/strat.py:round_trip"):
    return ["sweep", "--data", str(t / "data"), "--strategy", strategy.format(t=t),
            "--grid", str(t / "grid.toml"), "--out", str(t / "out"), "--set", "run.log_level=off", *more]


def test_sweep_command_writes_and_prints_the_ranking(setup, capsys):
    assert main(argv(setup)) == 0
    df = pl.read_parquet(setup / "out" / "results.parquet")
    # qty 3 excluded; ranked by commission, lowest first: 0, 0 (sets 0, 2), 6 (set 1), 12 (set 3)
    assert df["set_id"].to_list() == [0, 2, 1, 3]
    assert df["net_pnl"].to_list() == [38.0, 76.0, 32.0, 64.0]
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["rank", "set_id", "qty", "commission.per_lot", "commission", "net_pnl",
                                           "max_drawdown_pct", "fills"]
    assert "4 sets run, 2 excluded by the constraints; best by -commission" in out
    assert main(argv(setup, "--quiet")) == 2
    assert "exists; pass --force to replace it" in capsys.readouterr().err
    assert main(argv(setup, "--quiet", "--force", "--objective", "net_pnl")) == 0
    assert capsys.readouterr().out == ""
    assert pl.read_parquet(setup / "out" / "results.parquet")["set_id"].to_list() == [2, 3, 0, 1]


@pytest.mark.parametrize("more,strategy,msg", [
    (["--objective", "sharpe"], None, "objective 'sharpe' is not a result column"),
    ([], "{t}/strat.py:nope", "strat.py has no 'nope'"),
    ([], "{t}/missing.py:f", "file .*missing.py does not exist"),
    ([], "nosuchmodule_x:f", "--strategy nosuchmodule_x:f: no module named 'nosuchmodule_x'"),
    ([], "{t}/strat.py:broken", r"set 0 \(qty=1, commission.per_lot='0'\): the strategy's builder failed: KeyError: 'missing'"),
    (["--set", "execution.model=bogus"], None, "base config: execution.model: 'bogus' is not one of"),
])
def test_sweep_command_errors_are_one_line_and_write_nothing(setup, capsys, more, strategy, msg):
    args = argv(setup, *more) if strategy is None else argv(setup, *more, strategy=strategy)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtestr: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(msg, err)
    assert not (setup / "out").exists()


def test_grid_files(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('[params]\nfast = 10\n[random]\nn = 5\nseed = 3\n[random.ranges]\nfast = {lo = 2, hi = 9}\n'
                 'execution.slippage_ticks = {lo = 1, hi = 100, log = true}\nmodel = ["a", "b"]\n')
    g = read_grid(p)
    assert isinstance(g.space, RandomSpace) and g.space.n == 5 and g.space.seed == 3
    assert g.space.ranges == {"fast": Range(2, 9), "execution.slippage_ticks": Range(1, 100, True),
                              "model": ["a", "b"]}
    assert g.params == {"fast": 10} and g.constraints == [] and g.objective is None
    p.write_text('[[sets]]\nfast = 1\n[[sets]]\nfast = 2\nexecution.model = "realistic"\n')
    assert read_grid(p).space == [{"fast": 1}, {"fast": 2, "execution.model": "realistic"}]


@pytest.mark.parametrize("text,msg", [
    ("[grid]\na = [1]\n[random]\nn = 1\n", "exactly one of"),
    ("x = 1\n[grid]\na = [1]\n", "unknown key 'x'"),
    ("[random]\nn = 2\n[random.ranges]\na = 5\n", "random.ranges.a: expected"),
    ("[random]\nn = 0\n[random.ranges]\na = [1]\n", "n must be a whole number >= 1"),
    ("[grid\n", "not valid TOML"),
    ("constraints = [1]\n[grid]\na = [1]\n", "constraints must be a list"),
])
def test_bad_grid_files_are_named(tmp_path, text, msg):
    p = tmp_path / "g.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=msg) as e:
        read_grid(p)
    assert str(p) in str(e.value)


def test_load_strategy_from_a_module():
    assert load_strategy("tests.test_sweep_executor:round_trip").params == {"qty": 1}
    with pytest.raises(ConfigError, match="expected MODULE:NAME"):
        load_strategy("tests.test_sweep_executor")
