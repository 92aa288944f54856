r"""The failure probability $\eta$ of the paper's lower and upper bounds, against the geometry.

Chapter 07 (thm-pl-bounds) derives the bounds from three assumptions: a quadratic loss, a
uniformly random subspace of kept directions, and the endpoint picture, in which every axis of
the loss ellipsoid $c + E$ is seen from the origin under the angle $\arctan(r_i/R)$. Pruning
$m$ of $D$ weights at distance $R$ succeeds when the random $(D-m)$-dimensional subspace meets
$\mathrm{cone}(c + E)$. The theorem: at the lower bound this happens with probability at least
$1 - \eta$, at the upper bound with probability at most $\eta$.

The endpoint picture is exact when $c$ is an axis of the ellipsoid along which it is flat (the
stiffest eigenvalue): every other axis is then orthogonal to $c$. There the tests check the
claims against the truth: exactly (Beta probabilities of a circular cone) when all other
eigenvalues are equal, and by simulating random subspaces (``pnlib.geometry``) for a spread
spectrum, with a one-sided binomial tolerance. A last test shows that the failure claim of the
upper bound rests on the endpoint picture: for a full ball it fails at large $D$.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pnlib import bounds, geometry
from pnlib.magnitude import removed_sq_norms

STIFF = 1e12  # the eigenvalue along the removed direction c: the ellipsoid is flat along c
ALPHA = 1e-6  # level of the one-sided binomial tests


def bound_points(w, lam, eps, eta):
    """The limit, and the removal counts at its lower and upper bound.

    ``m_lo``/``m_hi`` are the counts nearest the bounds that satisfy the theorem's hypotheses
    ``m/D <= s(R_m) - (a sqrt(D) + max b^2)/D`` and ``m/D >= s(R_m) + (a sqrt(D) + 1)/D``;
    the hypotheses are asserted, so a bound that is too loose or on the wrong side fails here.
    """
    d = w.size
    lim = bounds.predicted_sparsity(w, lam, eps, eta=eta)
    sq = removed_sq_norms(w)
    slack = bounds.akf_slack(d, eta)

    def s_of(m):
        return bounds.max_sparsity(lam, math.sqrt(sq[m]), eps)

    m_lo = math.floor(lim.lower * d)
    m_hi = math.ceil(lim.upper * d)
    m_hi += m_hi / d <= lim.upper
    b2max = float(np.max(2 * eps / (2 * eps + lam * sq[m_lo])))
    assert m_lo / d <= s_of(m_lo) - slack - b2max / d
    assert m_hi / d >= s_of(m_hi) + slack + 1 / d
    # the bounds are not trivially true: something is removed, something kept
    assert 0 < m_lo < round(lim.estimate * d) < m_hi < d
    return lim, np.sqrt(sq), m_lo, m_hi


def disk_probability(d, k, distance, radius):
    """Exact P{a random k-subspace meets cone(c + B)}, B a (D-1)-ball orthogonal to c.

    The cone is circular with tan(alpha) = radius / distance, and |U'e|^2 ~ Beta(k/2, (D-k)/2).
    """
    cos2 = distance**2 / (distance**2 + radius**2)
    return float(stats.beta.sf(cos2, k / 2, (d - k) / 2))


def equal_spectrum_problem(d, target=0.3, seed=0):
    """Weights, a spectrum (STIFF, then all ones) and eps whose limit is near ``target``."""
    rng = np.random.default_rng(seed)
    w = rng.laplace(0.0, 1.0, d)
    r2 = removed_sq_norms(w)[round(target * d)]
    eps = r2 / (2 * (1 / target - 1))  # s(R) = 2 eps / (2 eps + R^2) = target at R(target)
    lam = np.ones(d)
    lam[0] = STIFF
    return w, lam, eps


@pytest.mark.parametrize("d", [400, 4000, 40000])
@pytest.mark.parametrize("eta", [0.5, 0.1, 0.01])
def test_bounds_hold_with_the_exact_probability(d, eta):
    w, lam, eps = equal_spectrum_problem(d)
    lim, radius_of, m_lo, m_hi = bound_points(w, lam, eps, eta)
    r = math.sqrt(2 * eps)
    p_lo = disk_probability(d, d - m_lo, radius_of[m_lo], r)
    p_hi = disk_probability(d, d - m_hi, radius_of[m_hi], r)
    assert p_lo >= 1 - eta
    assert p_hi <= eta
    # and the estimate sits in the transition: neither bound's claim holds there
    m = round(lim.estimate * d)
    assert 0.2 < disk_probability(d, d - m, radius_of[m], r) < 0.8


def test_simulated_subspaces_match_the_exact_disk_probability():
    # the simulation of the next test against the exact law: subspace_meets_ellipsoid with a
    # flat axis along c and equal radii elsewhere is the circular-cone event
    d, n, distance, radius = 60, 400, 1.0, 0.9
    rng = np.random.default_rng(5)
    c = np.zeros(d)
    c[0] = distance
    radii = np.full(d, radius)
    radii[0] = radius * 1e-9
    for k in (15, 27, 33, 40):
        exact = disk_probability(d, k, distance, radius)
        hits = geometry.subspace_meets_ellipsoid(
            geometry.random_subspace_bases(d, k, n, generator=rng), c, radii
        )
        assert abs(hits.mean() - exact) <= 4.5 * math.sqrt(exact * (1 - exact) / n) + 1 / n


@pytest.mark.parametrize("eta", [0.5, 0.05])
def test_bounds_failure_probability_by_simulation(eta):
    # a spread spectrum (flat, medium and stiff directions) with the removed direction along
    # its stiffest axis; N random subspaces at each bound
    d, n = 100, 300
    rng = np.random.default_rng(1)
    spread = rng.exponential(1.0, d - 1) * rng.choice([0.01, 1.0, 30.0], d - 1)
    lam = np.r_[STIFF, np.sort(spread)]
    w = rng.laplace(0.0, 0.05, d)
    eps = 1e-3
    lim, radius_of, m_lo, m_hi = bound_points(w, lam, eps, eta)
    radii = np.sqrt(2 * eps / lam)
    e1 = np.eye(d)[0]
    sim = np.random.default_rng(2)

    def hits(m):
        c = radius_of[m] * e1
        assert np.sum((c / radii) ** 2) > 1  # 0 is outside c + E: w^k alone is not within eps
        bases = geometry.random_subspace_bases(d, d - m, n, generator=sim)
        return int(geometry.subspace_meets_ellipsoid(bases, c, radii).sum())

    # at most eta of the trials may fail, up to a one-sided binomial test at level ALPHA
    allowed = stats.binom.ppf(1 - ALPHA, n, eta)
    assert n - hits(m_lo) <= allowed  # lower bound: pruning succeeds w.p. >= 1 - eta
    assert hits(m_hi) <= allowed  # upper bound: it fails w.p. >= 1 - eta
    if eta == 0.5:  # the estimate is in the transition
        assert 0.2 * n < hits(round(lim.estimate * d)) < 0.8 * n


def test_upper_bound_claim_needs_the_endpoint_picture():
    # a full ball of radius r at distance R: its cone is circular with sin(alpha) = r / R, wider
    # than the endpoint picture's sin^2 = r^2 / (R^2 + r^2). At large D the subspaces at the
    # "upper bound" still meet it almost surely: the claim is one about the model
    d, eta = 40000, 0.01
    w, lam, eps = equal_spectrum_problem(d)
    lam = np.ones(d)
    lim, radius_of, _, m_hi = bound_points(w, lam, eps, eta)
    r, distance = math.sqrt(2 * eps), radius_of[m_hi]
    cos2 = 1 - (r / distance) ** 2
    assert stats.beta.sf(cos2, (d - m_hi) / 2, m_hi / 2) > 1 - eta
