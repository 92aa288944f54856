r"""The pruning limit: minimum density, the threshold fixed point, bounds and sharpness forms.

Notation (the book's notation page): $D$ prunable weights $w^*$, Hessian $H$ with eigenvalues
$\lambda_i$, allowed loss increase $\epsilon$, **sparsity** $s$ = fraction removed, **density**
$\rho = 1 - s$ = fraction kept, and $R(s)$ the norm of the ``num_removed(s, D)`` smallest-magnitude
weights (the projection distance $\lVert w^* - w^k \rVert_2$).

The model of the sublevel set gives the removable fraction at projection distance $R$

$$
s(R) = \frac{1}{D}\sum_{i=1}^{D} \frac{2\epsilon}{2\epsilon + \lvert\lambda_i\rvert R^2},
\qquad \rho(R) = 1 - s(R),
$$

and the predicted limit is the fixed point $s^* = s(R(s^*))$. Because $s(R)$ is non-increasing
in $R$ and $R(s)$ non-decreasing in $s$, the condition $s(R(s)) \ge s$ holds exactly on an
interval $[0, s^*)$ or $[0, s^*]$: the threshold is unique and bisection finds it (the function
$g(s) = s(R(s)) - s$ is strictly decreasing, with downward jumps where $R$ jumps, so the threshold
is defined as $\sup\{s : g(s) \ge 0\}$).

Two variants of the curve are implemented and named for what they are:

* ``variant="paper"``: the formula above (the paper's predictor, as its code computes it);
* ``variant="free"``: the large-$D$ limit of the exact least loss increase when $H$ is
  rotation-invariant and the kept weights are re-fitted (free compression of $H^{-1}$): $R^2$ is
  replaced by $R^2 (1 - s)/s$,
  $s_{\rm free}(R, s) = \frac{1}{D}\sum_i \frac{2\epsilon s}{2\epsilon s + \lvert\lambda_i\rvert R^2(1-s)}$.
  It is not the paper's formula; chapter ``ch-pruning-limit`` derives it and checks both against
  exact Schur-complement truths.

Spectra are either exact eigenvalues (a 1-D array) or a :class:`pnlib.spectrum.SLQResult`; every
spectral sum is the direct quadrature :func:`pnlib.spectrum.trace_of` (never a smoothed density).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pnlib import geometry
from pnlib.magnitude import check_sparsity, num_removed, removed_sq_norms
from pnlib.spectrum import SLQResult, from_eigenvalues, trace_of

__all__ = [
    "NEGATIVE",
    "VARIANTS",
    "PruningLimit",
    "RemovedNorm",
    "ScaledPrediction",
    "akf_slack",
    "check_eps",
    "density_trace_bounds",
    "flat_density",
    "flat_predicted_sparsity",
    "limit_interval",
    "max_sparsity",
    "min_density",
    "predicted_sparsity",
    "removed_norm",
    "scaled_prediction",
    "spectral_summary",
    "threshold_fixed_point",
    "trace_threshold_bracket",
]

NEGATIVE = ("abs", "clip")
VARIANTS = ("paper", "free")


# ---------------------------------------------------------------------------- validation


def check_eps(eps: float) -> float:
    """The one check of an allowed loss increase: a finite number > 0.

    Python and numpy numbers and one-element tensors are accepted; booleans, strings and
    anything else are not.

    Args:
        eps: The value.

    Returns:
        It, as a float.

    Raises:
        ValueError: Otherwise.

    Example:
        >>> check_eps(np.float32(0.5))
        0.5
    """
    try:
        value = float(eps.item() if hasattr(eps, "item") and getattr(eps, "size", 1) == 1 else eps)
    except (TypeError, ValueError, RuntimeError):
        value = float("nan")
    if isinstance(eps, bool) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"eps (allowed loss increase) must be a finite number > 0, got {eps!r}")
    return value


_check_eps = check_eps


def _check_negative(negative: str) -> str:
    if negative not in NEGATIVE:
        raise ValueError(f"negative must be one of {NEGATIVE}, got {negative!r}")
    return negative


def _check_zero_mass(zero_mass: float) -> float:
    value = float(zero_mass)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"zero_mass must be in [0, 1], got {zero_mass}")
    return value


def _as_spectrum(spectrum: np.ndarray | SLQResult) -> SLQResult:
    if isinstance(spectrum, SLQResult):
        if spectrum.nodes.size == 0 or spectrum.dim < 1:
            raise ValueError("the spectrum is empty")
        return spectrum
    eigs = np.asarray(spectrum, dtype=np.float64).reshape(-1)
    if eigs.size == 0:
        raise ValueError("the spectrum is empty: give eigenvalues or an SLQResult")
    return from_eigenvalues(eigs)


def _curvature(nodes: np.ndarray, negative: str) -> np.ndarray:
    return np.abs(nodes) if negative == "abs" else np.maximum(nodes, 0.0)


def _radius_array(radius: float | np.ndarray) -> np.ndarray:
    r = np.asarray(radius, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"radius (projection distance R) must be finite and >= 0, got {radius}")
    return r


# ---------------------------------------------------------------------------- the curve s(R)


def _removable(
    spec: SLQResult, radius: float, eps: float, negative: str, zero_mass: float, ratio: float = 1.0
) -> tuple[float, float]:
    # z + (1 - z) * mean 2 eps / (2 eps + |lam| R^2 ratio), and its standard error
    r2 = radius * radius * ratio

    def f(lam: np.ndarray) -> np.ndarray:
        return 2 * eps / (2 * eps + _curvature(lam, negative) * r2)

    est, err = trace_of(f, spec)
    return zero_mass + (1 - zero_mass) * est, (1 - zero_mass) * err


def max_sparsity(
    spectrum: np.ndarray | SLQResult,
    radius: float | np.ndarray,
    eps: float,
    *,
    negative: str = "abs",
    zero_mass: float = 0.0,
) -> float | np.ndarray:
    r"""The removable fraction $s(R) = 1 - \rho(R)$ at projection distance $R$.

    $s(R) = z + (1 - z)\,\frac{1}{D}\sum_i \frac{2\epsilon}{2\epsilon + \lvert\lambda_i\rvert R^2}$, with
    $z$ the zero-curvature mass that the paper's code adds for numerically zero Hessian rows
    (0 by default), and $\lvert\lambda_i\rvert$ replaced by $\max(\lambda_i, 0)$ for
    ``negative="clip"``.

    Args:
        spectrum: Exact eigenvalues (1-D array) or an :class:`~pnlib.spectrum.SLQResult`.
        radius: $R \ge 0$, a scalar or an array.
        eps: Allowed loss increase $\epsilon > 0$.
        negative: ``"abs"`` (the paper's code: $\lvert\lambda\rvert$) or ``"clip"`` (negative curvature
            counted as flat).
        zero_mass: Extra spectral mass $z$ at $\lambda = 0$.

    Returns:
        $s(R)$, a float for a scalar radius, else an array of the radius' shape.

    Raises:
        ValueError: As :func:`min_density`.

    Example:
        >>> max_sparsity(np.ones(4), 1.0, 0.5)  # 2 eps / (2 eps + R^2) = 1/2
        0.5
    """
    return _curve(spectrum, radius, eps, negative, zero_mass, sparsity=True)


def min_density(
    spectrum: np.ndarray | SLQResult,
    radius: float | np.ndarray,
    eps: float,
    *,
    negative: str = "abs",
    zero_mass: float = 0.0,
) -> float | np.ndarray:
    r"""The minimum density $\rho(R) = 1 - s(R)$ at projection distance $R$.

    $\rho(R) = \frac{1}{D}\sum_i \frac{\lvert\lambda_i\rvert R^2}{\lvert\lambda_i\rvert R^2 + 2\epsilon}$:
    the fraction of weights that must be kept when the removed weights have norm $R$, computed
    by direct quadrature on exact eigenvalues or on an SLQ result.

    Args:
        spectrum: Exact eigenvalues (1-D array) or an :class:`~pnlib.spectrum.SLQResult`.
        radius: $R \ge 0$, a scalar or an array.
        eps: Allowed loss increase $\epsilon > 0$.
        negative: ``"abs"`` or ``"clip"``, see :func:`max_sparsity`.
        zero_mass: Extra spectral mass at $\lambda = 0$, see :func:`max_sparsity`.

    Returns:
        $\rho(R) = 1 - s(R)$, a float for a scalar radius, else an array.

    Raises:
        ValueError: If ``eps <= 0``, a radius is negative, the spectrum is empty, ``negative`` is
            unknown or ``zero_mass`` is outside [0, 1].

    Example:
        >>> min_density(np.zeros(5), 3.0, 0.1)  # a flat loss: everything can go
        0.0
    """
    return _curve(spectrum, radius, eps, negative, zero_mass, sparsity=False)


def _curve(spectrum, radius, eps, negative, zero_mass, *, sparsity):
    eps = _check_eps(eps)
    _check_negative(negative)
    z = _check_zero_mass(zero_mass)
    r = _radius_array(radius)
    spec = _as_spectrum(spectrum)
    values = np.array([_removable(spec, float(x), eps, negative, z)[0] for x in r.reshape(-1)])
    values = values if sparsity else 1.0 - values
    values = np.clip(values, 0.0, 1.0)
    return float(values[0]) if r.ndim == 0 else values.reshape(r.shape)


# ---------------------------------------------------------------------------- R(s)


class RemovedNorm:
    r"""$R(s)$ for one weight vector: the norm of the ``num_removed(s, D)`` smallest magnitudes.

    One stable sort serves every query (ties by position, as :func:`pnlib.magnitude.magnitude_order`),
    so the count matches the pruning sweep exactly.

    Args:
        weights: The trained weights $w^*$ (any shape; numpy array or torch tensor).

    Raises:
        ValueError: If ``weights`` is empty or not finite.
    """

    def __init__(self, weights) -> None:
        w = _flat_weights(weights)
        self.dim = int(w.size)
        self._cumsum = removed_sq_norms(w)

    def __call__(self, sparsity: float) -> float:
        """$R(s)$.

        Args:
            sparsity: Fraction removed, in [0, 1].

        Returns:
            The norm of the removed weights.
        """
        return float(np.sqrt(self._cumsum[num_removed(sparsity, self.dim)]))

    def curve(self, sparsities: np.ndarray) -> np.ndarray:
        """$R(s)$ along a grid.

        Args:
            sparsities: Fractions removed.

        Returns:
            The removed norms.
        """
        return np.array([self(float(s)) for s in np.asarray(sparsities).reshape(-1)])


def _flat_weights(weights) -> np.ndarray:
    if hasattr(weights, "detach"):
        weights = weights.detach().cpu().double().numpy()
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size == 0:
        raise ValueError("weights are empty")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    return w


def removed_norm(weights, sparsity: float) -> float:
    r"""$R(s) = \lVert w^* - w^k \rVert_2$: the norm of the ``num_removed(s, D)`` smallest weights.

    Args:
        weights: The trained weights (numpy array or torch tensor, any shape).
        sparsity: Fraction removed $s \in [0, 1]$; the count is
            :func:`pnlib.magnitude.num_removed` (round half up), as in the pruning sweep.

    Returns:
        The norm of the removed weights.

    Raises:
        ValueError: If ``sparsity`` is outside [0, 1] or ``weights`` is empty.

    Example:
        >>> removed_norm(np.array([3.0, -4.0, 0.5, 12.0]), 0.5)  # removes 0.5 and 3
        3.0413812651491097
    """
    check_sparsity(sparsity)
    return RemovedNorm(weights)(sparsity)


# ---------------------------------------------------------------------------- fixed point


def threshold_fixed_point(condition: Callable[[float], bool], tol: float = 1e-10) -> float:
    r"""$\sup\{s \in [0, 1] : \text{condition}(s)\}$ for a condition true on an initial interval.

    Bisection keeping ``condition(lo)`` true and ``condition(hi)`` false. If the condition fails
    at 0 the answer is 0; if it holds at 1 the answer is 1.

    Args:
        condition: Monotone predicate (true, then false, as $s$ grows).
        tol: Width of the final bracket.

    Returns:
        The threshold, to within ``tol``.

    Example:
        >>> round(threshold_fixed_point(lambda s: s <= 0.3), 8)
        0.3
    """
    if not condition(0.0):
        return 0.0
    if condition(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if condition(mid):
            lo = mid
        else:
            hi = mid
    return lo


def akf_slack(dim: int, eta: float) -> float:
    r"""$a_{\eta} \sqrt{D} / D$ with $a_{\eta} = \sqrt{8 \log(4/\eta)}$: the kinematic formula's slack.

    Args:
        dim: Dimension $D$.
        eta: Failure probability $\eta \in (0, 1)$.

    Returns:
        The slack as a fraction of $D$.

    Raises:
        ValueError: If ``eta`` is not in (0, 1) or ``dim < 1``.
    """
    if not (0.0 < eta < 1.0):
        raise ValueError(f"eta must be in (0, 1), got {eta}")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    return geometry.kinematic_slack(dim, eta) / dim


@dataclass(frozen=True)
class PruningLimit:
    r"""A predicted pruning limit, in **sparsity** (fraction removed).

    Attributes:
        estimate: The fixed point $s^* = \sup\{s : s(R(s)) \ge s\}$ of the chosen variant.
        lower: Below it pruning succeeds with probability $\ge 1 - \eta$ under the model
            (random orientation, endpoint-projection ellipsoid); NaN for ``variant="free"``.
        upper: Above it pruning fails with probability $\ge 1 - \eta$ under the model; NaN for
            ``variant="free"``.
        gap: $\Delta$ = ``upper - lower`` (NaN for ``variant="free"``).
        radius: $R(s^*)$, the projection distance at the estimate.
        eps: The allowed loss increase.
        dim: $D$.
        variant: ``"paper"`` or ``"free"``.
        negative: ``"abs"`` or ``"clip"``.
        zero_mass: Zero-curvature mass $z$ added to the spectrum.
        eta: Failure probability of the bounds.
        stderr: Standard error of $s(R)$ at $R(s^*)$ over the SLQ probes (0 for exact
            eigenvalues). It measures the probe noise only, never the quadrature bias of a
            Lanczos rule, which can be far larger where $2\epsilon/R^2$ falls inside an
            unresolved cluster of eigenvalues; ``interval_lower`` and ``interval_upper`` cover
            both.
        interval_lower: Lower end of an interval that contains the fixed point for every
            spectrum consistent with what the Lanczos runs saw, widened for probe noise
            (:func:`limit_interval`); NaN unless asked for, the estimate for exact eigenvalues.
        interval_upper: Its upper end.
    """

    estimate: float
    lower: float
    upper: float
    gap: float
    radius: float
    eps: float
    dim: int
    variant: str
    negative: str
    zero_mass: float
    eta: float
    stderr: float
    interval_lower: float = float("nan")
    interval_upper: float = float("nan")

    @property
    def density(self) -> float:
        """Kept fraction at the estimate, ``1 - estimate``."""
        return 1.0 - self.estimate


def predicted_sparsity(
    weights,
    spectrum: np.ndarray | SLQResult,
    eps: float,
    *,
    negative: str = "abs",
    zero_mass: float = 0.0,
    variant: str = "paper",
    eta: float = 0.01,
    tol: float = 1e-10,
    interval: bool = False,
    num_se: float = 3.0,
) -> PruningLimit:
    r"""The predicted pruning limit $s^* = s(R(s^*))$, with lower and upper bounds and their gap.

    $R(s)$ is the exact removed norm (:class:`RemovedNorm`), not a lookup at rounded $R$.
    The bounds shift the curve by the slack of the approximate kinematic formula and of the
    width-to-statistical-dimension relations (chapter ``ch-pruning-limit``):
    $s_{\rm up}(R) = s(R) + (a_{\eta}\sqrt{D} + 1)/D$ and
    $s_{\rm low}(R) = s(R) - (a_{\eta}\sqrt{D} + b_{\max}^2(R))/D$ with
    $b_{\max}^2(R) = \max_i 2\epsilon/(2\epsilon + \lvert\lambda_i\rvertR^2)$; their fixed points bracket
    the estimate (``lower <= estimate <= upper``).

    Args:
        weights: The trained prunable weights $w^*$ (numpy array or tensor), $D$ entries.
        spectrum: Eigenvalues of the Hessian over the same $D$ weights, or an SLQ result with
            ``dim == D``.
        eps: Allowed loss increase $\epsilon > 0$.
        negative: ``"abs"`` or ``"clip"``.
        zero_mass: Zero-curvature mass $z$.
        variant: ``"paper"`` (the paper's curve) or ``"free"`` (the rotation-invariant,
            re-fitted large-$D$ limit, $R^2 \to R^2 (1-s)/s$).
        eta: Failure probability of the bounds, in (0, 1) (our choice of default).
        tol: Bisection tolerance on $s$.
        interval: Also compute the interval of :func:`limit_interval` (SLQ spectra: a few
            seconds of quadrature bounds; exact eigenvalues: the estimate itself).
        num_se: Probe-noise widening of that interval, in standard errors.

    Returns:
        A :class:`PruningLimit`.

    Raises:
        ValueError: On ``eps <= 0``, an empty spectrum, a dimension mismatch, an unknown
            ``negative`` or ``variant``, ``zero_mass`` outside [0, 1] or ``eta`` outside (0, 1).

    Example:
        >>> w = np.linspace(-1, 1, 101)
        >>> lim = predicted_sparsity(w, np.ones(101), eps=0.5)
        >>> lim.lower <= lim.estimate <= lim.upper
        True
    """
    eps = _check_eps(eps)
    _check_negative(negative)
    z = _check_zero_mass(zero_mass)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    spec = _as_spectrum(spectrum)
    rn = RemovedNorm(weights)
    if rn.dim != spec.dim:
        raise ValueError(
            f"weights have {rn.dim} entries but the spectrum has dimension {spec.dim}: the "
            "Hessian must be over the same prunable weights"
        )
    slack = akf_slack(spec.dim, eta)

    def curve(s: float) -> float:
        if variant == "paper":
            return _removable(spec, rn(s), eps, negative, z)[0]
        if s <= 0.0:
            return 1.0
        if s >= 1.0:  # no support left: increase (1/2) R^2 mean(lambda), the limit of the form
            mean = (1 - z) * trace_of(lambda lam: _curvature(lam, negative), spec)[0]
            return 1.0 if 0.5 * rn(1.0) ** 2 * mean <= eps else 0.0
        return _removable(spec, rn(s), eps, negative, z, ratio=(1.0 - s) / s)[0]

    def b2max(s: float) -> float:
        if z > 0:
            return 1.0
        lam = _curvature(spec.nodes[spec.weights > 0], negative)
        return float(2 * eps / (2 * eps + lam.min() * rn(s) ** 2))

    estimate = threshold_fixed_point(lambda s: curve(s) >= s, tol)
    if variant == "paper":
        upper = threshold_fixed_point(lambda s: curve(s) + slack + 1.0 / spec.dim >= s, tol)
        lower = threshold_fixed_point(lambda s: curve(s) - slack - b2max(s) / spec.dim >= s, tol)
        gap = upper - lower
    else:
        lower = upper = gap = float("nan")
    radius = rn(estimate)
    ratio = 1.0 if variant == "paper" or estimate <= 0 else (1 - estimate) / estimate
    stderr = _removable(spec, radius, eps, negative, z, ratio=ratio)[1]
    lo_hi = (float("nan"), float("nan"))
    if interval:
        lo_hi = limit_interval(
            weights, spec, eps, negative=negative, zero_mass=z, variant=variant, num_se=num_se
        )
    return PruningLimit(
        estimate=estimate,
        lower=lower,
        upper=upper,
        gap=gap,
        radius=radius,
        eps=eps,
        dim=spec.dim,
        variant=variant,
        negative=negative,
        zero_mass=z,
        eta=eta,
        stderr=stderr,
        interval_lower=lo_hi[0],
        interval_upper=lo_hi[1],
    )


def limit_interval(
    weights,
    spectrum: np.ndarray | SLQResult,
    eps: float,
    *,
    negative: str = "abs",
    zero_mass: float = 0.0,
    variant: str = "paper",
    num_se: float = 3.0,
    points: int = 65,
) -> tuple[float, float]:
    r"""An interval on the fixed point $s^*$ that covers the quadrature bias of SLQ.

    :func:`pnlib.spectrum.trace_interval` bounds the curve, $s_-(R) \le s(R) \le s_+(R)$, for
    every spectrum with the moments the Lanczos runs saw (widened by ``num_se`` probe standard
    errors). Since $g(s) = s(R(s)) - s$ is strictly decreasing, any $s$ with $s_-(R(s)) \ge s$
    lies below $s^*$, and any $s$ with $s_+(R(s)) < s$ lies above it. The best such points on a
    grid of ``points`` sparsities, then on a finer grid within one step of each, give
    $[s_{\rm lo}, s_{\rm hi}] \ni s^*$ to a resolution of ``1 / (points - 1)**2``.

    Args:
        weights: The prunable weights $w^*$.
        spectrum: Exact eigenvalues or an SLQ result that kept its tridiagonals.
        eps: Allowed loss increase $\epsilon > 0$.
        negative: ``"abs"`` or ``"clip"``.
        zero_mass: Zero-curvature mass $z$.
        variant: ``"paper"`` or ``"free"``.
        num_se: Probe-noise widening, in standard errors.
        points: Sparsities per grid (at least 3).

    Returns:
        ``(s_lo, s_hi)``; for exact eigenvalues both equal the estimate.

    Raises:
        ValueError: As :func:`predicted_sparsity`, or for an SLQ result without tridiagonals.

    Example:
        >>> from pnlib.spectrum import slq
        >>> lam = np.concatenate([np.full(150, 1e-4), np.linspace(0.5, 2.0, 50)])
        >>> w = np.linspace(0.01, 1.0, 200)
        >>> lo, hi = limit_interval(w, slq(np.diag(lam), 200, 12, num_probes=4), 1e-3)
        >>> bool(lo <= predicted_sparsity(w, lam, 1e-3).estimate <= hi)
        True
    """
    from pnlib.spectrum import trace_intervals

    eps = _check_eps(eps)
    if points < 3:
        raise ValueError(f"points must be >= 3, got {points}")
    _check_negative(negative)
    z = _check_zero_mass(zero_mass)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    spec = _as_spectrum(spectrum)
    if spec.alpha is None:
        est = predicted_sparsity(
            weights, spec, eps, negative=negative, zero_mass=z, variant=variant
        ).estimate
        return est, est
    rn = RemovedNorm(weights)

    def bands(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the band on the curve at many sparsities, from one shared set of Radau rules
        def f_at(s: float) -> Callable[[np.ndarray], np.ndarray]:
            ratio = 1.0 if variant == "paper" or not 0 < s < 1 else (1.0 - s) / s
            r2 = rn(s) ** 2 * ratio
            return lambda lam: 2 * eps / (2 * eps + _curvature(lam, negative) * r2)

        lo, hi = trace_intervals([f_at(float(s)) for s in points], spec, num_se=num_se)
        return z + (1 - z) * np.asarray(lo), z + (1 - z) * np.asarray(hi)

    # any s with s_-(R(s)) >= s is at most s*, any s with s_+(R(s)) < s is above it: take the
    # best of each on a coarse grid, then on a fine grid within one coarse step
    coarse = np.linspace(0.0, 1.0, points)
    lo, hi = bands(coarse)
    s_lo = float(coarse[lo >= coarse].max()) if np.any(lo >= coarse) else 0.0
    s_hi = float(coarse[hi < coarse].min()) if np.any(hi < coarse) else 1.0
    step = 1.0 / (points - 1)
    fine = np.linspace(s_lo, min(1.0, s_lo + step), points)
    lo, _ = bands(fine)
    s_lo = float(fine[lo >= fine].max()) if np.any(lo >= fine) else s_lo
    fine = np.linspace(max(0.0, s_hi - step), s_hi, points)
    _, hi = bands(fine)
    s_hi = float(fine[hi < fine].min()) if np.any(hi < fine) else s_hi
    return s_lo, s_hi


# ---------------------------------------------------------------------------- sharpness forms


def spectral_summary(spectrum: np.ndarray | SLQResult, *, negative: str = "abs") -> dict:
    r"""Trace, largest curvature and negative mass of a spectrum, as the sharpness forms use them.

    For an SLQ result the trace is $D$ times the quadrature mean and the largest curvature is
    the largest $|$Ritz value$|$, which is never above the true one (Ritz values lie inside the
    spectrum) and converges to it first.

    Args:
        spectrum: Exact eigenvalues or an SLQ result.
        negative: ``"abs"`` ($\operatorname{tr}\lvert H\rvert$, $\max\lvert\lambda\rvert$) or ``"clip"``.

    Returns:
        ``{"trace", "lam_max", "negative_mass", "dim"}``; ``negative_mass`` is the fraction of
        spectral mass below 0.

    Raises:
        ValueError: If the spectrum is empty or ``negative`` unknown.
    """
    _check_negative(negative)
    spec = _as_spectrum(spectrum)
    mean, _ = trace_of(lambda lam: _curvature(lam, negative), spec)
    neg, _ = trace_of(lambda lam: (lam < 0).astype(float), spec)
    lam_max = float(_curvature(spec.nodes[spec.weights > 0], negative).max())
    return {"trace": mean * spec.dim, "lam_max": lam_max, "negative_mass": neg, "dim": spec.dim}


def density_trace_bounds(
    radius: float, eps: float, trace: float, lam_max: float, dim: int
) -> tuple[float, float]:
    r"""Bounds on $\rho(R)$ from the trace and the largest eigenvalue alone.

    $f_R(\lambda) = \lambda R^2/(\lambda R^2 + 2\epsilon)$ is concave, so Jensen gives
    $\rho \le \frac{R^2 \operatorname{tr} H}{R^2 \operatorname{tr} H + 2D\epsilon}$; and
    $\lambda R^2 + 2\epsilon \le \lambda_{\max} R^2 + 2\epsilon$ gives
    $\rho \ge \frac{R^2 \operatorname{tr} H}{D(\lambda_{\max} R^2 + 2\epsilon)}$.

    Args:
        radius: $R \ge 0$.
        eps: $\epsilon > 0$.
        trace: $\operatorname{tr} H \ge 0$ (of the curvatures used, e.g. $\lvert\lambda\rvert$).
        lam_max: Largest curvature, at least ``trace / dim``.
        dim: $D$.

    Returns:
        ``(lower, upper)`` on the density.

    Raises:
        ValueError: On ``eps <= 0``, a negative radius or trace, or ``dim < 1``.

    Example:
        >>> density_trace_bounds(1.0, 0.5, trace=4.0, lam_max=1.0, dim=4)  # all eigenvalues 1
        (0.5, 0.5)
    """
    eps = _check_eps(eps)
    r2 = float(_radius_array(radius)) ** 2
    if trace < 0 or dim < 1 or lam_max < 0:
        raise ValueError(
            f"need trace >= 0, lam_max >= 0 and dim >= 1, got {trace}, {lam_max}, {dim}"
        )
    upper = r2 * trace / (r2 * trace + 2 * dim * eps) if trace > 0 else 0.0
    lower = r2 * trace / (dim * (lam_max * r2 + 2 * eps))
    return lower, upper


def flat_density(radius: float, eps: float, trace: float, dim: int) -> float:
    r"""The flat-regime approximation $\rho \approx R^2 \operatorname{tr}(H) / (2D\epsilon)$.

    Valid when $\lvert\lambda_i\rvert R^2 \ll 2\epsilon$ for all $i$ (first order of $f_R$ at 0); it is
    also an upper bound on the exact $\rho(R)$ since $f_R(\lambda) \le \lambda R^2/(2\epsilon)$.
    Not clipped: a value above 1 says the regime does not apply.

    Args:
        radius: $R \ge 0$.
        eps: $\epsilon > 0$.
        trace: $\operatorname{tr} H$.
        dim: $D$.

    Returns:
        The approximate density.

    Raises:
        ValueError: On ``eps <= 0`` or a negative radius.
    """
    eps = _check_eps(eps)
    r2 = float(_radius_array(radius)) ** 2
    return r2 * trace / (2 * dim * eps)


def trace_threshold_bracket(
    weights, trace: float, lam_max: float, eps: float
) -> tuple[float, float]:
    r"""Bracket of the paper's threshold from $\operatorname{tr} H$ and $\lambda_{\max}$ alone.

    The two density bounds of :func:`density_trace_bounds` are curves in $R$ of the same shape
    as $\rho(R)$, so their fixed points bracket $s^*$: the Jensen bound gives a lower
    threshold, the $\lambda_{\max}$ bound an upper one.

    Args:
        weights: Trained weights ($D$ entries).
        trace: $\operatorname{tr}\lvert H\rvert$ (or of the clipped spectrum).
        lam_max: Largest curvature.
        eps: $\epsilon > 0$.

    Returns:
        ``(low, high)`` in sparsity.

    Raises:
        ValueError: On ``eps <= 0`` or bad trace or ``lam_max``.
    """
    eps = _check_eps(eps)
    rn = RemovedNorm(weights)
    density_trace_bounds(0.0, eps, trace, lam_max, rn.dim)  # validates

    def bounds(s: float) -> tuple[float, float]:
        return density_trace_bounds(rn(s), eps, trace, lam_max, rn.dim)

    low = threshold_fixed_point(lambda s: 1 - bounds(s)[1] >= s)
    high = threshold_fixed_point(lambda s: 1 - bounds(s)[0] >= s)
    return low, high


def flat_predicted_sparsity(weights, trace: float, eps: float) -> float:
    r"""Flat-regime threshold $\sup\{s : 1 - R(s)^2 T/(2D\epsilon) \ge s\}$.

    Here $T = \operatorname{tr} H$. Since the flat density is an upper bound on $\rho(R)$,
    this is a lower bound on the paper's threshold, tight when the removed norm
    at the threshold is small.

    Args:
        weights: Trained weights ($D$ entries).
        trace: $\operatorname{tr}\lvert H\rvert$.
        eps: $\epsilon > 0$.

    Returns:
        The flat-regime threshold in sparsity.

    Raises:
        ValueError: On ``eps <= 0`` or a negative trace.
    """
    eps = _check_eps(eps)
    if trace < 0:
        raise ValueError(f"trace must be >= 0, got {trace}")
    rn = RemovedNorm(weights)
    return threshold_fixed_point(lambda s: 1 - flat_density(rn(s), eps, trace, rn.dim) >= s)


# ---------------------------------------------------------------------------- scaling


@dataclass(frozen=True)
class ScaledPrediction:
    r"""Predictions for weights scaled by ``scale`` under three readings of "scaled".

    Attributes:
        scale: The factor $c$.
        naive: Weights $c w^*$ with the Hessian and $\epsilon$ held fixed.
        reparametrized: The same network in coordinates $v = c w$: $H \to H/c^2$, $\epsilon$
            fixed. The formula is invariant, so this equals the unscaled prediction.
        consistent: The scaled network itself, with the Hessian and $\epsilon$ recomputed there
            (``None`` unless they were given).
    """

    scale: float
    naive: PruningLimit
    reparametrized: PruningLimit
    consistent: PruningLimit | None


def _scale_spectrum(spectrum: np.ndarray | SLQResult, factor: float) -> SLQResult:
    spec = _as_spectrum(spectrum)
    return SLQResult(
        nodes=spec.nodes * factor,
        weights=spec.weights,
        dim=spec.dim,
        num_matvecs=spec.num_matvecs,
        breakdowns=list(spec.breakdowns),
    )


def scaled_prediction(
    weights,
    spectrum: np.ndarray | SLQResult,
    eps: float,
    c: float,
    *,
    scaled_spectrum: np.ndarray | SLQResult | None = None,
    scaled_eps: float | None = None,
    **kw,
) -> ScaledPrediction:
    r"""The predicted limit for weights scaled by $c$, stating what is held fixed.

    * **naive**: $R(s) \to c R(s)$ with $H$ and $\epsilon$ fixed (the magnitude curve redrawn
      for scaled weights against an unchanged theory curve);
    * **reparametrized**: the same function in scaled coordinates, $w \to c w$, $H \to H/c^2$,
      $\epsilon$ fixed: $\lvert\lambda\rvert R^2$ is unchanged, so is the prediction;
    * **consistent**: the network whose weights really are $c w^*$. For a bias-free ReLU
      network of depth $L$ the output is multiplied by $c^L$ (with biases, scale those of layer
      $l$ by $c^l$ to keep this), so the loss, its Hessian and $\epsilon$ all change; they must be
      recomputed at the scaled network and passed as ``scaled_spectrum`` and ``scaled_eps``.
      The magnitude order (hence the support at each $s$) is unchanged by a global scale.

    Args:
        weights: The unscaled weights $w^*$.
        spectrum: Hessian spectrum at $w^*$.
        eps: $\epsilon$ at $w^*$.
        c: Scale factor $c > 0$.
        scaled_spectrum: Hessian spectrum of the scaled network at $c\,w^*$ (optional).
        scaled_eps: $\epsilon$ of the scaled network (default ``eps``).
        **kw: Passed to :func:`predicted_sparsity`.

    Returns:
        A :class:`ScaledPrediction`.

    Raises:
        ValueError: If ``c <= 0`` (and as :func:`predicted_sparsity`).
    """
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"the scale c must be a finite number > 0, got {c}")
    w = _flat_weights(weights) * c
    naive = predicted_sparsity(w, spectrum, eps, **kw)
    rep = predicted_sparsity(w, _scale_spectrum(spectrum, 1.0 / c**2), eps, **kw)
    consistent = None
    if scaled_spectrum is not None:
        consistent = predicted_sparsity(
            w, scaled_spectrum, eps if scaled_eps is None else scaled_eps, **kw
        )
    return ScaledPrediction(scale=float(c), naive=naive, reparametrized=rep, consistent=consistent)
