"""Guaranteed intervals on spectral sums (spectrum.trace_interval) against exact values.

Every containment below is a theorem (the Chebyshev–Markov–Stieltjes inequalities), not a
statistical statement, whenever it is checked per probe against that probe's own quadratic form
v'f(H)v, or against tr f(H)/D for Rademacher probes of a diagonal operator (their spectral
measure is exactly uniform on the eigenvalues). The only slack allowed is rounding: 1e-12 on
values in [0, 1] (sums of a few thousand float64 terms); the implementation carries its own
error bounds for the rounding of the Radau rules.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pnlib.spectrum import (
    SLQResult,
    from_eigenvalues,
    slq,
    trace_interval,
    trace_intervals,
    trace_of,
    truncate,
)

F64 = torch.float64
ROUND = 1e-12


def f_pos(c):
    """|λ| / (|λ| + c): the pruning integrand |λ|R²/(|λ|R² + 2ε) with c = 2ε/R²."""
    return lambda x: np.abs(x) / (np.abs(x) + c)


def f_neg(c):
    """Its complement c / (|λ| + c) = 2ε / (2ε + |λ|R²)."""
    return lambda x: c / (np.abs(x) + c)


def probe_vectors(dim, p, seed, distribution="rademacher"):
    """The unit probes slq draws first from torch.Generator().manual_seed(seed)."""
    g = torch.Generator().manual_seed(seed)
    if distribution == "rademacher":
        V = torch.randint(0, 2, (dim, p), generator=g, dtype=F64) * 2 - 1
    else:
        V = torch.randn(dim, p, generator=g, dtype=F64)
    return (V / torch.linalg.vector_norm(V, dim=0)).numpy()


def diagonal(lam):
    lam_t = torch.as_tensor(lam)
    return lambda V: lam_t[:, None] * V


def rotated(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((eigenvalues.size, eigenvalues.size)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T, q


def one_probe(r, i):
    """Probe i of an slq result as a one-probe result (its interval is that probe's)."""
    return SLQResult(
        nodes=r.nodes[i : i + 1],
        weights=r.weights[i : i + 1],
        dim=r.dim,
        breakdowns=[r.breakdowns[i]],
        alpha=r.alpha[i : i + 1],
        beta=r.beta[i : i + 1],
        beta_last=r.beta_last[i : i + 1],
    )


def scale_separated(d, seed=0):
    """A near-zero bulk (95%, log-uniform in [1e-6, 1e-3]), 5% in [1e-2, 1], outliers 10-100."""
    rng = np.random.default_rng(seed)
    n_bulk, n_mid = int(0.95 * d), d - int(0.95 * d) - 5
    return np.concatenate(
        [10 ** rng.uniform(-6, -3, n_bulk), rng.uniform(1e-2, 1, n_mid), [10, 20, 40, 70, 100]]
    )


def lanczos_np(A, v, k):
    """Plain Lanczos with full reorthogonalisation: alpha (k,), beta (k-1,), beta_k."""
    Q = [v / np.linalg.norm(v)]
    alpha, beta = [], []
    for j in range(k):
        w = A @ Q[j]
        alpha.append(Q[j] @ w)
        for _ in range(2):
            w = w - np.array(Q).T @ (np.array(Q) @ w)
        b = np.linalg.norm(w)
        if j == k - 1:
            return np.array(alpha), np.array(beta), b
        beta.append(b)
        Q.append(w / b)


# ------------------------------------------------------------------------------ the theory
def test_radau_rule_brackets_the_distribution_function_with_christoffel_width():
    # the inequalities the implementation rests on, checked with dense linear algebra only
    rng = np.random.default_rng(1)
    lam = np.concatenate([rng.normal(0, 0.01, 150), rng.uniform(0.05, 2, 45), [-0.5, 3, 5, 8, 9]])
    v = rng.standard_normal(lam.size)
    v /= np.linalg.norm(v)
    A = np.diag(lam)
    k = 6
    alpha, beta, bk = lanczos_np(A, v, k)
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    order = np.argsort(lam)
    cdf_x, cdf_w = lam[order], np.cumsum(v[order] ** 2)
    for t in np.concatenate([np.linspace(-1, 10, 200), np.linspace(-0.05, 0.05, 101)]):
        ek = np.zeros(k)
        ek[-1] = 1
        omega = t + bk**2 * np.linalg.solve(T - t * np.eye(k), ek)[-1]
        J = np.zeros((k + 1, k + 1))
        J[:k, :k] = T
        J[k - 1, k] = J[k, k - 1] = bk
        J[k, k] = omega
        x, Y = np.linalg.eigh(J)
        w = Y[0] ** 2
        i = np.argmin(np.abs(x - t))
        assert abs(x[i] - t) < 1e-9
        lower, upper = w[:i].sum(), w[: i + 1].sum()
        f_left = cdf_w[np.searchsorted(cdf_x, t, side="left") - 1] if t > cdf_x[0] else 0.0
        f_right = cdf_w[np.searchsorted(cdf_x, t, side="right") - 1] if t >= cdf_x[0] else 0.0
        assert lower <= f_left + ROUND and f_right <= upper + ROUND
        # U - L is the Christoffel function 1 / sum_i p_i(t)^2 (orthonormal polynomials)
        p = [1.0, (t - alpha[0]) / beta[0]]
        for j in range(1, k):
            b_next = beta[j] if j < k - 1 else bk
            p.append(((t - alpha[j]) * p[j] - beta[j - 1] * p[j - 1]) / b_next)
        assert upper - lower == pytest.approx(1 / np.sum(np.square(p)), rel=1e-6, abs=1e-14)


def test_slq_records_the_last_beta_and_truncate_carries_it():
    lam = scale_separated(2000)
    op = diagonal(lam)
    r10 = slq(op, lam.size, 10, num_probes=3, generator=4, block=True)
    r11 = slq(op, lam.size, 11, num_probes=3, generator=4, block=True)
    assert r10.beta_last.shape == (3,)
    np.testing.assert_allclose(r10.beta_last, r11.beta[:, 9], rtol=1e-10)
    np.testing.assert_allclose(truncate(r11, 10).beta_last, r11.beta[:, 9])
    np.testing.assert_array_equal(truncate(r11, 11).beta_last, r11.beta_last)
    # the same coefficient from an independent Lanczos on the same probe
    v = probe_vectors(lam.size, 3, 4)[:, 0]
    _, _, bk = lanczos_np(np.diag(lam), v, 10)
    assert r10.beta_last[0] == pytest.approx(bk, rel=1e-8)


# ------------------------------------------------------------------------- containment
def test_scale_separated_diagonal_rademacher_contains_exact_and_gauss():
    # Rademacher probes of a diagonal operator see exactly the uniform measure on the
    # eigenvalues: no probe noise, so any miss would be quadrature bias escaping the bound
    lam = scale_separated(20_000)
    r = slq(diagonal(lam), lam.size, 128, num_probes=1, generator=0, block=True)
    cs = [1e-3, 1e-2, 1e-1, 1.0]
    fs = [f_pos(c) for c in cs] + [f_neg(c) for c in cs]
    lo, hi = trace_intervals(fs, r)
    for f, a, b in zip(fs, lo, hi):
        exact = float(np.mean(f(lam)))
        gauss = trace_of(f, r)[0]
        assert a - ROUND <= exact <= b + ROUND
        assert a - ROUND <= gauss <= b + ROUND
    # f and its complement sum to one: their intervals mirror each other
    np.testing.assert_allclose(lo[:4] + hi[4:], 1.0, atol=1e-9)


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_each_probe_contains_its_own_quadratic_form(distribution):
    lam = scale_separated(4000, seed=2)
    V = probe_vectors(lam.size, 4, 3, distribution)
    r = slq(
        diagonal(lam),
        lam.size,
        64,
        num_probes=4,
        generator=3,
        block=True,
        distribution=distribution,
    )
    for f in [f_pos(1e-3), f_pos(1e-1), f_neg(1e-2)]:
        truth = (V**2).T @ f(lam)
        for i in range(4):
            lo, hi = trace_interval(f, one_probe(r, i))
            assert lo - ROUND <= truth[i] <= hi + ROUND
            gauss = trace_of(f, one_probe(r, i))[0]
            assert lo - ROUND <= gauss <= hi + ROUND
        # the mean of the probes' bounds brackets the mean of their quadratic forms ...
        lo, hi = trace_interval(f, r, num_se=0.0)
        assert lo - ROUND <= truth.mean() <= hi + ROUND
        # ... and the num_se widening covers the probe noise around tr f(H)/D (a confidence
        # statement, not a theorem: checked at these seeds; Rademacher probes of a diagonal
        # operator have no noise at all)
        lo3, hi3 = trace_interval(f, r)
        assert lo3 <= lo and hi <= hi3
        assert lo3 <= np.mean(f(lam)) <= hi3


@pytest.mark.parametrize("kind", ["psd", "indefinite"])
def test_dense_rotated_matrices(kind):
    rng = np.random.default_rng(5)
    d = 300
    if kind == "psd":
        B = rng.standard_normal((d, 60)) * np.geomspace(1e-3, 1, 60)
        lam = np.linalg.eigvalsh(B @ B.T / 60)  # rank 60: a null space of dimension 240
        lam = np.clip(lam, 0, None)
    else:
        lam = np.concatenate(
            [
                rng.normal(0, 0.01, 260),
                rng.uniform(0.05, 1, 30),
                -rng.uniform(0.02, 0.2, 7),
                [3.0, 5.0, 9.0],
            ]
        )
    A, q = rotated(lam, seed=6)
    V = probe_vectors(d, 4, 7, "gaussian")
    r = slq(A, d, 32, num_probes=4, generator=7, distribution="gaussian")
    W = (q.T @ V) ** 2  # (d, probes): each probe's spectral weights
    for c in [1e-4, 1e-2, 1.0]:
        for f in [f_pos(c), f_neg(c)]:
            truth = W.T @ f(lam)
            for i in range(4):
                lo, hi = trace_interval(f, one_probe(r, i))
                assert lo - ROUND <= truth[i] <= hi + ROUND
                assert lo - ROUND <= trace_of(f, one_probe(r, i))[0] <= hi + ROUND


@pytest.mark.parametrize("steps", [20, 96])
def test_atom_at_zero(steps):
    # half the spectrum is an exact null space: the probe measure has an atom of mass 1/2 at
    # the kink of f. After 20 steps the nearest Ritz value is still 3e-4 away; after 96 it has
    # converged onto the atom (|θ| ~ 1e-16, deflated), which pins the bounds for c -> 0.
    rng = np.random.default_rng(8)
    lam = np.concatenate([np.zeros(2000), rng.uniform(0.1, 1, 1900), rng.uniform(2, 5, 100)])
    r = slq(diagonal(lam), lam.size, steps, num_probes=1, generator=9, block=True)
    fs = [f_pos(c) for c in [1e-8, 1e-6, 1e-4, 1e-2, 1.0]] + [f_neg(1e-4)]
    exact = np.array([np.mean(f(lam)) for f in fs])
    psd = (0.0, float(lam.max() + r.beta_last[0]))
    for support in [None, psd]:
        lo, hi = trace_intervals(fs, r, support=support)
        assert np.all(lo - ROUND <= exact) and np.all(exact <= hi + ROUND)
        if steps == 96:
            # the atom is pinned to within rounding: for c = 1e-6 what is left is its mass
            # times the rounding allowance (~2e3 eps max|θ| ≈ 2e-12) over c, and the bulk
            assert hi[1] - lo[1] < 1e-5
        else:
            assert hi[1] - lo[1] > 0.4  # 3e-4 from the atom, the Ritz value cannot place it


# ----------------------------------------------------------------------------- sharpness
def christoffel(alpha, beta, bk, t):
    """1 / sum_{i<=k} p_i(t)^2 by the three-term recurrence (independent of the library)."""
    k = alpha.size
    p_prev, p = np.zeros_like(t), np.ones_like(t)
    s = np.ones_like(t)
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(k):
            b_next = beta[j] if j < k - 1 else bk
            b_prev = beta[j - 1] if j > 0 else 0.0
            p_prev, p = p, ((t - alpha[j]) * p - b_prev * p_prev) / b_next
            s = s + p * p
    return np.where(np.isfinite(s), 1 / s, 0.0)


def test_width_is_close_to_the_sharp_band_and_shrinks_with_steps():
    rng = np.random.default_rng(10)
    lam = np.concatenate(
        [10 ** rng.uniform(-4, -2, 150), rng.uniform(0.05, 1, 45), [2, 3, 5, 7, 9]]
    )
    d = lam.size
    r = slq(diagonal(lam), d, d, num_probes=1, generator=11, block=True)
    f = f_pos(1e-3)
    exact = float(np.mean(f(lam)))
    widths = []
    for m in [4, 8, 16, 32]:
        rm = truncate(r, m)
        lo, hi = trace_interval(f, rm)
        assert lo - ROUND <= exact <= hi + ROUND
        widths.append(hi - lo)
        # the integrated pointwise band  int rho |df|  (a fine Riemann sum of the exact
        # Christoffel function) is what the discretised bound approaches from above
        a = min(rm.nodes.min() - rm.beta_last[0], 0.0)
        b = rm.nodes.max() + rm.beta_last[0]
        t = np.unique(np.concatenate([np.linspace(a, b, 200_001), np.geomspace(1e-9, b, 200_001)]))
        rho = christoffel(rm.alpha[0], rm.beta[0], rm.beta_last[0], t)
        df = np.abs(np.diff(f(t)))
        band = float(np.sum(df * 0.5 * (rho[1:] + rho[:-1])))
        assert 0.98 * band <= hi - lo <= 1.3 * band
    assert all(w1 < w0 for w0, w1 in zip(widths, widths[1:]))
    # with as many steps as the dimension the rule is exact: zero width up to rounding (each
    # atom may move by the eigenvalue error 1e3 eps max|θ| plus the eigensolver's rounding,
    # ~1e3 eps max|θ| again, where |f'| <= 1/c: 2 * 2e3 * 2.2e-16 * 9 / 1e-3 ~ 8e-9)
    lo, hi = trace_interval(f, r)
    assert r.breakdowns == [None] and hi - lo < 1e-8
    assert lo - ROUND <= exact <= hi + ROUND


def test_breakdown_and_exact_spectra_give_zero_width():
    lam = np.repeat([-1.0, 0.5, 2.0], [5, 10, 15])
    A, q = rotated(lam, seed=3)
    r = slq(A, 30, 20, num_probes=4, generator=2)
    assert r.breakdowns == [3, 3, 3, 3]
    V = probe_vectors(30, 4, 2)
    f = f_pos(0.1)
    truth = ((q.T @ V) ** 2).T @ f(lam)
    # exact rules: the width is only the eigenvalue error (1e3 eps max|θ|) times |f'| <= 10
    for i in range(4):
        lo, hi = trace_interval(f, one_probe(r, i))
        assert 0 <= hi - lo < 1e-10
        assert lo - ROUND <= truth[i] <= hi + ROUND
    lo, hi = trace_interval(f, r, num_se=0.0)
    assert 0 <= hi - lo < 1e-10
    exact = from_eigenvalues(lam)
    lo, hi = trace_interval(f, exact)
    assert lo == hi == pytest.approx(float(np.mean(f(lam))), rel=1e-14)


def test_trace_intervals_shares_one_grid_for_many_radii():
    lam = scale_separated(3000, seed=12)
    r = slq(diagonal(lam), lam.size, 40, num_probes=2, generator=13, block=True)
    cs = np.geomspace(1e-5, 10, 12)
    lo, hi = trace_intervals([f_pos(c) for c in cs], r, num_se=0.0)
    assert lo.shape == hi.shape == (12,)
    exact = np.array([np.mean(f_pos(c)(lam)) for c in cs])
    assert np.all(lo - ROUND <= exact) and np.all(exact <= hi + ROUND)
    # a decreasing family of functions has decreasing bounds
    assert np.all(np.diff(lo) <= ROUND) and np.all(np.diff(hi) <= ROUND)


def test_bad_arguments_are_rejected():
    lam = np.linspace(-1.0, 1.0, 50)
    r = slq(np.diag(lam), 50, 8, num_probes=2, generator=0)
    f = f_pos(0.1)
    with pytest.raises(ValueError, match="num_se"):
        trace_interval(f, r, num_se=-1.0)
    with pytest.raises(ValueError, match="num_rules"):
        trace_interval(f, r, num_rules=1)
    with pytest.raises(ValueError, match="breakpoints"):
        trace_interval(f, r, breakpoints=[np.nan])
    with pytest.raises(ValueError, match="contain every Ritz value"):
        trace_interval(f, r, support=(0.0, 2.0))
    with pytest.raises(ValueError, match="a < b"):
        trace_interval(f, r, support=(2.0, -2.0))
    with pytest.raises(ValueError, match="not monotone"):
        trace_interval(np.cos, r, support=(-10.0, 10.0))
    with pytest.raises(ValueError, match="vectorised"):
        trace_interval(lambda x: 1.0, r)
    with pytest.raises(ValueError, match="non-empty"):
        trace_intervals([], r)
    with pytest.raises(ValueError, match="eigenvalue_error"):
        trace_interval(f, r, eigenvalue_error=-1e-3)
    # a larger eigenvalue error only widens the interval
    lo0, hi0 = trace_interval(f, r, num_se=0.0)
    lo1, hi1 = trace_interval(f, r, num_se=0.0, eigenvalue_error=1e-3)
    assert lo1 <= lo0 <= hi0 <= hi1
    no_coeffs = SLQResult(nodes=[[0.0, 1.0]], weights=[[0.5, 0.5]], dim=5)
    with pytest.raises(ValueError, match="Lanczos coefficients"):
        trace_interval(f, no_coeffs)
    old = SLQResult(r.nodes, r.weights, r.dim, alpha=r.alpha, beta=r.beta)
    with pytest.raises(ValueError, match="beta_last"):
        trace_interval(f, old)
    # monotone functions need no breakpoint at all
    assert trace_interval(np.exp, r, breakpoints=())[0] > 0


def test_widening_for_probe_noise_stays_within_the_range_of_f():
    # few steps and very different probes: the widened ends would leave [0, 1] unclipped
    g = np.random.default_rng(5)
    lam = np.concatenate([g.uniform(1e-6, 1e-3, 300), g.uniform(0.5, 2.0, 20)])
    result = slq(np.diag(lam), lam.size, 3, num_probes=3, generator=5, distribution="gaussian")
    lo, hi = trace_interval(lambda x: 1e-3 / (1e-3 + np.abs(x)), result, num_se=10.0)
    assert 0.0 <= lo <= hi <= 1.0
