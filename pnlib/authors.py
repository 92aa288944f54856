r"""The authors' pipeline on our inputs: what each of their code's choices does to the prediction.

The released code of the paper computes the same fixed point as :mod:`pnlib.bounds`, with four
choices of its own. Each is reproduced here so that the book can show what it changes:

* ``integer_radius``: $s(R)$ is tabulated at integer $R = 0, 1, \dots, \lfloor\sum_t
  \lVert w_t\rVert\rfloor$ (the sum of per-tensor norms of every trainable parameter) and
  looked up at $\operatorname{round}(R(s))$;
* ``smoothed_density``: the SLQ rule is replaced by a Gaussian-smoothed density on 100,000
  grid points between the extreme nodes (widened by 0.01), with kernel variance
  $10^{-10}\max(1, \lambda_{\max} - \lambda_{\min})$; bins of zero density are dropped;
* ``all_parameters``: the Hessian spans the weights *and biases* of every convolutional and
  linear layer (normalisation layers are frozen), not only the prunable weights;
* ``shuffled_eps``: $\epsilon$ is the spread of batch losses over *shuffled* batches.

In every case the fixed point is found as the code does, by $i^* = \arg\min_i
\lvert s(R_i) - s_i\rvert$ over the sweep grid $s_i = i/n$, with the removed count
$\max(1, \lceil s_i D\rceil)$. The zero-curvature mass $z$ enters as an atom at 0, as in their code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from torch import nn

from pnlib import bounds, models
from pnlib.magnitude import removed_sq_norms
from pnlib.spectrum import SLQResult

__all__ = ["QUIRKS", "authors_curve", "grid_argmin", "norm_sum", "smoothed_density"]

QUIRKS = ("integer_radius", "smoothed_density", "all_parameters", "shuffled_eps")
GRID_BINS = 100_000
KERNEL_VARIANCE = 1e-10
OVERHEAD = 0.01


def smoothed_density(rule: SLQResult, num_bins: int = GRID_BINS) -> tuple[np.ndarray, np.ndarray]:
    r"""The authors' smoothed spectral density: grid points and normalised masses.

    Only the bins within eight kernel widths of a node are evaluated (the kernel is far narrower
    than the grid spacing, so the rest are zero to machine precision); zero bins are dropped.

    Args:
        rule: Quadrature rules (SLQ or exact).
        num_bins: Grid points.

    Returns:
        ``(grid, mass)`` of the non-empty bins, the masses summing to one.

    Example:
        >>> from pnlib.spectrum import from_eigenvalues
        >>> t, m = smoothed_density(from_eigenvalues(np.array([1.0, 2.0])), 1000)
        >>> round(float(m.sum()), 12), bool(t.min() >= 0.99 and t.max() <= 2.01)
        (1.0, True)
    """
    live = rule.weights > 0
    lo = float(np.mean([n[w].min() for n, w in zip(rule.nodes, live)])) - OVERHEAD
    hi = float(np.mean([n[w].max() for n, w in zip(rule.nodes, live)])) + OVERHEAD
    grid = np.linspace(lo, hi, num_bins)
    step = grid[1] - grid[0]
    sigma = math.sqrt(KERNEL_VARIANCE * max(1.0, hi - lo))
    reach = int(math.ceil(8 * sigma / step)) + 1
    offsets = np.arange(-reach, reach + 1)
    phi = np.zeros(num_bins)
    nodes, weights = rule.nodes[live], rule.weights[live] / rule.num_probes
    centre = np.rint((nodes - lo) / step).astype(int)
    idx = centre[:, None] + offsets[None, :]
    inside = (idx >= 0) & (idx < num_bins)
    z = (grid[np.clip(idx, 0, num_bins - 1)] - nodes[:, None]) / sigma
    values = np.where(inside, np.exp(-0.5 * z * z), 0.0) * weights[:, None]
    np.add.at(phi, np.clip(idx, 0, num_bins - 1)[inside], values[inside])
    keep = phi > 0
    return grid[keep], phi[keep] / phi[keep].sum()


def norm_sum(model: nn.Module) -> float:
    """Sum of the per-tensor norms of every trainable parameter (the top of their ``R`` table).

    Args:
        model: The network.

    Returns:
        The sum.
    """
    return float(sum(p.detach().double().norm() for p in model.parameters() if p.requires_grad))


def authors_curve(
    rule: SLQResult,
    eps: float,
    *,
    zero_mass: float,
    smoothed: bool,
) -> Callable[[np.ndarray], np.ndarray]:
    r"""$s(R)$ as a function of an array of radii, from the SLQ rule or the smoothed density.

    Args:
        rule: Quadrature rules.
        eps: Allowed loss increase.
        zero_mass: Mass $z$ at $\lambda = 0$.
        smoothed: Use the authors' smoothed density instead of the direct quadrature.

    Returns:
        ``radii -> s(radii)`` (absolute eigenvalues, as in their code).
    """
    if not smoothed:
        return lambda r: np.asarray(
            bounds.max_sparsity(rule, r, eps, negative="abs", zero_mass=zero_mass)
        )
    grid, mass = smoothed_density(rule)
    lam = np.abs(grid)

    def curve(r: np.ndarray) -> np.ndarray:
        r2 = np.asarray(r, dtype=float)[..., None] ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(lam > 0, 2 * eps / (2 * eps + lam * r2), 1.0)
        return zero_mass + (1 - zero_mass) * (f @ mass)

    return curve


def grid_argmin(
    weights: np.ndarray,
    curve: Callable[[np.ndarray], np.ndarray],
    grid_points: int,
    *,
    integer_radius: bool,
    radius_top: float,
) -> float:
    r"""$s_{i^*}$ with $i^* = \arg\min_i \lvert s(R_i) - s_i\rvert$, as the authors' code finds it.

    Args:
        weights: The prunable weights.
        curve: $s(R)$ on arrays of radii.
        grid_points: Size of the grid $s_i = i/n$.
        integer_radius: Look $s$ up at integer radii (tabulated up to ``radius_top``).
        radius_top: Top of the integer table.

    Returns:
        The predicted sparsity.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    sq = removed_sq_norms(w)
    s = np.arange(grid_points) / grid_points
    counts = np.maximum(1, np.ceil(s * w.size - 1e-9).astype(int))
    radii = np.sqrt(sq[np.minimum(counts, w.size)])
    if integer_radius:
        table = curve(np.arange(int(math.floor(radius_top)) + 1, dtype=float))
        values = table[np.minimum(np.rint(radii).astype(int), table.size - 1)]
    else:
        values = curve(radii)
    return float(s[int(np.argmin(np.abs(values - s)))])


def parameter_names(model: nn.Module) -> list[str]:
    """Names of the weights and biases of the convolutional and linear layers (their Hessian).

    Args:
        model: The network.

    Returns:
        Trainable parameter names in module order.
    """
    names = []
    for prefix, module in model.named_modules():
        if isinstance(module, models.PRUNABLE_TYPES):
            for n, p in module.named_parameters(recurse=False):
                if p.requires_grad:
                    names.append(f"{prefix}.{n}" if prefix else n)
    return names
