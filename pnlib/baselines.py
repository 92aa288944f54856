r"""The pruning baselines the paper compares LOMP with: IMP with rewinding, Smart-Ratio, Rare Gems.

All three produce **keep masks** (one boolean tensor per prunable weight, True = kept, keyed like
:func:`pnlib.models.prunable_parameters`) at an exact global sparsity $s$: exactly
``pnlib.prune.num_removed(s, n)`` of the $n$ prunable weights are removed, as in one-shot
magnitude pruning (:func:`pnlib.prune.global_magnitude_masks`), so every method is compared at
the same number of weights.

* :func:`imp`: iterative magnitude pruning with rewinding (Frankle & Carbin 2019; Frankle et al.
  2020). Train, remove the smallest-magnitude surviving weights globally, rewind the survivors to
  the weights stored after ``rewind_epoch`` epochs, and repeat on a geometric schedule that ends
  exactly at the target.
* :func:`smart_ratio_masks`: Smart-Ratio (Su et al. 2020), random masks with layer-wise keep ratios
  that decay quadratically with depth, the classifier's ratio fixed (0.3, the authors' default);
  the network is then trained from its initialisation with :func:`train_masked`.
* :func:`rare_gems`: GEM-MINER (Sreenivasan et al. 2022), which learns a score in $[0, 1]$ per
  weight with the weights frozen at initialisation, rounds the scores to a mask with a
  straight-through estimator, penalises $\lambda\|p\|_2^2$, freezes the lowest scores iteratively
  until the target sparsity, and optionally fine-tunes the weights on the mask found.

:func:`train_masked` is the masked SGD they share: after every optimiser step the pruned weights
are exactly zero, their gradients were zeroed before the step and their momentum buffers are zero,
so a pruned weight can never come back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from pnlib import models, prune, train

Masks = dict[str, Tensor]
LossFn = Callable[[Tensor, Tensor], Tensor]

SMART_RATIO_LAST_LAYER = 0.3
"""Keep ratio of the last (classifier) layer in Smart-Ratio: ``linear_keep_ratio`` of Su et al."""


# ---------------------------------------------------------------------------------------------
# masks and masked training


def full_masks(model: nn.Module) -> Masks:
    """Keep masks that keep every prunable weight.

    Args:
        model: The network.

    Returns:
        One all-True boolean mask per prunable weight.
    """
    return {
        name: torch.ones_like(p, dtype=torch.bool)
        for name, p in models.prunable_parameters(model).items()
    }


def check_masks(model: nn.Module, masks: Masks) -> Masks:
    """Validate keep masks against a model's prunable weights.

    Args:
        model: The network.
        masks: One mask per prunable weight.

    Returns:
        The masks as boolean tensors on the weights' devices.

    Raises:
        ValueError: If a mask is missing, extra, or of the wrong shape.
    """
    params = models.prunable_parameters(model)
    extra = sorted(set(masks) - set(params))
    if extra:
        raise ValueError(f"masks for unknown weights {extra}; prunable weights: {list(params)}")
    checked = {}
    for name, p in params.items():
        if name not in masks or tuple(masks[name].shape) != tuple(p.shape):
            raise ValueError(f"mask for {name!r} missing or not of shape {tuple(p.shape)}")
        checked[name] = masks[name].to(device=p.device, dtype=torch.bool)
    return checked


def mask_sparsity(masks: Masks) -> float:
    """Fraction of prunable weights removed by ``masks``.

    Args:
        masks: Keep masks.

    Returns:
        Removed fraction in [0, 1].

    Example:
        >>> mask_sparsity({"w": torch.tensor([True, False, False, True])})
        0.5
    """
    total = sum(m.numel() for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    return 1.0 - kept / total


def _check_target(target_sparsity: float) -> float:
    value = prune.check_sparsity(target_sparsity)
    if value >= 1.0:
        raise ValueError(f"target_sparsity must be in [0, 1) (keep a weight), got {value}")
    return value


@torch.no_grad()
def _enforce(model: nn.Module, masks: Masks, optimizer: torch.optim.Optimizer | None) -> None:
    """Zero pruned weights and their momentum buffers (Eq. of masked SGD: w <- m * w)."""
    params = models.prunable_parameters(model)
    for name, p in params.items():
        p.mul_(masks[name])
        if optimizer is not None:
            buf = optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                buf.mul_(masks[name])


def _train_masked(
    model, data, config, masks, base_seed, start_epoch, loss_fn, device, on_step, on_epoch=None
) -> list[dict[str, float]]:
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    params = models.prunable_parameters(model)
    penalised = train.l1_parameters(model, config.l1_scope) if config.l1 > 0 else []
    _enforce(model, masks, optimizer)

    @torch.no_grad()
    def mask_gradients(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for name, p in params.items():
            if p.grad is not None:
                p.grad.mul_(masks[name])

    def after_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        _enforce(model, masks, optimizer)
        if on_step is not None:
            on_step(model, optimizer)

    history = []
    for epoch in range(start_epoch, config.epochs):
        loader = train.make_loader(data, config.batch_size, shuffle=True, seed=base_seed + epoch)
        stats = train.run_epoch(
            model,
            loader,
            optimizer,
            config,
            epoch,
            penalised,
            loss_fn,
            device,
            before_step=mask_gradients,
            after_step=after_step,
        )
        history.append(
            {
                "epoch": epoch + 1,
                "lr": stats["lr"],
                "loss": stats["loss"],
                "accuracy": stats["accuracy"],
            }
        )
        if on_epoch is not None:
            on_epoch(epoch + 1, model)
    return history


def _base_seed(generator: torch.Generator | None) -> int:
    # the same derivation as pnlib.train.train, so an all-True mask reproduces it exactly
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return int(torch.randint(0, 2**62, (1,), generator=generator))


def train_masked(
    model: nn.Module,
    data: Dataset,
    config: train.TrainConfig,
    masks: Masks | None = None,
    *,
    generator: torch.Generator | None = None,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    on_step: Callable[[nn.Module, torch.optim.Optimizer], None] | None = None,
) -> list[dict[str, float]]:
    r"""Train ``model`` in place with SGD on a fixed sparse support.

    The same loop as :func:`pnlib.train.train` (learning-rate schedule, $\ell_1$ and weight decay
    of ``config``, data order from ``generator``), with the mask $m$ enforced: the gradient is
    multiplied by $m$ before each step, and after it the weights and the momentum buffers are
    multiplied by $m$. With ``masks=None`` (all kept) it reproduces :func:`pnlib.train.train`
    bit for bit.

    Args:
        model: The network; pruned weights are zeroed before the first step.
        data: Training dataset.
        config: Hyperparameters.
        masks: Keep masks; default keep everything.
        generator: Source of the data-order seed (default seeded with 0).
        loss_fn: Batch-mean data loss; default cross-entropy.
        device: Device of the batches; default the model's.
        on_step: Called as ``on_step(model, optimizer)`` after every optimiser step.

    Returns:
        One dict per epoch (epoch, lr, loss, accuracy).

    Raises:
        ValueError: If the masks do not match the model.
    """
    masks = check_masks(model, masks if masks is not None else full_masks(model))
    return _train_masked(
        model,
        data,
        config,
        masks,
        _base_seed(generator),
        0,
        loss_fn or nn.functional.cross_entropy,
        device or next(model.parameters()).device,
        on_step,
    )


# ---------------------------------------------------------------------------------------------
# iterative magnitude pruning with rewinding


def geometric_schedule(target_sparsity: float, rounds: int) -> np.ndarray:
    r"""Sparsities after each round when each round removes the same fraction of the survivors.

    Round $r$ of $R$ reaches $s_r = 1 - (1 - s)^{r/R}$, so every round keeps the fraction
    $(1 - s)^{1/R}$ of the remaining weights (IMP's "prune $p\%$ per round"); the last entry is
    exactly ``target_sparsity``.

    Args:
        target_sparsity: Final fraction removed, in [0, 1).
        rounds: Number of rounds, at least 1.

    Returns:
        Increasing sparsities, one per round.

    Raises:
        ValueError: If ``rounds < 1`` or the target is outside [0, 1).

    Example:
        >>> geometric_schedule(0.75, 2).tolist()
        [0.5, 0.75]
    """
    target = _check_target(target_sparsity)
    if int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds}")
    steps = 1.0 - (1.0 - target) ** (np.arange(1, rounds + 1) / rounds)
    steps[-1] = target
    return steps


def prune_survivors(model: nn.Module, masks: Masks, sparsity: float) -> Masks:
    """Global magnitude pruning restricted to the weights ``masks`` still keeps.

    The already-pruned weights stay pruned; among the survivors the smallest magnitudes are
    removed (ties by position) until exactly ``num_removed(sparsity, n)`` weights are gone.

    Args:
        model: The trained network.
        masks: Current keep masks.
        sparsity: New total fraction removed; at least the masks' current sparsity.

    Returns:
        New masks, nested in the old ones.

    Raises:
        ValueError: If ``sparsity`` is below the current sparsity or outside [0, 1].
    """
    masks = check_masks(model, masks)
    keep = torch.cat([m.reshape(-1) for m in masks.values()])
    count = prune.num_removed(sparsity, keep.numel())
    if count < int((~keep).sum()):
        raise ValueError(
            f"sparsity {sparsity} removes {count} weights, fewer than the {int((~keep).sum())} "
            "already removed"
        )
    score = prune.flat_prunable(model).abs().to(torch.float64)
    score[~keep] = -1.0  # pruned weights sort first
    new_keep = torch.ones_like(keep)
    new_keep[torch.sort(score, stable=True).indices[:count]] = False
    return _unflatten(new_keep, masks)


def _unflatten(flat: Tensor, like: Masks) -> Masks:
    out, offset = {}, 0
    for name, m in like.items():
        out[name] = flat[offset : offset + m.numel()].reshape(m.shape)
        offset += m.numel()
    return out


@dataclass
class IMPResult:
    """What :func:`imp` produced besides the pruned, retrained model.

    Attributes:
        masks: Final keep masks, at exactly the target sparsity.
        schedule: Sparsity after each round.
        rewind_state: Every parameter after ``rewind_epoch`` epochs of dense training (the point
            each round rewinds to).
        rounds: One dict per round (round 0 is dense training): ``sparsity``, ``history`` and
            whatever the callback returned, under ``"rewound"`` and ``"trained"``.
    """

    masks: Masks
    schedule: np.ndarray
    rewind_state: dict[str, Tensor]
    rounds: list[dict] = field(default_factory=list)


def imp(
    model: nn.Module,
    data: Dataset,
    config: train.TrainConfig,
    *,
    target_sparsity: float,
    rounds: int,
    rewind_epoch: int = 0,
    generator: torch.Generator | None = None,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    callback: Callable[[str, int, nn.Module, Masks], dict | None] | None = None,
) -> IMPResult:
    r"""Iterative magnitude pruning with rewinding (lottery-ticket IMP).

    1. Train the dense network for ``config.epochs`` epochs, storing all its parameters after
       ``rewind_epoch`` epochs ($w_{k}$; $k = 0$ is the initialisation, Frankle & Carbin 2019;
       $k > 0$ is the rewinding of Frankle et al. 2020).
    2. For $r = 1, \dots, R$: remove the smallest-magnitude surviving weights globally so the
       sparsity is $s_r$ of :func:`geometric_schedule`; reset every parameter to $w_k$ (pruned
       weights to 0); retrain with the mask from epoch ``rewind_epoch`` to ``config.epochs``
       (same learning-rate schedule and data order as the dense run).

    Differences from the papers: pruning is global over all layers (as Frankle et al. 2020 do for
    deep networks; Frankle & Carbin 2019 prune layer-wise on small networks); the momentum buffer
    restarts from zero at the rewind point; rewinding is counted in epochs, not iterations.

    Args:
        model: The network at initialisation; trained and pruned in place.
        data: Training dataset.
        config: Hyperparameters of every training run.
        target_sparsity: Final fraction of prunable weights removed, in [0, 1).
        rounds: Number of prune-rewind-retrain rounds $R$.
        rewind_epoch: Epoch $k$ to rewind to, in ``[0, config.epochs)``.
        generator: Source of the data-order seed, shared by all rounds (default seeded with 0).
        loss_fn: Batch-mean data loss; default cross-entropy.
        device: Device of the batches; default the model's.
        callback: Called as ``callback(event, round, model, masks)`` with ``event`` ``"rewound"``
            (after the reset, before retraining) and ``"trained"`` (after training, round 0
            included); a returned dict is stored in ``rounds[round][event]``.

    Returns:
        The final masks, the schedule, the rewind point and the per-round records.

    Raises:
        ValueError: On a target outside [0, 1), ``rounds < 1`` or ``rewind_epoch`` out of range.
    """
    schedule = geometric_schedule(target_sparsity, rounds)
    if int(rewind_epoch) != rewind_epoch or not 0 <= rewind_epoch < config.epochs:
        raise ValueError(
            f"rewind_epoch must be an integer in [0, {config.epochs}), got {rewind_epoch}"
        )
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    base_seed = _base_seed(generator)
    masks = full_masks(model)

    def run(start: int, on_epoch=None) -> list[dict]:
        return _train_masked(
            model, data, config, masks, base_seed, start, loss_fn, device, None, on_epoch
        )

    def notify(event: str, index: int, record: dict) -> None:
        if callback is not None:
            out = callback(event, index, model, masks)
            if out is not None:
                record[event] = out

    rewind_state = {}

    def snapshot(epochs_done: int, net: nn.Module) -> None:
        if epochs_done == rewind_epoch:
            rewind_state.update({k: v.detach().clone() for k, v in net.state_dict().items()})

    snapshot(0, model)
    history = run(0, snapshot)  # one uninterrupted dense run (the momentum is kept throughout)
    records = [{"round": 0, "sparsity": 0.0, "history": history}]
    notify("trained", 0, records[0])
    for index, sparsity in enumerate(schedule, start=1):
        masks = prune_survivors(model, masks, float(sparsity))
        model.load_state_dict(rewind_state)
        _enforce(model, masks, None)
        record = {"round": index, "sparsity": float(sparsity)}
        notify("rewound", index, record)
        record["history"] = run(rewind_epoch)
        notify("trained", index, record)
        records.append(record)
    return IMPResult(masks, schedule, rewind_state, records)


# ---------------------------------------------------------------------------------------------
# Smart-Ratio


def smart_ratio_weights(num_layers: int) -> np.ndarray:
    r"""Smart-Ratio's unnormalised keep ratios of the layers before the last.

    Layer $l = 1, \dots, L-1$ of an $L$-layer network gets $(L - l + 1)^2 + (L - l + 1)$
    (Su et al. 2020: a quadratic decrease with depth); the last layer's ratio is fixed
    separately. The authors' code further divides by $l^2$ for VGG networks; that variant is not
    used here.

    Args:
        num_layers: Number $L$ of prunable layers, at least 1.

    Returns:
        ``L - 1`` positive numbers, decreasing.

    Raises:
        ValueError: If ``num_layers < 1``.

    Example:
        >>> smart_ratio_weights(3).tolist()
        [12.0, 6.0]
    """
    if num_layers < 1:
        raise ValueError(f"Smart-Ratio needs at least one prunable layer, got {num_layers}")
    k = num_layers - np.arange(1, num_layers) + 1.0
    return k**2 + k


def smart_ratio_counts(
    sizes: list[int], sparsity: float, *, last_layer_ratio: float = SMART_RATIO_LAST_LAYER
) -> np.ndarray:
    r"""Weights kept per layer by Smart-Ratio at an exact global sparsity.

    The last layer keeps ``round(last_layer_ratio * n_L)`` weights (fewer if the budget is
    smaller, more only if the other layers are full). The others keep $\alpha c_l n_l$, with
    $c_l$ from :func:`smart_ratio_weights` and $\alpha$ chosen so that the total is exactly
    $n - $ ``num_removed(sparsity, n)``; a layer whose ratio would exceed 1 is kept whole and its
    surplus is shared by the others in proportion (the authors' code hands it to the following
    layers in order). Counts are integers, rounded by largest remainder.

    Args:
        sizes: Number of weights of each prunable layer, in depth order.
        sparsity: Global fraction removed, in [0, 1].
        last_layer_ratio: Keep ratio of the last layer, in (0, 1].

    Returns:
        Integer keep counts per layer; they sum exactly to the global keep count.

    Raises:
        ValueError: If ``sizes`` is empty or has a non-positive entry, or a ratio is out of range.

    Example:
        >>> smart_ratio_counts([100, 50, 10], 0.5).tolist()
        [62, 15, 3]
    """
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    if sizes_arr.size == 0 or np.any(sizes_arr < 1):
        raise ValueError(f"layer sizes must be positive, got {list(sizes)}")
    if not 0 < last_layer_ratio <= 1:
        raise ValueError(f"last_layer_ratio must be in (0, 1], got {last_layer_ratio}")
    total = int(sizes_arr.sum())
    budget = total - prune.num_removed(sparsity, total)
    counts = np.zeros_like(sizes_arr)
    body = sizes_arr[:-1]
    last = min(int(round(last_layer_ratio * sizes_arr[-1])), budget)
    last = max(last, budget - int(body.sum()))  # the last layer takes what the others cannot
    counts[-1] = last
    counts[:-1] = _waterfill(body, smart_ratio_weights(len(sizes_arr)), budget - last)
    return counts


def _waterfill(sizes: np.ndarray, weights: np.ndarray, budget: int) -> np.ndarray:
    # integer counts <= sizes, proportional to weights * sizes where not saturated, sum = budget
    counts = np.zeros_like(sizes)
    free = np.ones(len(sizes), dtype=bool)
    left = budget
    while left > 0 and free.any():
        demand = weights * sizes * free
        share = left * demand / demand.sum()
        full = free & (share >= sizes - counts)
        if full.any():  # saturate and redistribute the surplus
            left -= int((sizes[full] - counts[full]).sum())
            counts[full] = sizes[full]
            free &= ~full
            continue
        base = np.floor(share).astype(np.int64)
        rest = left - int(base.sum())
        order = np.argsort(-(share - base), kind="stable")
        base[order[:rest]] += 1
        counts += base
        left = 0
    return counts


def smart_ratio_masks(
    model: nn.Module,
    sparsity: float,
    *,
    last_layer_ratio: float = SMART_RATIO_LAST_LAYER,
    generator: torch.Generator | None = None,
) -> Masks:
    """Smart-Ratio keep masks: the counts of :func:`smart_ratio_counts`, random within layers.

    Layers are the prunable weights in :func:`pnlib.models.prunable_parameters` order, which is
    depth order for sequential models; the last one is the classifier. Su et al. apply the fixed
    ratio to every linear layer of a convolutional network; in an MLP every layer is linear, so
    here only the last one gets it.

    Args:
        model: The network (its weights are not used).
        sparsity: Global fraction removed, in [0, 1].
        last_layer_ratio: Keep ratio of the last layer.
        generator: Source of the random positions (default seeded with 0).

    Returns:
        Keep masks removing exactly ``num_removed(sparsity, n)`` weights.

    Example:
        >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
        >>> masks = smart_ratio_masks(net, 0.5)
        >>> sum(int(m.sum()) for m in masks.values())
        48
    """
    params = models.prunable_parameters(model)
    counts = smart_ratio_counts(
        [p.numel() for p in params.values()], sparsity, last_layer_ratio=last_layer_ratio
    )
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    masks = {}
    for (name, p), count in zip(params.items(), counts):
        keep = torch.zeros(p.numel(), dtype=torch.bool)
        keep[torch.randperm(p.numel(), generator=generator)[: int(count)]] = True
        masks[name] = keep.reshape(p.shape).to(p.device)
    return masks


# ---------------------------------------------------------------------------------------------
# Rare Gems (GEM-MINER)


class _RoundSTE(torch.autograd.Function):
    """Rounding of scores to {0, 1} at 0.5 with a straight-through gradient."""

    @staticmethod
    def forward(ctx, scores: Tensor) -> Tensor:  # noqa: D102
        return (scores > 0.5).to(scores.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # noqa: D102
        return grad


@dataclass
class RareGemsResult:
    """What :func:`rare_gems` produced besides the model (weights at init times the mask).

    Attributes:
        masks: Keep masks at exactly the target sparsity.
        scores: Final scores in [0, 1], keyed like the masks.
        schedule: Sparsity reached by each freezing step.
        history: One dict per epoch of the score search (loss, accuracy, frozen sparsity,
            sparsity of the rounded scores).
        finetune_history: Per-epoch history of the fine-tuning (empty without it).
    """

    masks: Masks
    scores: dict[str, Tensor]
    schedule: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    finetune_history: list[dict[str, float]] = field(default_factory=list)


def rare_gems(
    model: nn.Module,
    data: Dataset,
    config: train.TrainConfig,
    *,
    target_sparsity: float,
    score_l2: float = 1e-4,
    freezes: int = 5,
    finetune: train.TrainConfig | None = None,
    generator: torch.Generator | None = None,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> RareGemsResult:
    r"""Find a sparse subnetwork at initialisation with GEM-MINER (Rare Gems).

    As in Sreenivasan et al. (2022) and their code (``algo=hc_iter``): the weights $w_0$ stay
    frozen at initialisation; each prunable weight gets a score $p_i \in [0, 1]$ (initialised
    uniformly at random, one of the code's options); the forward pass uses $w_0 \odot f \odot
    \mathbb{1}[p > 1/2]$, where the rounding passes its gradient straight through and $f$ marks
    weights not yet frozen; the scores minimise the loss plus $\lambda \|p\|_2^2$ (``score_l2``)
    by SGD with ``config``'s learning-rate schedule and momentum, and are clamped to $[0, 1]$
    after each step. Every ``config.epochs / freezes`` epochs the lowest scores among the
    unfrozen weights are frozen to 0, along :func:`geometric_schedule`. Optionally the weights
    are then trained on the mask (``finetune``; GEM-MINER + fine-tuning).

    Differences from the paper, so that the target is met exactly: the final mask is the set of
    weights never frozen (exactly ``n - num_removed(target, n)``), without a final rounding
    that could drop more; freezing and the regulariser act on the prunable weights only, not on
    biases; the freezing steps are evenly spaced over the search epochs.

    Args:
        model: The network at initialisation; on return its prunable weights are $w_0 \odot m$
            (then fine-tuned, if asked).
        data: Training dataset.
        config: Hyperparameters of the score search (``lr`` is the score learning rate;
            ``l1`` and ``weight_decay`` are ignored).
        target_sparsity: Final fraction of prunable weights removed, in [0, 1).
        score_l2: $\lambda$ of the $\ell_2$ penalty on the scores (pushes them towards 0).
        freezes: Number of freezing steps, in ``[1, config.epochs]``.
        finetune: Hyperparameters of the fine-tuning of the weights on the mask found.
        generator: Source of the score initialisation and the data order (default seeded 0).
        loss_fn: Batch-mean data loss; default cross-entropy.
        device: Device of the batches; default the model's.

    Returns:
        The masks, scores, freezing schedule and histories.

    Raises:
        ValueError: On a target outside [0, 1), ``freezes`` out of range or ``score_l2 < 0``.
    """
    schedule = geometric_schedule(target_sparsity, freezes)
    if not 1 <= freezes <= config.epochs:
        raise ValueError(f"freezes must be in [1, {config.epochs}] (config.epochs), got {freezes}")
    if score_l2 < 0:
        raise ValueError(f"score_l2 must be >= 0, got {score_l2}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    params = models.prunable_parameters(model)
    frozen_weights = {name: p.detach().clone() for name, p in params.items()}
    scores = {
        name: torch.rand(p.shape, generator=generator, dtype=p.dtype).to(p.device).requires_grad_()
        for name, p in params.items()
    }
    alive = full_masks(model)
    freeze_at = {int(round((r + 1) * config.epochs / freezes)): r for r in range(freezes)}
    base_seed = _base_seed(generator)
    optimizer = torch.optim.SGD(scores.values(), lr=config.lr, momentum=config.momentum)
    history = []
    for epoch in range(config.epochs):
        stats = _score_epoch(
            model,
            data,
            config,
            epoch,
            base_seed,
            (frozen_weights, scores, alive),
            optimizer,
            score_l2,
            loss_fn,
            device,
        )
        if epoch + 1 in freeze_at:
            alive = _freeze_lowest(scores, alive, float(schedule[freeze_at[epoch + 1]]), optimizer)
        stats.update(frozen_sparsity=mask_sparsity(alive), rounded_sparsity=_rounded(scores, alive))
        history.append(stats)
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(frozen_weights[name] * alive[name])
    result = RareGemsResult(alive, {k: v.detach() for k, v in scores.items()}, schedule, history)
    if finetune is not None:
        result.finetune_history = train_masked(
            model, data, finetune, alive, generator=generator, loss_fn=loss_fn, device=device
        )
    return result


def _score_epoch(
    model, data, config, epoch, base_seed, state, optimizer, score_l2, loss_fn, device
):
    frozen_weights, scores, alive = state
    loader = train.make_loader(data, config.batch_size, shuffle=True, seed=base_seed + epoch)
    total, loss_sum, correct = 0, 0.0, 0
    model.train()
    for iteration, (inputs, targets) in enumerate(loader):
        lr = train.learning_rate(config, epoch, iteration, len(loader))
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = inputs.to(device), targets.to(device)
        weights = {
            name: w * alive[name] * _RoundSTE.apply(scores[name])
            for name, w in frozen_weights.items()
        }
        outputs = torch.func.functional_call(model, weights, (inputs,))
        loss = loss_fn(outputs, targets)
        penalty = sum((s**2).sum() for s in scores.values())
        optimizer.zero_grad(set_to_none=True)
        (loss + score_l2 * penalty).backward()
        optimizer.step()
        with torch.no_grad():
            for s in scores.values():
                s.clamp_(0.0, 1.0)
        loss_sum += float(loss.detach()) * len(targets)
        correct += int((outputs.argmax(dim=1) == targets).sum())
        total += len(targets)
    return {"epoch": epoch + 1, "loss": loss_sum / total, "accuracy": correct / total}


@torch.no_grad()
def _freeze_lowest(scores, alive, sparsity, optimizer) -> Masks:
    flat_alive = torch.cat([m.reshape(-1) for m in alive.values()])
    flat = torch.cat([s.detach().reshape(-1) for s in scores.values()]).to(torch.float64)
    flat[~flat_alive] = -1.0  # frozen weights sort first
    keep = torch.ones_like(flat_alive)
    keep[torch.sort(flat, stable=True).indices[: prune.num_removed(sparsity, flat.numel())]] = False
    new = _unflatten(keep, alive)
    for name, s in scores.items():
        s.mul_(new[name])
        buf = optimizer.state.get(s, {}).get("momentum_buffer")
        if buf is not None:
            buf.mul_(new[name])
    return new


def _rounded(scores, alive) -> float:
    kept = sum(int(((s > 0.5) & alive[n]).sum()) for n, s in scores.items())
    return 1.0 - kept / sum(s.numel() for s in scores.values())


def clone_model(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` (same initial weights for every method of a comparison).

    Args:
        model: The network.

    Returns:
        An independent copy.
    """
    return copy.deepcopy(model)
