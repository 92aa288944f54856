"""Lanczos and SLQ against eigvalsh and exact spectral functionals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from pnlib.hessian import HessianOperator, exact_hessian
from pnlib.spectrum import (
    SLQResult,
    check_symmetric,
    density,
    extreme_eigenvalues,
    from_eigenvalues,
    lanczos,
    slq,
    trace,
    trace_of,
    truncate,
)

F64 = torch.float64


def rotated(eigenvalues: np.ndarray, seed: int = 0) -> np.ndarray:
    """Q diag(λ) Qᵀ with Q Haar-random, so no probe is special."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((eigenvalues.size, eigenvalues.size)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T


def hessian_like_spectrum(d: int = 300, seed: int = 1) -> np.ndarray:
    """Indefinite, most mass near zero, a few outliers: the shape of a trained network's."""
    rng = np.random.default_rng(seed)
    bulk = rng.normal(0.0, 0.01, size=d - 40)
    pos = rng.uniform(0.05, 1.0, size=30)
    neg = -rng.uniform(0.02, 0.2, size=7)
    outliers = np.array([3.0, 5.0, 9.0])
    return np.sort(np.concatenate([bulk, pos, neg, outliers]))


def matrix_function(A_eigs: np.ndarray, A: np.ndarray, f) -> np.ndarray:
    lam, Q = np.linalg.eigh(A)
    return (Q * f(lam)) @ Q.T


def rademacher_sd(F: np.ndarray) -> float:
    """Exact SD of one normalised-Rademacher probe's vᵀ f(A) v = zᵀ F z / D."""
    d = F.shape[0]
    var = 2.0 * (np.sum(F * F) - np.sum(np.diag(F) ** 2)) / d**2
    return float(np.sqrt(var))


EPS, R = 1e-3, 0.5


def f_R(lam: np.ndarray) -> np.ndarray:
    """Minimum-density integrand of the pruning limit: |λ|R² / (|λ|R² + 2ε)."""
    a = np.abs(lam) * R**2
    return a / (a + 2 * EPS)


FUNCTIONS = {
    "identity": lambda x: x,
    "step": lambda x: (x > 0.03).astype(float),
    "f_R": f_R,
}


# ------------------------------------------------------------------------------- Lanczos
def test_lanczos_full_steps_reproduces_eigvalsh():
    lam = np.linspace(-2.0, 3.0, 60) + np.random.default_rng(0).uniform(0, 0.01, 60)
    A = rotated(lam)
    res = lanczos(A, 60, 60, generator=0)
    assert res.breakdown is None and res.alpha.shape == (60,) and res.beta.shape == (59,)
    theta, Y = res.ritz()
    assert np.max(np.abs(theta - np.linalg.eigvalsh(A))) < 1e-10
    Q = res.basis.numpy()
    assert np.max(np.abs(Q.T @ Q - np.eye(60))) < 1e-12  # full reorthogonalisation
    assert np.max(np.abs(Q.T @ A @ Q - res.tridiagonal())) < 1e-10


def test_lanczos_on_network_hessian_matches_eigvalsh():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).to(F64)
    x, y = torch.randn(30, 4, dtype=F64), torch.randint(0, 3, (30,))
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), params="prunable")
    H = exact_hessian(net, nn.CrossEntropyLoss(), (x, y), params="prunable").numpy()
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    lo, hi = extreme_eigenvalues(op, op.shape[0], k=2, method="lanczos", num_steps=op.shape[0])
    scale = np.max(np.abs(lam))
    assert np.max(np.abs(hi - lam[-2:])) < 1e-8 * scale
    assert np.max(np.abs(lo - lam[:2])) < 1e-8 * scale


def test_lanczos_breakdown_is_reported_not_nan():
    lam = np.repeat([-1.0, 0.5, 2.0], [5, 10, 15])  # three distinct eigenvalues
    A = rotated(lam, seed=3)
    res = lanczos(A, 30, 30, generator=1)
    assert res.breakdown == 3
    assert res.alpha.shape == (3,) and np.all(np.isfinite(res.alpha))
    assert np.allclose(res.ritz()[0], [-1.0, 0.5, 2.0], atol=1e-10)
    r = slq(A, 30, 20, num_probes=4, generator=2)
    assert r.breakdowns == [3, 3, 3, 3]
    assert np.all(np.isfinite(r.nodes)) and np.allclose(r.weights.sum(1), 1.0)
    # after breakdown the rule is exact for every f: v'f(A)v; check with f = exp
    F = matrix_function(lam, A, np.exp)
    V0 = torch.randint(0, 2, (30, 4), generator=torch.Generator().manual_seed(2), dtype=F64) * 2 - 1
    V0 = (V0 / np.sqrt(30)).numpy()
    per_probe = (r.weights * np.exp(r.nodes)).sum(1)
    assert np.allclose(per_probe, np.einsum("dp,de,ep->p", V0, F, V0), atol=1e-10)


def test_float32_lanczos_resolves_a_bulk_far_below_the_top():
    # one outlier at 1 and a bulk 2e-5..5e-4 (common in trained networks): the bulk's beta is
    # far above float32 rounding noise, so no breakdown, and the rule matches float64's
    lam = np.concatenate([[1.0], np.geomspace(2e-5, 5e-4, 399)])
    A = rotated(lam, seed=5)
    r32 = slq(torch.as_tensor(A, dtype=torch.float32), 400, 40, num_probes=4, generator=1)
    r64 = slq(torch.as_tensor(A), 400, 40, num_probes=4, generator=1)
    assert r32.breakdowns == [None] * 4
    bulk = lambda x: np.where(np.abs(x) < 0.01, x, 0.0)  # noqa: E731
    assert trace_of(bulk, r32)[0] == pytest.approx(trace_of(bulk, r64)[0], rel=1e-3)


# ----------------------------------------------------------------------------------- SLQ
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_slq_trace_within_variance_tolerance(name):
    f = FUNCTIONS[name]
    lam = hessian_like_spectrum()
    d = lam.size
    A = rotated(lam, seed=4)
    exact = float(np.mean(f(lam)))
    num_probes = 30
    r = slq(A, d, 60, num_probes=num_probes, generator=5)
    est, err = trace_of(f, r)
    sd = rademacher_sd(matrix_function(lam, A, f))
    # 60 steps make the quadrature bias negligible next to the probe noise (checked with 120)
    assert abs(est - exact) <= 5 * sd / np.sqrt(num_probes) + 1e-12
    # the reported standard error estimates the true one
    assert 0.5 * sd / np.sqrt(num_probes) < err < 2 * sd / np.sqrt(num_probes)


def test_slq_on_network_hessian_f_R():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4)).to(F64)
    x, y = torch.randn(64, 6, dtype=F64), torch.randint(0, 4, (64,))
    batches = list(zip(x.split(20), y.split(20)))
    op = HessianOperator(net, nn.CrossEntropyLoss(), batches)
    H = exact_hessian(net, nn.CrossEntropyLoss(), batches).numpy()
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    exact = float(np.mean(f_R(lam)))
    r = slq(op, op.shape[0], 40, num_probes=20, generator=7)
    est, err = trace_of(f_R, r)
    sd = rademacher_sd(matrix_function(lam, (H + H.T) / 2, f_R))
    assert abs(est - exact) <= 5 * sd / np.sqrt(20)
    assert r.num_matvecs == 2 + 20 * 40  # symmetry check + one block column per step and probe


def test_slq_measure_close_to_spectrum_in_wasserstein():
    lam = hessian_like_spectrum()
    d, m, p = lam.size, 40, 20
    rng = np.random.default_rng(6)
    q, r_ = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r_))
    A = (q * lam) @ q.T
    r = slq(A, d, m, num_probes=p, generator=8, distribution="gaussian")
    uniform = np.full(d, 1 / d)
    w1 = scipy.stats.wasserstein_distance(lam, r.nodes.ravel(), uniform, r.weights.ravel() / p)
    # Even with infinitely many steps, p probes see the spectrum through the weights
    # mean_l (qᵢᵀv_l)²: the sampling distribution of that W1, by Monte Carlo ...
    noise = []
    for _ in range(200):
        V = rng.standard_normal((d, p))
        w = ((q.T @ (V / np.linalg.norm(V, axis=0))) ** 2).mean(1)
        noise.append(scipy.stats.wasserstein_distance(lam, lam, uniform, w))
    # ... plus an allowance width/m² for the m-node quadrature (measured: 0.0016 of 0.0058)
    allowance = np.mean(noise) + 5 * np.std(noise) + np.ptp(lam) / m**2
    assert w1 < allowance
    # a wrong spectrum (shifted by 0.05) is rejected by the same threshold
    assert (
        scipy.stats.wasserstein_distance(
            lam + 0.05, r.nodes.ravel(), uniform, r.weights.ravel() / p
        )
        > allowance
    )
    # the plotted density integrates to one and has the quadrature's mean
    t = np.linspace(lam.min() - 1, lam.max() + 1, 20001)
    phi = density(r, t, 0.05)
    assert abs(np.trapezoid(phi, t) - 1) < 1e-6
    assert abs(np.trapezoid(t * phi, t) - trace_of(lambda x: x, r)[0]) < 1e-6


def test_seeded_runs_identical_and_seeds_matter():
    A = rotated(hessian_like_spectrum(80), seed=9)
    a = slq(A, 80, 20, num_probes=3, generator=torch.Generator().manual_seed(11))
    b = slq(A, 80, 20, num_probes=3, generator=torch.Generator().manual_seed(11))
    c = slq(A, 80, 20, num_probes=3, generator=12)
    assert np.array_equal(a.nodes, b.nodes) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.nodes, c.nodes)


def test_block_single_and_matrix_forms_agree():
    A = rotated(hessian_like_spectrum(50), seed=10)
    At = torch.as_tensor(A)
    forms = [
        dict(matvec=A),
        dict(matvec=At),
        dict(matvec=lambda v: At @ v, block=False),
        dict(matvec=lambda V: At @ V, block=True),
    ]
    results = [slq(dim=50, num_steps=15, num_probes=4, generator=3, **kw) for kw in forms]
    for r in results[1:]:
        assert np.allclose(r.nodes, results[0].nodes, atol=1e-12)
        assert np.allclose(r.weights, results[0].weights, atol=1e-12)
    # probes_per_pass splits the block without changing the result
    split = slq(At, 50, 15, num_probes=4, generator=3, probes_per_pass=3)
    assert np.allclose(split.nodes, results[0].nodes, atol=1e-12)


def test_truncate_equals_a_shorter_run():
    A = rotated(hessian_like_spectrum(60), seed=11)
    long = slq(A, 60, 30, num_probes=3, generator=5)
    short = slq(A, 60, 12, num_probes=3, generator=5)
    cut = truncate(long, 12)
    assert np.allclose(cut.nodes, short.nodes, atol=1e-10)
    assert np.allclose(cut.weights, short.weights, atol=1e-10)
    with pytest.raises(ValueError, match="num_steps"):
        truncate(long, 31)
    with pytest.raises(ValueError, match="tridiagonals"):
        truncate(from_eigenvalues(np.ones(3)), 1)


def test_from_eigenvalues_is_exact():
    lam = hessian_like_spectrum(100)
    r = from_eigenvalues(lam)
    for f in FUNCTIONS.values():
        est, err = trace_of(f, r)
        assert est == pytest.approx(float(np.mean(f(lam))), rel=1e-14) and err == 0.0
    assert r.dim == 100 and r.num_probes == 1


def test_trace_estimators_from_curvlinops():
    rng = np.random.default_rng(0)
    B = torch.as_tensor(rng.standard_normal((120, 4)))
    A = B @ B.T  # rank 4: Hutch++ and XTrace capture it exactly
    assert trace(A, 30, method="hutchpp", generator=0) == pytest.approx(float(A.trace()), rel=1e-10)
    assert trace(A, 20, method="xtrace", generator=0) == pytest.approx(float(A.trace()), rel=1e-10)
    M = torch.as_tensor(rotated(hessian_like_spectrum(120), seed=2))
    n = 60
    est = trace(M, n, method="hutchinson", generator=4)
    sd = rademacher_sd(M.numpy()) * 120 / np.sqrt(n)  # of the trace, not the trace / D
    assert abs(est - float(M.trace())) < 5 * sd
    assert trace(M, n, method="hutchinson", generator=4) == est  # seeded


def test_hutchpp_on_the_hessian_operator_within_its_own_spread(case_factory):
    # on the Hessian operator of a network (the shared MLP case, D = 57, 24 products)
    case = case_factory("mlp-ce", n=20)
    op = HessianOperator(case.model, case.loss_fn, case.batches)
    H = case.hessian()
    exact = float(H.trace())
    est = trace(op, 24, method="hutchpp", generator=1)
    # the same seed draws the same probes: the operator's estimate is the dense matrix's
    assert est == pytest.approx(trace(H, 24, method="hutchpp", generator=1), rel=1e-10)
    # Hutch++'s spread at this budget, from n independent runs on the dense matrix (its
    # variance has no closed form: it depends on the random sketch); the runs are unbiased, and
    # the operator's estimate lies within 5 standard deviations of the truth
    n = 300
    runs = np.array([trace(H, 24, method="hutchpp", generator=s) for s in range(2, 2 + n)])
    sd = float(runs.std(ddof=1))
    assert 0 < sd < abs(exact)  # a real spread, small against the trace
    assert abs(runs.mean() - exact) < 5 * sd / np.sqrt(n)
    assert abs(est - exact) < 5 * sd


def test_extreme_eigenvalues_both_methods():
    lam = np.concatenate([np.linspace(-0.5, 1.0, 200), [-3.0, 4.0, 6.0]])
    A = rotated(lam, seed=5)
    for method in ("lanczos", "eigsh"):
        lo, hi = extreme_eigenvalues(A, lam.size, k=2, method=method, generator=0)
        assert np.allclose(lo, [-3.0, -0.5], atol=1e-6), method
        assert np.allclose(hi, [4.0, 6.0], atol=1e-6), method


# ------------------------------------------------------------------------------- errors
def test_bad_arguments():
    A = rotated(np.arange(1.0, 11.0))
    with pytest.raises(ValueError, match="num_steps"):
        lanczos(A, 10, 11)
    with pytest.raises(ValueError, match="num_steps"):
        slq(A, 10, 0, num_probes=2)
    with pytest.raises(ValueError, match="num_probes"):
        slq(A, 10, 3, num_probes=0)
    with pytest.raises(ValueError, match="distribution"):
        slq(A, 10, 3, num_probes=2, distribution="uniform")
    with pytest.raises(ValueError, match="shape"):
        slq(A, 9, 3, num_probes=2)
    with pytest.raises(ValueError, match="v0"):
        lanczos(A, 10, 3, v0=np.zeros(10))
    with pytest.raises(ValueError, match="sigma"):
        density(from_eigenvalues(np.ones(3)), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="method"):
        trace(torch.as_tensor(A), 4, method="kpm")
    with pytest.raises(ValueError, match="block=False"):
        slq(lambda v: v.sum(), 10, 3, num_probes=2, block=True)
    with pytest.raises(ValueError, match="same shape"):
        SLQResult(nodes=np.zeros((2, 3)), weights=np.zeros((2, 2)), dim=3)


def test_non_symmetric_operator_is_detected():
    rng = np.random.default_rng(0)
    A = rotated(np.linspace(1, 2, 40)) + 1e-3 * rng.standard_normal((40, 40))
    with pytest.raises(ValueError, match="not symmetric"):
        slq(A, 40, 5, num_probes=2)
    with pytest.raises(ValueError, match="not symmetric"):
        lanczos(A, 40, 5)
    # symmetric float32 rounding passes the float32 tolerance
    S = torch.as_tensor(rotated(np.linspace(-1, 1, 40)), dtype=torch.float32)
    assert check_symmetric(S, 40) < 1e-5


# ------------------------------------------------------------------ reorthogonalize=False
def test_without_reorthogonalisation_few_steps_agree():
    # a well-conditioned matrix and 8 steps: the plain three-term recursion keeps its basis
    # orthogonal to rounding, so it gives the reorthogonalised coefficients and rules
    A = rotated(np.linspace(1.0, 2.0, 100), seed=3)
    full = lanczos(A, 100, 8, generator=0)
    plain = lanczos(A, 100, 8, generator=0, reorthogonalize=False)
    np.testing.assert_allclose(plain.alpha, full.alpha, rtol=0, atol=1e-12)
    np.testing.assert_allclose(plain.beta, full.beta, rtol=0, atol=1e-12)
    assert plain.basis.shape == (100, 0)  # only the reorthogonalised run keeps its basis
    a = slq(A, 100, 8, num_probes=3, generator=0)
    b = slq(A, 100, 8, num_probes=3, generator=0, reorthogonalize=False)
    np.testing.assert_allclose(b.nodes, a.nodes, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.weights, a.weights, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "lam", [hessian_like_spectrum(300), np.r_[np.linspace(0, 1, 197), 3, 5, 10]]
)
def test_without_reorthogonalisation_many_steps_make_ghosts(lam):
    # after the top eigenvalue has converged the plain recursion loses orthogonality and finds
    # it again: copies ("ghosts") of it appear. With an orthonormal basis that is impossible:
    # by Cauchy interlacing the second Ritz value is at most the second eigenvalue
    d, m = lam.size, 120
    lam = np.sort(lam)
    A = rotated(lam, seed=4)
    full = lanczos(A, d, m, generator=1).ritz()[0]
    plain = lanczos(A, d, m, generator=1, reorthogonalize=False).ritz()[0]
    assert np.sum(np.abs(full - lam[-1]) < 1e-8) == 1
    assert full[-2] <= lam[-2] + 1e-10 and full[0] >= lam[0] - 1e-10
    assert np.sum(np.abs(plain - lam[-1]) < 1e-8) >= 2
    assert plain[-2] > lam[-2] + 0.5 * (lam[-1] - lam[-2])
    # the ghosts share the weight of the one node they copy, so SLQ's sums hardly change: the
    # first moment not at all, the others by less than the probes' standard error (the change
    # follows the rounding, so it varies with the BLAS threads: 0.1-0.35 standard errors seen),
    # and both stay within 4 standard errors of the exact value
    a = slq(A, d, m, num_probes=4, generator=2)
    b = slq(A, d, m, num_probes=4, generator=2, reorthogonalize=False)
    near_top = np.abs(b.nodes - lam[-1]) < 1e-6
    assert near_top.sum(axis=1).min() >= 2
    np.testing.assert_allclose(
        (b.weights * near_top).sum(axis=1),
        (a.weights * (np.abs(a.nodes - lam[-1]) < 1e-6)).sum(axis=1),
        rtol=1e-6,
    )
    assert trace_of(lambda x: x, b)[0] == pytest.approx(trace_of(lambda x: x, a)[0], rel=1e-12)
    for f in FUNCTIONS.values():
        (est_a, err_a), (est_b, _) = trace_of(f, a), trace_of(f, b)
        assert abs(est_b - est_a) <= err_a
        assert abs(est_b - np.mean(f(lam))) <= 4 * err_a
