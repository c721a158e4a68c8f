"""Indicators (docs/bars.md §6): worked by hand on a few bars, and the numba updates
against the Polars expressions on random bars (warm-up included), also inside @njit."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from numba import njit

from backtestr.indicators import atr, ema, rolling_high, rolling_low, rsi, sma
from backtestr.indicators import incremental as inc

NAN = math.nan
BARS = pl.DataFrame({"close": [1.0, 2.0, 1.0, 2.0, 3.0], "high": [3.0, 4.0, 5.0, 6.0, 7.0],
                     "low": [1.0, 2.0, 2.0, 3.0, 3.0]})


def values(expr: pl.Expr, df: pl.DataFrame = BARS) -> list[float]:
    return [NAN if v is None else v for v in df.select(expr.alias("v"))["v"].to_list()]


def same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        (math.isnan(g) and math.isnan(w)) or (not math.isnan(g) and g == pytest.approx(w, rel=1e-12))
        for g, w in zip(got, want, strict=True))


def numba_values(name: str, n: int, df: pl.DataFrame = BARS) -> list[float]:
    state = getattr(inc, f"{name}_state")(n)
    update = getattr(inc, f"{name}_update")
    if name == "atr":
        return [update(state, h, lo, c) for h, lo, c in zip(df["high"], df["low"], df["close"], strict=True)]
    col = {"rolling_high": "high", "rolling_low": "low"}.get(name, "close")
    return [update(state, x) for x in df[col]]


# Worked by hand (closes 1 2 1 2 3; highs 3 4 5 6 7; lows 1 2 2 3 3):
# sma 2: (1+2)/2, (2+1)/2, (1+2)/2, (2+3)/2.
# ema 3, alpha 1/2: 1, 1.5, 1.25, 1.625, 2.3125; null for the first 2 rows.
# rsi 2: gains 1 0 1 1, losses 0 1 0 0; row 2: averages 0.5 and 0.5 -> 50; row 3: 0.75, 0.25
#   -> 75; row 4: 0.875, 0.125 -> 87.5.
# atr 2: TR 2, max(2, |4-1|, |2-1|) = 3, max(3, 3, 0) = 3, max(3, 5, 2) = 5, max(4, 5, 1) = 5;
#   row 1: (2+3)/2 = 2.5; then 2.5 + (3-2.5)/2 = 2.75; 2.75 + (5-2.75)/2 = 3.875; 3.875 + 1.125/2 = 4.4375.
# rolling high 3 of highs: 5, 6, 7; rolling low 3 of lows: 1, 2, 2.
HAND = {
    "sma": (2, [NAN, 1.5, 1.5, 1.5, 2.5]),
    "ema": (3, [NAN, NAN, 1.25, 1.625, 2.3125]),
    "rsi": (2, [NAN, NAN, 50.0, 75.0, 87.5]),
    "atr": (2, [NAN, 2.5, 2.75, 3.875, 4.4375]),
    "rolling_high": (3, [NAN, NAN, 5.0, 6.0, 7.0]),
    "rolling_low": (3, [NAN, NAN, 1.0, 2.0, 2.0]),
}
EXPRS = {"sma": lambda n: sma("close", n), "ema": lambda n: ema("close", n), "rsi": lambda n: rsi("close", n),
         "atr": lambda n: atr(n), "rolling_high": lambda n: rolling_high("high", n),
         "rolling_low": lambda n: rolling_low("low", n)}


@pytest.mark.parametrize("name", sorted(HAND))
def test_by_hand(name: str) -> None:
    n, want = HAND[name]
    assert same(values(EXPRS[name](n)), want)
    assert same(numba_values(name, n), want)


def test_rsi_flat_is_50_and_one_sided_is_0_or_100() -> None:
    df = pl.DataFrame({"close": [5.0] * 4 + [4.0, 3.0, 2.0]})
    # n 2: rows 2, 3 flat -> 50; row 4: gains 0, losses (0 + 1)/2 -> 0; then still no gains -> 0
    want = [NAN, NAN, 50.0, 50.0, 0.0, 0.0, 0.0]
    assert same(values(rsi("close", 2), df), want)
    assert same(numba_values("rsi", 2, df), want)


def random_bars(seed: int, n: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0, 1, n))
    up, down = np.abs(rng.normal(0, 0.7, n)), np.abs(rng.normal(0, 0.7, n))
    op = np.concatenate([[close[0]], close[:-1]])
    return pl.DataFrame({"close": close, "high": np.maximum(op, close) + up, "low": np.minimum(op, close) - down})


@pytest.mark.parametrize("name", sorted(HAND))
@pytest.mark.parametrize("n", [1, 2, 5, 14, 50])
def test_numba_equals_polars_on_random_bars(name: str, n: int) -> None:
    df = random_bars(n * 31 + len(name), 1500)
    want = values(EXPRS[name](n), df)
    got = numba_values(name, n, df)
    warm = {"rsi": n, "atr": n - 1}.get(name, n - 1)  # rows before this are NaN
    assert all(math.isnan(v) for v in got[:warm]) and all(math.isnan(v) for v in want[:warm])
    assert not any(math.isnan(v) for v in got[warm:]) and not any(math.isnan(v) for v in want[warm:])
    np.testing.assert_allclose(got[warm:], want[warm:], rtol=1e-9, atol=0)


def test_rolling_extremes_against_a_plain_window() -> None:
    x = random_bars(3, 400)["close"].to_list()
    for n in (1, 3, 17):
        hi, lo = inc.rolling_high_state(n), inc.rolling_low_state(n)
        for i, v in enumerate(x):
            h, low = inc.rolling_high_update(hi, v), inc.rolling_low_update(lo, v)
            if i + 1 < n:
                assert math.isnan(h) and math.isnan(low)
            else:
                assert h == max(x[i + 1 - n:i + 1]) and low == min(x[i + 1 - n:i + 1])


def test_over_symbols() -> None:
    df = pl.concat([BARS.with_columns(pl.lit("A").alias("symbol")), BARS.with_columns(pl.lit("B").alias("symbol"))])
    got = df.select(rsi("close", 2).over("symbol").alias("v"))["v"].to_list()
    assert same([NAN if v is None else v for v in got], HAND["rsi"][1] * 2)


@njit(cache=True)
def _strategy_like(close, high, low, n):
    """Every indicator inside compiled code, as a strategy would use them."""
    s1, s2, s3 = inc.sma_state(n), inc.ema_state(n), inc.rsi_state(n)
    s4, s5, s6 = inc.atr_state(n), inc.rolling_high_state(n), inc.rolling_low_state(n)
    out = np.empty((close.shape[0], 6))
    for i in range(close.shape[0]):
        out[i, 0] = inc.sma_update(s1, close[i])
        out[i, 1] = inc.ema_update(s2, close[i])
        out[i, 2] = inc.rsi_update(s3, close[i])
        out[i, 3] = inc.atr_update(s4, high[i], low[i], close[i])
        out[i, 4] = inc.rolling_high_update(s5, high[i])
        out[i, 5] = inc.rolling_low_update(s6, low[i])
    return out


def test_inside_njit() -> None:
    df = random_bars(11, 300)
    out = _strategy_like(df["close"].to_numpy(), df["high"].to_numpy(), df["low"].to_numpy(), 9)
    for j, name in enumerate(("sma", "ema", "rsi", "atr", "rolling_high", "rolling_low")):
        np.testing.assert_allclose(out[:, j], values(EXPRS[name](9), df), rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "14"])
def test_bad_n_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match="n: .* is not a whole number of bars >= 1"):
        sma("close", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n: .* is not a whole number of bars >= 1"):
        inc.atr_state(bad)  # type: ignore[arg-type]
