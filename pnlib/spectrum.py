"""Spectra of symmetric operators: Lanczos, stochastic Lanczos quadrature, trace estimators.

The central object is :class:`SLQResult`, a set of Gauss quadrature rules, one per probe vector:
nodes ``θ_j`` (Ritz values) and weights ``τ_j`` (squared first components of the eigenvectors of
the Lanczos tridiagonal), each row summing to one. Spectral functionals are estimated by the direct
quadrature (design.md section 5)

    tr f(H)/D ≈ (1/n_v) Σ_l Σ_j τ_j^(l) f(θ_j^(l)),

never through a smoothed density on a grid, which is biased (geometry-and-spectra.md section 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SLQResult", "from_eigenvalues", "trace_of"]


@dataclass
class SLQResult:
    """Quadrature rules from stochastic Lanczos quadrature, one row per probe.

    Attributes:
        nodes: Ritz values, shape ``(num_probes, m)``, float64.
        weights: Quadrature weights, shape ``(num_probes, m)``, float64, each row summing to one.
        dim: Dimension ``D`` of the operator.
        num_matvecs: Number of operator-vector products spent (a block product of ``p`` columns
            counts ``p``).
        breakdowns: Per probe, the Lanczos step at which ``β ≈ 0`` stopped the recursion early
            (an invariant subspace was found; the rule is then exact for that probe), or ``None``.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int
    num_matvecs: int = 0
    breakdowns: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = np.atleast_2d(np.asarray(self.nodes, dtype=np.float64))
        self.weights = np.atleast_2d(np.asarray(self.weights, dtype=np.float64))
        if self.nodes.shape != self.weights.shape:
            raise ValueError(
                f"nodes and weights must have the same shape, got {self.nodes.shape} "
                f"and {self.weights.shape}"
            )
        if not self.breakdowns:
            self.breakdowns = [None] * self.nodes.shape[0]

    @property
    def num_probes(self) -> int:
        """Number of probes (rows of ``nodes``)."""
        return int(self.nodes.shape[0])


def from_eigenvalues(eigenvalues: np.ndarray) -> SLQResult:
    """Wrap an exact spectrum as a one-probe quadrature rule.

    The nodes are the eigenvalues and every weight is ``1/D``, so :func:`trace_of` returns
    ``tr f(H)/D`` exactly (with standard error 0). This lets code written for SLQ results run on
    exact spectra of small networks.

    Args:
        eigenvalues: The ``D`` eigenvalues, any order.

    Returns:
        An :class:`SLQResult` with one probe.

    Raises:
        ValueError: If ``eigenvalues`` is empty, not one-dimensional, or not finite.

    Example:
        >>> r = from_eigenvalues(np.array([1.0, 2.0, 3.0]))
        >>> est, err = trace_of(lambda x: x**2, r)
        >>> round(est, 12), err
        (4.666666666667, 0.0)
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues must be finite")
    d = lam.size
    return SLQResult(
        nodes=lam[None, :].copy(),
        weights=np.full((1, d), 1.0 / d),
        dim=d,
        num_matvecs=0,
        breakdowns=[None],
    )


def trace_of(f: Callable[[np.ndarray], np.ndarray], result: SLQResult) -> tuple[float, float]:
    """Estimate ``tr f(H)/D`` by the direct quadrature ``Σ_j τ_j f(θ_j)`` averaged over probes.

    Args:
        f: A vectorised function of the eigenvalue (numpy array in, array of the same shape out).
        result: Quadrature rules from :func:`slq` or :func:`from_eigenvalues`.

    Returns:
        ``(estimate, stderr)``: the mean over probes of each probe's quadrature, and the standard
        error of that mean (sample standard deviation over probes divided by ``sqrt(num_probes)``;
        0 for a single probe, in particular for :func:`from_eigenvalues`).

    Raises:
        ValueError: If ``f`` does not return finite values of the nodes' shape.

    Example:
        >>> r = SLQResult(nodes=[[0.0, 2.0], [1.0, 3.0]], weights=[[0.5, 0.5], [0.5, 0.5]], dim=2)
        >>> trace_of(lambda x: x, r)
        (1.5, 0.5)
    """
    values = np.asarray(f(result.nodes), dtype=np.float64)
    if values.shape != result.nodes.shape:
        raise ValueError(
            f"f must be vectorised: f(nodes) has shape {values.shape}, expected "
            f"{result.nodes.shape}"
        )
    # zero-weight nodes (padding after a breakdown) do not contribute even if f is inf there
    contrib = np.where(result.weights > 0, result.weights * values, 0.0)
    if not np.all(np.isfinite(contrib)):
        raise ValueError("f returned non-finite values at the quadrature nodes")
    per_probe = contrib.sum(axis=1)
    p = per_probe.size
    est = float(per_probe.mean())
    err = float(per_probe.std(ddof=1) / np.sqrt(p)) if p > 1 else 0.0
    return est, err
