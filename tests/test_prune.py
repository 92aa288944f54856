import numpy as np
import pytest
import torch
from torch import nn

from pnlib import prune


def make_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4))


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.37, 0.5, 0.99, 1.0])
def test_masks_keep_exactly_the_rounded_count(sparsity):
    net = make_net()
    masks = prune.global_magnitude_masks(net, sparsity)
    n = 30 + 20
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == n - int(np.floor(sparsity * n + 0.5))


def test_global_pruning_equals_sorting_all_magnitudes():
    net = make_net()
    flat = prune.flat_prunable(net)
    masks = prune.global_magnitude_masks(net, 0.4)
    kept = torch.cat([m.reshape(-1) for m in masks.values()])
    threshold = flat.abs().sort().values[prune.num_removed(0.4, flat.numel()) - 1]
    assert bool((flat.abs()[kept] >= threshold).all())
    assert bool((flat.abs()[~kept] <= threshold).all())


def test_ties_are_broken_by_position_and_pruning_is_idempotent():
    net = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, -1.0, 1.0, 2.0]]))
    masks = prune.prune_(net, 0.5)
    assert masks["weight"].tolist() == [[False, False, True, True]]
    before = net.weight.clone()
    prune.prune_(net, 0.5)
    assert torch.equal(before, net.weight)


def test_biases_are_never_pruned():
    net = make_net()
    biases = [net[0].bias.clone(), net[2].bias.clone()]
    prune.prune_(net, 1.0)
    assert torch.equal(biases[0], net[0].bias) and torch.equal(biases[1], net[2].bias)
    assert float(prune.flat_prunable(net).abs().sum()) == 0.0


def test_bad_sparsity_and_masks_are_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        prune.global_magnitude_masks(make_net(), 1.5)
    with pytest.raises(ValueError, match="mask"):
        prune.apply_masks(make_net(), {"0.weight": torch.ones(5, 6, dtype=torch.bool)})


def test_sweep_matches_direct_pruning_and_restores_weights():
    net = make_net()
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(1))
    original = [p.clone() for p in net.parameters()]
    grid = prune.sparsity_grid(20)

    @torch.no_grad()
    def measure(model):
        return {"out": float(model(x).square().sum())}

    result = prune.sweep(net, grid, measure)
    for p, q in zip(net.parameters(), original):
        assert torch.equal(p, q)
    flat = prune.flat_prunable(net)
    for i in (0, 7, 13, 19):
        pruned = make_net()
        pruned.load_state_dict(net.state_dict())
        masks = prune.prune_(pruned, grid[i])
        kept = torch.cat([m.reshape(-1) for m in masks.values()])
        assert result.metrics["out"][i] == pytest.approx(measure(pruned)["out"], rel=1e-6)
        assert result.radius[i] == pytest.approx(float(flat[~kept].norm()), rel=1e-6)
        assert result.num_removed[i] == prune.num_removed(grid[i], flat.numel())


def test_sweep_restores_weights_on_error():
    net = make_net()
    original = [p.clone() for p in net.parameters()]

    def measure(model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prune.sweep(net, [0.5, 0.9], measure)
    for p, q in zip(net.parameters(), original):
        assert torch.equal(p, q)


@pytest.mark.parametrize("grid", [[], [0.5, 0.2], [0.0, 1.2]])
def test_sweep_rejects_bad_grids(grid):
    with pytest.raises(ValueError):
        prune.sweep(make_net(), grid, lambda m: {})


def test_actual_limit_criteria():
    result = prune.SweepResult(
        sparsity=np.array([0.0, 0.2, 0.4, 0.6, 0.8]),
        num_removed=np.arange(5),
        radius=np.linspace(0, 1, 5),
        metrics={
            "test_accuracy": np.array([0.90, 0.91, 0.90, 0.895, 0.5]),
            "train_loss": np.array([0.10, 0.10, 0.12, 0.20, 2.0]),
        },
    )
    assert prune.actual_limit(result, "accuracy") == 0.4
    assert prune.actual_limit(result, "tolerance", tolerance=0.01) == 0.6
    assert prune.actual_limit(result, "loss", eps=0.05) == 0.4
    with pytest.raises(ValueError, match="eps"):
        prune.actual_limit(result, "loss")
    with pytest.raises(ValueError, match="criterion"):
        prune.actual_limit(result, "best")
    with pytest.raises(ValueError, match="sparsity 0"):
        prune.actual_limit(
            prune.SweepResult(
                result.sparsity[1:], result.num_removed[1:], result.radius[1:], result.metrics
            ),
            "accuracy",
        )
