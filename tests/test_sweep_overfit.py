"""Deflated Sharpe ratio and PBO (docs/sweeps.md §5): hand-worked values and known properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backtestr.errors import BacktestrError
from backtestr.sweep.overfit import (
    deflated_sharpe,
    deflated_sharpe_of,
    expected_max_sharpe,
    moments,
    pbo,
    probabilistic_sharpe,
    sharpe,
)


def test_sharpe_and_moments_by_hand():
    r = np.array([1.0, 2.0, 3.0, 6.0])
    # mean 3; deviations -2 -1 0 3; sum sq 14; sd(ddof=1) = sqrt(14/3) = 2.1602; SR = 3 / 2.1602 = 1.38873
    assert sharpe(r) == pytest.approx(3 / math.sqrt(14 / 3), rel=1e-12)
    # m2 = 14/4 = 3.5; m3 = (-8 - 1 + 0 + 27)/4 = 4.5; m4 = (16 + 1 + 0 + 81)/4 = 24.5
    skew, kurt = moments(r)
    assert skew == pytest.approx(4.5 / 3.5**1.5, rel=1e-12)
    assert kurt == pytest.approx(24.5 / 3.5**2, rel=1e-12)
    assert sharpe(np.array([1.0, 1.0])) == math.inf and sharpe(np.zeros(3)) == 0.0


def test_expected_max_sharpe_two_trials_by_hand():
    # N = 2: Z^-1(1 - 1/2) = 0; Z^-1(1 - 1/(2e)) = Z^-1(0.816060) = 0.90045 (tables: Z(0.90) = 0.81594,
    # Z(0.91) = 0.81859, interpolated); SR0 = sqrt(0.04) * 0.5772157 * 0.90045 = 0.103951
    assert expected_max_sharpe(2, 0.04) == pytest.approx(0.2 * 0.5772157 * 0.90045, abs=2e-5)
    assert expected_max_sharpe(1, 0.04) == 0.0


def test_deflated_sharpe_matches_the_papers_worked_example():
    # Bailey and Lopez de Prado (2014), numerical example: best annualised SR 2.5 of N = 100 trials whose
    # annualised SRs have variance 0.5; T = 1250 daily returns, skewness -3, kurtosis 10; 250 days a year.
    # Z^-1(0.99) = 2.32635, Z^-1(1 - 1/(100 e)) = Z^-1(0.996321) = 2.68021;
    # SR0 = sqrt(0.5) * (0.4227843 * 2.32635 + 0.5772157 * 2.68021) = 0.707107 * 2.53060 = 1.78940 annualised,
    # 1.78940 / sqrt(250) = 0.113171 daily; SR = 2.5 / sqrt(250) = 0.158114 daily;
    # DSR = Z((0.158114 - 0.113166) * sqrt(1249) / sqrt(1 + 3 * 0.158114 + 9/4 * 0.158114^2))
    #     = Z(0.044943 * 35.3412 / 1.23717) = Z(1.28385) = 0.9004 (the paper's answer)
    sr0 = expected_max_sharpe(100, 0.5)
    assert sr0 == pytest.approx(1.78940, abs=1e-4)
    dsr = probabilistic_sharpe(2.5 / math.sqrt(250), sr0 / math.sqrt(250), 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=1e-4)


def test_dsr_decreases_with_the_number_of_trials():
    rng = np.random.default_rng(3)
    best = rng.normal(0.08, 1.0, 750)
    values = [deflated_sharpe(best, n, 0.002).dsr for n in (1, 2, 5, 10, 100, 1000, 10_000)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    # one trial: no deflation, the DSR is the PSR against 0
    skew, kurt = moments(best)
    assert values[0] == pytest.approx(probabilistic_sharpe(float(sharpe(best)), 0.0, 750, skew, kurt))


def test_dsr_of_a_matrix_takes_the_best_column_and_the_srs_variance():
    rng = np.random.default_rng(5)
    m = rng.normal(0.0, 1.0, (400, 20))
    m[:, 7] += 0.3
    out = deflated_sharpe_of(m)
    srs = np.asarray(sharpe(m))
    assert out.sharpe == pytest.approx(srs[7]) and out.n_trials == 20
    assert out.sr_variance == pytest.approx(np.var(srs, ddof=1))
    assert out.dsr > 0.95  # a 0.3 per-period edge over 400 periods is far above the best of 20 noise trials


def test_pbo_one_when_the_in_sample_best_is_always_worst_out_of_sample():
    # S = 2 blocks: rows 0-1 and rows 2-3. Metric: the mean.
    # train block 0: means (1, 0) -> column 0 best; test block 1: means (0, 2) -> column 0 rank 1 of 2,
    #   w = 1/3, logit ln(0.5) = -0.6931 <= 0
    # train block 1: means (0, 2) -> column 1 best; test block 0: means (1, 0) -> column 1 rank 1,
    #   w = 1/3, logit -0.6931; PBO = 2/2 = 1
    m = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
    out = pbo(m, n_blocks=2, metric="mean")
    assert out.pbo == 1.0
    assert out.best.tolist() == [0, 1]
    assert out.logits == pytest.approx([math.log(0.5), math.log(0.5)])


def test_pbo_zero_when_one_set_dominates_by_hand():
    # column 0 is best in both blocks: rank 2 of 2 out of sample, w = 2/3, logit ln 2 > 0; PBO = 0
    m = np.array([[2.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    out = pbo(m, n_blocks=2, metric="mean")
    assert out.pbo == 0.0 and out.logits == pytest.approx([math.log(2), math.log(2)])


def test_pbo_four_blocks_by_hand():
    # 4 rows, 4 blocks of one row, 3 columns; metric: the sum. C(4, 2) = 6 splits.
    m = np.array([[3.0, 1.0, 2.0],
                  [0.0, 2.0, 1.0],
                  [1.0, 0.0, 2.0],
                  [2.0, 1.0, 0.0]])
    # IS {0,1}: sums (3,3,3) -> col 0 (first on a tie); OS {2,3}: (3,1,2) -> col 0 rank 3, w 3/4, logit > 0
    # IS {0,2}: (4,1,4) -> col 0; OS {1,3}: (2,3,1) -> col 0 rank 2, w 2/4, logit 0 (counts as overfit)
    # IS {0,3}: (5,2,2) -> col 0; OS {1,2}: (1,2,3) -> col 0 rank 1, w 1/4, logit < 0
    # IS {1,2}: (1,2,3) -> col 2; OS {0,3}: (5,2,2) -> cols 1 and 2 tie at ranks 1-2: 1.5, w 1.5/4, logit < 0
    # IS {1,3}: (2,3,1) -> col 1; OS {0,2}: (4,1,4) -> col 1 rank 1, w 1/4, logit < 0
    # IS {2,3}: (3,1,2) -> col 0; OS {0,1}: (3,3,3) -> all tie at rank 2, w 2/4, logit 0
    out = pbo(m, n_blocks=4, metric="sum")
    assert out.best.tolist() == [0, 0, 0, 2, 1, 0]
    assert out.ranks == pytest.approx([0.75, 0.5, 0.25, 0.375, 0.25, 0.5])
    assert out.pbo == pytest.approx(5 / 6)


def test_pbo_of_pure_noise_is_about_one_half_or_more_and_near_zero_for_a_dominant_set():
    rng = np.random.default_rng(11)
    # pure noise: the in-sample best's rank out of sample is uniform, so PBO is 1/2 on average (one
    # matrix's PBO varies a lot, its 70 splits share the data: about 0.2 sd; the mean of 30 about 0.04 sd)
    noise = [pbo(rng.normal(size=(400, 30)), n_blocks=8).pbo for _ in range(30)]
    assert 0.38 <= float(np.mean(noise)) <= 0.62
    m = rng.normal(size=(600, 40))
    m[:, 3] += 0.5
    assert pbo(m, n_blocks=8).pbo <= 0.05


@pytest.mark.parametrize("kw,msg", [
    ({"n_blocks": 3}, "even whole number"),
    ({"n_blocks": 64}, "40 rows cannot be cut into 64 blocks"),
    ({"metric": "median"}, "metric 'median'"),
])
def test_pbo_bad_input(kw, msg):
    with pytest.raises(BacktestrError, match=msg):
        pbo(np.zeros((40, 3)), **kw)
    with pytest.raises(BacktestrError, match="at least 2 columns"):
        pbo(np.zeros((10, 1)))


@pytest.mark.parametrize("name,f", [("sharpe", lambda x: np.asarray(sharpe(x))), ("mean", lambda x: x.mean(axis=0)),
                                    ("sum", lambda x: x.sum(axis=0))])
def test_pbo_from_block_sums_equals_the_row_by_row_computation(name, f):
    # the built-in metrics are computed from per-block sums; a callable takes the rows themselves
    rng = np.random.default_rng(21)
    m = rng.normal(0.001, 0.01, (203, 12)) + 5.0 * (name == "sharpe")  # a large level: no cancellation
    m[:, 4] = 0.25  # a constant column: Sharpe +inf in every split
    fast, slow = pbo(m, n_blocks=6, metric=name), pbo(m, n_blocks=6, metric=f)
    assert fast.best.tolist() == slow.best.tolist()
    assert fast.ranks == pytest.approx(slow.ranks)
    assert fast.pbo == slow.pbo
