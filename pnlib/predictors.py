r"""Direct second-order predictors of the pruning limit, and a comparison with the paper's.

The paper's predictor (:mod:`pnlib.bounds`) models the sparse set as a *randomly oriented*
subspace and needs only the Hessian spectrum and the weight magnitudes. The two predictors here
use the same ingredients, the trained weights $w^*$, curvature through matrix-vector products and
the allowed loss increase $\epsilon$, but follow the actual magnitude-pruning path instead.

**Taylor without refit.** With $\Delta(s) = w^k - w^*$ the change made by global magnitude pruning
at sparsity $s$ (only prunable weights move; $\Delta = -w^*$ on the removed ones),

$$
\Delta L(s) \approx g^\top \Delta(s) + \tfrac12\,\Delta(s)^\top H\,\Delta(s),
$$

with $g = \nabla L(w^*)$ the gradient of the *data* loss. After $\ell_1$ training $g$ is not zero:
at a minimum of $L + \lambda\|w\|_1$ it is about $-\lambda\,\mathrm{sign}(w^*)$, so the first-order
term is about $\lambda\sum_{\text{removed}}|w_i|$, a term the paper's quadratic model drops. Because
the magnitude supports are nested, $\Delta(s_j) = \sum_{i \le j} b_i$ where $b_i$ holds the weights
removed between grid points $s_{i-1}$ and $s_i$. One block product $H[b_1, \dots, b_K]$ (``K``
curvature-vector products sharing data passes) gives the Gram matrix $G = B^\top H B$, and
$\Delta(s_j)^\top H \Delta(s_j) = \sum_{i, l \le j} G_{il}$ is a 2-D cumulative sum: the whole curve
costs ``K`` products and one gradient.

**Taylor with refit.** The least increase of the quadratic model when the kept weights may move
to compensate (the question Optimal Brain Surgeon asks, for a whole set of weights at once),

$$
\Delta L_{\mathrm{refit}}(s) = \min_{\delta:\ \delta_{R} = 0}\ g^\top(\Delta + \delta) + \tfrac12\,(\Delta + \delta)^\top C\,(\Delta + \delta),
$$

with $R$ the removed set and $C$ a positive semi-definite curvature, the generalised Gauss-Newton
matrix (the Hessian is indefinite and would make the minimum $-\infty$). The minimiser solves the
kept-weight system $C_{FF}\,\delta_F = -(g_F + C_{FR}\Delta_R)$, a Schur complement; it is solved
by conjugate gradients started at $\delta = 0$. Every CG iterate lowers the model, so even a
truncated solve gives a value between the exact refit minimum and the no-refit value. Supports
are nested, so $\Delta L_{\mathrm{refit}}$ is non-decreasing in $s$ and the crossing of
$\epsilon$ is found by evaluating a coarse grid and then bisecting between grid points.

Costs are counted in curvature-vector products ("HVPs"; a block of ``p`` columns counts ``p``),
full-data gradients, data passes and seconds.

Curvature operators. The Hessian products are :class:`pnlib.hessian.HessianOperator`'s
(forward-over-reverse, one data pass per block, exact weighting of uneven batches). The GGN
products are curvlinops' ``GGNLinearOperator``, which evaluates $J^\top (\nabla^2 \ell) J V$ for a
whole block ``V`` in one pass; we reuse it rather than write a second GGN, at the price of a loss
*module* with ``reduction='mean'`` (cross-entropy by default). An optional ``damping``
$\mu \ge 0$ replaces $C$ by $C + \mu I$ in the refit, a Levenberg-Marquardt trust region that
keeps CG out of the nearly flat directions where the quadratic model is least trustworthy.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from pnlib import bounds, models, prune

__all__ = [
    "Curve",
    "Prediction",
    "PredictorCost",
    "refit_curve",
    "refit_curve_quadratic",
    "refit_limit",
    "refit_limit_quadratic",
    "refit_weights",
    "taylor_curve",
    "taylor_curve_quadratic",
    "taylor_limit",
    "taylor_limit_quadratic",
]

PARAMS = ("prunable", "all")
CURVATURES = ("hessian", "ggn")
Matmat = Callable[[Tensor], Tensor]


@dataclass
class PredictorCost:
    """What a predictor spent.

    Attributes:
        hvps: Curvature-vector products (Hessian or GGN); a block product of ``p`` columns
            counts ``p``.
        gradients: Full-data gradients.
        data_passes: Passes over the data made by block products (one per block or chunk).
        seconds: Wall-clock time.
    """

    hvps: int = 0
    gradients: int = 0
    data_passes: int = 0
    seconds: float = 0.0

    def __add__(self, other: PredictorCost) -> PredictorCost:
        """Add two costs field by field.

        Returns:
            The summed cost.
        """
        return PredictorCost(
            self.hvps + other.hvps,
            self.gradients + other.gradients,
            self.data_passes + other.data_passes,
            self.seconds + other.seconds,
        )


@dataclass
class Curve:
    r"""A predicted loss increase along the magnitude-pruning path.

    Attributes:
        sparsity: Grid of fractions removed, increasing.
        num_removed: Prunable weights removed at each point.
        loss_increase: Predicted $\Delta L(s)$ (without or with refit, see ``method``).
        first_order: The gradient term $g^\top\Delta(s)$ alone.
        method: ``"taylor"`` (no refit) or ``"refit"``.
        curvature: ``"hessian"``, ``"ggn"`` or ``"custom"`` (a user-given product).
        cost: What computing the curve spent.
        cg_iterations: For ``"refit"``, CG iterations at each point (empty otherwise).
        solutions: For ``"refit"`` with ``return_solutions``, the changes $\Delta + \delta$ of
            the parameters, one column per point, shape ``(D, len(sparsity))``.
        cg_converged: For ``"refit"``, whether CG stopped on its own at each point (not at
            ``maxiter``).
    """

    sparsity: np.ndarray
    num_removed: np.ndarray
    loss_increase: np.ndarray
    first_order: np.ndarray
    method: str
    curvature: str
    cost: PredictorCost = field(default_factory=PredictorCost)
    cg_iterations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    solutions: Tensor | None = None
    cg_converged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def second_order(self) -> np.ndarray:
        """The curvature part: ``loss_increase - first_order``."""
        return self.loss_increase - self.first_order

    def limit(self, eps: float) -> float:
        r"""The largest grid sparsity whose predicted increase is at most ``eps``.

        This is the same rule as :func:`pnlib.prune.actual_limit` applies to measured losses.

        Args:
            eps: Allowed loss increase $\epsilon > 0$.

        Returns:
            A sparsity of the grid, or ``nan`` if no grid point qualifies.
        """
        eps = _check_eps(eps)
        ok = np.flatnonzero(self.loss_increase <= eps)
        return float(self.sparsity[ok.max()]) if ok.size else float("nan")


@dataclass
class Prediction:
    """A predicted pruning limit with what it cost.

    Attributes:
        sparsity: The predicted largest removable fraction.
        eps: The allowed loss increase used.
        cost: Products, gradients, passes and seconds spent.
        curve: The points evaluated on the way.
    """

    sparsity: float
    eps: float
    cost: PredictorCost
    curve: Curve


# --------------------------------------------------------------------------------------------
# validation


_check_eps = bounds.check_eps


def _check_grid(sparsities: Sequence[float] | np.ndarray) -> np.ndarray:
    grid = np.asarray(sparsities, dtype=float)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"sparsities must be a non-empty 1-D sequence, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or grid.min() < 0 or grid.max() > 1:
        raise ValueError("sparsities (fractions of weights removed) must lie in [0, 1]")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("sparsities must be strictly increasing")
    return grid


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _check_vector(name: str, vector: Tensor, dim: int) -> Tensor:
    if vector.ndim != 1 or vector.numel() != dim:
        raise ValueError(
            f"{name} must be a flat tensor of the {dim} parameters of the curvature, "
            f"got shape {tuple(vector.shape)}"
        )
    return vector


# --------------------------------------------------------------------------------------------
# the quadratic model on tensors


def _blocks(weights: Tensor, grid: np.ndarray) -> tuple[Tensor, np.ndarray, np.ndarray]:
    # Magnitude order, removal counts per grid point, and the non-empty block boundaries.
    order = prune.magnitude_order(weights)
    counts = np.array([prune.num_removed(s, weights.numel()) for s in grid])
    bounds = np.unique(np.concatenate([[0], counts]))  # block i = order[bounds[i]:bounds[i+1]]
    return order, counts, bounds


def _block_matrix(
    weights: Tensor, positions: Tensor, order: Tensor, bounds: np.ndarray, cols: range, dim: int
) -> Tensor:
    # Columns ``cols`` of ``B``: column ``i`` is ``-w`` on the weights of block ``i``.
    B = torch.zeros(dim, len(cols), dtype=weights.dtype, device=weights.device)
    for c, i in enumerate(cols):
        idx = order[bounds[i] : bounds[i + 1]]
        B[positions[idx], c] = -weights[idx]
    return B


def taylor_curve_quadratic(
    weights: Tensor,
    sparsities: Sequence[float] | np.ndarray,
    gradient: Tensor,
    matmat: Matmat,
    *,
    positions: Tensor | None = None,
    chunk_size: int = 64,
) -> Curve:
    r"""No-refit Taylor curve $g^\top\Delta(s) + \frac12\Delta(s)^\top H\Delta(s)$ on tensors.

    The model-free core of :func:`taylor_curve`: the removed weights are split into the blocks
    removed between consecutive grid points, ``matmat`` is applied to the block matrix ``B``
    (in chunks of ``chunk_size`` columns), and the quadratic form along the grid is the diagonal
    of the 2-D cumulative sum of the Gram matrix $B^\top H B$.

    Args:
        weights: The ``n`` prunable weights $w^*$ (flat).
        sparsities: Strictly increasing fractions removed, in [0, 1].
        gradient: $g$, flat, of the curvature's dimension ``D``.
        matmat: Maps a ``(D, p)`` block to the curvature times it.
        positions: Where the prunable weights sit among the ``D`` coordinates (default: the
            first ``n``, i.e. ``D = n``).
        chunk_size: Columns per call of ``matmat``.

    Returns:
        The curve, with ``cost.hvps`` the number of non-empty blocks.

    Raises:
        ValueError: On a bad grid, a gradient of the wrong size, or positions that do not fit.

    Example:
        >>> H = torch.diag(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64))
        >>> w = torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64)
        >>> g = torch.zeros(3, dtype=torch.float64)
        >>> c = taylor_curve_quadratic(w, [0, 1 / 3, 2 / 3, 1], g, H.__matmul__)
        >>> c.loss_increase.tolist()  # removes w_2, then w_3, then w_1
        [0.0, 1.0, 9.0, 13.5]
    """
    start = time.perf_counter()
    grid = _check_grid(sparsities)
    n = weights.numel()
    dim = gradient.numel() if positions is not None else n
    positions = torch.arange(n) if positions is None else positions.long()
    _check_vector("gradient", gradient, dim)
    if positions.numel() != n or (n and int(positions.max()) >= dim):
        raise ValueError(f"positions must give one index below {dim} for each of the {n} weights")
    order, counts, bounds = _blocks(weights, grid)
    num_blocks = len(bounds) - 1
    gram = torch.zeros(num_blocks, num_blocks, dtype=torch.float64)
    passes = 0
    # block id of each removed weight, for B^T (H B) as a segment sum
    block_of = torch.repeat_interleave(
        torch.arange(num_blocks), torch.as_tensor(np.diff(bounds), dtype=torch.long)
    )
    removed = order[: bounds[-1]]
    for lo in range(0, num_blocks, chunk_size):
        cols = range(lo, min(lo + chunk_size, num_blocks))
        HB = matmat(_block_matrix(weights, positions, order, bounds, cols, dim))
        rows = -weights[removed, None] * HB[positions[removed]]  # (num_removed, p)
        part = torch.zeros(num_blocks, len(cols), dtype=HB.dtype, device=HB.device)
        gram[:, cols.start : cols.stop] = part.index_add_(0, block_of, rows).double().cpu()
        passes += 1
    gram = 0.5 * (gram + gram.T)
    quad = torch.cumsum(torch.cumsum(gram, 0), 1).diagonal().numpy()
    g_block = torch.zeros(num_blocks, dtype=torch.float64).index_add_(
        0, block_of, (-weights[removed] * gradient[positions[removed]]).double().cpu()
    )
    first_blocks = np.cumsum(g_block.numpy())
    which = np.searchsorted(bounds, counts) - 1  # last block included at each grid point
    first = np.where(which >= 0, first_blocks[np.maximum(which, 0)], 0.0)
    second = np.where(which >= 0, 0.5 * quad[np.maximum(which, 0)], 0.0)
    cost = PredictorCost(num_blocks, 0, passes, time.perf_counter() - start)
    return Curve(grid, counts, first + second, first, "taylor", "custom", cost)


def taylor_limit_quadratic(
    weights: Tensor,
    sparsities: Sequence[float] | np.ndarray,
    gradient: Tensor,
    matmat: Matmat,
    eps: float,
    *,
    positions: Tensor | None = None,
    num_coarse: int = 100,
    chunk_size: int = 64,
) -> Prediction:
    r"""The largest grid sparsity whose Taylor increase is at most ``eps``, from a coarse curve.

    :func:`taylor_curve_quadratic` on ``num_coarse`` evenly spaced grid points (one product per
    block between them) finds the last coarse point within ``eps``; the crossing after it is then
    bisected on the full grid, one product $H\Delta(s)$ per step. This costs about
    ``num_coarse + log2(len(sparsities) / num_coarse)`` products instead of one per grid point,
    and it equals the full curve's :meth:`Curve.limit` whenever the curve has no second
    crossing between two coarse points (for instance when it is non-decreasing). Grids of at
    most ``num_coarse`` points are evaluated in full.

    Args:
        weights: The ``n`` prunable weights $w^*$ (flat).
        sparsities: Strictly increasing fractions removed, in [0, 1], starting at 0.
        gradient: $g$, flat, of the curvature's dimension ``D``.
        matmat: ``(D, p) -> (D, p)`` curvature product.
        eps: Allowed loss increase $\epsilon > 0$.
        positions: Where the prunable weights sit among the ``D`` coordinates.
        num_coarse: Points of the coarse curve (at least 2).
        chunk_size: Columns per call of ``matmat``.

    Returns:
        The prediction; its curve holds every point evaluated.

    Raises:
        ValueError: On a bad grid, ``eps`` or ``num_coarse``.

    Example:
        >>> H = torch.diag(torch.linspace(1.0, 2.0, 50, dtype=torch.float64))
        >>> w = torch.linspace(0.1, 1.0, 50, dtype=torch.float64)
        >>> g, grid = torch.zeros(50, dtype=torch.float64), np.arange(50) / 50
        >>> full = taylor_curve_quadratic(w, grid, g, H.__matmul__).limit(0.5)
        >>> taylor_limit_quadratic(w, grid, g, H.__matmul__, 0.5, num_coarse=6).sparsity == full
        True
    """
    start = time.perf_counter()
    grid, eps = _check_grid(sparsities), _check_eps(eps)
    if num_coarse < 2:
        raise ValueError(f"num_coarse must be >= 2, got {num_coarse}")
    if grid.size <= num_coarse:
        curve = taylor_curve_quadratic(
            weights, grid, gradient, matmat, positions=positions, chunk_size=chunk_size
        )
        return Prediction(curve.limit(eps), eps, curve.cost, curve)
    n = weights.numel()
    idx = np.unique(np.linspace(0, grid.size - 1, num_coarse).round().astype(int))
    coarse = taylor_curve_quadratic(
        weights, grid[idx], gradient, matmat, positions=positions, chunk_size=chunk_size
    )
    seen = {int(i): (v, f) for i, v, f in zip(idx, coarse.loss_increase, coarse.first_order)}
    cost = coarse.cost
    positions = torch.arange(n) if positions is None else positions.long()
    order = prune.magnitude_order(weights)
    ok = np.flatnonzero(coarse.loss_increase <= eps)
    if ok.size == 0:
        return Prediction(float("nan"), eps, cost, coarse)
    lo = int(idx[ok.max()])
    hi = int(idx[ok.max() + 1]) if ok.max() + 1 < idx.size else None
    while hi is not None and hi - lo > 1:
        mid = (lo + hi) // 2
        step = torch.zeros(gradient.numel(), dtype=weights.dtype, device=weights.device)
        removed = order[: prune.num_removed(float(grid[mid]), n)]
        step[positions[removed]] = -weights[removed]
        first = float(gradient.to(step) @ step)
        value = first + 0.5 * float(step @ matmat(step[:, None])[:, 0])
        cost = cost + PredictorCost(1, 0, 1, 0.0)
        seen[mid] = (value, first)
        lo, hi = (mid, hi) if value <= eps else (lo, mid)
    keys = np.array(sorted(seen))
    curve = Curve(
        grid[keys],
        np.array([prune.num_removed(float(s), n) for s in grid[keys]]),
        np.array([seen[int(k)][0] for k in keys]),
        np.array([seen[int(k)][1] for k in keys]),
        "taylor",
        "custom",
        cost,
    )
    curve.cost.seconds = time.perf_counter() - start
    return Prediction(float(grid[lo]), eps, curve.cost, curve)


def refit_curve_quadratic(
    weights: Tensor,
    sparsities: Sequence[float] | np.ndarray,
    gradient: Tensor,
    matmat: Matmat,
    *,
    positions: Tensor | None = None,
    rtol: float = 1e-6,
    maxiter: int = 1000,
    chunk_size: int = 64,
    return_solutions: bool = False,
    radius: Sequence[float] | np.ndarray | None = None,
) -> Curve:
    r"""Least quadratic-model increase with the kept coordinates re-fitted, by block CG.

    For each grid point the coordinates not removed (kept prunable weights and, when
    ``positions`` leaves room, every other parameter of the curvature) are free, and
    $\min_{\delta_F}\ q(\Delta + \delta)$ with $q(x) = g^\top x + \frac12 x^\top C x$ is found by
    conjugate gradients on $C_{FF}\,\delta_F = -(g + C\Delta)_F$ from $\delta = 0$, one CG per
    grid point, all advanced together so that each iteration is one block product. A column
    stops when its residual is below ``rtol`` times its right-hand side, at ``maxiter``, or when
    $p^\top C p \le 0$ (a null direction of a semi-definite ``C``). The value is
    $q(\Delta) - \frac12\,\delta^\top(b + r)$, read off the CG state with no extra product.

    Args:
        weights: The ``n`` prunable weights $w^*$ (flat).
        sparsities: Strictly increasing fractions removed, in [0, 1].
        gradient: $g$, flat, of the curvature's dimension ``D``.
        matmat: Maps a ``(D, p)`` block to ``C`` times it; ``C`` must be positive semi-definite.
        positions: Where the prunable weights sit among the ``D`` coordinates (default: the
            first ``n``).
        rtol: Relative residual at which CG stops.
        maxiter: Most CG iterations per grid point.
        chunk_size: Grid points solved together (columns of one block product).
        return_solutions: Keep the minimisers $\Delta + \delta$ in ``solutions``.
        radius: Per grid point, a trust region $\lVert\delta\rVert \le r$ on the refit
            (Steihaug's truncated CG: a step leaving the ball, or a direction of non-positive
            curvature, ends on its boundary). With a radius ``C`` may be indefinite (the
            Hessian). ``None``: no bound, ``C`` must be positive semi-definite.

    Returns:
        The refit curve; ``cg_iterations`` gives the iterations spent at each point and
        ``cg_converged`` whether CG stopped on its own (residual, boundary or a flat direction)
        rather than at ``maxiter``.

    Raises:
        ValueError: On a bad grid, a gradient of the wrong size, or ``rtol``/``maxiter`` out of
            range.
    """
    start = time.perf_counter()
    grid = _check_grid(sparsities)
    if not (0 < rtol < 1) or maxiter < 1:
        raise ValueError(f"need 0 < rtol < 1 and maxiter >= 1, got {rtol}, {maxiter}")
    n = weights.numel()
    dim = gradient.numel() if positions is not None else n
    positions = torch.arange(n) if positions is None else positions.long()
    _check_vector("gradient", gradient, dim)
    order = prune.magnitude_order(weights)
    counts = np.array([prune.num_removed(s, n) for s in grid])
    if radius is not None:
        radius = np.broadcast_to(np.asarray(radius, dtype=float), grid.shape)
        if not np.all(np.isfinite(radius)) or np.any(radius < 0):
            raise ValueError("radius (trust region of the refit) must be finite and >= 0")
    values, first, iters = np.zeros(len(grid)), np.zeros(len(grid)), np.zeros(len(grid), int)
    converged = np.zeros(len(grid), dtype=bool)
    solutions = [] if return_solutions else None
    cost = PredictorCost()
    for lo in range(0, len(grid), chunk_size):
        sl = slice(lo, min(lo + chunk_size, len(grid)))
        x0 = torch.zeros(dim, sl.stop - sl.start, dtype=weights.dtype, device=weights.device)
        free = torch.ones_like(x0, dtype=torch.bool)
        for c, count in enumerate(counts[sl]):
            idx = positions[order[:count]]
            x0[idx, c] = -weights[order[:count]]
            free[idx, c] = False
        r_cols = None if radius is None else torch.as_tensor(np.array(radius[sl])).to(x0)
        values[sl], first[sl], iters[sl], spent, delta, converged[sl] = _block_cg(
            matmat, gradient, x0, free, rtol, maxiter, r_cols
        )
        cost = cost + spent
        if solutions is not None:
            solutions.append(x0 + delta)
    cost.seconds = time.perf_counter() - start
    out = torch.cat(solutions, dim=1) if solutions is not None else None
    return Curve(grid, counts, values, first, "refit", "custom", cost, iters, out, converged)


def _boundary_step(delta: Tensor, d: Tensor, radius: Tensor) -> Tensor:
    # tau >= 0 with ||delta + tau d|| = radius, column by column (Steihaug's boundary step)
    dd = (d * d).sum(0)
    dd_safe = torch.where(dd > 0, dd, torch.ones_like(dd))
    xd = (delta * d).sum(0)
    gap = (radius**2 - (delta * delta).sum(0)).clamp_min(0)
    return torch.where(dd > 0, (-xd + torch.sqrt(xd * xd + dd * gap)) / dd_safe, 0.0)


def _block_cg(
    matmat: Matmat,
    g: Tensor,
    x0: Tensor,
    free: Tensor,
    rtol: float,
    maxiter: int,
    radius: Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, PredictorCost, Tensor, np.ndarray]:
    # Independent CGs on the masked systems, advanced in lockstep (one block product a step).
    # With ``radius`` each column is Steihaug's truncated CG for the trust-region problem
    # ||delta|| <= radius: a step that would leave the ball, or a direction of non-positive
    # curvature, goes to the boundary and stops that column. The residual r = b - C delta is
    # kept exact through every step, so the model value q0 - delta^T (b + r) / 2 holds throughout.
    p = x0.shape[1]
    Cx0 = matmat(x0)
    cost = PredictorCost(hvps=p, data_passes=1)
    first = (g @ x0).double()
    q0 = first + 0.5 * (x0 * Cx0).sum(0).double()
    b = torch.where(free, -(g[:, None] + Cx0), torch.zeros_like(Cx0))
    delta, r, d = torch.zeros_like(b), b.clone(), b.clone()
    rr = (r * r).sum(0)
    target = rtol**2 * rr
    iters = torch.zeros(p, dtype=torch.long)
    active = rr > target
    converged = ~active.cpu()
    for _ in range(maxiter):
        cols = torch.nonzero(active).flatten()
        if cols.numel() == 0:
            break
        Cd = torch.where(free[:, cols], matmat(d[:, cols]), 0.0)
        cost.hvps += cols.numel()
        cost.data_passes += 1
        dCd = (d[:, cols] * Cd).sum(0)
        ok = dCd > 0
        alpha = torch.where(ok, rr[cols] / torch.where(ok, dCd, 1.0), 0.0)
        stop = ~ok
        if radius is not None:
            to_edge = _boundary_step(delta[:, cols], d[:, cols], radius[cols])
            step = delta[:, cols] + alpha * d[:, cols]
            outside = (step * step).sum(0) > radius[cols] ** 2
            stop = stop | outside
            alpha = torch.where(stop, to_edge, alpha)
        delta[:, cols] += alpha * d[:, cols]
        r[:, cols] -= alpha * Cd
        rr_new = (r[:, cols] * r[:, cols]).sum(0)
        d[:, cols] = r[:, cols] + (rr_new / torch.where(rr[cols] > 0, rr[cols], 1.0)) * d[:, cols]
        rr[cols] = rr_new
        iters[cols] += 1
        done = stop | (rr_new <= target[cols])
        converged[cols.cpu()] |= done.cpu()
        active[cols] = ~done
    values = q0 - 0.5 * (delta * (b + r)).sum(0).double()
    return values.cpu().numpy(), first.cpu().numpy(), iters.numpy(), cost, delta, converged.numpy()


# --------------------------------------------------------------------------------------------
# networks: parameters, gradient and curvature products


@dataclass
class _Setup:
    weights: Tensor  # prunable weights, flat
    positions: Tensor  # their coordinates among the curvature's D
    gradient: Tensor  # (D,)
    matmat: Matmat
    curvature: str
    cost: PredictorCost


def _batches(data: Dataset | Iterable, dtype: torch.dtype, device: torch.device) -> list:
    from pnlib import train

    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], Tensor):
        data = [data]
    elif isinstance(data, Dataset):
        data = train.make_loader(data, 1024, shuffle=False)
    out = []
    for X, y in data:
        X = X.to(device)
        out.append((X.to(dtype) if X.is_floating_point() else X, y.to(device)))
    if not out:
        raise ValueError("the data are empty")
    return out


def _loss_module(loss_fn: Any) -> nn.Module:
    if loss_fn is None or loss_fn is nn.functional.cross_entropy:
        return nn.CrossEntropyLoss()
    if isinstance(loss_fn, nn.Module) and getattr(loss_fn, "reduction", None) == "mean":
        return loss_fn
    raise ValueError(
        "the GGN needs a loss module with reduction='mean' (e.g. nn.CrossEntropyLoss()), "
        f"or None / nn.functional.cross_entropy; got {loss_fn!r}"
    )


def _param_names(model: nn.Module, params: str) -> list[str]:
    from pnlib.hessian import select_parameters

    return select_parameters(model, _check_choice("params", params, PARAMS))


def _setup(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    *,
    params: str,
    curvature: str,
    gradient: Tensor | None,
    hvp: Matmat | None,
    dtype: torch.dtype | None,
    damping: float = 0.0,
) -> _Setup:
    # Flatten the parameters, locate the prunable weights, build ``g`` and the product.
    from pnlib.hessian import HessianOperator

    _check_choice("params", params, PARAMS)
    _check_choice("curvature", curvature, CURVATURES)
    start = time.perf_counter()
    loss = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    op = HessianOperator(model, loss, data, params=params, dtype=dtype)
    named = dict(model.named_parameters())
    offsets = dict(zip(op.names, np.cumsum([0] + [named[n].numel() for n in op.names])))
    prunable = models.prunable_parameters(model)
    positions = torch.cat(
        [torch.arange(offsets[n], offsets[n] + p.numel()) for n, p in prunable.items()]
    )
    weights = torch.cat([p.detach().reshape(-1) for p in prunable.values()]).to(op.dtype)
    cost = PredictorCost()
    if gradient is None:
        gradient = op.gradient_and_loss()[0]
        cost.gradients, cost.data_passes = 1, 1
    gradient = _check_vector("gradient", gradient.to(weights), op.shape[0])
    if hvp is not None:
        matmat, kind = hvp, "custom"
    elif curvature == "hessian":
        matmat, kind = op.__matmul__, "hessian"
    else:
        matmat, kind = _ggn_matmat(model, loss, data, op.names, op.dtype), "ggn"
    if damping < 0 or not math.isfinite(damping):
        raise ValueError(f"damping must be a finite number >= 0, got {damping}")
    if damping > 0:
        matmat = _damped(matmat, damping)
    cost.seconds = time.perf_counter() - start
    return _Setup(weights, positions, gradient, matmat, kind, cost)


def _damped(matmat: Matmat, damping: float) -> Matmat:
    return lambda V: matmat(V) + damping * V


def _ggn_matmat(
    model: nn.Module, loss_fn: Any, data: Any, names: list[str], dtype: torch.dtype
) -> Matmat:
    # Curvlinops' GGN operator on the named parameters of a copy of ``model`` in ``dtype``.
    from curvlinops import GGNLinearOperator

    net = copy.deepcopy(model).eval().to(dtype)
    named = dict(net.named_parameters())
    batches = _batches(data, dtype, named[names[0]].device)
    op = GGNLinearOperator(
        net,
        _loss_module(loss_fn),
        [named[n] for n in names],
        batches,
        check_deterministic=False,
        num_data=sum(len(y) for _, y in batches),
    )
    return lambda V: op @ V.to(dtype)


def _with_setup_cost(curve: Curve, setup: _Setup) -> Curve:
    curve.curvature = setup.curvature
    curve.cost = curve.cost + setup.cost
    return curve


# --------------------------------------------------------------------------------------------
# public predictors on networks


def taylor_curve(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    sparsities: Sequence[float] | np.ndarray,
    *,
    gradient: Tensor | None = None,
    hvp: Matmat | None = None,
    params: str = "prunable",
    curvature: str = "hessian",
    dtype: torch.dtype | None = None,
    chunk_size: int = 64,
) -> Curve:
    r"""Second-order Taylor prediction of the loss increase along the magnitude-pruning path.

    $\Delta L(s) \approx g^\top\Delta(s) + \frac12\Delta(s)^\top H\Delta(s)$, with no re-fitting
    of the kept weights (module docstring). Costs one gradient (unless given) and one product
    per non-empty block between grid points.

    Args:
        model: The trained network (not modified; a copy is used).
        loss_fn: Batch-mean data loss ``(outputs, targets) -> scalar``; ``None`` for
            cross-entropy. Without the $\ell_1$ term: $g$ is the data loss's gradient.
        data: The training set (a Dataset, or a list of ``(inputs, targets)`` batches).
        sparsities: Strictly increasing fractions removed, in [0, 1].
        gradient: $g$ over the chosen parameters (computed when ``None``).
        hvp: A product ``(D, p) -> (D, p)`` to use instead of the Hessian (e.g. a GGN).
        params: Coordinates of the curvature: ``"prunable"`` (conv/linear weights) or
            ``"all"``. Both give the same curve, since only prunable weights move.
        curvature: ``"hessian"`` or ``"ggn"`` when ``hvp`` is not given.
        dtype: Compute in this dtype (e.g. ``torch.float64``); default the model's.
        chunk_size: Columns per block product.

    Returns:
        The curve; its ``cost`` includes the gradient.

    Raises:
        ValueError: On a bad grid, an unknown ``params`` or ``curvature``, or a gradient of the
            wrong size.
    """
    _check_grid(sparsities)
    setup = _setup(
        model,
        loss_fn,
        data,
        params=params,
        curvature=curvature,
        gradient=gradient,
        hvp=hvp,
        dtype=dtype,
    )
    curve = taylor_curve_quadratic(
        setup.weights,
        sparsities,
        setup.gradient,
        setup.matmat,
        positions=setup.positions,
        chunk_size=chunk_size,
    )
    return _with_setup_cost(curve, setup)


def taylor_limit(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    sparsities: Sequence[float] | np.ndarray,
    eps: float,
    **kwargs: Any,
) -> Prediction:
    r"""The largest grid sparsity whose no-refit Taylor increase is at most ``eps``.

    Args:
        model: The trained network.
        loss_fn: Batch-mean data loss, or ``None`` for cross-entropy.
        data: The training set.
        sparsities: Strictly increasing fractions removed, in [0, 1].
        eps: Allowed loss increase $\epsilon > 0$.
        **kwargs: Passed to :func:`taylor_curve`.

    Returns:
        The prediction (``nan`` sparsity if no grid point qualifies) and its curve.
    """
    eps = _check_eps(eps)
    curve = taylor_curve(model, loss_fn, data, sparsities, **kwargs)
    return Prediction(curve.limit(eps), eps, curve.cost, curve)


def refit_curve(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    sparsities: Sequence[float] | np.ndarray,
    *,
    gradient: Tensor | None = None,
    hvp: Matmat | None = None,
    params: str = "all",
    rtol: float = 1e-4,
    maxiter: int = 500,
    dtype: torch.dtype | None = None,
    damping: float = 0.0,
    chunk_size: int = 64,
) -> Curve:
    r"""Least quadratic-model loss increase with the kept weights re-fitted, at each sparsity.

    The curvature is the generalised Gauss-Newton matrix (positive semi-definite) unless ``hvp``
    is given. Costs one gradient, one product per grid point for $C\Delta$, and one per CG
    iteration per grid point.

    Args:
        model: The trained network (not modified).
        loss_fn: Batch-mean data loss module with ``reduction='mean'``, or ``None`` for
            cross-entropy.
        data: The training set.
        sparsities: Strictly increasing fractions removed, in [0, 1].
        gradient: $g$ over the chosen parameters (computed when ``None``).
        hvp: A positive semi-definite product ``(D, p) -> (D, p)`` to use instead of the GGN.
        params: ``"all"`` (biases are re-fitted too) or ``"prunable"`` (biases stay).
        rtol: Relative residual at which CG stops.
        maxiter: Most CG iterations per point.
        dtype: Compute in this dtype; default the model's.
        damping: Add $\mu I$ to the GGN (a trust region; 0: the plain quadratic model).
        chunk_size: Grid points solved together.

    Returns:
        The refit curve.
    """
    _check_grid(sparsities)
    setup = _setup(
        model,
        loss_fn,
        data,
        params=params,
        curvature="ggn",
        gradient=gradient,
        hvp=hvp,
        dtype=dtype,
        damping=damping,
    )
    curve = refit_curve_quadratic(
        setup.weights,
        sparsities,
        setup.gradient,
        setup.matmat,
        positions=setup.positions,
        rtol=rtol,
        maxiter=maxiter,
        chunk_size=chunk_size,
    )
    return _with_setup_cost(curve, setup)


def refit_limit(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    sparsities: Sequence[float] | np.ndarray,
    eps: float,
    *,
    gradient: Tensor | None = None,
    hvp: Matmat | None = None,
    params: str = "all",
    num_coarse: int = 9,
    points_per_round: int = 3,
    rtol: float = 1e-4,
    maxiter: int = 500,
    dtype: torch.dtype | None = None,
    damping: float = 0.0,
) -> Prediction:
    r"""The largest grid sparsity whose refit increase is at most ``eps``, found by bisection.

    The refit increase is non-decreasing in $s$ (nested supports: a sparser point is feasible
    for fewer kept weights), so the crossing is bracketed on ``num_coarse`` evenly spaced grid
    points and narrowed by rounds of ``points_per_round`` interior points (solved together)
    until two neighbouring grid points bracket it. Cost: about
    ``(num_coarse + points_per_round * rounds) * (1 + CG iterations)`` products.

    Args:
        model: The trained network (not modified).
        loss_fn: Batch-mean data loss module, or ``None`` for cross-entropy.
        data: The training set.
        sparsities: Strictly increasing fractions removed, in [0, 1].
        eps: Allowed loss increase $\epsilon > 0$.
        gradient: $g$ over the chosen parameters (computed when ``None``).
        hvp: A positive semi-definite product to use instead of the GGN.
        params: ``"all"`` or ``"prunable"`` (which coordinates may be re-fitted besides kept
            weights).
        num_coarse: Grid points of the first round (at least 2).
        points_per_round: Points per bisection round (at least 1).
        rtol: Relative residual at which CG stops.
        maxiter: Most CG iterations per point.
        dtype: Compute in this dtype; default the model's.
        damping: Add $\mu I$ to the GGN (a trust region; 0: the plain quadratic model).

    Returns:
        The prediction (``nan`` if even the first grid point exceeds ``eps``) and the points
        evaluated.

    Raises:
        ValueError: On a bad grid, ``eps``, ``num_coarse < 2`` or ``points_per_round < 1``.
    """
    _check_grid(sparsities)
    start = time.perf_counter()
    setup = _setup(
        model,
        loss_fn,
        data,
        params=params,
        curvature="ggn",
        gradient=gradient,
        hvp=hvp,
        dtype=dtype,
        damping=damping,
    )
    found = refit_limit_quadratic(
        setup.weights,
        sparsities,
        setup.gradient,
        setup.matmat,
        eps,
        positions=setup.positions,
        num_coarse=num_coarse,
        points_per_round=points_per_round,
        rtol=rtol,
        maxiter=maxiter,
    )
    found.curve.curvature = setup.curvature
    found.cost = found.curve.cost = found.cost + setup.cost
    found.cost.seconds = time.perf_counter() - start
    return found


def refit_limit_quadratic(
    weights: Tensor,
    sparsities: Sequence[float] | np.ndarray,
    gradient: Tensor,
    matmat: Matmat,
    eps: float,
    *,
    positions: Tensor | None = None,
    radius: Callable[[np.ndarray], np.ndarray] | None = None,
    num_coarse: int = 9,
    points_per_round: int = 3,
    rtol: float = 1e-4,
    maxiter: int = 500,
) -> Prediction:
    r"""The bisection of :func:`refit_limit` on a given quadratic model (the model-free core).

    Args:
        weights: The ``n`` prunable weights $w^*$ (flat).
        sparsities: Strictly increasing fractions removed, in [0, 1].
        gradient: $g$, flat, of the curvature's dimension ``D``.
        matmat: ``(D, p) -> (D, p)`` curvature product.
        eps: Allowed loss increase $\epsilon > 0$.
        positions: Where the prunable weights sit among the ``D`` coordinates.
        radius: Maps grid sparsities to trust-region radii of the refit
            (:func:`refit_curve_quadratic`); ``None``: unbounded.
        num_coarse: Grid points of the first round (at least 2).
        points_per_round: Points per bisection round (at least 1).
        rtol: Relative residual at which CG stops.
        maxiter: Most CG iterations per point.

    Returns:
        The prediction (``nan`` if even the first grid point exceeds ``eps``); its curve holds
        the points evaluated, their CG iterations and whether CG converged.

    Raises:
        ValueError: On a bad grid, ``eps``, ``num_coarse < 2`` or ``points_per_round < 1``.
    """
    grid, eps = _check_grid(sparsities), _check_eps(eps)
    if num_coarse < 2 or points_per_round < 1:
        raise ValueError(
            f"need num_coarse >= 2 and points_per_round >= 1, got {num_coarse}, {points_per_round}"
        )
    start = time.perf_counter()
    seen: dict[int, tuple[float, float, int, bool]] = {}
    cost = PredictorCost()

    def evaluate(indices: np.ndarray) -> None:
        nonlocal cost
        todo = np.array(sorted(set(indices.tolist()) - set(seen)), dtype=int)
        if todo.size == 0:
            return
        c = refit_curve_quadratic(
            weights,
            grid[todo],
            gradient,
            matmat,
            positions=positions,
            rtol=rtol,
            maxiter=maxiter,
            radius=None if radius is None else radius(grid[todo]),
        )
        cost = cost + c.cost
        for k, i in enumerate(todo):
            seen[int(i)] = (
                c.loss_increase[k],
                c.first_order[k],
                int(c.cg_iterations[k]),
                bool(c.cg_converged[k]),
            )

    coarse = np.unique(np.linspace(0, len(grid) - 1, num_coarse).round().astype(int))
    evaluate(coarse)
    lo, hi = _bracket(coarse, seen, eps)
    while lo is not None and hi is not None and hi - lo > 1:
        inner = np.unique(np.linspace(lo, hi, points_per_round + 2).round().astype(int)[1:-1])
        evaluate(inner)
        lo, hi = _bracket(np.array(sorted(i for i in seen if lo <= i <= hi)), seen, eps)
    keys = np.array(sorted(seen))
    rows = [seen[int(i)] for i in keys]
    curve = Curve(
        grid[keys],
        np.array([prune.num_removed(s, weights.numel()) for s in grid[keys]]),
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        "refit",
        "custom",
        cost,
        np.array([r[2] for r in rows], dtype=int),
        cg_converged=np.array([r[3] for r in rows], dtype=bool),
    )
    curve.cost.seconds = time.perf_counter() - start
    found = float("nan") if lo is None else float(grid[lo])
    return Prediction(found, eps, curve.cost, curve)


def refit_weights(
    model: nn.Module,
    loss_fn: Any,
    data: Dataset | Iterable,
    sparsity: float,
    *,
    params: str = "all",
    step: float = 1.0,
    rtol: float = 1e-4,
    maxiter: int = 500,
    dtype: torch.dtype | None = None,
    damping: float = 0.0,
) -> tuple[nn.Module, float]:
    r"""A copy of ``model`` pruned at ``sparsity`` with its kept weights re-fitted by the GGN model.

    The change is ``Delta + step * delta``: the magnitude pruning plus (a fraction of) the
    minimiser of the refit quadratic model; ``step = 1`` is the model's optimum, ``step = 0``
    plain pruning. Evaluating the true loss of the result tells how far the quadratic model's
    refit can be trusted.

    Args:
        model: The trained network (not modified).
        loss_fn: Batch-mean data loss module, or ``None`` for cross-entropy.
        data: The training set.
        sparsity: Fraction of prunable weights removed, in [0, 1].
        params: ``"all"`` or ``"prunable"`` (what may be re-fitted besides kept weights).
        step: Fraction of the refit step to take.
        rtol: Relative residual at which CG stops.
        maxiter: Most CG iterations.
        dtype: Compute in this dtype; default the model's.
        damping: Add $\mu I$ to the GGN (a trust region; 0: the plain quadratic model).

    Returns:
        ``(pruned copy, predicted refit increase)``; the copy has the model's dtype and exact
        zeros at the removed weights.
    """
    setup = _setup(
        model,
        loss_fn,
        data,
        params=params,
        curvature="ggn",
        gradient=None,
        hvp=None,
        dtype=dtype,
        damping=damping,
    )
    curve = refit_curve_quadratic(
        setup.weights,
        [prune.check_sparsity(sparsity)],
        setup.gradient,
        setup.matmat,
        positions=setup.positions,
        rtol=rtol,
        maxiter=maxiter,
        return_solutions=True,
    )
    x = curve.solutions[:, 0]
    count = int(curve.num_removed[0])
    removed = setup.positions[prune.magnitude_order(setup.weights)[:count]]
    change = step * x
    change[removed] = x[removed]  # the removed weights go exactly to zero, whatever the step
    names = _param_names(model, params)
    out = copy.deepcopy(model)
    named = dict(out.named_parameters())
    with torch.no_grad():
        flat = torch.cat([named[n].reshape(-1).to(change) for n in names]) + change
        flat[removed] = 0.0
        for n, part in zip(names, flat.split([named[n].numel() for n in names])):
            named[n].copy_(part.reshape(named[n].shape))
    return out, float(curve.loss_increase[0])


def _bracket(indices: np.ndarray, seen: dict, eps: float) -> tuple[int | None, int | None]:
    # Last evaluated index meeting ``eps`` and the next evaluated index after it.
    ok = [i for i in indices if seen[int(i)][0] <= eps]
    if not ok:
        return None, None
    lo = int(max(ok))
    later = [int(i) for i in indices if i > lo]
    return lo, (min(later) if later else None)
