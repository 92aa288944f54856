"""Tests of pnlib.predict: one engine, every data format, each predictor against truth."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from pnlib import bounds, hessian, predict, predictors, prune


def _two_layer(seed=0, dead_inputs=2, n=96):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    x[:, :dead_inputs] = 0.0  # inputs that are always zero: their weights have zero Hessian rows
    y = torch.randint(0, 3, (n,), generator=g)
    torch.manual_seed(seed)  # the initial weights too: the tests must not depend on their order
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    return net, TensorDataset(x, y)


def _user_model(seed=0):
    """A network trained by a plain loop of the user's own, outside pnlib (float32, Adam)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(640, 12, generator=g)
    teacher = torch.randn(12, 4, generator=g)
    y = (X @ teacher + 0.5 * torch.randn(640, 4, generator=g)).argmax(1)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(X), y)
        loss = loss + 1e-4 * sum(p.abs().sum() for n, p in net.named_parameters() if "weight" in n)
        loss.backward()
        opt.step()
    return net.eval(), X, y


def _loss_limit(net, X, y, eps, grid):
    """The user's own measured loss-criterion limit: prune by magnitude, evaluate, compare."""
    with torch.no_grad():
        dense = float(nn.functional.cross_entropy(net(X), y))
        weights = [m.weight for m in net if isinstance(m, nn.Linear)]
        flat = torch.cat([w.reshape(-1) for w in weights])
        order = torch.sort(flat.abs(), stable=True).indices
        best = 0.0
        for s in grid:
            pruned = flat.clone()
            pruned[order[: int(np.floor(s * flat.numel() + 0.5))]] = 0
            saved = [w.clone() for w in weights]
            for w, part in zip(weights, pruned.split([w.numel() for w in weights])):
                w.copy_(part.reshape(w.shape))
            if float(nn.functional.cross_entropy(net(X), y)) - dense <= eps:
                best = float(s)
            for w, old in zip(weights, saved):
                w.copy_(old)
    return best


class _Stream(IterableDataset):
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __iter__(self):
        return iter(zip(self.X, self.y))


@pytest.mark.slow
def test_every_data_format_gives_the_same_prediction():
    net, X, y = _user_model()
    ds = TensorDataset(X, y)
    formats = {
        "dataset": ds,
        "loader": DataLoader(ds, batch_size=50, shuffle=True),
        "pair": (X, y),
        "batches": [(X[i : i + 100], y[i : i + 100]) for i in range(0, len(y), 100)],
        "stream": DataLoader(_Stream(X, y), batch_size=64),
    }
    options = dict(predictors=("paper",), exact=True, zero_rows=0)
    results = {k: predict.predict_pruning_limit(net, d, **options) for k, d in formats.items()}
    reference = results["dataset"]
    for name, p in results.items():
        assert p.eps == reference.eps, name
        assert p.estimates == reference.estimates, name
    # the direct predictors see the same data too
    options = dict(predictors=("paper", "taylor"), exact=True, zero_rows=0, grid_points=100)
    pair = predict.predict_pruning_limit(net, formats["pair"], **options)
    loader = predict.predict_pruning_limit(net, formats["loader"], **options)
    assert pair.estimates == loader.estimates


@pytest.mark.slow
def test_recommended_estimate_is_within_5_points_of_a_user_measured_loss_limit():
    grid = np.arange(200) / 200
    for seed in (0, 1):
        net, X, y = _user_model(seed)
        p = predict.predict_pruning_limit(net, (X, y), grid_points=200, zero_rows=10)
        assert p.recommended == "taylor"
        assert set(p.estimates) == {"paper", "free", "taylor", "refit"}
        assert len(repr(p)) < 2000
        json.dumps(p.to_dict())
        actual = _loss_limit(net, X, y, p.eps, grid)
        assert abs(p.estimates[p.recommended] - actual) <= 0.05, (seed, p.estimates, actual)


def test_eps_is_the_population_std_of_batch_losses_in_order():
    net, X, y = _user_model()
    p = predict.predict_pruning_limit(net, (X, y), predictors=("paper",), zero_rows=0)
    with torch.no_grad():
        means = [
            float(nn.functional.cross_entropy(net(X[i : i + 128]), y[i : i + 128]))
            for i in range(0, len(y), 128)
        ]
    assert p.eps == pytest.approx(float(np.std(means)), rel=1e-6)
    assert p.eps_source == "std of batch losses"


@pytest.mark.parametrize("value", [np.float32(1e-3), torch.tensor(1e-3), 1e-3, np.float64(1e-3)])
def test_eps_accepts_numbers_of_every_kind(value):
    assert predict.check_eps(value) == pytest.approx(1e-3)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), True, "abc", torch.ones(2)])
def test_eps_rejects_what_is_not_a_positive_number(value):
    with pytest.raises(ValueError, match="eps"):
        predict.check_eps(value)


def test_bad_data_and_options_fail_clearly_before_work():
    net, ds = _two_layer()
    with pytest.raises(TypeError, match="Dataset, a DataLoader, an \\(X, y\\) pair"):
        predict.predict_pruning_limit(net, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="inputs are torch.float32 but the model's"):
        predict.predict_pruning_limit(net, (torch.randn(8, 5), torch.zeros(8, dtype=torch.long)))
    with pytest.raises(ValueError, match="X has 8 rows but y has 7"):
        predict.predict_pruning_limit(net, (torch.randn(8, 5).double(), torch.zeros(7)))
    with pytest.raises(ValueError, match="at least two batches.*eps_batch_size"):
        predict.predict_pruning_limit(net, ds, eps_batch_size=128)
    for kwargs, message in [
        ({"eps": 0.0}, "eps"),
        ({"negative": "x"}, "negative"),
        ({"zero_mass": "x"}, "zero_mass"),
        ({"exact": "x"}, "exact"),
        ({"predictors": ("paper", "oracle")}, "unknown predictors.*'oracle'"),
        ({"num_steps": 2.5}, "num_steps must be an integer"),
        ({"colour": "red"}, "unknown options.*allowed: eps"),
    ]:
        with pytest.raises(ValueError, match=message):
            predict.predict_pruning_limit(net, ds, **kwargs)


def test_predictors_can_be_skipped_and_time_bounded():
    net, ds = _two_layer()
    only = predict.predict_pruning_limit(net, ds, eps_batch_size=16, predictors=("paper",))
    assert set(only.estimates) == {"paper"} and only.recommended == "paper"
    bounded = predict.predict_pruning_limit(
        net, ds, eps_batch_size=16, predictors=("paper", "taylor", "refit"), max_seconds=1e-9
    )
    assert np.isnan(bounded.estimates["taylor"]) and np.isnan(bounded.estimates["refit"])
    assert bounded.estimates["paper"] == only.estimates["paper"]
    assert any("taylor stopped at its time bound" in n for n in bounded.notes)
    assert bounded.recommended == "paper"


def test_vacuous_upper_bound_is_explained():
    net, ds = _two_layer()
    p = predict.predict_pruning_limit(net, ds, eps_batch_size=16, predictors=("paper",))
    assert p.limit.upper == 1.0  # D = 32: the kinematic slack covers everything
    assert any("upper bound is 1.0 (vacuous)" in n for n in p.notes)


def test_taylor_estimate_matches_the_dense_hessian_and_gradient():
    net, ds = _two_layer(dead_inputs=1)
    grid = np.arange(50) / 50
    p = predict.predict_pruning_limit(
        net, ds, eps_batch_size=16, grid_points=50, predictors=("paper", "taylor")
    )
    loss = nn.functional.cross_entropy
    H = hessian.exact_hessian(net, loss, ds)  # every parameter, biases included
    g = hessian.gradient(net, loss, ds, dtype=torch.float64)
    positions = torch.tensor(list(range(20)) + list(range(24, 36)))  # weights, not biases
    w = prune.flat_prunable(net)
    curve = predictors.taylor_curve_quadratic(w, grid, g, H.__matmul__, positions=positions)
    np.testing.assert_allclose(
        p.details["taylor"].loss_increase, curve.loss_increase, rtol=1e-9, atol=1e-14
    )
    assert p.estimates["taylor"] == curve.limit(p.eps)


def test_exact_and_full_slq_agree():
    net, ds = _two_layer(dead_inputs=0)
    common = dict(eps_batch_size=16, zero_rows=0, predictors=("paper",))
    exact = predict.predict_pruning_limit(net, ds, exact=True, **common)
    slq = predict.predict_pruning_limit(
        net, ds, exact=False, num_steps=32, num_probes=8, seed=1, **common
    )
    assert exact.spectrum_source == "exact" and slq.spectrum_source == "slq"
    assert exact.eps == slq.eps
    H = hessian.exact_hessian(net, nn.functional.cross_entropy, ds, params="prunable").numpy()
    lam, Q = np.linalg.eigh(0.5 * (H + H.T))
    np.testing.assert_allclose(np.sort(exact.spectrum.nodes[0]), lam, atol=1e-12)
    # with num_steps = D each probe's Gauss rule gives v^T f(H) v exactly, so SLQ is Hutchinson's
    # estimator of tr f(H)/D: unbiased, variance 2(||A||_F^2 - sum A_ii^2)/D^2 per Rademacher probe
    d = lam.size
    for radius in (0.5, 1.0, 3.0):
        A = (Q * (2 * exact.eps / (2 * exact.eps + np.abs(lam) * radius**2))) @ Q.T
        sd = np.sqrt(2 * (np.sum(A**2) - np.sum(np.diag(A) ** 2)) / d**2 / 8)
        assert exact.theory(radius)[0] == pytest.approx(np.trace(A) / d, abs=1e-12)
        assert abs(slq.theory(radius)[0] - exact.theory(radius)[0]) < 5 * sd


def test_zero_curvature_mass_counts_exact_zero_rows():
    net, ds = _two_layer()
    loss = nn.functional.cross_entropy
    H = hessian.exact_hessian(net, loss, ds, params="prunable")
    weights = prune.flat_prunable(net).numpy()
    op = hessian.HessianOperator(net, loss, ds, params="prunable", dtype=torch.float64)
    z, norms = predict.zero_curvature_mass(op, weights, num_rows=10, tol=1e-12, block=3)
    rows = predict.boundary_rows(weights, 10)
    exact = H.abs().sum(dim=1).numpy()[rows]
    np.testing.assert_allclose(norms, exact, rtol=1e-10, atol=1e-14)
    assert z == np.mean(exact < 1e-12) > 0


def test_path_terms_match_the_dense_hessian():
    net, ds = _two_layer(dead_inputs=1)
    p = predict.predict_pruning_limit(net, ds, eps_batch_size=16, predictors=("paper",))
    loss = nn.functional.cross_entropy
    H = hessian.exact_hessian(net, loss, ds, params="prunable")
    g = hessian.gradient(net, loss, ds, params="prunable", dtype=torch.float64)
    w = prune.flat_prunable(net)
    step = torch.zeros_like(w)
    removed = prune.magnitude_order(w)[: prune.num_removed(p.sparsity, w.numel())]
    step[removed] = -w[removed]
    terms = p.details["path"]
    assert terms["radius"] == pytest.approx(float(step.norm()), rel=1e-12)
    assert terms["linear"] == pytest.approx(float(g @ step), rel=1e-10, abs=1e-14)
    assert terms["quadratic"] == pytest.approx(0.5 * float(step @ H @ step), rel=1e-10)
    expected = 0.5 * float(step @ step) * float(torch.trace(H)) / w.numel()
    assert terms["random_quadratic"] == pytest.approx(expected, rel=1e-10)


def test_half_steps_estimate_is_a_run_with_half_the_steps():
    net, ds = _two_layer(dead_inputs=0)
    kw = dict(eps_batch_size=16, exact=False, num_probes=4, zero_rows=0, predictors=("paper",))
    full = predict.predict_pruning_limit(net, ds, num_steps=20, seed=2, **kw)
    half = predict.predict_pruning_limit(net, ds, num_steps=10, seed=2, **kw)
    # the first 10 steps of a 20-step run are a 10-step run: no new products needed
    assert predict.half_steps_estimate(full) == pytest.approx(half.sparsity, abs=1e-9)
    exact = predict.predict_pruning_limit(
        net, ds, eps_batch_size=16, zero_rows=0, predictors=("paper",)
    )
    assert exact.spectrum_source == "exact" and predict.half_steps_estimate(exact) is None


def test_authors_mode_without_quirks_is_the_fixed_point_on_the_grid():
    net, ds = _two_layer(dead_inputs=0, n=256)
    p = predict.predict_pruning_limit(
        net, ds, eps_batch_size=32, grid_points=400, predictors=("paper", "authors")
    )
    authors = p.details["authors"]
    # the grid argmin of |s(R_i) - s_i| lands within a few grid steps of the bisected fixed point
    assert abs(authors["grid_argmin"] - p.estimates["paper"]) <= 3 / 400
    assert set(authors["quirks"]) == {
        "integer_radius",
        "smoothed_density",
        "all_parameters",
        "shuffled_eps",
    }
    assert authors["dim_all_parameters"] == 5 * 4 + 4 + 4 * 3 + 3
    assert authors["eps_shuffled"] > 0


def test_paper_estimate_is_the_bounds_fixed_point():
    net, ds = _two_layer()
    p = predict.predict_pruning_limit(net, ds, eps_batch_size=16, predictors=("paper", "free"))
    direct = bounds.predicted_sparsity(p.weights, p.spectrum, p.eps, zero_mass=p.zero_mass)
    assert p.estimates["paper"] == direct.estimate
    free = bounds.predicted_sparsity(p.weights, p.spectrum, p.eps, variant="free")
    assert p.estimates["free"] == free.estimate


@pytest.mark.slow  # every predictor and both refit limits end to end
def test_compare_uses_the_engine_eps_and_prediction():
    net, ds = _two_layer(n=300)
    grid = np.arange(20) / 20
    result = predict.compare(net, None, ds, ds, grid)
    eps = predict.batch_loss_eps(net, ds)[0]
    assert result.eps == eps
    assert set(result.actual) == set(prune.CRITERIA)
    assert (
        result.predicted["paper"]
        == predict.predict_pruning_limit(
            net, ds, eps=eps, predictors=("paper",), dtype="float64"
        ).estimates["paper"]
    )
    with pytest.raises(ValueError, match="eps"):
        predict.compare(net, None, ds, ds, grid, eps=-1.0)
    with pytest.raises(ValueError, match="methods must be among"):
        predict.compare(net, None, ds, ds, grid, methods=("oracle",))
    only = predict.compare(
        net, None, ds, ds, grid, eps=eps, paper=result.details["paper"], methods=("taylor",)
    )
    assert set(only.predicted) == {"paper", "paper_lower", "paper_upper", "taylor"}


@pytest.mark.slow  # every predictor and both refit limits end to end
def test_compare_collects_every_predictor_and_limit():
    net, ds = _two_layer(dead_inputs=0, n=300)
    net, ds = net.float(), TensorDataset(ds.tensors[0].float(), ds.tensors[1])
    grid = np.linspace(0.0, 0.95, 20)
    result = predict.compare(
        net, None, ds, ds, grid, eps=1e-2, paper_kwargs={"zero_rows": 0, "exact": True}
    )
    assert set(result.predicted) == {"paper", "paper_lower", "paper_upper", "taylor", "refit"}
    assert set(result.actual) == set(prune.CRITERIA)
    alone = predictors.taylor_limit(net, None, ds, grid, 1e-2, dtype=torch.float64)
    assert result.predicted["taylor"] == alone.sparsity
    assert result.predicted["paper_lower"] <= result.predicted["paper"]
    assert result.predicted["paper"] <= result.predicted["paper_upper"]
    assert result.costs["paper"].hvps == prune.flat_prunable(net).numel()  # exact spectrum
    assert result.costs["taylor"].hvps == alone.cost.hvps
    errors = result.to_dict()["errors"]["loss"]
    assert errors["taylor"] == pytest.approx(result.predicted["taylor"] - result.actual["loss"])


@pytest.mark.slow
def test_the_quadrature_interval_contains_the_exact_fixed_point_and_narrows_with_steps():
    net, ds = _two_layer(dead_inputs=1, n=256)
    common = dict(eps_batch_size=32, zero_rows=0, predictors=("paper",))
    exact = predict.predict_pruning_limit(net, ds, exact=True, **common)
    assert exact.limit.interval_lower == exact.limit.interval_upper == exact.sparsity
    few = predict.predict_pruning_limit(net, ds, exact=False, num_steps=4, seed=3, **common)
    assert few.limit.interval_lower <= exact.sparsity <= few.limit.interval_upper
    narrowed = predict.predict_pruning_limit(
        net, ds, exact=False, num_steps=4, seed=3, interval_width=0.02, **common
    )
    width = narrowed.limit.interval_upper - narrowed.limit.interval_lower
    assert narrowed.limit.interval_lower <= exact.sparsity <= narrowed.limit.interval_upper
    assert width <= 0.02 or any("interval on s*" in n for n in narrowed.notes)
    assert width < few.limit.interval_upper - few.limit.interval_lower
    assert narrowed.costs["paper"].hvps > few.costs["paper"].hvps
    capped = predict.predict_pruning_limit(
        net, ds, exact=False, num_steps=4, seed=3, interval_width=1e-6, max_products=40, **common
    )
    assert any("would exceed the budget" in n for n in capped.notes)
