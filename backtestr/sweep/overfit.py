"""Overfitting statistics of a sweep (docs/sweeps.md §5).

* the deflated Sharpe ratio (Bailey and López de Prado, 2014): the probability
  that the best set's true Sharpe ratio is above the highest one expected from
  ``N`` trials of pure noise;
* the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado and Zhu, 2015).

Sharpe ratios here are per period (not annualised): the mean of the period
returns over their standard deviation (``ddof=1``). The normal CDF and its
inverse come from ``statistics.NormalDist`` (no scipy needed).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..errors import BacktestrError

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


def sharpe(returns: np.ndarray) -> np.ndarray | float:
    """Per-period Sharpe ratio of each column (or of a 1-d series): mean / std (ddof=1).

    A column with zero spread has ratio +inf, -inf or 0 by the sign of its mean.
    """
    r = np.asarray(returns, dtype=float)
    mean = r.mean(axis=0)
    sd = r.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), np.sign(mean) * np.inf)
    out = np.nan_to_num(out, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return float(out) if out.ndim == 0 else out


def moments(returns: np.ndarray) -> tuple[float, float]:
    """Skewness and kurtosis (not excess: 3 for a normal) of a series, from population moments."""
    r = np.asarray(returns, dtype=float)
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0:
        return 0.0, 3.0
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected highest Sharpe ratio among ``n_trials`` independent trials whose true
    Sharpe ratio is 0 and whose estimated ratios have variance ``sr_variance``:

        SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))

    with ``g`` the Euler-Mascheroni constant. One trial is no selection: 0.
    """
    if n_trials < 1:
        raise BacktestrError(f"n_trials must be >= 1, got {n_trials}")
    if sr_variance < 0:
        raise BacktestrError(f"sr_variance must be >= 0, got {sr_variance}")
    if n_trials == 1:
        return 0.0
    z1 = _N.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _N.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def probabilistic_sharpe(sr: float, sr_benchmark: float, n_obs: int, skew: float = 0.0,
                         kurtosis: float = 3.0) -> float:
    """Probability that the true Sharpe ratio is above ``sr_benchmark``, given an estimate
    ``sr`` from ``n_obs`` returns of the given skewness and kurtosis:

        PSR = Z((SR - SR*) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2))
    """
    if n_obs < 2:
        raise BacktestrError(f"n_obs must be >= 2, got {n_obs}")
    var = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if var <= 0:
        raise BacktestrError(f"the Sharpe ratio's variance term 1 - skew*SR + (kurt-1)/4*SR^2 = {var} is not "
                             "positive for these moments")
    return _N.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(var))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio ``dsr`` of the best set and the figures it comes from."""

    dsr: float
    sharpe: float
    expected_max: float
    n_trials: int
    sr_variance: float
    n_obs: int
    skew: float
    kurtosis: float


def deflated_sharpe(best_returns: np.ndarray, n_trials: int, sr_variance: float) -> DeflatedSharpe:
    """The deflated Sharpe ratio of the best set, from its per-period returns, the number of
    sets tried and the variance of the tried sets' Sharpe ratios (per period)."""
    r = np.asarray(best_returns, dtype=float)
    if r.ndim != 1 or r.shape[0] < 2:
        raise BacktestrError("best_returns must be a series of at least 2 returns")
    sr = float(sharpe(r))
    skew, kurt = moments(r)
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return DeflatedSharpe(probabilistic_sharpe(sr, sr0, r.shape[0], skew, kurt), sr, sr0, n_trials,
                          float(sr_variance), r.shape[0], skew, kurt)


def deflated_sharpe_of(returns: np.ndarray) -> DeflatedSharpe:
    """The deflated Sharpe ratio of the best column of a T x N returns matrix (one column
    per set tried): N trials, the variance (ddof=1) of the columns' Sharpe ratios."""
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 1:
        raise BacktestrError("returns must be a T x N matrix with one column per set")
    srs = np.asarray(sharpe(m), dtype=float)
    var = float(np.var(srs, ddof=1)) if m.shape[1] > 1 else 0.0
    return deflated_sharpe(m[:, int(np.argmax(srs))], m.shape[1], var)


@dataclass(frozen=True)
class PBO:
    """Probability of backtest overfitting: ``pbo`` and, per combination, the in-sample best
    column, its relative rank out of sample and the logit of that rank."""

    pbo: float
    logits: np.ndarray
    best: np.ndarray
    ranks: np.ndarray
    n_blocks: int


Metric = Callable[[np.ndarray], np.ndarray]


def _metric(metric: str | Metric) -> Metric:
    if callable(metric):
        return metric
    if metric == "sharpe":
        return lambda m: np.asarray(sharpe(m), dtype=float)
    if metric == "mean":
        return lambda m: m.mean(axis=0)
    if metric == "sum":
        return lambda m: m.sum(axis=0)
    raise BacktestrError(f"metric {metric!r}: expected 'sharpe', 'mean', 'sum' or a callable(matrix) -> array")


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..N, ascending (1 = lowest), ties sharing their average rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.shape[0], dtype=float)
    sx = x[order]
    i = 0
    while i < x.shape[0]:
        j = i
        while j + 1 < x.shape[0] and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pbo(returns: np.ndarray, n_blocks: int = 16, metric: str | Metric = "sharpe") -> PBO:
    """Probability of backtest overfitting of a T x N returns matrix (one column per set).

    The rows are cut in order into ``n_blocks`` (even) blocks of near-equal size
    (sizes differ by at most one row). For each of the C(S, S/2) ways to take S/2
    blocks as in-sample (the rest, in order, out of sample): the column with the
    best in-sample ``metric`` (the first on a tie) is ranked among all columns
    out of sample (ranks 1..N ascending, ties averaged), w = rank / (N + 1) and
    the logit is ln(w / (1 - w)). PBO is the share of combinations whose logit is
    at most 0: how often the in-sample best is at or below the median out of sample.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise BacktestrError("returns must be a T x N matrix with at least 2 columns (sets)")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise BacktestrError(f"n_blocks must be an even whole number >= 2, got {n_blocks!r}")
    if m.shape[0] < n_blocks:
        raise BacktestrError(f"{m.shape[0]} rows cannot be cut into {n_blocks} blocks")
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)), dtype=np.int64)
    inside = np.zeros((combos.shape[0], n_blocks), dtype=bool)
    inside[np.arange(combos.shape[0])[:, None], combos] = True
    if isinstance(metric, str) and metric in _BLOCK_METRICS:
        best, w = _by_block_sums(m, blocks, inside, metric)
    else:
        f = _metric(metric)
        n = m.shape[1]
        best, w = np.empty(inside.shape[0], np.int64), np.empty(inside.shape[0])
        for c, row in enumerate(inside):
            is_rows = np.concatenate([blocks[b] for b in np.flatnonzero(row)])
            os_rows = np.concatenate([blocks[b] for b in np.flatnonzero(~row)])
            best[c] = int(np.argmax(f(m[is_rows])))
            w[c] = _average_ranks(np.asarray(f(m[os_rows]), dtype=float))[best[c]] / (n + 1)
    lg = np.log(w / (1.0 - w))
    return PBO(float(np.mean(lg <= 0)), lg, best, w, n_blocks)


_BLOCK_METRICS = ("sharpe", "mean", "sum")


def _by_block_sums(m: np.ndarray, blocks: list[np.ndarray], inside: np.ndarray, metric: str,
                   chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The in-sample best and its relative rank out of sample for every combination, from
    per-block counts, sums and sums of squares (of the columns less their overall mean, so
    the spread is not lost to cancellation): O(S * N) per combination instead of O(T * N)."""
    centre = m.mean(axis=0)
    d = m - centre
    cnt = np.array([b.shape[0] for b in blocks], dtype=float)
    sums = np.stack([d[b].sum(axis=0) for b in blocks])
    sq = np.stack([(d[b] ** 2).sum(axis=0) for b in blocks])
    n = m.shape[1]
    best = np.empty(inside.shape[0], np.int64)
    w = np.empty(inside.shape[0])
    for lo in range(0, inside.shape[0], chunk):
        sel = inside[lo:lo + chunk].astype(float)
        is_val = _metric_of(sel @ cnt, sel @ sums, sel @ sq, centre, metric)
        os_val = _metric_of((1 - sel) @ cnt, (1 - sel) @ sums, (1 - sel) @ sq, centre, metric)
        star = np.argmax(is_val, axis=1)
        mine = os_val[np.arange(star.shape[0]), star][:, None]
        below = (os_val < mine).sum(axis=1)
        equal = (os_val == mine).sum(axis=1)
        best[lo:lo + chunk] = star
        w[lo:lo + chunk] = (below + (equal + 1) / 2.0) / (n + 1)  # average rank of the ties
    return best, w


def _metric_of(k: np.ndarray, s: np.ndarray, q: np.ndarray, centre: np.ndarray, metric: str) -> np.ndarray:
    """Per combination and column: the metric from the row count ``k``, the sum ``s`` and the
    sum of squares ``q`` of the centred returns."""
    k = k[:, None]
    mean = s / k + centre
    if metric == "mean":
        return mean
    if metric == "sum":
        return s + k * centre
    var = np.maximum(q - s * s / k, 0.0) / (k - 1)
    var = np.where(var <= 1e-14 * (q / k + centre * centre), 0.0, var)  # rounding residue of a constant column
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(var > 0, mean / np.sqrt(np.where(var > 0, var, 1.0)), np.sign(mean) * np.inf)
    return np.nan_to_num(out, nan=0.0, posinf=np.inf, neginf=-np.inf)
