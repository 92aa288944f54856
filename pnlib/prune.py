r"""Global magnitude pruning, pruning sweeps and the "actual" pruning limit.

Throughout, **sparsity** $s$ is the fraction of prunable weights removed and **density**
$\rho = 1 - s$ the fraction kept. Prunable weights are the weights of linear and convolutional
layers (:func:`pnlib.models.prunable_parameters`); biases and normalisation parameters are never
pruned. At sparsity $s$ exactly ``num_removed(s, n)`` $= \lfloor s n + 1/2 \rfloor$ of the $n$
prunable weights are removed: those with the smallest magnitudes, ties broken by position, so
the supports at increasing sparsities are nested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from pnlib import models
from pnlib.magnitude import check_sparsity, flat_prunable, magnitude_order, num_removed

__all__ = [
    "CRITERIA",
    "SweepResult",
    "actual_limit",
    "apply_masks",
    "check_sparsity",
    "flat_prunable",
    "global_magnitude_masks",
    "magnitude_order",
    "num_removed",
    "prune_",
    "sparsity_grid",
    "sweep",
]

CRITERIA = ("accuracy", "accuracy_above", "tolerance", "loss")
"""The criteria of :func:`actual_limit`."""


def global_magnitude_masks(model: nn.Module, sparsity: float) -> dict[str, Tensor]:
    """Keep masks of global one-shot magnitude pruning at ``sparsity``.

    Args:
        model: The network.
        sparsity: Fraction of prunable weights to remove.

    Returns:
        One boolean mask per prunable weight (True = kept); exactly
        ``n - num_removed(sparsity, n)`` entries are True in total.

    Example:
        >>> net = nn.Linear(10, 10)
        >>> masks = global_magnitude_masks(net, 0.3)
        >>> int(masks["weight"].sum())
        70
    """
    params = models.prunable_parameters(model)
    flat = flat_prunable(model)
    keep = torch.ones(flat.numel(), dtype=torch.bool, device=flat.device)
    keep[magnitude_order(flat)[: num_removed(sparsity, flat.numel())]] = False
    masks, offset = {}, 0
    for name, p in params.items():
        masks[name] = keep[offset : offset + p.numel()].reshape(p.shape)
        offset += p.numel()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, Tensor]) -> None:
    """Zero, in place, the prunable weights whose mask entry is False.

    Args:
        model: The network.
        masks: Keep masks keyed like :func:`pnlib.models.prunable_parameters`.

    Raises:
        ValueError: If a mask is missing or has the wrong shape.
    """
    params = models.prunable_parameters(model)
    for name, p in params.items():
        if name not in masks or masks[name].shape != p.shape:
            raise ValueError(f"mask for {name!r} missing or not of shape {tuple(p.shape)}")
        p.mul_(masks[name].to(p.dtype))


def prune_(model: nn.Module, sparsity: float) -> dict[str, Tensor]:
    """Globally magnitude-prune ``model`` in place (no retraining) and return the masks.

    Args:
        model: The network.
        sparsity: Fraction of prunable weights to remove.

    Returns:
        The keep masks that were applied.
    """
    masks = global_magnitude_masks(model, sparsity)
    apply_masks(model, masks)
    return masks


def sparsity_grid(num_points: int = 1000) -> np.ndarray:
    """The paper's grid of sparsities ``i / num_points`` for ``i = 0 .. num_points - 1``.

    Args:
        num_points: Grid size (the paper uses 1000).

    Returns:
        Sparsities in [0, 1).

    Raises:
        ValueError: If ``num_points < 1``.
    """
    if num_points < 1:
        raise ValueError(f"the sparsity grid needs at least one point, got {num_points}")
    return np.arange(num_points) / num_points


@dataclass
class SweepResult:
    r"""Measurements of one-shot magnitude pruning along a sparsity grid.

    Attributes:
        sparsity: Grid of fractions removed, increasing.
        num_removed: Weights removed at each grid point.
        radius: $R(s) = \|w^* - w^k\|_2$, the norm of the removed weights.
        metrics: Each measured quantity (e.g. ``"test_accuracy"``) along the grid.
        num_prunable: Number of prunable weights $n$.
    """

    sparsity: np.ndarray
    num_removed: np.ndarray
    radius: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    num_prunable: int = 0

    def to_dict(self) -> dict[str, list | int]:
        """JSON-ready copy.

        Returns:
            Plain lists of floats.
        """
        out = {
            "sparsity": self.sparsity.tolist(),
            "num_removed": self.num_removed.tolist(),
            "radius": self.radius.tolist(),
            "num_prunable": self.num_prunable,
        }
        out.update({k: v.tolist() for k, v in self.metrics.items()})
        return out


@torch.no_grad()
def sweep(
    model: nn.Module,
    sparsities: Sequence[float] | np.ndarray,
    measure: Callable[[nn.Module], dict[str, float]],
    *,
    progress: bool = False,
) -> SweepResult:
    """Prune ``model`` one-shot at each sparsity of an increasing grid and measure it.

    One sort of all prunable magnitudes serves the whole grid: going from one grid point to the
    next only zeroes the weights removed in between, so a grid of 1000 points costs 1000 calls to
    ``measure`` and almost nothing else. The model's weights are restored at the end (also on
    error or interruption).

    Args:
        model: The trained network.
        sparsities: Increasing fractions removed, in [0, 1].
        measure: Called on the pruned model at each point; returns named scalars.
        progress: Show a tqdm progress bar.

    Returns:
        The measurements and $R(s)$ along the grid.

    Raises:
        ValueError: If the grid is empty, not increasing, or outside [0, 1].
    """
    from tqdm import tqdm

    grid = np.asarray(sparsities, dtype=float)
    if grid.size == 0:
        raise ValueError("the sparsity grid is empty")
    if np.any(np.diff(grid) < 0):
        raise ValueError("the sparsity grid must be increasing")
    for value in (grid[0], grid[-1]):
        check_sparsity(value)
    params = list(models.prunable_parameters(model).values())
    saved = [p.detach().clone() for p in params]
    flat = torch.cat([p.reshape(-1) for p in saved])
    order = magnitude_order(flat)
    cumulative = torch.cumsum(flat[order].double() ** 2, 0)
    counts = np.array([num_removed(s, flat.numel()) for s in grid])
    bounds = np.cumsum([0] + [p.numel() for p in params])
    metrics: dict[str, list[float]] = {}
    done = 0
    try:
        for count in tqdm(counts, disable=not progress, desc="sparsity grid"):
            _zero_flat_indices(params, bounds, order[done:count])
            done = count
            for key, value in measure(model).items():
                metrics.setdefault(key, []).append(float(value))
    finally:
        for p, original in zip(params, saved):
            p.copy_(original)
    radius = np.sqrt([float(cumulative[c - 1]) if c > 0 else 0.0 for c in counts])
    return SweepResult(
        grid, counts, radius, {k: np.array(v) for k, v in metrics.items()}, flat.numel()
    )


def _zero_flat_indices(params: list[Tensor], bounds: np.ndarray, indices: Tensor) -> None:
    if indices.numel() == 0:
        return
    which = np.searchsorted(bounds, indices.cpu().numpy(), side="right") - 1
    for i in np.unique(which):
        local = indices[torch.as_tensor(which == i, device=indices.device)] - int(bounds[i])
        params[i].view(-1)[local] = 0.0


def actual_limit(
    result: SweepResult,
    criterion: str = "accuracy",
    *,
    tolerance: float = 0.01,
    eps: float | None = None,
    accuracy_key: str = "test_accuracy",
    loss_key: str = "train_loss",
) -> float:
    r"""The largest measured sparsity that still meets a criterion, from a sweep.

    * ``"accuracy"``: test accuracy not below the dense (first grid point) value, "no accuracy
      lost"; the book's default accuracy criterion;
    * ``"accuracy_above"``: test accuracy strictly *above* the dense value, the criterion of the
      authors' code. On a test set of a few hundred examples it is decided by single-example
      fluctuations, which is why the book does not make it its default; 0.0 when no pruned
      network beats the dense one;
    * ``"tolerance"``: test accuracy at least dense accuracy minus ``tolerance`` (a fraction);
    * ``"loss"``: training-loss increase over the dense value at most ``eps``, the quantity the
      theory predicts.

    The grid must start at sparsity 0 (the dense network).

    Args:
        result: A sweep.
        criterion: One of :data:`CRITERIA`.
        tolerance: Allowed accuracy drop for ``"tolerance"`` (0.01 = one point).
        eps: Allowed loss increase for ``"loss"``.
        accuracy_key: Metric holding the accuracy.
        loss_key: Metric holding the loss.

    Returns:
        The largest grid sparsity meeting the criterion (0.0 if only the dense network does).

    Raises:
        ValueError: On an unknown criterion, a missing metric or ``eps``, or a grid that does
            not start at 0.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if result.sparsity[0] != 0.0:
        raise ValueError("the sweep must start at sparsity 0 (the dense network)")
    key = loss_key if criterion == "loss" else accuracy_key
    if key not in result.metrics:
        raise ValueError(f"the sweep has no {key!r}; it has {sorted(result.metrics)}")
    values = result.metrics[key]
    if criterion == "loss":
        if eps is None or eps <= 0:
            raise ValueError(f"the loss criterion needs eps > 0, got {eps}")
        ok = values - values[0] <= eps
    elif criterion == "accuracy_above":
        ok = values > values[0]
        ok[0] = True  # the dense network itself: the limit is 0 when nothing beats it
    else:
        drop = 0.0 if criterion == "accuracy" else tolerance
        ok = values >= values[0] - drop - 1e-12
    return float(result.sparsity[np.flatnonzero(ok).max()])
