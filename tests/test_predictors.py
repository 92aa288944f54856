"""Direct second-order predictors against dense float64 quadratic forms and Schur complements."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from pnlib import hessian, models, predictors, prune

GRID = np.linspace(0.0, 1.0, 11)


def _tiny():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3)).double(), x, y


@pytest.fixture
def raw_problem():
    """A tiny float64 MLP at its random initialisation (well-conditioned GGN) and its data."""
    net, x, y = _tiny()
    return net, (x, y)


@pytest.fixture
def problem():
    """The tiny float64 MLP trained with an l1 penalty, and its data."""
    net, x, y = _tiny()
    # train with an l1 penalty, so that g = grad L is about -lambda sign(w), as after LOMP
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        penalty = sum(p.abs().sum() for p in models.prunable_parameters(net).values())
        (nn.functional.cross_entropy(net(x), y) + 1e-2 * penalty).backward()
        opt.step()
    return net, (x, y)


def _flat(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def _positions(net):
    """Coordinates of the prunable weights among all parameters (module order)."""
    offsets, start = {}, 0
    for name, p in net.named_parameters():
        offsets[name] = start
        start += p.numel()
    return torch.cat(
        [
            torch.arange(offsets[n], offsets[n] + p.numel())
            for n, p in models.prunable_parameters(net).items()
        ]
    )


def _dense_ggn(net, x, y):
    """J^T (d^2 loss / d logits^2) J averaged over examples: an independent dense GGN."""
    names = [n for n, _ in net.named_parameters()]
    w = _flat(net)
    sizes = [p.numel() for p in net.parameters()]
    shapes = [p.shape for p in net.parameters()]

    def logits(flat):
        params = {n: t.reshape(s) for n, t, s in zip(names, flat.split(sizes), shapes)}
        return torch.func.functional_call(net, params, (x,))

    J = torch.func.jacrev(logits)(w)  # (N, C, D)
    p = torch.softmax(logits(w), dim=1)
    Hout = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # CE Hessian in the logits
    return torch.einsum("ncd,nce,nef->df", J, Hout, J) / x.shape[0]


def _delta(w, positions, dim, count):
    """Delta(s) = w^k - w* on the D coordinates: -w on the `count` smallest-magnitude weights."""
    order = prune.magnitude_order(w)[:count]
    d = torch.zeros(dim, dtype=torch.float64)
    d[positions[order]] = -w[order]
    return d, positions[order]


@pytest.mark.parametrize("params", ["prunable", "all"])
def test_taylor_curve_equals_dense_quadratic_form(problem, params):
    net, data = problem
    loss = nn.CrossEntropyLoss()
    H = hessian.exact_hessian(net, loss, data, params="all")
    g = hessian.gradient(net, loss, data, params="all", dtype=torch.float64)
    w, pos = prune.flat_prunable(net), _positions(net)
    curve = predictors.taylor_curve(net, loss, data, GRID, params=params, chunk_size=3)
    expected, first = [], []
    for s in GRID:
        d, _ = _delta(w, pos, H.shape[0], prune.num_removed(s, w.numel()))
        first.append(float(g @ d))
        expected.append(float(g @ d + 0.5 * d @ H @ d))
    np.testing.assert_allclose(curve.loss_increase, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(curve.first_order, first, rtol=1e-10, atol=1e-12)
    assert curve.cost.hvps == len(GRID) - 1  # one product per non-empty block (s = 0 is empty)
    assert curve.cost.gradients == 1


def test_taylor_curve_on_a_diagonal_quadratic_by_hand():
    # H = diag(1, 2, 4), w = (3, -1, 2): pruning removes w_2, then w_3, then w_1
    H = torch.diag(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64))
    w = torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64)
    g = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    curve = predictors.taylor_curve_quadratic(w, [0, 1 / 3, 2 / 3, 1], g, H.__matmul__)
    first = [0.0, 0.2, 0.2 - 0.6, 0.2 - 0.6 - 0.3]
    second = [0.0, 1.0, 1.0 + 8.0, 1.0 + 8.0 + 4.5]
    np.testing.assert_allclose(curve.first_order, first, atol=1e-14)
    np.testing.assert_allclose(curve.second_order, second, atol=1e-14)


def _schur_refit(G, g, x0, removed):
    """min over the free coordinates of g.x + x^T G x / 2 with x_R = x0_R, by a dense solve."""
    free = np.setdiff1d(np.arange(G.shape[0]), removed)
    b = -(g[free] + G[np.ix_(free, removed)] @ x0[removed])
    xf = np.linalg.lstsq(G[np.ix_(free, free)], b, rcond=None)[0]
    x = x0.copy()
    x[free] = xf
    return float(g @ x + 0.5 * x @ G @ x)


def test_refit_cg_matches_dense_schur_complement_on_a_random_quadratic():
    rng = np.random.default_rng(0)
    D = 40
    A = rng.standard_normal((D, D))
    G = A @ A.T / D + 0.05 * np.eye(D)
    w, g = rng.laplace(size=D), 0.1 * rng.standard_normal(D)
    Gt = torch.tensor(G)
    curve = predictors.refit_curve_quadratic(
        torch.tensor(w), GRID, torch.tensor(g), Gt.__matmul__, rtol=1e-13, maxiter=200
    )
    expected = []
    for count in curve.num_removed:
        d, removed = _delta(torch.tensor(w), torch.arange(D), D, int(count))
        expected.append(_schur_refit(G, g, d.numpy(), removed.numpy()))
    np.testing.assert_allclose(curve.loss_increase, expected, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(curve.loss_increase) >= -1e-12)  # nested supports: non-decreasing


@pytest.mark.parametrize("params,damping", [("prunable", 0.0), ("all", 0.0), ("all", 0.1)])
def test_refit_on_a_network_matches_dense_schur_with_the_ggn(raw_problem, params, damping):
    net, data = raw_problem
    loss = nn.CrossEntropyLoss()
    G = _dense_ggn(net, *data).numpy()
    G = G + damping * np.eye(G.shape[0])
    g = hessian.gradient(net, loss, data, params="all", dtype=torch.float64).numpy()
    pos = _positions(net)
    keep = pos.numpy() if params == "prunable" else np.arange(G.shape[0])
    G, g = G[np.ix_(keep, keep)], g[keep]
    local = torch.as_tensor(np.searchsorted(keep, pos.numpy()))
    w = prune.flat_prunable(net)
    curve = predictors.refit_curve(
        net, loss, data, GRID, params=params, rtol=1e-12, maxiter=2000, damping=damping
    )
    expected = []
    for count in curve.num_removed:
        d, removed = _delta(w, local, G.shape[0], int(count))
        expected.append(_schur_refit(G, g, d.numpy(), removed.numpy()))
    np.testing.assert_allclose(curve.loss_increase, expected, rtol=1e-7, atol=1e-10)


def test_refit_weights_applies_the_refit_change(raw_problem):
    net, data = raw_problem
    loss = nn.CrossEntropyLoss()
    pruned, value = predictors.refit_weights(net, loss, data, 0.5, rtol=1e-12, maxiter=2000)
    n = prune.flat_prunable(net).numel()
    assert int((prune.flat_prunable(pruned) == 0).sum()) == prune.num_removed(0.5, n)
    full = predictors.refit_curve(net, loss, data, [0.5], rtol=1e-12, maxiter=2000)
    assert value == pytest.approx(full.loss_increase[0], rel=1e-9)
    # step 0 is plain one-shot magnitude pruning
    plain, _ = predictors.refit_weights(net, loss, data, 0.5, step=0.0, maxiter=1)
    reference = copy.deepcopy(net)
    prune.prune_(reference, 0.5)
    torch.testing.assert_close(_flat(plain), _flat(reference), rtol=0, atol=0)


@pytest.mark.parametrize("maxiter", [2, 500])
def test_refit_limit_never_below_taylor_limit_with_the_same_curvature(problem, maxiter):
    net, data = problem
    loss = nn.CrossEntropyLoss()
    taylor = predictors.taylor_curve(net, loss, data, GRID, curvature="ggn", params="all")
    refit = predictors.refit_curve(net, loss, data, GRID, params="all", maxiter=maxiter)
    # CG starts at delta = 0 and only lowers the model: even two iterations stay below
    assert np.all(refit.loss_increase <= taylor.loss_increase + 1e-12)
    for eps in np.quantile(taylor.loss_increase[taylor.loss_increase > 0], [0.2, 0.5, 0.9]):
        assert refit.limit(eps) >= taylor.limit(eps)


@pytest.mark.slow
def test_refit_limit_bisection_finds_the_full_curve_limit(problem):
    net, data = problem
    loss = nn.CrossEntropyLoss()
    grid = np.linspace(0.0, 1.0, 41)
    full = predictors.refit_curve(net, loss, data, grid, rtol=1e-8, maxiter=200)
    values = np.unique(full.loss_increase[full.loss_increase > 0])
    for k in (0, len(values) // 2, len(values) - 2):
        eps = 0.5 * (values[k] + values[k + 1])  # well between two points: no borderline ties
        found = predictors.refit_limit(
            net, loss, data, grid, eps, num_coarse=5, points_per_round=2, rtol=1e-8, maxiter=200
        )
        assert found.sparsity == full.limit(eps)
        assert len(found.curve.sparsity) < len(grid) / 2
        assert found.cost.hvps == found.curve.cost.hvps > 0


def test_bad_inputs_raise(problem):
    net, data = problem
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="eps"):
        predictors.taylor_limit(net, loss, data, GRID, 0.0)
    with pytest.raises(ValueError, match="eps"):
        predictors.refit_limit(net, loss, data, GRID, -1e-3)
    with pytest.raises(ValueError, match="increasing"):
        predictors.taylor_curve(net, loss, data, [0.0, 0.5, 0.3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        predictors.refit_curve(net, loss, data, [0.0, 1.2])
    with pytest.raises(ValueError, match="non-empty"):
        predictors.taylor_curve(net, loss, data, [])
    with pytest.raises(ValueError, match="gradient"):
        predictors.taylor_curve(net, loss, data, GRID, gradient=torch.zeros(5))
    with pytest.raises(ValueError, match="gradient"):
        predictors.refit_curve(net, loss, data, GRID, gradient=torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="params"):
        predictors.taylor_curve(net, loss, data, GRID, params="biases")
    with pytest.raises(ValueError, match="curvature"):
        predictors.taylor_curve(net, loss, data, GRID, curvature="fisher")
    with pytest.raises(ValueError, match="reduction"):
        predictors.refit_curve(net, nn.CrossEntropyLoss(reduction="none"), data, GRID)
    with pytest.raises(ValueError, match="rtol"):
        predictors.refit_curve(net, loss, data, GRID, rtol=0.0)


def _quadratic(seed, n, indefinite):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    C = A @ A.T / n
    if indefinite:
        C = C - 0.5 * torch.eye(n, dtype=torch.float64)
    w = torch.randn(n, generator=g, dtype=torch.float64)
    grad = 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return C, w, grad


def _model(C, grad, x):
    return float(grad @ x + 0.5 * x @ C @ x)


@pytest.mark.parametrize("indefinite", [False, True])
def test_trust_region_refit_stays_in_the_ball_and_beats_the_cauchy_point(indefinite):
    C, w, grad = _quadratic(3, 30, indefinite)
    grid = np.array([0.2, 0.5, 0.8])
    radius = np.array([0.05, 0.3, 2.0])
    curve = predictors.refit_curve_quadratic(
        w, grid, grad, C.__matmul__, radius=radius, return_solutions=True, rtol=1e-10
    )
    order = prune.magnitude_order(w)
    for k, s in enumerate(grid):
        removed = order[: prune.num_removed(s, 30)]
        step = torch.zeros(30, dtype=torch.float64)
        step[removed] = -w[removed]
        delta = curve.solutions[:, k] - step
        assert float(delta.norm()) <= radius[k] * (1 + 1e-9)
        assert torch.all(delta[removed] == 0)
        assert curve.loss_increase[k] == pytest.approx(_model(C, grad, curve.solutions[:, k]))
        # Steihaug's iterate lowers the model at least as much as the Cauchy point
        slope = (grad + C @ step).clone()
        slope[removed] = 0
        d = -slope / slope.norm()
        curv = float(d @ C @ d)
        t_max = radius[k]
        t = t_max if curv <= 0 else min(t_max, float(slope.norm()) / curv)
        cauchy = _model(C, grad, step + t * d)
        assert curve.loss_increase[k] <= cauchy + 1e-12
        assert curve.cg_converged[k]


def test_trust_region_with_a_large_radius_is_the_unconstrained_refit():
    C, w, grad = _quadratic(4, 25, indefinite=False)
    grid = np.array([0.3, 0.6])
    free = predictors.refit_curve_quadratic(w, grid, grad, C.__matmul__, rtol=1e-12)
    ball = predictors.refit_curve_quadratic(
        w, grid, grad, C.__matmul__, rtol=1e-12, radius=[1e6, 1e6]
    )
    np.testing.assert_allclose(ball.loss_increase, free.loss_increase, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="radius"):
        predictors.refit_curve_quadratic(w, grid, grad, C.__matmul__, radius=[-1.0, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refined_taylor_limit_equals_the_full_curve_limit(seed):
    # PSD curvature and g = 0: the Taylor increase grows along the nested supports, so the
    # coarse curve plus bisection must find exactly the full curve's limit
    g = torch.Generator().manual_seed(seed)
    n = 2000
    H = torch.diag(torch.rand(n, generator=g, dtype=torch.float64))
    w = torch.randn(n, generator=g, dtype=torch.float64)
    zero = torch.zeros(n, dtype=torch.float64)
    grid = np.arange(1000) / 1000
    full = predictors.taylor_curve_quadratic(w, grid, zero, H.__matmul__)
    k = 300 + 200 * seed
    eps = float(full.loss_increase[k : k + 2].mean())  # between two grid points, away from both
    found = predictors.taylor_limit_quadratic(w, grid, zero, H.__matmul__, eps, num_coarse=20)
    assert found.sparsity == full.limit(eps)
    assert found.cost.hvps < 40  # 20 coarse blocks and a bisection, not 1000 products
    with pytest.raises(ValueError, match="num_coarse"):
        predictors.taylor_limit_quadratic(w, grid, zero, H.__matmul__, eps, num_coarse=1)
