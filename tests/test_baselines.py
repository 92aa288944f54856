import dataclasses

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from pnlib import baselines, models, prune, train


def make_net(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3)
    ).to(dtype)


@pytest.fixture
def dataset(tiny_classification):
    x, y = tiny_classification
    return TensorDataset(x.double(), y)


CONFIG = train.TrainConfig(epochs=4, batch_size=8, lr=0.05, momentum=0.9, l1=1e-3)


def flat(model):
    return prune.flat_prunable(model)


def count_kept(masks):
    return sum(int(m.sum()) for m in masks.values())


# --- masked training -------------------------------------------------------------------------


def test_train_masked_without_masks_reproduces_train(dataset):
    a, b = make_net(), make_net()
    cfg = dataclasses.replace(CONFIG, weight_decay=1e-3, schedule="cosine")
    train.train(a, dataset, cfg, generator=torch.Generator().manual_seed(3))
    baselines.train_masked(b, dataset, cfg, generator=torch.Generator().manual_seed(3))
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_masks_and_momentum_are_respected_after_every_step(dataset):
    net = make_net()
    masks = baselines.smart_ratio_masks(net, 0.6, generator=torch.Generator().manual_seed(1))
    before = flat(net).clone()
    params = models.prunable_parameters(net)
    steps = []

    def check(model, optimizer):
        for name, p in params.items():
            assert bool((p[~masks[name]] == 0).all())
            buf = optimizer.state[p]["momentum_buffer"]
            assert bool((buf[~masks[name]] == 0).all())
        steps.append(1)

    cfg = dataclasses.replace(CONFIG, weight_decay=1e-2)
    baselines.train_masked(net, dataset, cfg, masks, on_step=check)
    assert len(steps) == cfg.epochs * 5
    keep = torch.cat([m.reshape(-1) for m in masks.values()])
    assert bool((flat(net)[keep] != before[keep]).all())  # the kept weights did train


# --- IMP ----------------------------------------------------------------------------------------


def test_geometric_schedule_prunes_the_same_fraction_of_survivors():
    steps = baselines.geometric_schedule(0.9, 4)
    density = np.concatenate([[1.0], 1 - steps])
    np.testing.assert_allclose(density[1:] / density[:-1], 0.1**0.25, rtol=1e-12)
    assert steps[-1] == 0.9


def test_imp_rewinds_to_the_stored_early_weights_and_reaches_the_schedule(dataset):
    net, reference = make_net(), make_net()
    snapshots = {}

    def callback(event, index, model, masks):
        if event == "rewound" or index == 0:
            snapshots[index] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"kept": count_kept(masks)}

    result = baselines.imp(
        net,
        dataset,
        CONFIG,
        target_sparsity=0.8,
        rounds=3,
        rewind_epoch=1,
        generator=torch.Generator().manual_seed(5),
        callback=callback,
    )
    # the rewind point is the dense network after one epoch, trained independently here
    train.train(
        reference,
        dataset,
        dataclasses.replace(CONFIG, epochs=1),
        generator=torch.Generator().manual_seed(5),
    )
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(result.rewind_state[name], value, rtol=0, atol=0)
    # round 0 is one uninterrupted dense training, identical to pnlib.train.train
    dense = make_net()
    train.train(dense, dataset, CONFIG, generator=torch.Generator().manual_seed(5))
    for name, value in dense.state_dict().items():
        torch.testing.assert_close(snapshots[0][name], value, rtol=0, atol=0)
    n = flat(net).numel()
    for record in result.rounds[1:]:
        snap = snapshots[record["round"]]
        assert record["trained"]["kept"] == n - prune.num_removed(record["sparsity"], n)
        assert record["rewound"]["kept"] == record["trained"]["kept"]
        for name, value in reference.state_dict().items():
            if name.endswith("bias"):
                torch.testing.assert_close(snap[name], value, rtol=0, atol=0)
    # after the last reset: survivors equal their rewind values, the rest is zero
    for name, mask in result.masks.items():
        torch.testing.assert_close(
            snapshots[3][name], reference.state_dict()[name] * mask, rtol=0, atol=0
        )
    assert count_kept(result.masks) == n - prune.num_removed(0.8, n)
    assert bool(
        (flat(net)[torch.cat([m.reshape(-1) for m in result.masks.values()]) == 0] == 0).all()
    )
    assert baselines.mask_sparsity(result.masks) == pytest.approx(0.8, abs=0.5 / n)


def test_imp_masks_are_nested_and_prune_the_smallest_survivors():
    net = make_net()
    masks = baselines.full_masks(net)
    for s in (0.3, 0.6, 0.9):
        new = baselines.prune_survivors(net, masks, s)
        for name in masks:
            assert bool((new[name] <= masks[name]).all())
        removed_now = torch.cat([(masks[k] & ~new[k]).reshape(-1) for k in masks])
        kept = torch.cat([new[k].reshape(-1) for k in masks])
        mags = flat(net).abs()
        assert mags[removed_now].max() <= mags[kept].min()
        masks = new
        with torch.no_grad():
            prune.apply_masks(net, masks)


# --- Smart-Ratio --------------------------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [0.0, 0.05, 0.3, 0.5, 0.8, 0.95, 0.999, 1.0])
@pytest.mark.parametrize("sizes", [[1000, 300, 100, 10], [64 * 32, 32 * 32, 32 * 10], [7, 5]])
def test_smart_ratio_gives_the_global_target_exactly(sizes, sparsity):
    counts = baselines.smart_ratio_counts(sizes, sparsity)
    n = sum(sizes)
    assert counts.sum() == n - prune.num_removed(sparsity, n)
    assert np.all((counts >= 0) & (counts <= np.array(sizes)))


def test_smart_ratio_follows_the_quadratic_formula():
    sizes = np.array([4000, 2000, 1000, 500, 100])
    counts = baselines.smart_ratio_counts(sizes.tolist(), 0.9)
    assert counts[-1] == round(0.3 * 100)
    c = np.array([5**2 + 5, 4**2 + 4, 3**2 + 3, 2**2 + 2])
    budget = sizes.sum() - prune.num_removed(0.9, int(sizes.sum())) - counts[-1]
    alpha = budget / (c * sizes[:-1]).sum()  # the one scale factor of Smart-Ratio
    assert np.all(np.abs(counts[:-1] - alpha * c * sizes[:-1]) < 1.0)


def test_smart_ratio_masks_are_random_within_layers():
    net = make_net()
    a = baselines.smart_ratio_masks(net, 0.5, generator=torch.Generator().manual_seed(0))
    b = baselines.smart_ratio_masks(net, 0.5, generator=torch.Generator().manual_seed(1))
    counts = baselines.smart_ratio_counts([40, 48, 18], 0.5)
    assert [int(m.sum()) for m in a.values()] == counts.tolist()
    assert [int(m.sum()) for m in b.values()] == counts.tolist()
    assert any(bool((a[k] != b[k]).any()) for k in a)


# --- Rare Gems ----------------------------------------------------------------------------------


def test_rare_gems_ends_at_the_target_sparsity(dataset):
    net = make_net()
    init = flat(net).clone()
    result = baselines.rare_gems(
        net,
        dataset,
        CONFIG,
        target_sparsity=0.7,
        freezes=2,
        score_l2=1e-3,
        generator=torch.Generator().manual_seed(2),
    )
    n = init.numel()
    keep = torch.cat([m.reshape(-1) for m in result.masks.values()])
    assert int(keep.sum()) == n - prune.num_removed(0.7, n)
    torch.testing.assert_close(flat(net), init * keep, rtol=0, atol=0)  # weights never trained
    assert [h["frozen_sparsity"] for h in result.history] == pytest.approx(
        [0.0, result.schedule[0], result.schedule[0], result.schedule[1]], abs=0.5 / n
    )
    scores = torch.cat([s.reshape(-1) for s in result.scores.values()])
    assert bool(((scores >= 0) & (scores <= 1)).all())
    assert bool((scores[~keep] == 0).all())


def test_rare_gems_scores_learn_and_finetuning_keeps_the_mask(dataset):
    net = make_net()
    cfg = dataclasses.replace(CONFIG, epochs=6, lr=0.5)
    result = baselines.rare_gems(
        net,
        dataset,
        cfg,
        target_sparsity=0.5,
        freezes=1,
        score_l2=0.0,
        finetune=CONFIG,
        generator=torch.Generator().manual_seed(4),
    )
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert len(result.finetune_history) == CONFIG.epochs
    keep = torch.cat([m.reshape(-1) for m in result.masks.values()])
    assert bool((flat(net)[~keep] == 0).all())


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda net, d: baselines.imp(net, d, CONFIG, target_sparsity=1.0, rounds=2),
        lambda net, d: baselines.imp(net, d, CONFIG, target_sparsity=-0.1, rounds=2),
        lambda net, d: baselines.imp(net, d, CONFIG, target_sparsity=0.5, rounds=0),
        lambda net, d: baselines.imp(net, d, CONFIG, target_sparsity=0.5, rounds=2, rewind_epoch=4),
        lambda net, d: baselines.rare_gems(net, d, CONFIG, target_sparsity=0.5, freezes=0),
        lambda net, d: baselines.rare_gems(net, d, CONFIG, target_sparsity=0.5, freezes=5),
        lambda net, d: baselines.rare_gems(net, d, CONFIG, target_sparsity=0.5, score_l2=-1.0),
        lambda net, d: baselines.smart_ratio_masks(net, 1.5),
        lambda net, d: baselines.smart_ratio_masks(net, 0.5, last_layer_ratio=0.0),
        lambda net, d: baselines.smart_ratio_counts([], 0.5),
        lambda net, d: baselines.train_masked(net, d, CONFIG, {"0.weight": torch.ones(2, 2)}),
        lambda net, d: baselines.prune_survivors(net, baselines.smart_ratio_masks(net, 0.5), 0.2),
    ],
)
def test_bad_input_raises_value_error(call, dataset):
    with pytest.raises(ValueError):
        call(make_net(), dataset)
