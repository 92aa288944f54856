"""Tests of pnlib.geometry against closed forms, independent quadrature and Monte Carlo.

Monte Carlo tolerances are 5 standard errors of the estimator (a false alarm rate below 1e-6 per
check for a Gaussian limit); every generator is seeded per test.
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from pnlib import geometry as G

PI = math.pi


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------------------
# closed forms against reference values and independent quadrature

CIRC_TABLE = [  # (D, angle, delta) to 6 places; delta -> D sin^2(angle) + cos(2 angle) as D grows
    (2, PI / 6, 0.833333),
    (3, PI / 6, 1.133975),
    (3, PI / 3, 1.866025),
    (10, PI / 6, 2.983547),
    (10, PI / 4, 5.0),
    (10, PI / 3, 7.016453),
    (50, PI / 6, 12.999991),
    (50, PI / 3, 37.000009),
    (1000, PI / 6, 250.5),
    (1000, PI / 3, 749.5),
]


@pytest.mark.parametrize(("dim", "angle", "value"), CIRC_TABLE)
def test_circular_cone_reference_values(dim, angle, value):
    assert G.statistical_dimension_circular_cone(dim, angle) == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("angle", [0.0, 0.2, PI / 4, 1.3, PI / 2])
def test_circular_cone_in_two_dimensions_is_a_wedge(angle):
    # a wedge of angle 2 alpha: delta = 2 alpha / pi + 1/2
    assert G.statistical_dimension_circular_cone(2, angle) == pytest.approx(
        2 * angle / PI + 0.5, abs=1e-10
    )


def _circ_by_2d_quadrature(dim, alpha):
    """E ||Pi(g)||^2 with g = (t, rest), ||rest|| = rho ~ chi_{D-1}: no angles involved.

    For fixed rho the point is kept when t >= rho cot(alpha), maps to the generator with squared
    norm (t cos + rho sin)^2 when -rho tan(alpha) < t < rho cot(alpha), and to 0 below; the
    t-integrals are Gaussian moments in closed form, the rho-integral is done by quad.
    """
    ca, sa = math.cos(alpha), math.sin(alpha)
    Phi, phi = stats.norm.cdf, stats.norm.pdf

    def moments(a, b):  # int_a^b (1, t, t^2) phi(t) dt
        m0 = Phi(b) - Phi(a)
        m1 = phi(a) - phi(b)
        fa = 0.0 if np.isinf(a) else a * phi(a)
        fb = 0.0 if np.isinf(b) else b * phi(b)
        return m0, m1, m0 - (fb - fa)

    def inner(rho):
        lo, hi = -rho * sa / ca, (rho * ca / sa if sa > 0 else np.inf)
        k0, _, k2 = moments(hi, np.inf)
        m0, m1, m2 = moments(lo, hi)
        kept = k2 + rho * rho * k0
        ray = ca * ca * m2 + 2 * ca * sa * rho * m1 + sa * sa * rho * rho * m0
        return (kept + ray) * stats.chi.pdf(rho, dim - 1)

    return integrate.quad(inner, 0, 12 + math.sqrt(dim), epsabs=1e-12, limit=200)[0]


@pytest.mark.parametrize(("dim", "angle"), [(3, 0.4), (6, PI / 6), (10, 1.1)])
def test_circular_cone_against_two_dimensional_quadrature(dim, angle):
    assert G.statistical_dimension_circular_cone(dim, angle) == pytest.approx(
        _circ_by_2d_quadrature(dim, angle), abs=1e-7
    )


@pytest.mark.parametrize(("dim", "angle"), [(2, 0.3), (7, 0.5), (40, 1.2), (500, PI / 8)])
def test_circular_cone_plus_its_polar_is_dim(dim, angle):
    # the polar of Circ(alpha) is -Circ(pi/2 - alpha)
    total = G.statistical_dimension_circular_cone(
        dim, angle
    ) + G.statistical_dimension_circular_cone(dim, PI / 2 - angle)
    assert total == pytest.approx(dim, abs=1e-8)


PSI_TABLE = [  # rho, psi, tau*, psi_plus, tau_plus* (section 6.4)
    (0.001, 0.009458, 2.6329, 0.008415, 2.4361),
    (0.01, 0.061244, 1.9451, 0.052219, 1.7208),
    (0.05, 0.203900, 1.3984, 0.167082, 1.1589),
    (0.1, 0.328794, 1.1402, 0.265304, 0.9015),
    (0.2, 0.511130, 0.8616, 0.409903, 0.6360),
    (0.5, 0.831300, 0.4363, 0.695631, 0.2760),
    (0.9, 0.993620, 0.0800, 0.948324, 0.0420),
]


@pytest.mark.parametrize(("rho", "psi", "tau", "psi_plus", "tau_plus"), PSI_TABLE)
def test_l1_phase_function_table(rho, psi, tau, psi_plus, tau_plus):
    value, t = G.l1_phase_function(rho)
    assert value == pytest.approx(psi, abs=1e-6)
    assert t == pytest.approx(tau, abs=1e-4)
    value, t = G.l1_phase_function(rho, nonnegative=True)
    assert value == pytest.approx(psi_plus, abs=1e-6)
    assert t == pytest.approx(tau_plus, abs=1e-4)


@pytest.mark.parametrize("rho", [0.003, 0.07, 0.3, 0.8])
def test_l1_phase_function_against_quadrature(rho):
    # the integral form, minimised numerically: an independent implementation of psi
    def objective(tau):
        tail = integrate.quad(lambda u: (u - tau) ** 2 * math.exp(-u * u / 2), tau, np.inf)[0]
        return rho * (1 + tau * tau) + (1 - rho) * math.sqrt(2 / PI) * tail

    best = optimize.minimize_scalar(
        objective, bounds=(0, 6), method="bounded", options={"xatol": 1e-10}
    )
    assert G.l1_phase_function(rho)[0] == pytest.approx(best.fun, abs=1e-8)
    assert G.statistical_dimension_l1_descent_cone(1000, round(1000 * rho)) == pytest.approx(
        1000 * best.fun, rel=1e-7
    )


def test_simple_closed_forms():
    assert G.statistical_dimension_orthant(7) == 3.5
    assert G.statistical_dimension_subspace(9, 4) == 4.0
    assert G.statistical_dimension_psd_cone(4) == 5.0
    assert G.statistical_dimension_l1_descent_cone(10, 10) == pytest.approx(10.0)
    assert G.pruning_cone_statistical_dimension_approx(np.array([1.0, 2.0]), 2.0) == (
        pytest.approx(1 / 5 + 4 / 8)
    )


@pytest.mark.parametrize(
    ("eta", "value"), [(0.5, 4.0787), (0.1, 5.4324), (0.01, 6.9233), (0.001, 8.1457)]
)
def test_kinematic_constant(eta, value):
    assert G.kinematic_a_eta(eta) == pytest.approx(value, abs=1e-4)
    assert G.kinematic_slack(100, eta) == pytest.approx(10 * value, abs=1e-3)


def test_gaussian_width_unit_ball_and_ellipsoid_quadrature():
    for dim in (1, 2, 5, 100):
        chi_mean = stats.chi.mean(dim)
        assert G.gaussian_width_unit_ball(dim) == pytest.approx(chi_mean, rel=1e-12)
        assert G.gaussian_width_ellipsoid(np.full(dim, 3.0)) == pytest.approx(
            3 * chi_mean, rel=1e-9
        )
    # two axes: g = rho (cos t, sin t) with E rho = sqrt(pi/2) and t uniform
    a, b = 0.3, 2.0
    mean_over_angle = integrate.quad(
        lambda t: math.hypot(a * math.cos(t), b * math.sin(t)), 0, 2 * PI, epsabs=1e-13
    )[0] / (2 * PI)
    assert G.gaussian_width_ellipsoid(np.array([a, b])) == pytest.approx(
        math.sqrt(PI / 2) * mean_over_angle, abs=1e-9
    )


def test_gaussian_width_ellipsoid_bounds_and_monte_carlo():
    radii = np.geomspace(0.01, 3.0, 30)
    exact = G.gaussian_width_ellipsoid(radii)
    lower, upper = G.gaussian_width_ellipsoid_bounds(radii)
    assert lower <= exact <= upper
    est, se = G.gaussian_width_mc(
        lambda g: np.linalg.norm(radii * g, axis=1), 30, num_samples=20_000, generator=rng(3)
    )
    assert abs(est - exact) <= 5 * se


def test_wendel_probability():
    assert G.wendel_probability(20, 10) == 0.5
    assert G.wendel_probability(9, 9) == pytest.approx(1.0)
    assert G.wendel_probability(9, 0) == 0.0
    # a random line meets the orthant iff one of +-u is positive: 2 / 2^D
    assert G.wendel_probability(6, 1) == pytest.approx(2 / 2**6)
    # symmetry of the binomial: P(k) + P(D - k) = 1 (the orthant is self-dual)
    assert G.wendel_probability(15, 4) + G.wendel_probability(15, 11) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------
# projections: membership, optimality (residual in the polar, orthogonal), idempotence


def _basis():
    return rng(5).standard_normal((7, 3))


X0 = np.array([1.5, 0.0, -2.0, 0.0, 0.0, 0.3, 0.0])
CENTER = np.array([2.0, -1.0, 0.5, 1.0, 0.0, 0.3, -0.7])
RADII = np.array([0.3, 1.5, 0.8, 2.0, 0.1, 1.0, 0.6])


def _circ_member(y, alpha, tol):
    return y[:, 0] * math.sin(alpha) >= np.linalg.norm(y[:, 1:], axis=1) * math.cos(alpha) - tol


def _ellipsoid_cone_member(y, tol):
    # y in cone(c + E) iff min_{t >= 0} ||(y - t c)/r|| - t <= 0 (convex in t)
    vals = []
    for row in y:
        f = lambda t, row=row: np.linalg.norm((row - t * CENTER) / RADII) - t  # noqa: E731
        hi = 10 * (1 + np.linalg.norm(row))
        vals.append(
            optimize.minimize_scalar(
                f, bounds=(0, hi), method="bounded", options={"xatol": 1e-12}
            ).fun
        )
    return np.array(vals) <= tol


CONES = {
    "orthant": (
        G.project_orthant,
        lambda y, tol: np.all(y >= -tol, axis=1),
        lambda z, tol: np.all(z <= tol, axis=1),
    ),
    "subspace": (
        lambda x: G.project_subspace(x, _basis()),
        lambda y, tol: np.linalg.norm(y - G.project_subspace(y, _basis()), axis=1) <= tol,
        lambda z, tol: np.linalg.norm(z @ _basis(), axis=1) <= tol,
    ),
    "circular": (
        lambda x: G.project_circular_cone(x, 0.6),
        lambda y, tol: _circ_member(y, 0.6, tol),
        lambda z, tol: _circ_member(-z, PI / 2 - 0.6, tol),
    ),
    "l1": (
        lambda x: G.project_l1_descent_cone(x, X0),
        # descent direction: directional derivative of ||.||_1 at X0 is <= 0
        lambda y, tol: (
            y[:, X0 != 0] @ np.sign(X0[X0 != 0]) + np.abs(y[:, X0 == 0]).sum(axis=1) <= tol
        ),
        # z = tau * subgradient: z_S = tau sign, |z_off| <= tau
        lambda z, tol: (
            np.all(
                np.abs(z[:, X0 != 0] - np.sign(X0[X0 != 0]) * (z[:, [0]] / np.sign(X0[0]))) <= tol,
                axis=1,
            )
            & np.all(np.abs(z[:, X0 == 0]) <= (z[:, [0]] / np.sign(X0[0])) + tol, axis=1)
        ),
    ),
    "ellipsoid": (
        lambda x: G.project_ellipsoid_cone(x, CENTER, RADII),
        _ellipsoid_cone_member,
        lambda z, tol: z @ CENTER + np.linalg.norm(RADII * z, axis=1) <= tol,
    ),
}


@pytest.mark.parametrize("name", list(CONES))
def test_projection_is_the_moreau_projection(name):
    project, in_cone, in_polar = CONES[name]
    x = 2.0 * rng(11).standard_normal((60, 7))
    p, z = G.moreau_decomposition(project, x)
    scale = np.sum(x * x, axis=1)
    assert np.all(np.abs(np.sum(p * z, axis=1)) <= 1e-10 * scale)  # orthogonal parts
    np.testing.assert_allclose(p + z, x, atol=1e-12)
    assert np.all(in_cone(p, 1e-9))  # lands in the cone
    assert np.all(in_polar(z, 1e-9))  # the residual lies in the polar: optimality
    np.testing.assert_allclose(project(p), p, atol=1e-9)  # idempotent
    np.testing.assert_allclose(G.polar_projection(project)(x), z, atol=1e-12)
    np.testing.assert_allclose(project(x[0]), p[0], atol=1e-12)  # single point keeps its shape


def test_psd_projection_moreau_and_svec_isometry():
    n = 4
    v = rng(2).standard_normal((50, n * (n + 1) // 2))
    A = G.smat(v, n)
    np.testing.assert_allclose(G.svec(A), v, atol=1e-15)
    B = G.smat(rng(3).standard_normal((50, 10)), n)
    np.testing.assert_allclose(
        np.sum(G.svec(A) * G.svec(B), axis=1), np.einsum("bij,bji->b", A, B), atol=1e-12
    )
    p, z = G.moreau_decomposition(lambda x: G.project_psd_cone(x, n), v)
    assert np.abs(np.sum(p * z, axis=1)).max() <= 1e-10 * np.sum(v * v, axis=1).max()
    assert np.linalg.eigvalsh(G.smat(p, n)).min() >= -1e-12
    assert np.linalg.eigvalsh(G.smat(z, n)).max() <= 1e-12
    np.testing.assert_allclose(G.project_psd_cone(p, n), p, atol=1e-12)


def test_ellipsoid_cone_with_equal_radii_is_the_ball_cone():
    c = rng(4).standard_normal(9)
    c *= 3.0 / np.linalg.norm(c)
    x = 2.0 * rng(6).standard_normal((300, 9))
    np.testing.assert_allclose(
        G.project_ellipsoid_cone(x, c, np.full(9, 1.3)), G.project_ball_cone(x, c, 1.3), atol=1e-10
    )


def test_ellipsoid_distance_from_origin():
    # on an axis: dist(0, c + E) = |c_1| - r_1 when c = (c_1, 0, ...)
    assert G.ellipsoid_distance_from_origin(np.array([5.0, 0.0]), np.array([2.0, 7.0])) == (
        pytest.approx(3.0, abs=1e-12)
    )


# ------------------------------------------------------------------------------------------
# Monte Carlo against closed forms (5 standard errors)

MC_CASES = {
    "orthant": (G.project_orthant, 12, 6.0),
    "subspace": (lambda x: G.project_subspace(x, rng(1).standard_normal((12, 5))), 12, 5.0),
    "psd": (lambda x: G.project_psd_cone(x, 4), 10, G.statistical_dimension_psd_cone(4)),
    "circular": (
        lambda x: G.project_circular_cone(x, 0.5),
        15,
        G.statistical_dimension_circular_cone(15, 0.5),
    ),
    "ball-cone": (
        lambda x: G.project_ball_cone(x, np.r_[np.zeros(19), 2.0], 0.8),
        20,
        G.statistical_dimension_circular_cone(20, math.asin(0.4)),
    ),
}


@pytest.mark.parametrize("name", list(MC_CASES))
def test_statistical_dimension_monte_carlo(name):
    project, dim, exact = MC_CASES[name]
    est, se = G.statistical_dimension_mc(project, dim, num_samples=8000, generator=rng(21))
    assert se > 0
    assert abs(est - exact) <= 5 * se


def test_ellipsoid_cone_monte_carlo_equals_ball_formula():
    c = np.r_[np.zeros(11), 2.0]
    est, se = G.statistical_dimension_mc(
        lambda x: G.project_ellipsoid_cone(x, c, np.full(12, 1.0)),
        12,
        num_samples=4000,
        generator=rng(8),
    )
    exact = G.statistical_dimension_circular_cone(12, math.asin(0.5))
    assert abs(est - exact) <= 5 * se


def test_l1_monte_carlo_below_the_formula():
    dim, s = 100, 10
    x0 = np.r_[np.ones(s), np.zeros(dim - s)]
    est, se = G.statistical_dimension_mc(
        lambda x: G.project_l1_descent_cone(x, x0), dim, num_samples=4000, generator=rng(9)
    )
    bound = G.statistical_dimension_l1_descent_cone(dim, s)
    assert est <= bound + 5 * se  # D psi is an upper bound (ALMT Thm 4.3)
    assert est >= bound - 2 * math.sqrt(dim / s) - 5 * se  # and tight to O(sqrt(D/s))


def test_statistical_dimension_plus_polar_is_dim():
    project = lambda x: G.project_ellipsoid_cone(x, CENTER, RADII)  # noqa: E731
    a, sa = G.statistical_dimension_mc(project, 7, num_samples=4000, generator=rng(12))
    b, sb = G.statistical_dimension_mc(
        G.polar_projection(project), 7, num_samples=4000, generator=rng(13)
    )
    assert abs(a + b - 7) <= 5 * math.hypot(sa, sb)


@pytest.mark.parametrize(
    ("project", "dim", "delta"),
    [
        (G.project_orthant, 10, 5.0),
        (lambda x: G.project_subspace(x, np.eye(10)[:, :4]), 10, 4.0),
        (
            lambda x: G.project_circular_cone(x, 0.3),
            10,
            G.statistical_dimension_circular_cone(10, 0.3),
        ),
    ],
)
def test_width_squared_brackets_statistical_dimension(project, dim, delta):
    w, se = G.gaussian_width_mc(
        lambda g: np.linalg.norm(project(g), axis=1), dim, num_samples=8000, generator=rng(14)
    )
    tol = 5 * 2 * w * se  # standard error of w^2 by the delta method
    assert w * w <= delta + tol
    assert delta <= w * w + 1 + tol


def test_width_of_subspace_exact():
    w, se = G.gaussian_width_mc(
        lambda g: np.linalg.norm(G.project_subspace(g, np.eye(8)[:, :5]), axis=1),
        8,
        num_samples=8000,
        generator=rng(15),
    )
    assert abs(w - G.gaussian_width_unit_ball(5)) <= 5 * se


# ------------------------------------------------------------------------------------------
# phase transitions


def test_circular_cone_transition_matches_exact_beta_law_and_kinematic_formula():
    dim, angle, trials = 40, PI / 5, 1000
    ks = np.arange(0, dim + 1, 2)
    res = G.phase_transition(
        lambda U: G.subspace_meets_circular_cone(U, angle),
        dim,
        ks,
        num_trials=trials,
        generator=rng(16),
    )
    exact = np.array(
        [
            1.0
            if k == dim
            else 0.0
            if k == 0
            else stats.beta.sf(math.cos(angle) ** 2, k / 2, (dim - k) / 2)
            for k in ks
        ]
    )
    se = np.sqrt(exact * (1 - exact) / trials)
    assert np.all(np.abs(res.probability - exact) <= 5 * se + 1e-12)
    k50 = G.crossing_point(res.ks, res.probability)
    predicted = dim - G.statistical_dimension_circular_cone(dim, angle)
    assert abs(k50 - predicted) <= G.kinematic_slack(dim, 0.5)
    # the exact law crosses within one step of the grid of the prediction
    assert abs(G.crossing_point(ks, exact) - predicted) <= 2.0


def test_ellipsoid_transition_crosses_near_the_exact_statistical_dimension():
    dim = 30
    radii = np.geomspace(0.2, 3.0, dim)
    c = rng(17).standard_normal(dim)
    c *= 2.0 / np.linalg.norm(c)
    delta, se = G.statistical_dimension_mc(
        lambda x: G.project_ellipsoid_cone(x, c, radii), dim, num_samples=2000, generator=rng(18)
    )
    res = G.phase_transition(
        lambda U: G.subspace_meets_ellipsoid(U, c, radii),
        dim,
        np.arange(dim + 1),
        num_trials=400,
        generator=rng(19),
    )
    k50 = G.crossing_point(res.ks, res.probability)
    assert abs(k50 - (dim - delta)) <= G.kinematic_slack(dim, 0.5) + 5 * se
    # exact identity (summed Crofton formula): the area under the curve is delta + 1/2
    area, area_se = G.statistical_dimension_from_transition(res, dim)
    assert abs(area - delta) <= 5 * math.hypot(se, area_se)
    assert res.probability[0] == 0.0 and res.probability[-1] == 1.0


def test_subspace_meets_ellipsoid_by_direct_minimisation():
    dim = 6
    c = np.array([2.0, 0.5, -1.0, 0.0, 1.0, 0.2])
    r = np.array([0.5, 1.0, 2.0, 0.3, 1.5, 0.7])
    U = G.random_subspace_bases(dim, 2, 40, generator=rng(20))
    fast = G.subspace_meets_ellipsoid(U, c, r)
    slow = [np.linalg.lstsq(B / r[:, None], c / r, rcond=None) for B in U]
    direct = [np.sum(((B @ sol[0] - c) / r) ** 2) <= 1 for B, sol in zip(U, slow, strict=True)]
    np.testing.assert_array_equal(fast, direct)
    assert 0 < fast.sum() < 40


@pytest.mark.slow  # a Monte Carlo phase transition over many dimensions
def test_orthant_transition_matches_wendel():
    dim, trials = 12, 300
    ks = np.array([3, 5, 6, 7, 9])
    res = G.phase_transition(
        G.subspace_meets_orthant, dim, ks, num_trials=trials, generator=rng(22)
    )
    exact = np.array([G.wendel_probability(dim, int(k)) for k in ks])
    assert np.all(np.abs(res.probability - exact) <= 5 * np.sqrt(exact * (1 - exact) / trials))


def test_crossing_point():
    assert G.crossing_point(np.array([0, 1, 2, 3]), np.array([0.0, 0.2, 0.6, 1.0])) == (
        pytest.approx(1.75)
    )
    with pytest.raises(ValueError, match="does not cross"):
        G.crossing_point(np.array([0, 1]), np.array([0.0, 0.3]))


def test_basis_pursuit_recovers_and_fails():
    g = rng(23)
    d, s = 60, 4
    x0 = np.zeros(d)
    x0[g.choice(d, s, replace=False)] = g.standard_normal(s)
    A = g.standard_normal((40, d))
    np.testing.assert_allclose(G.basis_pursuit(A, A @ x0), x0, atol=1e-7)
    A = g.standard_normal((3, d))  # far fewer measurements than the transition
    assert np.linalg.norm(G.basis_pursuit(A, A @ x0) - x0) > 1e-3


# ------------------------------------------------------------------------------------------
# bad inputs


@pytest.mark.parametrize(
    "call",
    [
        lambda: G.statistical_dimension_orthant(0),
        lambda: G.statistical_dimension_orthant(2.5),
        lambda: G.statistical_dimension_subspace(3, 4),
        lambda: G.statistical_dimension_psd_cone(-1),
        lambda: G.statistical_dimension_circular_cone(1, 0.3),
        lambda: G.statistical_dimension_circular_cone(5, 2.0),
        lambda: G.statistical_dimension_l1_descent_cone(10, 0),
        lambda: G.statistical_dimension_l1_descent_cone(10, 11),
        lambda: G.l1_phase_function(0.0),
        lambda: G.pruning_cone_statistical_dimension_approx(np.array([1.0, -1.0]), 1.0),
        lambda: G.pruning_cone_statistical_dimension_approx(np.ones(3), 0.0),
        lambda: G.gaussian_width_ellipsoid(np.array([])),
        lambda: G.kinematic_a_eta(1.0),
        lambda: G.kinematic_slack(0, 0.1),
        lambda: G.project_ellipsoid_cone(np.ones((2, 2)), np.array([0.5, 0.0]), np.ones(2)),
        lambda: G.project_ellipsoid_cone(np.ones((2, 3)), np.array([5.0, 0.0]), np.ones(2)),
        lambda: G.project_ball_cone(np.ones((2, 2)), np.array([1.0, 0.0]), 2.0),
        lambda: G.project_l1_descent_cone(np.ones((2, 3)), np.zeros(3)),
        lambda: G.project_subspace(np.ones((2, 3)), np.ones((3, 2))),
        lambda: G.project_orthant(np.ones((2, 2, 2))),
        lambda: G.project_orthant(np.array([np.nan, 1.0])),
        lambda: G.project_circular_cone(np.ones((2, 1)), 0.3),
        lambda: G.project_psd_cone(np.ones((2, 5)), 2),
        lambda: G.statistical_dimension_mc(G.project_orthant, 3, num_samples=1, generator=rng()),
        lambda: G.statistical_dimension_mc(lambda x: x[:, :1], 3, num_samples=10, generator=rng()),
        lambda: G.phase_transition(
            lambda U: np.ones(U.shape[0], bool), 5, np.array([6]), num_trials=3, generator=rng()
        ),
        lambda: G.wendel_probability(5, 6),
        lambda: G.basis_pursuit(np.ones((2, 3)), np.ones(3)),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_generator_must_be_numpy():
    with pytest.raises(TypeError, match="Generator"):
        G.statistical_dimension_mc(G.project_orthant, 3, num_samples=10, generator=0)


def test_l1_projection_against_scalar_minimisation_with_ties():
    x0 = np.array([2.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    g = rng(24).integers(-3, 4, size=(200, 8)).astype(float)  # many ties among magnitudes
    z = g - G.project_l1_descent_cone(g, x0)  # the polar part, tau * subgradient
    for row, zr in zip(g, z, strict=True):

        def dist2(t, row=row):
            on = np.sum((row[:2] - t * np.sign(x0[:2])) ** 2)
            return on + np.sum(np.maximum(np.abs(row[2:]) - t, 0.0) ** 2)

        best = optimize.minimize_scalar(
            dist2, bounds=(0, 10), method="bounded", options={"xatol": 1e-12}
        )
        assert np.sum((row - zr) ** 2) == pytest.approx(min(best.fun, dist2(0.0)), abs=1e-9)


def test_ball_cone_with_axis_along_first_coordinate():
    x = rng(25).standard_normal((100, 5))
    np.testing.assert_allclose(
        G.project_ball_cone(x, np.array([3.0, 0, 0, 0, 0]), 1.5),
        G.project_circular_cone(x, math.asin(0.5)),
        atol=1e-14,
    )
    np.testing.assert_allclose(
        G.project_ball_cone(x, np.array([-3.0, 0, 0, 0, 0]), 1.5),
        -G.project_circular_cone(-x, math.asin(0.5)),
        atol=1e-14,
    )


def test_area_under_exact_transitions_is_statistical_dimension_plus_half():
    for dim, angle in [(10, 0.4), (40, 0.6), (60, 1.2)]:
        ks = np.arange(dim + 1)
        p = np.array(
            [
                float(k == dim)
                if k in (0, dim)
                else stats.beta.sf(math.cos(angle) ** 2, k / 2, (dim - k) / 2)
                for k in ks
            ]
        )
        est, _ = G.statistical_dimension_from_transition(
            G.PhaseTransition(ks, p, np.zeros(dim + 1), 1), dim
        )
        assert est == pytest.approx(G.statistical_dimension_circular_cone(dim, angle), abs=1e-9)
    with pytest.raises(ValueError, match="every k"):
        G.statistical_dimension_from_transition(
            G.PhaseTransition(np.arange(3), np.zeros(3), np.zeros(3), 1), 5
        )
