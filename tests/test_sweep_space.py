"""Parameter spaces, constraints and settling (docs/sweeps.md §1-§2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtestr.config import load_config
from backtestr.errors import ConfigError
from backtestr.sweep.constraints import parse_constraint
from backtestr.sweep.settle import plan
from backtestr.sweep.space import Range, enumerate_space, random

P = {"fast": 5, "slow": 20}


def test_grid_is_the_cartesian_product_last_key_fastest_ids_in_order():
    sets = enumerate_space({"a": [1, 2], "b": ["x", "y", "z"]})
    assert sets == [(0, {"a": 1, "b": "x"}), (1, {"a": 1, "b": "y"}), (2, {"a": 1, "b": "z"}),
                    (3, {"a": 2, "b": "x"}), (4, {"a": 2, "b": "y"}), (5, {"a": 2, "b": "z"})]


def test_list_of_dicts_ids_are_positions():
    assert enumerate_space([{"a": 3}, {"a": 1, "b": 2}]) == [(0, {"a": 3}), (1, {"a": 1, "b": 2})]


def test_constraint_keeps_ids_of_the_full_grid():
    p = plan({"fast": [2, 5, 10], "slow": [5, 20]}, params=P, constraints=["fast < slow"])
    # grid order: (2,5)=0 (2,20)=1 (5,5)=2 (5,20)=3 (10,5)=4 (10,20)=5; fast < slow keeps 0, 1, 3, 5
    assert [s.set_id for s in p.sets] == [0, 1, 3, 5]
    assert p.frame["set_id"].to_list() == [0, 1, 3, 5]
    assert p.excluded == 2 and p.total == 6
    assert [s.params for s in p.sets] == [{"fast": 2, "slow": 5}, {"fast": 2, "slow": 20},
                                         {"fast": 5, "slow": 20}, {"fast": 10, "slow": 20}]


def test_declared_defaults_fill_the_sets_and_constraints_see_them():
    p = plan({"fast": [10, 30]}, params=P, constraints=["fast < slow"])  # slow defaults to 20
    assert [(s.set_id, s.params) for s in p.sets] == [(0, {"fast": 10, "slow": 20})]


def test_callable_and_expression_constraints_combine():
    p = plan({"fast": [1, 2, 3, 4]}, params=P,
             constraints=[lambda s: s["fast"] % 2 == 0, "fast in [1, 2, 3] and not fast == 3"])
    assert [s.params["fast"] for s in p.sets] == [2]


@pytest.mark.parametrize("text,expected", [
    ("fast * 2 <= slow", [0, 1, 3]),
    ("fast < slow < 15", [0]),               # chained: only (2,5)
    ("-fast > -3 or slow == 5", [0, 1, 2]),  # fast < 3, or slow 5
    ("execution.model != 'realistic'", [0, 1, 2, 3]),
])
def test_expression_grammar(text, expected):
    # sets: 0=(2,5) 1=(2,20) 2=(5,5) 3=(5,20) — plus execution.model 'perfect' on every one
    p = plan({"fast": [2, 5], "slow": [5, 20], "execution.model": ["perfect"]}, params=P, constraints=[text])
    # fast*2 <= slow: 4<=5 yes, 4<=20 yes, 10<=5 no, 10<=20 yes
    assert [s.set_id for s in p.sets] == expected


@pytest.mark.parametrize("text,msg", [
    ("__import__('os').system('true')", "unsupported expression"),
    ("fast.__class__ == 1", "unknown name 'fast.__class__'"),
    ("fast < ", "not a valid expression"),
    ("fast in slow", "literal list"),
    ("slwo > 1", "unknown name 'slwo'"),
    ("[x for x in fast]", "unsupported expression"),
])
def test_expressions_are_never_evaluated_as_python(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_constraint(text, ["fast", "slow"])


def test_random_is_a_pure_function_of_seed_and_respects_ranges():
    space = random(200, {"n": (3, 7), "x": (0.5, 2.0), "lg": (1e-3, 1e-1, "log"), "c": ["a", "b"],
                         "li": Range(1, 1000, log=True)}, seed=7)
    a, b = enumerate_space(space), enumerate_space(space)
    assert a == b
    assert [i for i, _ in a] == list(range(200))
    assert all(3 <= s["n"] <= 7 and isinstance(s["n"], int) for _, s in a)
    assert {s["n"] for _, s in a} == {3, 4, 5, 6, 7}  # 200 draws of 5 values: every one appears
    assert all(0.5 <= s["x"] < 2.0 for _, s in a)
    assert all(1e-3 <= s["lg"] < 1e-1 for _, s in a)
    assert {s["c"] for _, s in a} == {"a", "b"}
    assert all(1 <= s["li"] <= 1000 and isinstance(s["li"], int) for _, s in a)
    # log scale: about half the draws of [1e-3, 1e-1) fall below 1e-2 (the log midpoint), not ~9 %
    below = sum(s["lg"] < 1e-2 for _, s in a)
    assert 70 <= below <= 130
    assert enumerate_space(random(200, space.ranges, seed=8)) != a


def test_each_set_settles_into_a_config_from_base_and_its_keys():
    p = plan({"commission.per_lot": ["0", "3.5"], "risk.max_positions": [2],
              "instruments.EURUSD.leverage": ["50"]}, params={},
             config={"account": {"initial_cash": "5000"}}, overrides={"execution.model": "realistic"})
    assert len(p) == 2
    for s, lot in zip(p.sets, (Decimal("0"), Decimal("3.5")), strict=True):
        cfg = s.config
        assert cfg["commission.per_lot"] == lot
        assert cfg["account.initial_cash"] == Decimal("5000")
        assert cfg["execution.model"] == "realistic"
        assert cfg.risk["max_positions"] == 2
        assert cfg.instruments["EURUSD"]["leverage"] == Decimal("50")
    ref = load_config(data={"account": {"initial_cash": "5000"}},
                      overrides={"execution.model": "realistic", "commission.per_lot": "3.5",
                                 "risk.max_positions": 2, "instruments.EURUSD.leverage": "50"})
    assert p.sets[1].config.values == ref.values and p.sets[1].config.risk.values == ref.risk.values


def test_a_set_key_wins_over_the_base_overrides():
    p = plan({"execution.model": ["worst_case"]}, params={}, overrides=["execution.model=realistic"])
    assert p.sets[0].config["execution.model"] == "worst_case"


def test_sets_with_the_same_config_keys_share_one_config():
    p = plan({"fast": [1, 2], "execution.model": ["perfect", "realistic"]}, params=P)
    by_model = {}
    for s in p.sets:
        by_model.setdefault(s.overrides["execution.model"], set()).add(id(s.config))
    assert all(len(v) == 1 for v in by_model.values()) and len(by_model) == 2


@pytest.mark.parametrize("grid,kw,msg", [
    ({"foo": [1]}, {}, "grid key 'foo' is neither a parameter of the strategy .*fast, slow.* nor a config key"),
    ({"execution.modle": ["perfect"]}, {}, r"'execution.modle'.*\[execution\] has no key 'modle'"),
    ({"risk.max_pos": [1]}, {}, "risk has no key 'max_pos'"),
    ({"instruments.EURUSD.lev": [1]}, {}, "instruments.SYMBOL.KEY"),
    ({"execution.model": ["perfect", "bogus"]}, {}, r"set 1 \(execution.model = 'bogus'\): execution.model: "
                                                    "'bogus' is not one of"),
    ({"risk.max_positions": [1, -1]}, {}, r"set 1 \(risk.max_positions = -1\): risk.max_positions: -1 is negative"),
    ({"risk.stop_out_level": [150, 90], "risk.margin_call_level": [120]}, {},
     r"set 0 .*risk.stop_out_level = 150 % .* above risk.margin_call_level = 120 %"),
    ({"account.initial_cash": ["100.001"]}, {}, r"set 0 .*finer than the account currency's minor unit"),
    ({}, {}, "the grid is empty"),
    ({"fast": []}, {}, "fast: the list of values is empty"),
    ([], {}, "the list of sets is empty"),
    ({"fast": [30], "slow": [5, 10]}, {"constraints": ["fast < slow"]}, "exclude every one of the 2 sets"),
    ({"fast": 3}, {}, "fast: expected a list of values"),
    ({"execution.model": ["perfect"]}, {"overrides": {"execution.seed": -1}}, "base config: execution.seed"),
])
def test_bad_input_is_named(grid, kw, msg):
    with pytest.raises(ConfigError, match=msg):
        plan(grid, params=P, **kw)


@pytest.mark.parametrize("args,msg", [
    ((0, {"a": (1, 2)}), "n must be a whole number >= 1"),
    ((5, {}), "non-empty dict"),
    ((5, {"a": (2, 1)}), "a: empty range 2..1"),
    ((5, {"a": (0.0, 1.0, "log")}), "a: a log range needs lo > 0"),
    ((5, {"a": []}), "a: the list of choices is empty"),
    ((5, {"a": "x"}), "a: expected"),
])
def test_bad_random_spaces_are_named(args, msg):
    with pytest.raises(ConfigError, match=msg):
        random(*args)
