r"""The measured refit limit: how sparse a network can be when its kept weights may be re-trained.

The theory of the pruning limit asks whether *some* weight vector supported on the kept weights
lies in the sublevel set $\{w : L(w) \le L(w^*) + \epsilon\}$. One-shot pruning answers a
narrower question (is the pruned point $w^k$ itself in the set?); this module answers the
theory's own question by re-fitting. At sparsity $s$ the removed weights (global magnitude
order, :mod:`pnlib.magnitude`) are fixed at zero and every other parameter (kept weights,
biases, normalisation parameters) is re-fitted from $w^k$ by full-batch L-BFGS on the training
loss, in eval mode, on the data in a fixed order.

Two versions of the question:

* **global** (``radius=None``): any re-fit. On separable data the cross-entropy's sublevel set
  is unbounded (scaling the logits up lowers the loss), so the global limit can be far beyond
  anything a local model of $L$ around $w^*$ describes.
* **local** (``local=True``): the re-fit may move the free parameters by at most $R(s)$, the
  norm of the removed weights, so the re-fitted point stays within $\sqrt2\,R(s)$ of $w^*$, the
  scale of the pruning step itself, at which the second-order model is checked along the
  pruning path. The ball is imposed exactly by the smooth map
  $\delta = R\,u/\sqrt{1 + \lVert u\rVert^2}$ from all of $\mathbb R^n$ onto the open ball,
  so L-BFGS runs unconstrained on $u$.

The limit is the largest grid sparsity at which the re-fitted loss is within $\epsilon$ of the
dense loss. For the global refit the feasible sets are nested (a sparser support is a subset of
a denser one), so the exact minimum is non-decreasing in $s$ and bisection is sound; L-BFGS finds
a local minimum only, so the coarse evaluations are checked for a single crossing and the
result says whether they had one (``monotone``). The local question's balls grow with $s$ while
the supports shrink, so there monotonicity is an assumption that the same check tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from pnlib import models
from pnlib.magnitude import magnitude_order, num_removed

__all__ = ["RefitLimit", "measured_refit_limit", "refit_loss"]

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class RefitLimit:
    """A measured refit limit.

    Attributes:
        limit: Largest grid sparsity whose re-fitted loss increase is at most ``eps`` (0.0 if
            only the dense network qualifies).
        local: Whether the re-fit was confined to the ball of radius $R(s)$.
        eps: The allowed loss increase.
        sparsity: Grid sparsities evaluated, increasing.
        loss_increase: Re-fitted training loss minus the dense loss at each.
        iterations: L-BFGS function evaluations at each.
        monotone: Whether the coarse evaluations crossed ``eps`` once.
        seconds: Wall-clock time.
    """

    limit: float
    local: bool
    eps: float
    sparsity: np.ndarray = field(repr=False)
    loss_increase: np.ndarray = field(repr=False)
    iterations: np.ndarray = field(repr=False)
    monotone: bool = True
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """JSON-ready record.

        Returns:
            Plain numbers and lists.
        """
        return {
            "limit": self.limit,
            "local": self.local,
            "monotone": self.monotone,
            "evaluations": int(self.sparsity.size),
            "iterations": int(self.iterations.sum()),
            "seconds": self.seconds,
            "sparsity": [float(s) for s in self.sparsity],
            "loss_increase": [float(v) for v in self.loss_increase],
        }


class _Refit:
    """The loss as a function of the free parameters at one sparsity."""

    def __init__(self, model: nn.Module, batches, loss_fn: LossFn, dtype: torch.dtype) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.named = {n: p for n, p in model.named_parameters() if p.requires_grad}
        first = next(iter(self.named.values()))
        self.device, self.dtype = first.device, dtype
        self.batches = [(x.to(self.device), y.to(self.device)) for x, y in batches]
        self.batches = [(x.to(dtype) if x.is_floating_point() else x, y) for x, y in self.batches]
        self.num = sum(int(y.shape[0]) for _, y in self.batches)
        self.flat = torch.cat([p.detach().reshape(-1) for p in self.named.values()]).to(dtype)
        self.buffers = {
            n: (b.to(dtype) if b.is_floating_point() else b) for n, b in model.named_buffers()
        }
        offsets = np.cumsum([0] + [p.numel() for p in self.named.values()])
        start = dict(zip(self.named, offsets[:-1]))
        prunable = models.prunable_parameters(model)
        self.positions = torch.cat(
            [torch.arange(start[n], start[n] + p.numel()) for n, p in prunable.items()]
        ).to(self.device)
        self.weights = self.flat[self.positions]
        self.order = magnitude_order(self.weights)

    def _params(self, theta: Tensor) -> dict[str, Tensor]:
        parts = theta.split([p.numel() for p in self.named.values()])
        return {n: t.reshape(p.shape) for (n, p), t in zip(self.named.items(), parts)}

    def loss(self, theta: Tensor) -> Tensor:
        total = theta.new_zeros(())
        for x, y in self.batches:
            out = functional_call(self.model, {**self._params(theta), **self.buffers}, (x,))
            total = total + self.loss_fn(out, y) * (y.shape[0] / self.num)
        return total

    def refit(self, sparsity: float, radius: float | None, max_iter: int) -> tuple[float, int]:
        removed = self.positions[self.order[: num_removed(sparsity, self.weights.numel())]]
        start = self.flat.clone()
        start[removed] = 0.0
        free = torch.ones_like(start, dtype=torch.bool)
        free[removed] = False
        u = torch.zeros(int(free.sum()), dtype=self.dtype, device=self.device, requires_grad=True)

        def theta_of(u: Tensor) -> Tensor:
            step = u if radius is None else radius * u / torch.sqrt(1 + (u * u).sum())
            return start.masked_scatter(free, start[free] + step)

        if u.numel() == 0:
            with torch.no_grad():
                return float(self.loss(start)), 0
        optimizer = torch.optim.LBFGS(
            [u],
            lr=1.0,
            max_iter=max_iter,
            max_eval=int(max_iter * 1.25),
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> Tensor:
            optimizer.zero_grad()
            value = self.loss(theta_of(u))
            value.backward()
            return value

        optimizer.step(closure)
        evaluations = int(optimizer.state[optimizer._params[0]].get("func_evals", 0))
        with torch.no_grad():
            return float(self.loss(theta_of(u))), evaluations


def _batches(data) -> list[tuple[Tensor, Tensor]]:
    from pnlib.train import make_loader

    if isinstance(data, torch.utils.data.Dataset):
        data = make_loader(data, 4096, shuffle=False)
    return list(data)


def refit_loss(
    model: nn.Module,
    data,
    sparsity: float,
    *,
    local: bool = False,
    loss_fn: LossFn | None = None,
    max_iter: int = 500,
    dtype: torch.dtype = torch.float64,
) -> float:
    """Training loss after pruning at ``sparsity`` and re-fitting everything that is kept.

    Args:
        model: The trained network (not modified; its eval mode is used).
        data: Training data: a Dataset or a list of ``(inputs, targets)`` batches.
        sparsity: Fraction of prunable weights removed.
        local: Confine the re-fit to the ball of radius $R(s)$ (module docstring).
        loss_fn: Batch-mean loss; default cross-entropy.
        max_iter: Most L-BFGS iterations.
        dtype: Compute dtype.

    Returns:
        The re-fitted mean training loss.
    """
    state = _Refit(model, _batches(data), loss_fn or nn.functional.cross_entropy, dtype)
    return _refit_at(state, sparsity, local, max_iter)[0]


def _refit_at(state: _Refit, sparsity: float, local: bool, max_iter: int) -> tuple[float, int]:
    radius = None
    if local:
        count = num_removed(sparsity, state.weights.numel())
        radius = float(torch.linalg.vector_norm(state.weights[state.order[:count]]))
    was_training = state.model.training
    state.model.eval()
    try:
        return state.refit(sparsity, radius, max_iter)
    finally:
        state.model.train(was_training)


def measured_refit_limit(
    model: nn.Module,
    data,
    grid: np.ndarray,
    eps: float,
    *,
    local: bool = False,
    loss_fn: LossFn | None = None,
    num_coarse: int = 11,
    max_iter: int = 500,
    dtype: torch.dtype = torch.float64,
) -> RefitLimit:
    r"""The largest grid sparsity at which re-fitting brings the loss back within ``eps``.

    The dense loss is the model's own; ``num_coarse`` evenly spaced grid points are re-fitted
    first, then the crossing is bisected down to neighbouring grid points (module docstring).

    Args:
        model: The trained network (not modified).
        data: Training data: a Dataset or a list of ``(inputs, targets)`` batches, in a fixed
            order and without augmentation.
        grid: Increasing sparsities starting at 0 (the sweep's grid).
        eps: Allowed loss increase.
        local: Confine each re-fit to the ball of radius $R(s)$.
        loss_fn: Batch-mean loss; default cross-entropy.
        num_coarse: Points of the first round (at least 2).
        max_iter: Most L-BFGS iterations per point.
        dtype: Compute dtype.

    Returns:
        The limit with every point evaluated.

    Raises:
        ValueError: On a grid that does not start at 0, ``eps <= 0`` or ``num_coarse < 2``.
    """
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or grid[0] != 0.0 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be increasing sparsities starting at 0 (the dense network)")
    if not (float(eps) > 0 and math.isfinite(float(eps))):
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    if num_coarse < 2:
        raise ValueError(f"num_coarse must be >= 2, got {num_coarse}")
    start = time.perf_counter()
    state = _Refit(model, _batches(data), loss_fn or nn.functional.cross_entropy, dtype)
    with torch.no_grad():
        dense = float(state.loss(state.flat))
    seen: dict[int, tuple[float, int]] = {}

    def ok(i: int) -> bool:
        if i not in seen:
            loss, evals = _refit_at(state, float(grid[i]), local, max_iter)
            seen[i] = (loss - dense, evals)
        return seen[i][0] <= eps

    coarse = np.unique(np.linspace(0, grid.size - 1, num_coarse).round().astype(int))
    flags = [ok(int(i)) for i in coarse]
    # a single crossing: every True before every False
    monotone = all(a or not b for a, b in zip(flags, flags[1:]))
    passing = [int(i) for i, f in zip(coarse, flags) if f]
    lo = max(passing) if passing else 0
    later = [int(i) for i in coarse if i > lo]
    hi = min(later) if later else None
    while hi is not None and hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    keys = sorted(seen)
    return RefitLimit(
        limit=float(grid[lo]) if passing else 0.0,
        local=local,
        eps=float(eps),
        sparsity=grid[keys],
        loss_increase=np.array([seen[k][0] for k in keys]),
        iterations=np.array([seen[k][1] for k in keys]),
        monotone=monotone,
        seconds=time.perf_counter() - start,
    )
