"""The measured refit limit against least squares, where the re-fit has a closed form."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from pnlib import prune, refit


def _least_squares(seed=0, n=200, d=12):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    w = torch.randn(d, 1, generator=g, dtype=torch.float64) * torch.logspace(-2, 0, d)[:, None]
    y = X @ w + 0.3 + 0.05 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    net = nn.Linear(d, 1).double()
    # the dense optimum, so that the dense loss is the least-squares minimum
    A = torch.cat([X, torch.ones(n, 1, dtype=torch.float64)], 1)
    sol = torch.linalg.lstsq(A, y).solution
    with torch.no_grad():
        net.weight.copy_(sol[:d].T)
        net.bias.copy_(sol[d])
    return net, X, y


def _exact_refit(net, X, y, sparsity):
    """Least squares on the kept columns and the bias: the global refit in closed form."""
    w = net.weight.detach().reshape(-1)
    removed = prune.magnitude_order(w)[: prune.num_removed(sparsity, w.numel())]
    keep = torch.ones(w.numel(), dtype=torch.bool)
    keep[removed] = False
    A = torch.cat([X[:, keep], torch.ones(len(X), 1, dtype=X.dtype)], 1)
    residual = A @ torch.linalg.lstsq(A, y).solution - y
    return float((residual**2).mean())


def test_global_refit_is_the_least_squares_optimum_on_the_kept_weights():
    net, X, y = _least_squares()
    mse = nn.functional.mse_loss
    for s in (0.25, 0.5, 0.75):
        got = refit.refit_loss(net, [(X, y)], s, loss_fn=mse)
        assert got == pytest.approx(_exact_refit(net, X, y, s), rel=1e-7)


def test_local_refit_lies_between_the_global_refit_and_one_shot_pruning():
    net, X, y = _least_squares(1)
    mse = nn.functional.mse_loss
    s = 0.5
    one_shot = net.__class__(12, 1).double()
    one_shot.load_state_dict(net.state_dict())
    prune.prune_(one_shot, s)
    with torch.no_grad():
        pruned = float(mse(one_shot(X), y))
    local = refit.refit_loss(net, TensorDataset(X, y), s, local=True, loss_fn=mse)
    whole = refit.refit_loss(net, TensorDataset(X, y), s, loss_fn=mse)
    assert whole <= local + 1e-12 <= pruned + 2e-12


def test_measured_limit_matches_the_closed_form_on_every_grid_point():
    net, X, y = _least_squares(2)
    mse = nn.functional.mse_loss
    grid = np.arange(24) / 24
    dense = _exact_refit(net, X, y, 0.0)
    increases = np.array([_exact_refit(net, X, y, s) - dense for s in grid])
    ordered = np.sort(increases)
    eps = float(np.sqrt(ordered[12] * ordered[13]))  # between two grid points, away from both
    expected = float(grid[np.flatnonzero(increases <= eps).max()])
    found = refit.measured_refit_limit(net, [(X, y)], grid, eps, loss_fn=mse, num_coarse=5)
    assert found.limit == expected
    assert found.monotone
    assert found.sparsity.size < grid.size  # bisection, not a full scan
    record = found.to_dict()
    assert record["limit"] == expected and record["evaluations"] == found.sparsity.size


def test_bad_arguments_are_refused():
    net, X, y = _least_squares()
    with pytest.raises(ValueError, match="starting at 0"):
        refit.measured_refit_limit(net, [(X, y)], np.array([0.1, 0.2]), 1.0)
    with pytest.raises(ValueError, match="eps"):
        refit.measured_refit_limit(net, [(X, y)], np.array([0.0, 0.5]), 0.0)
    with pytest.raises(ValueError, match="num_coarse"):
        refit.measured_refit_limit(net, [(X, y)], np.array([0.0, 0.5]), 1.0, num_coarse=1)
