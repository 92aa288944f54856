"""Tests of pnlib.bounds against closed forms, brute-force grids and exact spectra."""

import math

import numpy as np
import pytest
import torch

from pnlib import bounds, prune, spectrum
from pnlib.quadratic import rotation_invariant_hessian


def _problem(seed, d=300, scale=0.05):
    rng = np.random.default_rng(seed)
    lam = rng.exponential(1.0, d) * rng.choice([1.0, 10.0], d, p=[0.9, 0.1])
    w = rng.laplace(0.0, scale, d)
    return w, lam


def _grid_threshold(cond, n):
    grid = np.arange(n + 1) / n
    ok = np.array([cond(s) for s in grid])
    return grid, ok


# ---------------------------------------------------------------------------- closed cases


def test_all_equal_eigenvalues_density_closed_form():
    lam, eps = 2.0, 0.03
    radii = np.array([0.0, 0.1, 0.5, 2.0])
    rho = bounds.min_density(np.full(50, lam), radii, eps)
    np.testing.assert_allclose(rho, lam * radii**2 / (lam * radii**2 + 2 * eps), rtol=1e-14)


def test_all_equal_eigenvalues_threshold_analytic():
    # all |w_i| = a, so R(s)^2 = a^2 m(s) with m = num_removed(s, D) ~ s D; the fixed point of
    # s = 2 eps / (2 eps + lam a^2 s D) is the positive root of lam a^2 D s^2 + 2 eps s - 2 eps
    d, a, lam, eps = 1000, 0.1, 3.0, 0.05
    w = a * np.where(np.arange(d) % 2 == 0, 1.0, -1.0)
    c = lam * a * a * d
    analytic = (-2 * eps + math.sqrt(4 * eps**2 + 8 * eps * c)) / (2 * c)
    lim = bounds.predicted_sparsity(w, np.full(d, lam), eps)
    assert abs(lim.estimate - analytic) <= 1.0 / d  # R(s) moves in steps of one weight


def test_all_zero_spectrum_density_zero():
    w = np.random.default_rng(0).normal(size=40)
    assert bounds.min_density(np.zeros(40), 5.0, 1e-3) == 0.0
    assert bounds.max_sparsity(np.zeros(40), 5.0, 1e-3) == 1.0
    assert bounds.predicted_sparsity(w, np.zeros(40), 1e-3).estimate == 1.0


def test_zero_radius_keeps_nothing():
    assert bounds.min_density(np.array([1.0, 5.0]), 0.0, 0.1) == 0.0


# ---------------------------------------------------------------------------- R(s)


def test_removed_norm_matches_sweep_radius():
    torch.manual_seed(0)
    net = torch.nn.Linear(7, 11)
    grid = prune.sparsity_grid(50)
    result = prune.sweep(net, grid, lambda m: {})
    weights = prune.flat_prunable(net)
    ours = np.array([bounds.removed_norm(weights, s) for s in grid])
    np.testing.assert_allclose(ours, result.radius, rtol=1e-6, atol=1e-7)  # float32 weights


def test_removed_norm_counts_round_half_up():
    w = np.array([3.0, -4.0, 0.5, 12.0])
    assert bounds.removed_norm(w, 0.5) == pytest.approx(math.sqrt(0.25 + 9))  # 2 removed
    assert bounds.removed_norm(w, 0.375) == pytest.approx(math.sqrt(0.25 + 9))  # 1.5 -> 2
    assert bounds.removed_norm(w, 0.0) == 0.0
    assert bounds.removed_norm(w, 1.0) == pytest.approx(math.sqrt(np.sum(w**2)))


# ---------------------------------------------------------------------------- fixed point


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("variant", ["paper", "free"])
def test_fixed_point_unique_and_matches_grid(seed, variant):
    w, lam = _problem(seed)
    eps = [1e-3, 1e-2, 1e-1][seed]
    lim = bounds.predicted_sparsity(w, lam, eps, variant=variant)
    rn = bounds.RemovedNorm(w)

    def cond(s):
        if variant == "paper":
            return bounds.max_sparsity(lam, rn(s), eps) >= s
        if s == 0:
            return True
        if s == 1:
            return 0.5 * rn(1.0) ** 2 * lam.mean() <= eps
        return bounds.max_sparsity(lam, rn(s) * math.sqrt((1 - s) / s), eps) >= s

    n = 2000
    grid, ok = _grid_threshold(cond, n)
    # uniqueness: the condition holds on an initial interval and nowhere after it
    first_fail = np.flatnonzero(~ok).min()
    assert ok[:first_fail].all() and not ok[first_fail:].any()
    assert grid[first_fail - 1] - 1e-9 <= lim.estimate <= grid[first_fail] + 1e-9
    assert lim.radius == pytest.approx(rn(lim.estimate))


def test_g_strictly_decreasing():
    w, lam = _problem(3)
    rn = bounds.RemovedNorm(w)
    grid = np.linspace(0, 1, 501)
    g = np.array([bounds.max_sparsity(lam, rn(s), 1e-2) - s for s in grid])
    assert np.all(np.diff(g) < 0)


@pytest.mark.parametrize("seed", range(6))
def test_lower_estimate_upper(seed):
    w, lam = _problem(seed, d=200 + 300 * seed)
    lim = bounds.predicted_sparsity(w, lam, 10.0 ** (-seed % 3 - 1), eta=0.05)
    assert 0 <= lim.lower <= lim.estimate <= lim.upper <= 1
    assert lim.gap == pytest.approx(lim.upper - lim.lower)
    assert lim.density == pytest.approx(1 - lim.estimate)


def test_bounds_shrink_with_dimension():
    # the slack (a_eta sqrt(D) + 1)/D falls like 1/sqrt(D): same distributions, D x 16
    gaps = []
    for d in (250, 4000):
        rng = np.random.default_rng(0)
        lim = bounds.predicted_sparsity(
            rng.laplace(0, 0.05, d), rng.exponential(1.0, d), 1e-2, eta=0.01
        )
        gaps.append(lim.gap)
    assert gaps[1] < 0.4 * gaps[0]


def test_free_and_paper_coincide_at_one_half_and_order_around_it():
    # R^2 (1 - s)/s equals R^2 at s = 1/2 and is smaller above it: the two conditions
    # agree at 1/2, the free one holds whenever the paper's does above 1/2 and vice versa below
    for seed, eps in [(0, 1e-3), (1, 1e-2), (2, 1e-1), (3, 0.3)]:
        w, lam = _problem(seed)
        p = bounds.predicted_sparsity(w, lam, eps).estimate
        f = bounds.predicted_sparsity(w, lam, eps, variant="free").estimate
        if p >= 0.5:
            assert f >= p - 1e-9
        if f <= 0.5:
            assert f <= p + 1e-9


def test_zero_mass_equals_appended_zero_eigenvalues():
    rng = np.random.default_rng(4)
    lam = rng.exponential(size=100)
    radii = np.array([0.1, 1.0, 3.0])
    appended = bounds.max_sparsity(np.concatenate([lam, np.zeros(100)]), radii, 0.01)
    mass = bounds.max_sparsity(lam, radii, 0.01, zero_mass=0.5)
    np.testing.assert_allclose(appended, mass, rtol=1e-13)


def test_negative_clip_is_abs_of_clipped_spectrum():
    lam = np.array([-2.0, -0.1, 0.0, 0.5, 3.0])
    clipped = bounds.min_density(lam, 0.7, 0.05, negative="clip")
    assert clipped == pytest.approx(bounds.min_density(np.maximum(lam, 0), 0.7, 0.05))
    assert bounds.min_density(lam, 0.7, 0.05) > clipped  # |lambda| adds curvature


# ---------------------------------------------------------------------------- SLQ input


def test_slq_threshold_within_slq_error():
    # Lemma (chapter): if |s_a(R) - s_b(R)| <= delta for all R, the fixed points differ by at
    # most delta. With SLQ the curve's error at R(s*) has standard error `stderr`; allow 5 of them
    d = 400
    rng = np.random.default_rng(5)
    lam = np.concatenate([rng.exponential(0.2, d - 20), rng.uniform(5, 50, 20)])
    H = rotation_invariant_hessian(lam, rng)
    w = rng.laplace(0, 0.05, d)
    eps = 1e-2
    exact = bounds.predicted_sparsity(w, np.linalg.eigvalsh(H), eps)
    res = spectrum.slq(torch.from_numpy(H), d, 40, num_probes=30, generator=0)
    approx = bounds.predicted_sparsity(w, res, eps)
    assert approx.stderr > 0
    assert abs(approx.estimate - exact.estimate) <= 5 * approx.stderr
    assert exact.stderr == 0.0


def test_slq_density_matches_direct_quadrature():
    r = spectrum.SLQResult(nodes=[[0.0, 2.0], [1.0, 3.0]], weights=[[0.5, 0.5], [0.5, 0.5]], dim=2)
    eps, radius = 0.5, 1.0  # f = 1/(1 + lam): probe means (1 + 1/3)/2 and (1/2 + 1/4)/2
    expected = 0.5 * ((1 + 1 / 3) / 2 + (1 / 2 + 1 / 4) / 2)
    assert bounds.max_sparsity(r, radius, eps) == pytest.approx(expected)


# ---------------------------------------------------------------------------- sharpness forms


@pytest.mark.parametrize("seed", range(4))
def test_trace_bounds_bracket_density(seed):
    w, lam = _problem(seed, d=200)
    summ = bounds.spectral_summary(lam)
    assert summ["trace"] == pytest.approx(lam.sum())
    for radius in (0.01, 0.1, 1.0, 10.0):
        rho = bounds.min_density(lam, radius, 1e-2)
        lo, hi = bounds.density_trace_bounds(radius, 1e-2, summ["trace"], summ["lam_max"], 200)
        assert lo - 1e-12 <= rho <= hi + 1e-12
        assert rho <= bounds.flat_density(radius, 1e-2, summ["trace"], 200) + 1e-12
    low, high = bounds.trace_threshold_bracket(w, summ["trace"], summ["lam_max"], 1e-2)
    est = bounds.predicted_sparsity(w, lam, 1e-2).estimate
    assert low - 1e-9 <= est <= high + 1e-9
    assert bounds.flat_predicted_sparsity(w, summ["trace"], 1e-2) <= est + 1e-9


def test_flat_regime_is_first_order():
    lam = np.random.default_rng(1).exponential(size=100)
    radius, eps = 1e-3, 1.0  # lam R^2 << 2 eps
    rho = bounds.min_density(lam, radius, eps)
    assert rho == pytest.approx(bounds.flat_density(radius, eps, lam.sum(), 100), rel=1e-5)


# ---------------------------------------------------------------------------- scaling


def test_scaled_prediction_naive_monotone_and_reparametrization_invariant():
    w, lam = _problem(7)
    base = bounds.predicted_sparsity(w, lam, 1e-2)
    previous = base.estimate
    for c in (2.0, 3.0, 4.0, 5.0):
        sp = bounds.scaled_prediction(w, lam, 1e-2, c)
        assert sp.reparametrized.estimate == pytest.approx(base.estimate, abs=1e-9)
        assert sp.naive.estimate <= previous + 1e-12
        previous = sp.naive.estimate
        assert sp.consistent is None
    sp = bounds.scaled_prediction(w, lam, 1e-2, 2.0, scaled_spectrum=lam * 4, scaled_eps=1e-2)
    assert sp.consistent.estimate <= sp.naive.estimate


# ---------------------------------------------------------------------------- bad input


def test_bad_inputs():
    w, lam = np.ones(3), np.ones(3)
    with pytest.raises(ValueError, match="eps"):
        bounds.min_density(lam, 1.0, 0.0)
    with pytest.raises(ValueError, match="eps"):
        bounds.predicted_sparsity(w, lam, -1.0)
    with pytest.raises(ValueError, match="radius"):
        bounds.min_density(lam, -1.0, 0.1)
    with pytest.raises(ValueError, match="sparsity"):
        bounds.removed_norm(w, 1.5)
    with pytest.raises(ValueError, match="sparsity"):
        bounds.removed_norm(w, -0.1)
    with pytest.raises(ValueError, match="empty"):
        bounds.min_density(np.array([]), 1.0, 0.1)
    with pytest.raises(ValueError, match="dimension"):
        bounds.predicted_sparsity(np.ones(4), lam, 0.1)
    with pytest.raises(ValueError, match="negative"):
        bounds.min_density(lam, 1.0, 0.1, negative="drop")
    with pytest.raises(ValueError, match="variant"):
        bounds.predicted_sparsity(w, lam, 0.1, variant="other")
    with pytest.raises(ValueError, match="zero_mass"):
        bounds.max_sparsity(lam, 1.0, 0.1, zero_mass=1.5)
    with pytest.raises(ValueError, match="scale"):
        bounds.scaled_prediction(w, lam, 0.1, 0.0)
    with pytest.raises(ValueError, match="eta"):
        bounds.predicted_sparsity(w, lam, 0.1, eta=1.0)


# ---------------------------------------------------------------------------- threshold_fixed_point


class Counted:
    """A predicate that records where it was asked."""

    def __init__(self, predicate):
        self.predicate, self.calls = predicate, []

    def __call__(self, s):
        self.calls.append(s)
        return self.predicate(s)


@pytest.mark.parametrize("t", [0.0, 1e-7, 0.25, 1 / 3, 0.5, 0.9, 1 - 1e-7])
@pytest.mark.parametrize("strict", [False, True])
def test_threshold_fixed_point_finds_the_edge_of_a_monotone_predicate(t, strict):
    tol = 1e-9
    cond = Counted((lambda s: s < t) if strict else (lambda s: s <= t))
    s = bounds.threshold_fixed_point(cond, tol)
    if strict and t == 0.0:  # false already at 0: the answer is 0 by definition
        assert s == 0.0 and cond.calls == [0.0]
        return
    # the answer is a point where the predicate holds, within tol below the edge
    assert cond.predicate(s)
    assert t - tol <= s <= t
    # bisection: 2 end checks and log2(1/tol) halvings
    assert len(cond.calls) <= 2 + math.ceil(math.log2(1 / tol))


def test_threshold_fixed_point_edge_cases_zero_and_one():
    never = Counted(lambda s: False)
    assert bounds.threshold_fixed_point(never) == 0.0
    assert never.calls == [0.0]  # decided at once
    always = Counted(lambda s: True)
    assert bounds.threshold_fixed_point(always) == 1.0
    assert always.calls == [0.0, 1.0]
    # true only at 0 (an atom): the answer is 0 within the tolerance
    assert bounds.threshold_fixed_point(lambda s: s == 0.0, 1e-6) < 1e-6
    # false only at 1: the answer is 1 within the tolerance
    assert 1 - 1e-6 < bounds.threshold_fixed_point(lambda s: s < 1.0, 1e-6) < 1.0


@pytest.mark.parametrize("tol", [1e-2, 1e-4, 1e-8, 1e-12])
def test_threshold_fixed_point_tolerance_sets_width_and_cost(tol):
    t = 0.637
    cond = Counted(lambda s: s <= t)
    s = bounds.threshold_fixed_point(cond, tol)
    assert t - tol <= s <= t
    # the final bracket [s, s + width] straddles the edge and is no wider than tol
    halvings = len(cond.calls) - 2
    assert halvings == math.ceil(math.log2(1 / tol))
    assert not cond.predicate(s + 2.0**-halvings)


def test_threshold_fixed_point_of_a_step_function_lands_on_the_step():
    # g(s) = s(R(s)) - s jumps down where R(s) jumps: a predicate with jumps and flat parts;
    # on a grid of 1/1000 the answer is the last grid point where it still holds
    w, lam = _problem(0)
    rn = bounds.RemovedNorm(w)

    def cond(s):
        return bounds.max_sparsity(lam, rn(s), 1e-2) >= s

    s = bounds.threshold_fixed_point(cond, 1e-12)
    assert cond(s) and not cond(s + 1e-9)
    grid, ok = _grid_threshold(cond, 1000)
    last = grid[np.flatnonzero(ok).max()]
    assert last <= s < last + 1e-3
