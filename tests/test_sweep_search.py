"""Batched optuna search (docs/sweeps.md §6); optuna is a dev dependency."""

from __future__ import annotations

import optuna
import pytest

from backtestr.errors import ConfigError
from backtestr.sweep import search
from tests.test_sweep_executor import DATA, QUIET, round_trip


def test_search_asks_in_batches_runs_and_tells_every_set():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    r = search(DATA, round_trip, {"qty": (1, 5), "commission.per_lot": ["0", "2"]}, n_trials=10, batch_size=4,
               config=QUIET, seed=3, constraints=["qty != 4"])
    study = r.study
    assert len(study.trials) == 10
    states = [t.state for t in study.trials]
    pruned = [t.number for t in study.trials if t.params["qty"] == 4]
    assert [t.number for t, s in zip(study.trials, states, strict=True)
            if s == optuna.trial.TrialState.PRUNED] == pruned
    assert sorted(r.results["set_id"].to_list()) == [t.number for t in study.trials if t.number not in pruned]
    for row in r.results.iter_rows(named=True):
        # by hand (test_sweep_executor): net = 38 q - 2 c q
        q, c = row["qty"], float(row["commission.per_lot"])
        assert row["final_equity"] == pytest.approx(100_000 + 38 * q - 2 * c * q)
        assert study.trials[row["set_id"]].value == row["final_equity"]
    assert r.best["final_equity"] == max(r.results["final_equity"])


def test_search_refuses_bad_input_before_any_trial():
    with pytest.raises(ConfigError, match="grid key 'qtty' is neither"):
        search(DATA, round_trip, {"qtty": (1, 5)}, n_trials=2, config=QUIET)
    with pytest.raises(ConfigError, match="objective 'sharpe'"):
        search(DATA, round_trip, {"qty": (1, 5)}, n_trials=2, config=QUIET, objective="sharpe")
    with pytest.raises(ConfigError, match="batch_size"):
        search(DATA, round_trip, {"qty": (1, 5)}, n_trials=2, config=QUIET, batch_size=0)
