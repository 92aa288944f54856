"""Tests of pnlib.quadratic: Schur complements against independent formulas, exact limits
against scans, and the rotation-invariant theory against the exact truth."""

import itertools
import math

import numpy as np
import pytest

from pnlib import bounds
from pnlib import quadratic as q
from pnlib.prune import num_removed


def _psd(d, rng, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


def _keep(w, m):
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(np.abs(w), kind="stable")[:m]] = False
    return keep


def test_refit_equals_inverse_block_formula():
    # for PD H: min over w_T of 1/2 (w - w*)^T H (w - w*) with w_c = 0 is 1/2 u^T ((H^-1)_cc)^-1 u
    rng = np.random.default_rng(0)
    d = 12
    H, w = _psd(d, rng), rng.normal(size=d)
    keep = rng.random(d) < 0.5
    c = ~keep
    expected = 0.5 * w[c] @ np.linalg.solve(np.linalg.inv(H)[np.ix_(c, c)], w[c])
    assert q.least_increase(H, w, keep) == pytest.approx(expected, rel=1e-9)


def test_refit_equals_direct_minimisation():
    rng = np.random.default_rng(1)
    d = 10
    H, w, g = _psd(d, rng), rng.normal(size=d), rng.normal(size=d)
    keep = np.arange(d) % 3 != 0

    def loss(v):
        return g @ (v - w) + 0.5 * (v - w) @ H @ (v - w)

    # stationarity on the kept coordinates: H_TT v_T = H_T: w - g_T (with v_c = 0)
    v = np.zeros(d)
    rhs = H[keep] @ w - g[keep]
    v[keep] = np.linalg.solve(H[np.ix_(keep, keep)], rhs)
    assert q.least_increase(H, w, keep, grad=g) == pytest.approx(loss(v), rel=1e-9)


def test_no_refit_is_plain_quadratic_and_refit_is_smaller():
    rng = np.random.default_rng(2)
    d = 15
    H, w = _psd(d, rng), rng.normal(size=d)
    keep = rng.random(d) < 0.6
    delta = np.where(keep, 0.0, -w)
    plain = 0.5 * delta @ H @ delta
    assert q.least_increase(H, w, keep, refit=False) == pytest.approx(plain, rel=1e-12)
    assert q.least_increase(H, w, keep) <= plain + 1e-12


def test_singular_hessian_pseudo_inverse():
    rng = np.random.default_rng(3)
    H, w = _psd(10, rng, rank=4), rng.normal(size=10)
    for m in range(11):
        value = q.least_increase(H, w, _keep(w, m))
        assert 0 <= value <= q.least_increase(H, w, _keep(w, m), refit=False) + 1e-12


def test_refit_increase_monotone_along_nested_supports():
    rng = np.random.default_rng(4)
    H, w = _psd(40, rng), rng.laplace(size=40)
    values = q.magnitude_increases(H, w, np.arange(41))
    assert np.all(np.diff(values) >= -1e-12)


@pytest.mark.parametrize("refit", [True, False])
def test_magnitude_limit_matches_scan(refit):
    rng = np.random.default_rng(5)
    d = 60
    H, w = _psd(d, rng), rng.laplace(scale=0.3, size=d)
    eps = 0.05
    values = np.array([q.least_increase(H, w, _keep(w, m), refit=refit) for m in range(d + 1)])
    m_star = int(np.flatnonzero(values <= eps).max())
    lim = q.magnitude_limit(H, w, eps, refit=refit)
    assert lim.num_removed == m_star and lim.sparsity == m_star / d
    assert lim.increase == pytest.approx(values[m_star], rel=1e-9, abs=1e-15)


def test_best_support_brute_force():
    rng = np.random.default_rng(6)
    d = 8
    H, w = _psd(d, rng), rng.laplace(scale=0.5, size=d)
    eps = 0.1
    best = q.best_support_limit(H, w, eps)
    # independent check: the smallest kept size with some feasible support
    sizes = [
        k
        for k in range(d + 1)
        for kept in itertools.combinations(range(d), k)
        if q.least_increase(H, w, np.isin(np.arange(d), kept)) <= eps
    ]
    assert best.num_removed == d - min(sizes)
    assert best.sparsity >= q.magnitude_limit(H, w, eps).sparsity
    assert best.increase <= eps


def test_generators():
    rng = np.random.default_rng(7)
    lam = q.power_law_spectrum(30, 2.0, 4.0)
    assert lam.max() == pytest.approx(4.0) and np.all(np.diff(lam) > 0)
    np.testing.assert_allclose(q.power_law_spectrum(5, 0.0, 2.0), 2.0)
    Q = q.haar_orthogonal(30, rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(30), atol=1e-12)
    H = q.rotation_invariant_hessian(lam, rng)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), lam, rtol=1e-10, atol=1e-12)
    w = rng.normal(size=30)
    aligned = np.diag(q.diagonal_hessian(lam, w, alignment="aligned"))
    order = np.argsort(np.abs(w))
    assert np.all(np.diff(aligned[order]) >= 0)  # small weights, small curvature
    anti = np.diag(q.diagonal_hessian(lam, w, alignment="anti"))
    assert np.all(np.diff(anti[order]) <= 0)
    assert sorted(np.diag(q.diagonal_hessian(lam, alignment="random", rng=rng))) == sorted(lam)


def test_diagonal_hessian_refit_does_not_help():
    rng = np.random.default_rng(8)
    w = rng.normal(size=20)
    H = q.diagonal_hessian(rng.exponential(size=20), w, alignment="aligned")
    for m in (5, 10, 15):
        keep = _keep(w, m)
        assert q.least_increase(H, w, keep) == pytest.approx(
            q.least_increase(H, w, keep, refit=False)
        )


# ---------------------------------------------------------------------------- theory vs truth

CASES = [(0, "exp", 1e-3), (1, "pow", 1e-2), (2, "exp", 1e-1)]


@pytest.mark.parametrize("seed,kind,eps", CASES)
def test_rotation_invariant_free_variant_matches_schur_truth(seed, kind, eps):
    """The free variant against the exact limit, D = 500, with a derived tolerance.

    For Haar H the Schur complement S on the removed coordinates is invariant under rotations
    of those coordinates, so given its eigenvalues sigma the exact increase 1/2 u^T S u (|u| = R)
    has mean 1/2 R^2 mean(sigma) and relative standard deviation
    sd_rel = sqrt(2/(m+2)) std(sigma)/mean(sigma) (a uniformly random direction). The free
    variant sets 1/2 R^2 tau = eps with tau the large-D limit of mean(sigma). A relative error
    r of the increase moves the limit by about r / kappa, kappa = d log(increase)/ds.
    The paper's variant is checked the same way, through the exact increase at its estimate.
    """
    d = 500
    rng = np.random.default_rng(seed)
    lam = rng.exponential(1.0, d) if kind == "exp" else q.power_law_spectrum(d, 2.0, 5.0)
    w = rng.laplace(0, 0.05, d)
    H = q.rotation_invariant_hessian(lam, rng)
    free = bounds.predicted_sparsity(w, lam, eps, variant="free")
    paper = bounds.predicted_sparsity(w, lam, eps)
    truth = q.magnitude_limit(H, w, eps).sparsity

    m = num_removed(free.estimate, d)
    c = ~_keep(w, m)
    sigma = np.linalg.eigvalsh(np.linalg.inv(np.linalg.inv(H)[np.ix_(c, c)]))
    half_r2 = 0.5 * free.radius**2
    increase = q.least_increase(H, w, ~c)
    sd_rel = math.sqrt(2 / (m + 2)) * sigma.std() / sigma.mean()
    # exact (Haar) statement: the increase is within 4 standard deviations of its mean
    assert abs(increase / (half_r2 * sigma.mean()) - 1) <= 4 * sd_rel
    # large-D statement: mean(sigma) -> tau = eps / half_r2; at D = 500 its error is a few
    # percent when the spectrum has eigenvalues near 0 (the inverse is heavy-tailed)
    de_rel = abs(sigma.mean() * half_r2 / eps - 1)
    assert de_rel <= 0.03
    steps = [_keep(w, num_removed(s, d)) for s in (free.estimate - 0.02, free.estimate + 0.02)]
    kappa = math.log(q.least_increase(H, w, steps[1]) / q.least_increase(H, w, steps[0])) / 0.04
    tol = (4 * sd_rel + de_rel) / kappa + 2 / d
    assert abs(free.estimate - truth) <= tol
    # the paper's predictor: its whole error is the R^2 -> R^2 (1 - s)/s factor. Checked against
    # the exact increase at the paper's estimate s_p: the free law says it is not eps but
    # eps (1 - s_p)/s_p (the paper's curve at R is the free curve at R sqrt(s/(1 - s)))
    s_p = paper.estimate
    m_p = num_removed(s_p, d)
    c_p = ~_keep(w, m_p)
    sigma_p = np.linalg.eigvalsh(np.linalg.inv(np.linalg.inv(H)[np.ix_(c_p, c_p)]))
    increase_p = q.least_increase(H, w, ~c_p)
    mean_p = 0.5 * paper.radius**2 * sigma_p.mean()
    sd_rel_p = math.sqrt(2 / (m_p + 2)) * sigma_p.std() / sigma_p.mean()
    assert abs(increase_p / mean_p - 1) <= 4 * sd_rel_p
    assert abs(mean_p / (eps * (1 - s_p) / s_p) - 1) <= 0.03
    # so the exact limit lies on the side the factor says: below s_p when (1 - s_p)/s_p > 1
    # (more increase than eps at s_p), above it when the factor is below 1
    assert abs(1 - s_p / 0.5) > 0.05  # the cases are chosen away from the crossing at 1/2
    assert (truth < s_p) == (s_p < 0.5)


def test_bad_inputs():
    H = np.eye(3)
    with pytest.raises(ValueError, match="square"):
        q.least_increase(np.ones(3), np.ones(3), np.ones(3, bool))
    with pytest.raises(ValueError, match="match"):
        q.least_increase(H, np.ones(4), np.ones(4, bool))
    with pytest.raises(ValueError, match="eps"):
        q.magnitude_limit(H, np.ones(3), 0.0)
    with pytest.raises(ValueError, match="D <= 20"):
        q.best_support_limit(np.eye(21), np.ones(21), 0.1)
    with pytest.raises(ValueError, match="alignment"):
        q.diagonal_hessian(np.ones(3), np.ones(3), alignment="sideways")
    with pytest.raises(ValueError, match="counts"):
        q.magnitude_increases(H, np.ones(3), [4])
