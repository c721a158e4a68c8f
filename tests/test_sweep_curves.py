"""Period equity and the returns matrix (docs/sweeps.md §5)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from backtestr.errors import ConfigError
from backtestr.sweep.curves import every_ns, period_equity, returns_matrix


def curve(rows):
    """[(day, hour, equity)] in January 2024 -> a frame with ts (UTC) and equity."""
    ts = [datetime(2024, 1, d, h, tzinfo=timezone.utc) for d, h, _ in rows]
    return pl.DataFrame({"ts": pl.Series(ts, dtype=pl.Datetime("ns", "UTC")), "equity": [e for *_, e in rows]})


def test_period_equity_is_the_last_of_each_utc_day():
    pe = period_equity(curve([(1, 10, 100.0), (1, 23, 110.0), (2, 12, 121.0)]), every_ns("1d"))
    assert pe["equity"].to_list() == [110.0, 121.0]
    assert pe["period"].to_list() == [datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 2, tzinfo=timezone.utc)]


def test_returns_matrix_aligns_fills_and_divides_by_hand():
    day = every_ns("1d")
    a = period_equity(curve([(1, 10, 100.0), (1, 23, 110.0), (2, 12, 121.0)]), day)  # days 1, 2: 110, 121
    b = period_equity(curve([(1, 5, 100.0), (2, 1, 90.0), (3, 2, 99.0)]), day)       # days 1, 2, 3: 100, 90, 99
    ids, periods, m = returns_matrix({7: b, 3: a}, {3: 100.0, 7: 100.0})
    assert ids == [3, 7] and len(periods) == 3
    # set 3: 110/100 - 1 = 0.1, 121/110 - 1 = 0.1, day 3 unchanged (121) = 0
    # set 7: 100/100 - 1 = 0, 90/100 - 1 = -0.1, 99/90 - 1 = 0.1
    assert m == pytest.approx(np.array([[0.1, 0.0], [0.1, -0.1], [0.0, 0.1]]))
    # without initial values the first period has no return: the rows from day 2
    ids, periods, m = returns_matrix({3: a, 7: b})
    assert m == pytest.approx(np.array([[0.1, -0.1], [0.0, 0.1]])) and len(periods) == 2


def test_a_set_without_a_row_in_the_first_periods_starts_from_its_initial_value():
    day = every_ns("1d")
    a = period_equity(curve([(1, 1, 100.0), (2, 1, 105.0)]), day)
    late = period_equity(curve([(2, 1, 110.0)]), day)
    _, _, m = returns_matrix({0: a, 1: late}, {0: 100.0, 1: 100.0})
    assert m == pytest.approx(np.array([[0.0, 0.0], [0.05, 0.1]]))


def test_bad_periods():
    with pytest.raises(ConfigError, match="returns_every"):
        every_ns("a day")
    with pytest.raises(ConfigError, match="longer than zero"):
        every_ns("0s")
