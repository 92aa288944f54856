r"""Convex cones, projections, statistical dimension, Gaussian width and the kinematic formula.

Everything the pruning bound of the book uses from conic geometry, following
Amelunxen, Lotz, McCoy and Tropp (2014), "Living on the edge" (ALMT below).

Notation: $D$ is the ambient dimension, $g \sim \mathcal N(0, I_D)$, $\Pi_C$ the Euclidean
projection onto a closed convex cone $C$, and $C^\circ = \{y : \langle y, x\rangle \le 0\
\forall x \in C\}$ its polar. The **statistical dimension** is

$$\delta(C) = \mathbb E \lVert \Pi_C(g) \rVert^2 = \mathbb E\, \mathrm{dist}^2(g, C^\circ),$$

and the **Gaussian width** of a set $T$ is $w(T) = \mathbb E \sup_{x \in T} \langle g, x\rangle$.
For a cone we use $w(C) = w(C \cap B^D) = \mathbb E\lVert\Pi_C(g)\rVert$, so that
$w(C)^2 \le \delta(C) \le w(C)^2 + 1$ (Jensen, and the Gaussian Poincare inequality for the
1-Lipschitz map $g \mapsto \lVert \Pi_C(g)\rVert$).

Conventions of this module:

- A batch of points is a float array of shape ``(n, dim)``; every projection is vectorised over
  the batch (a single point of shape ``(dim,)`` is accepted too and keeps its shape).
- A projection is any callable ``project(points) -> points`` of that shape; Monte Carlo
  estimators take one and return ``(estimate, standard_error)``.
- Randomness arrives through an explicit ``numpy.random.Generator``.
- The **pruning cone** is ``cone(c + E)`` with the axis-aligned ellipsoid
  $E = \{x : \sum_i x_i^2 / r_i^2 \le 1\}$ (semi-axes ``radii`` $r_i$) translated to the centre
  $c$ at distance $R = \lVert c \rVert$ from the origin; $0 \notin c + E$ is required.
  A general orientation $c + QE$ is the same problem after the rotation $Q^\top$.

Example:
    >>> import numpy as np
    >>> est, se = statistical_dimension_mc(
    ...     project_orthant, 10, num_samples=4000, generator=np.random.default_rng(0))
    >>> bool(abs(est - statistical_dimension_orthant(10)) < 5 * se)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

Projection = Callable[[np.ndarray], np.ndarray]

__all__ = [
    "PhaseTransition",
    "basis_pursuit",
    "crossing_point",
    "ellipsoid_distance_from_origin",
    "gaussian_width_ellipsoid",
    "gaussian_width_ellipsoid_bounds",
    "gaussian_width_mc",
    "gaussian_width_unit_ball",
    "kinematic_a_eta",
    "kinematic_slack",
    "l1_phase_function",
    "moreau_decomposition",
    "phase_transition",
    "polar_projection",
    "project_ball_cone",
    "project_circular_cone",
    "project_ellipsoid_cone",
    "project_l1_descent_cone",
    "project_orthant",
    "project_psd_cone",
    "project_subspace",
    "pruning_cone_statistical_dimension_approx",
    "random_subspace_bases",
    "smat",
    "statistical_dimension_circular_cone",
    "statistical_dimension_from_transition",
    "statistical_dimension_l1_descent_cone",
    "statistical_dimension_mc",
    "statistical_dimension_orthant",
    "statistical_dimension_psd_cone",
    "statistical_dimension_subspace",
    "subspace_meets_circular_cone",
    "subspace_meets_ellipsoid",
    "subspace_meets_orthant",
    "svec",
    "wendel_probability",
]


# --------------------------------------------------------------------------------------------
# validation helpers


def _check_dim(dim: object, name: str = "dim", minimum: int = 1) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {dim!r}")
    return int(dim)


def _as_batch(points: np.ndarray, dim: int | None = None) -> tuple[np.ndarray, bool]:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"points must have shape (n, dim) or (dim,), got shape {x.shape}")
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"points must have {dim} columns, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("points must be finite")
    return x, single


def _restore(y: np.ndarray, single: bool) -> np.ndarray:
    return y[0] if single else y


def _check_generator(generator: object) -> np.random.Generator:
    if not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"generator must be a numpy.random.Generator, got {type(generator).__name__}"
        )
    return generator


# --------------------------------------------------------------------------------------------
# closed forms


def statistical_dimension_orthant(dim: int) -> float:
    r"""Statistical dimension of the nonnegative orthant $\mathbb R^D_+$: $D/2$ (it is self-dual).

    Args:
        dim: Ambient dimension $D \ge 1$.

    Returns:
        ``dim / 2``.

    Raises:
        ValueError: If ``dim`` is not a positive integer.
    """
    return _check_dim(dim) / 2.0


def statistical_dimension_subspace(dim: int, k: int) -> float:
    r"""Statistical dimension of a $k$-dimensional subspace of $\mathbb R^D$: $k$.

    Args:
        dim: Ambient dimension $D \ge 1$.
        k: Dimension of the subspace, $0 \le k \le D$.

    Returns:
        ``float(k)``.

    Raises:
        ValueError: If ``k`` is outside ``[0, dim]``.
    """
    dim = _check_dim(dim)
    k = _check_dim(k, "k", minimum=0)
    if k > dim:
        raise ValueError(f"k must satisfy 0 <= k <= dim = {dim}, got {k}")
    return float(k)


def statistical_dimension_psd_cone(n: int) -> float:
    r"""Statistical dimension of the cone of $n \times n$ PSD matrices: $n(n+1)/4$.

    The ambient space is the symmetric matrices with the Frobenius inner product, of dimension
    $n(n+1)/2$; the PSD cone is self-dual, so it has half of it (ALMT Sec. 4).

    Args:
        n: Matrix size $n \ge 1$.

    Returns:
        ``n * (n + 1) / 4``.

    Raises:
        ValueError: If ``n`` is not a positive integer.
    """
    n = _check_dim(n, "n")
    return n * (n + 1) / 4.0


def _check_angle(angle: float) -> float:
    angle = float(angle)
    if not 0.0 <= angle <= math.pi / 2:
        raise ValueError(f"angle must lie in [0, pi/2] (a convex circular cone), got {angle}")
    return angle


def statistical_dimension_circular_cone(dim: int, angle: float) -> float:
    r"""Exact statistical dimension of the circular cone $\{x : x_1 \ge \lVert x\rVert\cos\alpha\}$.

    The angle $\theta$ between $g$ and the axis has density $\propto \sin^{D-2}\theta$ on
    $[0, \pi]$ and is independent of $\lVert g \rVert^2$ (mean $D$). The projection keeps the
    fraction $F(\theta) = 1$ of $\lVert g\rVert^2$ inside the cone, $\cos^2(\theta - \alpha)$ for
    $\alpha < \theta < \alpha + \pi/2$ and $0$ in the polar, so

    $$\delta = D \int_0^{\alpha + \pi/2} F(\theta) \sin^{D-2}\theta\, d\theta \Big/
    B\big(\tfrac12, \tfrac{D-1}{2}\big),$$

    a one-dimensional integral evaluated by adaptive quadrature in log space (stable for large
    $D$). For large $D$ it approaches $D\sin^2\alpha + \cos 2\alpha$ (ALMT Sec. 3).

    Args:
        dim: Ambient dimension $D \ge 2$.
        angle: Half-aperture $\alpha \in [0, \pi/2]$ in radians.

    Returns:
        $\delta(\mathrm{Circ}_D(\alpha))$.

    Raises:
        ValueError: If ``dim < 2`` or ``angle`` is outside ``[0, pi/2]``.

    Example:
        >>> round(statistical_dimension_circular_cone(10, math.pi / 6), 6)
        2.983547
        >>> round(statistical_dimension_circular_cone(2, math.pi / 4), 12)
        1.0
    """
    dim = _check_dim(dim, minimum=2)
    alpha = _check_angle(angle)
    log_norm = special.betaln(0.5, (dim - 1) / 2)

    def weight(theta: float) -> float:
        s = math.sin(theta)
        if s <= 0.0:
            return 1.0 if dim == 2 else 0.0
        return math.exp((dim - 2) * math.log(s) - log_norm)

    def fraction(theta: float) -> float:
        return 1.0 if theta <= alpha else math.cos(theta - alpha) ** 2

    width = 12.0 / math.sqrt(dim)  # the weight is concentrated within O(1/sqrt(D)) of pi/2
    upper = alpha + math.pi / 2
    cuts = sorted(
        {
            0.0,
            alpha,
            upper,
            *(p for p in (math.pi / 2 - width, math.pi / 2, math.pi / 2 + width) if 0 < p < upper),
        }
    )
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b > a:
            total += integrate.quad(
                lambda t: fraction(t) * weight(t), a, b, epsabs=1e-14, epsrel=1e-12, limit=200
            )[0]
    return dim * total


def _l1_objective(tau: float, rho: float, k: float) -> float:
    q = special.ndtr(-tau)
    phi = math.exp(-0.5 * tau * tau) / math.sqrt(2 * math.pi)
    return float(rho * (1 + tau * tau) + k * (1 - rho) * ((1 + tau * tau) * q - tau * phi))


def l1_phase_function(rho: float, *, nonnegative: bool = False) -> tuple[float, float]:
    r"""The ALMT curve $\psi(\rho)$ for the $\ell_1$ descent cone at a $\rho D$-sparse point.

    $$\psi(\rho) = \inf_{\tau \ge 0}\Big\{\rho(1+\tau^2) +
    k(1-\rho)\big[(1+\tau^2)Q(\tau) - \tau\varphi(\tau)\big]\Big\},$$

    with $Q$ the upper normal tail, $\varphi$ the normal density and $k = 2$ ($k = 1$ for the
    nonnegative variant $\ell_1 + \{x \ge 0\}$). The objective is strictly convex in $\tau$ and
    its minimiser solves $\rho\tau = k(1-\rho)[\varphi(\tau) - \tau Q(\tau)]$, found here by
    Brent's method (ALMT Prop. 4.5 and Sec. 10).

    Args:
        rho: Sparsity fraction $s/D \in (0, 1]$.
        nonnegative: Use the nonnegative-sparse variant ($k = 1$).

    Returns:
        ``(psi, tau_star)``.

    Raises:
        ValueError: If ``rho`` is outside ``(0, 1]``.

    Example:
        >>> round(l1_phase_function(0.1)[0], 6)
        0.328794
    """
    rho = float(rho)
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"rho must lie in (0, 1], got {rho}")
    k = 1.0 if nonnegative else 2.0
    if rho == 1.0:
        return 1.0, 0.0

    def stationarity(tau: float) -> float:
        q = special.ndtr(-tau)
        phi = math.exp(-0.5 * tau * tau) / math.sqrt(2 * math.pi)
        return rho * tau - k * (1 - rho) * (phi - tau * q)

    tau = optimize.brentq(stationarity, 0.0, 40.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return _l1_objective(tau, rho, k), tau


def statistical_dimension_l1_descent_cone(dim: int, nnz: int) -> float:
    r"""The ALMT formula $D\,\psi(s/D)$ for the $\ell_1$ descent cone at an $s$-sparse point.

    This is $\inf_{\tau\ge0}\mathbb E\,\mathrm{dist}^2(g, \tau\,\partial\lVert x\rVert_1)$, an
    *upper bound* on the exact $\delta = \mathbb E\inf_\tau \mathrm{dist}^2(g, \tau\partial
    \lVert x\rVert_1)$ that is tight to $O(\sqrt{D/s})$ (ALMT Thm 4.3 and Prop. 4.5); Monte Carlo
    with :func:`project_l1_descent_cone` sits slightly below it. It depends only on $s$.

    Args:
        dim: Ambient dimension $D \ge 1$.
        nnz: Number of nonzeros $s$, $1 \le s \le D$.

    Returns:
        $D \psi(s/D)$.

    Raises:
        ValueError: If ``nnz`` is outside ``[1, dim]``.

    Example:
        >>> round(statistical_dimension_l1_descent_cone(100, 10), 3)
        32.879
    """
    dim = _check_dim(dim)
    nnz = _check_dim(nnz, "nnz")
    if nnz > dim:
        raise ValueError(f"nnz must satisfy 1 <= nnz <= dim = {dim}, got {nnz}")
    return dim * l1_phase_function(nnz / dim)[0]


def pruning_cone_statistical_dimension_approx(radii: np.ndarray, distance: float) -> float:
    r"""The approximation $\sum_i r_i^2/(R^2 + r_i^2)$ of $\delta(\mathrm{cone}(c + E))$.

    This is the formula the pruning paper uses (after Larsen et al. 2022) for the squared
    Gaussian width of the ellipsoid $c + E$, $E = \{x : \sum_i x_i^2/r_i^2 \le 1\}$, projected
    onto the sphere, when the centre lies at distance $R = \lVert c\rVert$. It ignores the
    direction of $c$ and treats each axis as if it subtended the angle $\arctan(r_i/R)$. For a
    ball of radius $r$ the exact cone is circular with half-angle $\arcsin(r/R)$, so the
    approximation $D r^2/(R^2 + r^2)$ is close to the exact $\approx D r^2/R^2$ only when
    $r \ll R$.

    Args:
        radii: Semi-axes $r_i > 0$, shape ``(dim,)``.
        distance: Distance $R > 0$ of the centre from the origin.

    Returns:
        $\sum_i r_i^2 / (R^2 + r_i^2)$.

    Raises:
        ValueError: If a radius or the distance is not positive and finite.

    Example:
        >>> pruning_cone_statistical_dimension_approx(np.ones(4), 1.0)
        2.0
    """
    r = _check_radii(radii)
    R = float(distance)
    if not (R > 0 and math.isfinite(R)):
        raise ValueError(f"distance must be positive and finite, got {distance}")
    r2 = r * r
    return float(np.sum(r2 / (R * R + r2)))


# --------------------------------------------------------------------------------------------
# Gaussian width


def gaussian_width_unit_ball(dim: int) -> float:
    r"""Gaussian width of the unit ball, $\mathbb E\lVert g\rVert$.

    $w(B^D) = \sqrt2\,\Gamma(\frac{D+1}2)/\Gamma(\frac D2)$, the mean of a chi variable.

    Args:
        dim: Dimension $D \ge 1$.

    Returns:
        The mean of a chi variable with ``dim`` degrees of freedom.

    Raises:
        ValueError: If ``dim`` is not a positive integer.
    """
    dim = _check_dim(dim)
    return math.sqrt(2.0) * math.exp(special.gammaln((dim + 1) / 2) - special.gammaln(dim / 2))


def _check_radii(radii: np.ndarray) -> np.ndarray:
    r = np.asarray(radii, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"radii must be a non-empty 1-D array, got shape {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("radii must be positive and finite")
    return r


def gaussian_width_ellipsoid(radii: np.ndarray) -> float:
    r"""Exact Gaussian width of the ellipsoid $E = \{x : \sum_i x_i^2 / r_i^2 \le 1\}$.

    $w(E) = \mathbb E \sup_{x\in E}\langle g, x\rangle = \mathbb E\sqrt{\sum_i r_i^2 g_i^2}$.
    With $\sqrt q = \frac{1}{2\sqrt\pi}\int_0^\infty (1 - e^{-sq}) s^{-3/2} ds$ and the Laplace
    transform $\mathbb E e^{-s\sum r_i^2 g_i^2} = \prod_i (1 + 2 s r_i^2)^{-1/2}$ this is the
    one-dimensional integral

    $$w(E) = \frac{1}{2\sqrt\pi}\int_0^\infty \Big(1 - \prod_i (1+2sr_i^2)^{-1/2}\Big)
    s^{-3/2}\,ds .$$

    Args:
        radii: Semi-axes $r_i > 0$, shape ``(dim,)``.

    Returns:
        $w(E)$.

    Raises:
        ValueError: If ``radii`` is not a non-empty array of positive numbers.

    Example:
        >>> w = gaussian_width_ellipsoid(np.ones(5))
        >>> bool(abs(w - gaussian_width_unit_ball(5)) < 1e-10)
        True
    """
    r2 = _check_radii(radii) ** 2
    scale = float(r2.max())
    r2 = r2 / scale  # w scales like sqrt(scale)

    def integrand(v: float) -> float:  # s = exp(v), ds = s dv
        s = math.exp(v)
        log_laplace = -0.5 * float(np.sum(np.log1p(2.0 * s * r2)))
        return -math.expm1(log_laplace) * s**-0.5

    value = integrate.quad(
        integrand, -60.0, 60.0, epsabs=0.0, epsrel=1e-12, limit=400, points=[-5.0, 0.0, 5.0]
    )[0]
    return value / (2.0 * math.sqrt(math.pi)) * math.sqrt(scale)


def gaussian_width_ellipsoid_bounds(radii: np.ndarray) -> tuple[float, float]:
    r"""Lower and upper bounds on the Gaussian width of an ellipsoid.

    Upper: $w \le \sqrt{\sum_i r_i^2}$ (Jensen). Lower: the larger of
    $\sqrt{\sum_i r_i^2 - \max_i r_i^2}$ (the variance of the $\max_i r_i$-Lipschitz map
    $g \mapsto \lVert r\circ g\rVert$ is at most $\max_i r_i^2$, Gaussian Poincare) and
    $\sqrt{2/\pi}\sqrt{\sum_i r_i^2}$ (Jensen applied to $\mathbb E|r_i g_i|$).

    Args:
        radii: Semi-axes $r_i > 0$.

    Returns:
        ``(lower, upper)``.

    Raises:
        ValueError: If ``radii`` is not a non-empty array of positive numbers.
    """
    r2 = _check_radii(radii) ** 2
    total = float(r2.sum())
    lower = max(math.sqrt(max(total - float(r2.max()), 0.0)), math.sqrt(2 / math.pi * total))
    return lower, math.sqrt(total)


# --------------------------------------------------------------------------------------------
# projections


def project_orthant(points: np.ndarray) -> np.ndarray:
    r"""Project onto the nonnegative orthant: $\Pi(x) = \max(x, 0)$ entrywise.

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``.

    Returns:
        The projections, same shape.

    Example:
        >>> project_orthant(np.array([[1.0, -2.0]]))
        array([[1., 0.]])
    """
    x, single = _as_batch(points)
    return _restore(np.maximum(x, 0.0), single)


def project_subspace(points: np.ndarray, basis: np.ndarray) -> np.ndarray:
    r"""Project onto the column span of ``basis`` ($D \times k$, orthonormalised here by QR).

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``.
        basis: Shape ``(dim, k)`` with linearly independent columns.

    Returns:
        The projections $U U^\top x$, same shape as ``points``.

    Raises:
        ValueError: If ``basis`` is not a ``(dim, k)`` matrix of full column rank.
    """
    B = np.asarray(basis, dtype=np.float64)
    if B.ndim != 2 or B.shape[1] > B.shape[0]:
        raise ValueError(f"basis must have shape (dim, k) with k <= dim, got {B.shape}")
    x, single = _as_batch(points, B.shape[0])
    if B.shape[1] == 0:
        return _restore(np.zeros_like(x), single)
    U, R = np.linalg.qr(B)
    if np.min(np.abs(np.diag(R))) <= 1e-12 * max(1.0, np.max(np.abs(R))):
        raise ValueError("basis must have linearly independent columns")
    return _restore((x @ U) @ U.T, single)


def project_circular_cone(points: np.ndarray, angle: float) -> np.ndarray:
    r"""Project onto $\mathrm{Circ}_D(\alpha) = \{x : x_1 \ge \lVert x\rVert\cos\alpha\}$.

    Write $x = (t, u)$ with $t = x_1$. Inside the cone ($\lVert u\rVert \le t\tan\alpha$) the
    point is kept; in the polar cone ($t\cos\alpha + \lVert u\rVert\sin\alpha \le 0$) it maps to
    $0$; otherwise it goes to the nearest generator: $(t\cos\alpha + \lVert u\rVert\sin\alpha)
    \,(\cos\alpha, \sin\alpha\, u/\lVert u\rVert)$.

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``, ``dim >= 2``.
        angle: Half-aperture $\alpha \in [0, \pi/2]$.

    Returns:
        The projections, same shape.

    Raises:
        ValueError: If the points have fewer than 2 coordinates or the angle is out of range.
    """
    alpha = _check_angle(angle)
    x, single = _as_batch(points)
    if x.shape[1] < 2:
        raise ValueError("the circular cone needs dim >= 2")
    t = x[:, 0]
    u = x[:, 1:]
    r = np.linalg.norm(u, axis=1)
    ca, sa = math.cos(alpha), math.sin(alpha)
    coef = t * ca + r * sa
    inside = r * ca <= t * sa
    safe_r = np.where(r > 0, r, 1.0)
    y = np.empty_like(x)
    y[:, 0] = coef * ca
    y[:, 1:] = (coef * sa / safe_r)[:, None] * u
    y[coef <= 0] = 0.0
    y[inside] = x[inside]
    return _restore(y, single)


def project_ball_cone(points: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    r"""Project onto $\mathrm{cone}(c + rB^D)$, the cone generated by a ball not containing 0.

    It is the circular cone with axis $c/\lVert c\rVert$ and half-angle $\arcsin(r/\lVert
    c\rVert)$, so :func:`project_circular_cone` applies after a Householder reflection that maps
    the axis to $e_1$.

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``.
        center: Centre $c$, shape ``(dim,)``.
        radius: Radius $0 < r < \lVert c \rVert$.

    Returns:
        The projections, same shape.

    Raises:
        ValueError: If the ball contains the origin or the shapes disagree.
    """
    c = np.asarray(center, dtype=np.float64)
    R = float(np.linalg.norm(c))
    if c.ndim != 1 or not 0 < radius < R:
        raise ValueError(f"need a 1-D center and 0 < radius < |center| = {R}, got {radius}")
    x, single = _as_batch(points, c.size)
    v = c / R
    v[0] -= 1.0  # Householder vector mapping c/R to e_1
    nv = np.linalg.norm(v)

    def reflect(z: np.ndarray) -> np.ndarray:
        if nv < 1e-15:
            return z
        w = v / nv
        return z - 2.0 * np.outer(z @ w, w)

    y = reflect(project_circular_cone(reflect(x), math.asin(radius / R)))
    return _restore(y, single)


def ellipsoid_distance_from_origin(center: np.ndarray, radii: np.ndarray) -> float:
    r"""Distance from the origin to the ellipsoid $c + E$ (positive iff $0 \notin c + E$).

    Args:
        center: Centre $c$, shape ``(dim,)``.
        radii: Semi-axes $r_i > 0$, shape ``(dim,)``.

    Returns:
        $\mathrm{dist}(0, c + E) = \mathrm{dist}(-c, E)$, or ``0.0`` when $0 \in c + E$.

    Raises:
        ValueError: If the shapes disagree or a radius is not positive.
    """
    c, r = _check_ellipsoid(center, radii, require_outside=False)
    p = -c[None, :]
    u = _project_scaled_ellipsoid(p, r, np.ones(1))
    return float(np.linalg.norm(p - u))


def _check_ellipsoid(
    center: np.ndarray, radii: np.ndarray, *, require_outside: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(center, dtype=np.float64)
    r = _check_radii(radii)
    if c.shape != r.shape:
        raise ValueError(f"center and radii must have the same shape, got {c.shape}, {r.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("center must be finite")
    if require_outside and np.sum((c / r) ** 2) <= 1.0:
        raise ValueError("the ellipsoid c + E must not contain the origin (sum c_i^2/r_i^2 > 1)")
    return c, r


def _project_scaled_ellipsoid(p: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Project rows p_j onto t_j E, E = {x: sum x_i^2/r_i^2 <= 1}; vectorised Newton.

    Outside, u_i = p_i r_i^2/(r_i^2 + kappa) with kappa > 0 solving ||u/r|| = t. Newton on
    1/||u/r||(kappa) - 1/t (More-Hebden), started at kappa = 0, increases monotonically to the
    root because that function is concave and increasing.

    Returns:
        The projections, shape of ``p``.
    """
    r2 = r * r
    pr = p / r  # scaled coordinates
    norm0 = np.linalg.norm(pr, axis=1)
    outside = norm0 > t
    u = p.copy()
    if not np.any(outside):
        return u
    P2 = (p[outside] ** 2) * r2  # p_i^2 r_i^2
    tt = t[outside]
    kappa = np.zeros(tt.shape)
    for _ in range(100):
        d = r2 + kappa[:, None]
        s2 = np.sum(P2 / d**2, axis=1)  # ||u/r||^2
        ds2 = -2.0 * np.sum(P2 / d**3, axis=1)
        s = np.sqrt(s2)
        f = 1.0 / s - 1.0 / tt
        df = -0.5 * ds2 / (s2 * s)
        step = -f / df
        kappa = np.maximum(kappa + step, 0.0)
        if np.all(np.abs(step) <= 1e-15 * (kappa + r2.max())):
            break
    u[outside] = p[outside] * (r2 / (r2 + kappa[:, None]))
    return u


def project_ellipsoid_cone(
    points: np.ndarray, center: np.ndarray, radii: np.ndarray, *, tol: float = 1e-14
) -> np.ndarray:
    r"""Project onto the pruning cone $K = \mathrm{cone}(c + E)$, $E = \{x:\sum x_i^2/r_i^2\le1\}$.

    $K = \bigcup_{t\ge0} t(c + E)$ with $0 \notin c + E$. For each point $x$,
    $\varphi(t) = \mathrm{dist}^2(x, t(c+E))$ is convex in $t$ (a partial minimum of a jointly
    convex function over the perspective set), with derivative
    $\varphi'(t) = -2\langle x - y_t, c\rangle - 2t\kappa_t$ by the envelope theorem, where
    $y_t = tc + u_t$ is the nearest point of $t(c+E)$ and $\kappa_t \ge 0$ the multiplier of the
    inner ellipsoid projection (found by a safeguarded Newton iteration). The outer problem is a
    vectorised bisection on the sign of $\varphi'$ over $[0, \lVert x\rVert /
    \mathrm{dist}(0, c+E)]$. Points of the polar cone $K^\circ = \{z : \langle z, c\rangle +
    \lVert r\circ z\rVert \le 0\}$ map to $0$ directly.

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``.
        center: Centre $c$, shape ``(dim,)``, with $\sum_i c_i^2/r_i^2 > 1$.
        radii: Semi-axes $r_i > 0$, shape ``(dim,)``.
        tol: Relative tolerance of the bisection in $t$.

    Returns:
        The projections, same shape.

    Raises:
        ValueError: If ``c + E`` contains the origin or shapes disagree.
    """
    c, r = _check_ellipsoid(center, radii)
    x, single = _as_batch(points, c.size)
    y = np.zeros_like(x)
    in_polar = x @ c + np.linalg.norm(r * x, axis=1) <= 0.0
    idx = np.flatnonzero(~in_polar)
    if idx.size:
        xs = x[idx]
        lo = np.zeros(idx.size)
        hi = np.linalg.norm(xs, axis=1) / ellipsoid_distance_from_origin(c, r) * (1 + 1e-9)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            u = _project_scaled_ellipsoid(xs - mid[:, None] * c, r, mid)
            res = xs - mid[:, None] * c - u
            # phi'(t)/2 = -<res, c> - t kappa, and t kappa = <res, u>/t since ||u/r|| = t
            go_left = -(res @ c) - np.sum(res * u, axis=1) / mid >= 0
            hi = np.where(go_left, mid, hi)
            lo = np.where(go_left, lo, mid)
            if np.all(hi - lo <= tol * np.maximum(hi, 1e-300)):
                break
        t = 0.5 * (lo + hi)
        u = _project_scaled_ellipsoid(xs - t[:, None] * c, r, t)
        y[idx] = t[:, None] * c + u
    return _restore(y, single)


def _l1_polar_tau(g: np.ndarray, support: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Exact minimiser tau* >= 0 of dist^2(g, tau * subdifferential of ||.||_1), per row.

    dist^2(tau) = sum_S (g_i - tau sigma_i)^2 + sum_{S^c} (|g_j| - tau)_+^2 is convex piecewise
    quadratic, with increasing derivative 2 h(tau), h(tau) = s tau - a + sum_j (tau - b_j)_+ ...
    restricted to b_j > tau, where a = sum_S sigma_i g_i and b_1 >= b_2 >= ... are the sorted
    |g_j| off the support. The off-support entries active at the root are those with
    h(b_j) > 0; with k of them, tau* = (a + b_1 + ... + b_k)/(s + k). Counting the signs of h
    at the breakpoints (rather than testing intervals) is robust to rounding at ties.

    Returns:
        tau*, shape ``(n,)``.
    """
    s = support.size
    a = g[:, support] @ signs
    b = -np.sort(-np.delete(np.abs(g), support, axis=1), axis=1)  # descending, (n, D - s)
    csum = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(b, axis=1)], axis=1)
    j = np.arange(1, b.shape[1] + 1)
    h_at_breaks = (s + j - 1) * b - a[:, None] - csum[:, :-1]  # h(b_j), decreasing in j
    k = np.sum(h_at_breaks > 0, axis=1)
    tau = (a + csum[np.arange(g.shape[0]), k]) / (s + k)
    return np.maximum(tau, 0.0)


def project_l1_descent_cone(points: np.ndarray, x0: np.ndarray) -> np.ndarray:
    r"""Project onto the descent cone of $\lVert\cdot\rVert_1$ at a sparse point $x_0 \ne 0$.

    The polar of the descent cone is $\mathrm{cone}(\partial\lVert x_0\rVert_1) = \{\tau z :
    \tau \ge 0,\ z_S = \mathrm{sign}(x_0)_S,\ \lVert z_{S^c}\rVert_\infty \le 1\}$. The nearest
    point of $\tau\partial\lVert x_0\rVert_1$ is explicit, the best $\tau$ solves a piecewise
    linear equation exactly (sorting the off-support magnitudes), and Moreau's decomposition
    gives $\Pi_{D}(x) = x - \Pi_{D^\circ}(x)$.

    Args:
        points: Shape ``(n, dim)`` or ``(dim,)``.
        x0: The point $x_0$, shape ``(dim,)``, with at least one nonzero.

    Returns:
        The projections, same shape.

    Raises:
        ValueError: If ``x0`` is zero or shapes disagree.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    support = np.flatnonzero(x0)
    if x0.ndim != 1 or support.size == 0:
        raise ValueError("x0 must be a 1-D array with at least one nonzero entry")
    x, single = _as_batch(points, x0.size)
    signs = np.sign(x0[support])
    tau = _l1_polar_tau(x, support, signs)
    polar = np.clip(x, -tau[:, None], tau[:, None])
    polar[:, support] = tau[:, None] * signs[None, :]
    return _restore(x - polar, single)


def svec(matrices: np.ndarray) -> np.ndarray:
    r"""Isometric vectorisation of symmetric matrices: diagonal, then $\sqrt2\times$ upper part.

    $\langle \mathrm{svec}(A), \mathrm{svec}(B)\rangle = \mathrm{tr}(AB)$, so a standard Gaussian
    vector of length $n(n+1)/2$ is a standard Gaussian symmetric matrix (GOE up to scaling).

    Args:
        matrices: Shape ``(batch, n, n)`` symmetric.

    Returns:
        Shape ``(batch, n(n+1)/2)``.

    Raises:
        ValueError: If the input is not a batch of square matrices.
    """
    A = np.asarray(matrices, dtype=np.float64)
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise ValueError(f"matrices must have shape (batch, n, n), got {A.shape}")
    n = A.shape[1]
    iu = np.triu_indices(n, 1)
    return np.concatenate(
        [np.diagonal(A, axis1=1, axis2=2), math.sqrt(2) * A[:, iu[0], iu[1]]], axis=1
    )


def smat(vectors: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`svec`.

    Args:
        vectors: Shape ``(batch, n(n+1)/2)``.
        n: Matrix size.

    Returns:
        Symmetric matrices of shape ``(batch, n, n)``.

    Raises:
        ValueError: If the length does not match ``n``.
    """
    n = _check_dim(n, "n")
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != n * (n + 1) // 2:
        raise ValueError(f"vectors must have shape (batch, {n * (n + 1) // 2}), got {v.shape}")
    A = np.zeros((v.shape[0], n, n))
    idx = np.arange(n)
    A[:, idx, idx] = v[:, :n]
    iu = np.triu_indices(n, 1)
    off = v[:, n:] / math.sqrt(2)
    A[:, iu[0], iu[1]] = off
    A[:, iu[1], iu[0]] = off
    return A


def project_psd_cone(points: np.ndarray, n: int) -> np.ndarray:
    r"""Project ``svec`` coordinates onto the PSD cone: clip the eigenvalues at zero.

    Args:
        points: Shape ``(batch, n(n+1)/2)`` or ``(n(n+1)/2,)`` (see :func:`svec`).
        n: Matrix size.

    Returns:
        ``svec`` of $V\max(\Lambda, 0)V^\top$, same shape.

    Raises:
        ValueError: If the length does not match ``n``.
    """
    x, single = _as_batch(points, _check_dim(n, "n") * (n + 1) // 2)
    lam, V = np.linalg.eigh(smat(x, n))
    P = (V * np.maximum(lam, 0.0)[:, None, :]) @ np.swapaxes(V, 1, 2)
    return _restore(svec(P), single)


def polar_projection(project: Projection) -> Projection:
    r"""The projection onto the polar cone, by Moreau: $\Pi_{C^\circ}(x) = x - \Pi_C(x)$.

    Args:
        project: Projection onto a closed convex cone $C$.

    Returns:
        A callable with the same batch convention projecting onto $C^\circ$.
    """

    def polar(points: np.ndarray) -> np.ndarray:
        x = np.asarray(points, dtype=np.float64)
        return x - project(x)

    return polar


def moreau_decomposition(project: Projection, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Split $x = \Pi_C(x) + \Pi_{C^\circ}(x)$ with $\langle\Pi_C(x), \Pi_{C^\circ}(x)\rangle = 0$.

    Moreau's theorem: for a closed convex cone, these two conditions (plus membership) determine
    both parts uniquely; tests use them to check that a projection is exact.

    Args:
        project: Projection onto $C$.
        points: Shape ``(n, dim)``.

    Returns:
        ``(in_cone, in_polar)``, each of the shape of ``points``.
    """
    x = np.asarray(points, dtype=np.float64)
    p = project(x)
    return p, x - p


# --------------------------------------------------------------------------------------------
# Monte Carlo estimators


def _check_samples(num_samples: int) -> int:
    return _check_dim(num_samples, "num_samples", minimum=2)


def _mc_mean(
    values_of: Callable[[np.ndarray], np.ndarray],
    dim: int,
    num_samples: int,
    generator: np.random.Generator,
    batch_size: int,
) -> tuple[float, float]:
    total, total_sq, done = 0.0, 0.0, 0
    while done < num_samples:
        n = min(batch_size, num_samples - done)
        v = np.asarray(values_of(generator.standard_normal((n, dim))), dtype=np.float64)
        if v.shape != (n,):
            raise ValueError(f"the function must return shape ({n},), got {v.shape}")
        total += float(v.sum())
        total_sq += float((v * v).sum())
        done += n
    mean = total / num_samples
    var = max(total_sq / num_samples - mean * mean, 0.0) * num_samples / (num_samples - 1)
    return mean, math.sqrt(var / num_samples)


def statistical_dimension_mc(
    project: Projection,
    dim: int,
    *,
    num_samples: int = 10_000,
    generator: np.random.Generator,
    batch_size: int = 4096,
) -> tuple[float, float]:
    r"""Monte Carlo estimate of $\delta(C) = \mathbb E\lVert\Pi_C(g)\rVert^2$ with a standard error.

    Args:
        project: Batched projection onto $C \subset \mathbb R^{\mathrm{dim}}$.
        dim: Ambient dimension.
        num_samples: Number of Gaussian draws (at least 2).
        generator: Source of the draws.
        batch_size: Draws projected at once.

    Returns:
        ``(estimate, standard_error)``; the error is the sample standard deviation over
        $\sqrt{n}$. The gradient of $\lVert\Pi_C(g)\rVert^2$ is $2\Pi_C(g)$, so the Gaussian
        Poincare inequality bounds the variance of one draw by $4\delta(C)$.

    Raises:
        ValueError: If ``dim`` or ``num_samples`` is invalid, or ``project`` changes shapes.
        TypeError: If ``generator`` is not a ``numpy.random.Generator``.

    Example:
        >>> est, se = statistical_dimension_mc(project_orthant, 6, num_samples=2000,
        ...                                    generator=np.random.default_rng(1))
        >>> bool(abs(est - 3.0) < 5 * se)
        True
    """
    dim = _check_dim(dim)
    num_samples = _check_samples(num_samples)
    generator = _check_generator(generator)

    def values(g: np.ndarray) -> np.ndarray:
        p = np.asarray(project(g))
        if p.shape != g.shape:
            raise ValueError(f"project must keep the shape {g.shape}, got {p.shape}")
        return np.sum(p * p, axis=1)

    return _mc_mean(values, dim, num_samples, generator, batch_size)


def gaussian_width_mc(
    support_or_sup: Callable[[np.ndarray], np.ndarray],
    dim: int,
    *,
    num_samples: int = 10_000,
    generator: np.random.Generator,
    batch_size: int = 4096,
) -> tuple[float, float]:
    r"""Monte Carlo estimate of $w(T) = \mathbb E\sup_{x \in T}\langle g, x\rangle$.

    Args:
        support_or_sup: The support function $h_T(g) = \sup_{x\in T}\langle g,x\rangle$,
            batched: maps ``(n, dim)`` to ``(n,)``. For a cone $C$ use
            ``lambda g: np.linalg.norm(project(g), axis=1)`` ($T = C \cap B^D$); for the ellipsoid
            $E$ use ``lambda g: np.linalg.norm(radii * g, axis=1)``.
        dim: Ambient dimension.
        num_samples: Number of Gaussian draws (at least 2).
        generator: Source of the draws.
        batch_size: Draws evaluated at once.

    Returns:
        ``(estimate, standard_error)``.

    Raises:
        ValueError: If ``dim`` or ``num_samples`` is invalid, or the function returns a wrong
            shape.
        TypeError: If ``generator`` is not a ``numpy.random.Generator``.
    """
    dim = _check_dim(dim)
    num_samples = _check_samples(num_samples)
    generator = _check_generator(generator)
    return _mc_mean(support_or_sup, dim, num_samples, generator, batch_size)


# --------------------------------------------------------------------------------------------
# kinematic formula and phase transitions


def kinematic_a_eta(eta: float) -> float:
    r"""The constant $a_\eta = \sqrt{8\log(4/\eta)}$ of the approximate kinematic formula.

    ALMT Thm I: let $C$ and $K$ be closed convex cones (not both subspaces) and $Q$ a uniformly
    random rotation. If the sum of their statistical dimensions is at most $D - a_{\eta}\sqrt D$,
    they meet outside the origin with probability at most $\eta$; if it is at least
    $D + a_{\eta}\sqrt D$, with probability at least $1 - \eta$.

    Args:
        eta: Failure probability $\eta \in (0, 1)$.

    Returns:
        The value of $a_\eta$ for the given ``eta``.

    Raises:
        ValueError: If ``eta`` is outside ``(0, 1)``.

    Example:
        >>> round(kinematic_a_eta(0.1), 4)
        5.4324
    """
    eta = float(eta)
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta must lie in (0, 1), got {eta}")
    return math.sqrt(8.0 * math.log(4.0 / eta))


def kinematic_slack(dim: int, eta: float) -> float:
    r"""Half-width $a_\eta\sqrt D$ of the transition region of the approximate kinematic formula.

    Args:
        dim: Ambient dimension $D$.
        eta: Failure probability $\eta \in (0, 1)$.

    Returns:
        $a_\eta \sqrt{D}$ with $a_\eta$ from :func:`kinematic_a_eta`.

    Raises:
        ValueError: If ``dim`` is not positive or ``eta`` is outside ``(0, 1)``.
    """
    return kinematic_a_eta(eta) * math.sqrt(_check_dim(dim))


def wendel_probability(dim: int, k: int) -> float:
    r"""Exact $P\{L \cap \mathbb R^D_+ \ne \{0\}\}$ for a uniformly random $k$-dimensional $L$.

    Wendel (1962) and the conic Crofton formula: with $m = D - k$ (e.g. $L$ the null space of a
    Gaussian $m \times D$ matrix) the probability is $P\{\mathrm{Bin}(D-1, \frac12) \ge m\}$.

    Args:
        dim: Ambient dimension $D \ge 1$.
        k: Subspace dimension, $0 \le k \le D$.

    Returns:
        The probability.

    Raises:
        ValueError: If ``k`` is outside ``[0, dim]``.

    Example:
        >>> wendel_probability(20, 10)
        0.5
    """
    dim = _check_dim(dim)
    k = int(statistical_dimension_subspace(dim, k))
    return float(stats.binom.sf(dim - k - 1, dim - 1, 0.5))


def random_subspace_bases(
    dim: int, k: int, num: int, *, generator: np.random.Generator
) -> np.ndarray:
    """Orthonormal bases of ``num`` independent uniformly random ``k``-dimensional subspaces.

    QR of Gaussian matrices, batched; the span of a Gaussian matrix is Haar-distributed.

    Args:
        dim: Ambient dimension.
        k: Subspace dimension, ``0 <= k <= dim``.
        num: Number of subspaces.
        generator: Source of randomness.

    Returns:
        Shape ``(num, dim, k)`` with orthonormal columns.

    Raises:
        ValueError: If the sizes are invalid.
        TypeError: If ``generator`` is not a ``numpy.random.Generator``.
    """
    dim = _check_dim(dim)
    k = int(statistical_dimension_subspace(dim, k))
    num = _check_dim(num, "num")
    generator = _check_generator(generator)
    G = generator.standard_normal((num, dim, k))
    if k == 0:
        return G
    return np.linalg.qr(G)[0]


def subspace_meets_circular_cone(bases: np.ndarray, angle: float) -> np.ndarray:
    r"""Whether each span meets the circular cone $\mathrm{Circ}_D(\alpha)$ outside 0.

    The test is exact: $L = \mathrm{span}(U)$ meets it iff $\lVert U^\top e_1\rVert \ge \cos\alpha$.

    For $x = Uz$, $\max_{\lVert z\rVert = 1}\langle e_1, Uz\rangle = \lVert U^\top e_1\rVert$.
    As $\lVert U^\top e_1\rVert^2 \sim \mathrm{Beta}(k/2, (D-k)/2)$, the exact probability is
    ``scipy.stats.beta.sf(cos(angle)**2, k/2, (D-k)/2)``.

    Args:
        bases: Orthonormal bases, shape ``(num, dim, k)``.
        angle: Half-aperture $\alpha$.

    Returns:
        Boolean array of shape ``(num,)``.

    Raises:
        ValueError: If ``bases`` is not 3-D.
    """
    U = np.asarray(bases, dtype=np.float64)
    if U.ndim != 3:
        raise ValueError(f"bases must have shape (num, dim, k), got {U.shape}")
    return np.linalg.norm(U[:, 0, :], axis=1) >= math.cos(_check_angle(angle))


def subspace_meets_ellipsoid(
    bases: np.ndarray, center: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    r"""Whether each span $L$ meets $c + E$ (equivalently $\mathrm{cone}(c + E)$ outside 0).

    Since $0\notin c+E$, $L \cap \mathrm{cone}(c+E) \ne \{0\}$ iff $L \cap (c + E) \ne
    \emptyset$ iff $\min_z \sum_i ((Uz - c)_i / r_i)^2 \le 1$, a weighted least-squares problem
    solved exactly for the whole batch.

    Args:
        bases: Shape ``(num, dim, k)``.
        center: Centre $c$, shape ``(dim,)``.
        radii: Semi-axes, shape ``(dim,)``.

    Returns:
        Boolean array of shape ``(num,)``.

    Raises:
        ValueError: If shapes disagree or $0 \in c + E$.
    """
    c, r = _check_ellipsoid(center, radii)
    U = np.asarray(bases, dtype=np.float64)
    if U.ndim != 3 or U.shape[1] != c.size:
        raise ValueError(f"bases must have shape (num, {c.size}, k), got {U.shape}")
    b = c / r
    if U.shape[2] == 0:
        return np.full(U.shape[0], float(b @ b) <= 1.0)
    W = U / r[None, :, None]
    Qw = np.linalg.qr(W)[0]
    proj = np.einsum("nik,nk->ni", Qw, np.einsum("nik,i->nk", Qw, b))
    return np.sum((b[None, :] - proj) ** 2, axis=1) <= 1.0


def subspace_meets_orthant(bases: np.ndarray) -> np.ndarray:
    r"""Whether each span meets $\mathbb R^D_+$ outside 0, by an LP feasibility problem.

    Find $z$ with $Uz \ge 0$ and $\mathbf 1^\top U z = 1$ (HiGHS via ``scipy.optimize.linprog``,
    one LP per subspace).

    Args:
        bases: Shape ``(num, dim, k)``.

    Returns:
        Boolean array of shape ``(num,)``.

    Raises:
        ValueError: If ``bases`` is not 3-D.
    """
    U = np.asarray(bases, dtype=np.float64)
    if U.ndim != 3:
        raise ValueError(f"bases must have shape (num, dim, k), got {U.shape}")
    out = np.zeros(U.shape[0], dtype=bool)
    if U.shape[2] == 0:
        return out
    for j, B in enumerate(U):
        res = optimize.linprog(
            np.zeros(B.shape[1]),
            A_ub=-B,
            b_ub=np.zeros(B.shape[0]),
            A_eq=B.sum(axis=0)[None, :],
            b_eq=[1.0],
            bounds=(None, None),
            method="highs",
        )
        out[j] = res.status == 0
    return out


@dataclass(frozen=True)
class PhaseTransition:
    """Empirical probabilities of a phase-transition experiment.

    Attributes:
        ks: Subspace dimensions (or measurement counts) tried.
        probability: Fraction of trials that succeeded at each ``k``.
        standard_error: Binomial standard error ``sqrt(p (1 - p) / num_trials)``.
        num_trials: Trials per ``k``.
    """

    ks: np.ndarray
    probability: np.ndarray
    standard_error: np.ndarray
    num_trials: int


def phase_transition(
    meets: Callable[[np.ndarray], np.ndarray],
    dim: int,
    ks: np.ndarray,
    *,
    num_trials: int,
    generator: np.random.Generator,
) -> PhaseTransition:
    """Probability that a uniformly random ``k``-dimensional subspace meets a cone, per ``k``.

    For each ``k`` the runner draws ``num_trials`` Haar-random bases at once
    (:func:`random_subspace_bases`) and calls ``meets`` on the batch.

    Args:
        meets: Maps bases of shape ``(num_trials, dim, k)`` to booleans ``(num_trials,)``, e.g.
            ``lambda U: subspace_meets_circular_cone(U, angle)``.
        dim: Ambient dimension.
        ks: Subspace dimensions, each in ``[0, dim]``.
        num_trials: Trials per ``k``.
        generator: Source of randomness.

    Returns:
        A :class:`PhaseTransition`.

    Raises:
        ValueError: If the sizes are invalid or ``meets`` returns a wrong shape.
        TypeError: If ``generator`` is not a ``numpy.random.Generator``.
    """
    dim = _check_dim(dim)
    num_trials = _check_dim(num_trials, "num_trials")
    generator = _check_generator(generator)
    ks = np.asarray(ks)
    if ks.ndim != 1 or ks.size == 0 or np.any(ks < 0) or np.any(ks > dim):
        raise ValueError(f"ks must be a non-empty 1-D array of integers in [0, {dim}]")
    probs = []
    for k in ks:
        hit = np.asarray(meets(random_subspace_bases(dim, int(k), num_trials, generator=generator)))
        if hit.shape != (num_trials,):
            raise ValueError(f"meets must return shape ({num_trials},), got {hit.shape}")
        probs.append(float(hit.mean()))
    p = np.array(probs)
    return PhaseTransition(ks.astype(int), p, np.sqrt(p * (1 - p) / num_trials), num_trials)


def statistical_dimension_from_transition(result: PhaseTransition, dim: int) -> tuple[float, float]:
    r"""Statistical dimension from a full phase-transition curve: $\sum_{k=0}^{D} p_k - 1/2$.

    The conic Crofton formula gives $p_k = \Pr\{C \cap L_k \ne \{0\}\} = 2(v_{D-k+1} +
    v_{D-k+3} + \dots)$ for a uniformly random $k$-dimensional $L_k$, with $v_j$ the intrinsic
    volumes of $C$ (ALMT Sec. 5). Summing over $k = 0, \dots, D$ counts $v_j$ exactly
    $\lceil j/2\rceil$ times, and for a closed convex cone that is not a subspace the odd and
    the even intrinsic volumes each sum to $1/2$, so

    $$\sum_{k=0}^{D} p_k = \sum_j j\,v_j + \tfrac12 = \delta(C) + \tfrac12 .$$

    The area under the transition curve is thus an estimate of $\delta(C)$ that is independent of
    any projection.

    Args:
        result: A :class:`PhaseTransition` over every ``k = 0, 1, ..., dim``.
        dim: Ambient dimension $D$.

    Returns:
        ``(estimate, standard_error)``, the error from the binomial errors of the ``p_k``.

    Raises:
        ValueError: If ``result.ks`` is not ``0, 1, ..., dim``.

    Example:
        >>> ks = np.arange(21)
        >>> p = np.array([wendel_probability(20, int(k)) for k in ks])
        >>> est, _ = statistical_dimension_from_transition(
        ...     PhaseTransition(ks, p, np.zeros(21), 1), 20)
        >>> round(est, 12)
        10.0
    """
    dim = _check_dim(dim)
    if not np.array_equal(np.asarray(result.ks), np.arange(dim + 1)):
        raise ValueError(f"the transition must cover every k = 0, 1, ..., {dim}")
    estimate = float(np.sum(result.probability)) - 0.5
    return estimate, float(np.sqrt(np.sum(np.asarray(result.standard_error) ** 2)))


def crossing_point(ks: np.ndarray, probability: np.ndarray, level: float = 0.5) -> float:
    """Where a (noisy, increasing) probability curve crosses ``level``, by linear interpolation.

    The curve is first made monotone (running maximum), so that noise near 0 or 1 cannot create
    spurious crossings.

    Args:
        ks: Increasing abscissae.
        probability: Values in ``[0, 1]``.
        level: Level to cross, in ``(0, 1)``.

    Returns:
        The interpolated crossing.

    Raises:
        ValueError: If the curve never reaches ``level`` or starts above it.
    """
    x = np.asarray(ks, dtype=np.float64)
    p = np.maximum.accumulate(np.asarray(probability, dtype=np.float64))
    if x.shape != p.shape or x.ndim != 1:
        raise ValueError("ks and probability must be 1-D arrays of the same length")
    if p[0] > level or p[-1] < level:
        raise ValueError(f"the curve does not cross {level} inside the range of ks")
    j = int(np.argmax(p >= level))
    if j == 0:
        return float(x[0])
    return float(x[j - 1] + (level - p[j - 1]) * (x[j] - x[j - 1]) / (p[j] - p[j - 1]))


def basis_pursuit(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Solve $\min\lVert x\rVert_1$ subject to $Ax = y$ as a linear program.

    With $x = x^+ - x^-$, $x^\pm \ge 0$: minimise $\mathbf 1^\top(x^+ + x^-)$ subject to
    $A(x^+ - x^-) = y$ (HiGHS through ``scipy.optimize.linprog``).

    Args:
        A: Shape ``(m, d)``.
        y: Shape ``(m,)``.

    Returns:
        A minimiser, shape ``(d,)``.

    Raises:
        ValueError: If the shapes disagree or the LP fails.

    Example:
        >>> A = np.random.default_rng(0).standard_normal((30, 60))
        >>> x0 = np.zeros(60); x0[[3, 17]] = [1.0, -2.0]
        >>> bool(np.allclose(basis_pursuit(A, A @ x0), x0, atol=1e-7))
        True
    """
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if A.ndim != 2 or y.shape != (A.shape[0],):
        raise ValueError(f"need A of shape (m, d) and y of shape (m,), got {A.shape}, {y.shape}")
    d = A.shape[1]
    res = optimize.linprog(
        np.ones(2 * d), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs"
    )
    if res.status != 0:
        raise ValueError(f"basis pursuit LP failed: {res.message}")
    return res.x[:d] - res.x[d:]
