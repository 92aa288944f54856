r"""Exact pruning limits for quadratic losses, the ground truth the theory is checked against.

The loss is $L(w) = g^\top (w - w^*) + \tfrac12 (w - w^*)^\top H (w - w^*)$ with a known
symmetric positive semi-definite $H$ (and $g = 0$ by default, $w^*$ then a minimiser). For a
support $T$ of kept weights (the others set to zero) write $c = T^{\rm c}$ and $u = w^*_c$.

* **Without refit** the kept weights stay at $w^*_T$:
  $\Delta L = -g_c^\top u + \tfrac12 u^\top H_{cc} u$.
* **With refit** the kept weights move to their best values:
  $\Delta L = -g_c^\top u + \tfrac12 u^\top H_{cc} u - \tfrac12 b^\top H_{TT}^{+} b$ with
  $b = g_T - H_{Tc} u$; for $g = 0$ this is $\tfrac12 u^\top (H / H_{TT})\, u$, the
  **Schur complement** of $H_{TT}$ in $H$ (chapter ``ch-pruning-limit``).

Removing more weights (a superset $c$) only shrinks the feasible set $\{w : w_c = 0\}$, so the
refitted increase is non-decreasing along the nested magnitude supports: the exact limit of
magnitude pruning is found by bisection on the number removed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = [
    "QuadraticLimit",
    "best_support_limit",
    "diagonal_hessian",
    "haar_orthogonal",
    "least_increase",
    "magnitude_increases",
    "magnitude_limit",
    "power_law_spectrum",
    "rotation_invariant_hessian",
]

_MAX_BRUTE_FORCE_DIM = 20


def _check_problem(hessian, w_star, grad=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    H = np.asarray(hessian, dtype=np.float64)
    w = np.asarray(w_star, dtype=np.float64).reshape(-1)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"the Hessian must be a square matrix, got shape {H.shape}")
    if H.shape[0] != w.size or w.size == 0:
        raise ValueError(
            f"weights ({w.size} entries) and Hessian ({H.shape[0]}x{H.shape[1]}) must match and "
            "be non-empty"
        )
    g = np.zeros_like(w) if grad is None else np.asarray(grad, dtype=np.float64).reshape(-1)
    if g.size != w.size:
        raise ValueError(f"grad must have {w.size} entries, got {g.size}")
    return H, w, g


def _pinv_solve(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    # A^+ b for symmetric PSD A, and the norm of the part of b outside the range of A
    if A.size == 0:
        return np.zeros(0), 0.0
    try:  # positive definite and well conditioned: Cholesky, ~25x cheaper than eigh
        factor = scipy.linalg.cho_factor(A, check_finite=False)
        diag = np.abs(np.diag(factor[0]))
        if diag.min() > 1e-7 * diag.max():
            return scipy.linalg.cho_solve(factor, b, check_finite=False), 0.0
    except np.linalg.LinAlgError:
        pass  # not positive definite: the eigendecomposition below handles it
    vals, vecs = np.linalg.eigh(A)
    cutoff = max(vals.max(initial=0.0), 0.0) * A.shape[0] * np.finfo(float).eps * 10
    good = vals > cutoff
    coef = vecs.T @ b
    x = vecs[:, good] @ (coef[good] / vals[good])
    return x, float(np.linalg.norm(coef[~good]))


def least_increase(hessian, w_star, keep, *, refit: bool = True, grad=None) -> float:
    r"""Least loss increase of the quadratic when only the weights in ``keep`` stay non-zero.

    Args:
        hessian: Symmetric PSD matrix $H$, shape ``(D, D)``.
        w_star: Trained weights $w^*$, ``D`` entries.
        keep: Boolean mask of kept weights (True = kept), ``D`` entries.
        refit: Re-fit the kept weights (the Schur complement) or leave them at $w^*_T$.
        grad: Gradient $g$ at $w^*$ (default 0).

    Returns:
        The increase $\Delta L \ge 0$ for $g = 0$; ``-inf`` if the linear term makes the loss
        unbounded below on the support (only possible for $g \ne 0$ outside the range of $H$).

    Raises:
        ValueError: If shapes do not match.

    Example:
        >>> H = np.array([[2.0, 1.0], [1.0, 2.0]])
        >>> w = np.array([1.0, 1.0])
        >>> least_increase(H, w, np.array([True, False]), refit=False)  # 0.5 * 2 * 1
        1.0
        >>> least_increase(H, w, np.array([True, False]))  # 0.5 * (2 - 1/2)
        0.75
    """
    H, w, g = _check_problem(hessian, w_star, grad)
    keep = np.asarray(keep, dtype=bool).reshape(-1)
    if keep.size != w.size:
        raise ValueError(f"keep must have {w.size} entries, got {keep.size}")
    c = ~keep
    u = w[c]
    value = -g[c] @ u + 0.5 * u @ H[np.ix_(c, c)] @ u
    if refit and keep.any():
        b = g[keep] - H[np.ix_(keep, c)] @ u
        x, outside = _pinv_solve(H[np.ix_(keep, keep)], b)
        scale = max(np.linalg.norm(b), 1e-300)
        if outside > 1e-8 * scale:
            return -math.inf
        value -= 0.5 * b @ x
    return float(max(value, 0.0)) if not g.any() else float(value)


def magnitude_increases(hessian, w_star, counts, *, refit: bool = True, grad=None) -> np.ndarray:
    r"""Least increase after removing the ``m`` smallest-magnitude weights, for each ``m``.

    Args:
        hessian: $H$, shape ``(D, D)``.
        w_star: $w^*$.
        counts: Numbers of weights removed (integers in ``[0, D]``).
        refit: Re-fit the kept weights.
        grad: Gradient $g$ (default 0).

    Returns:
        One increase per count.

    Raises:
        ValueError: If shapes do not match or a count is out of range.
    """
    H, w, g = _check_problem(hessian, w_star, grad)
    counts = np.asarray(counts, dtype=int).reshape(-1)
    if np.any(counts < 0) or np.any(counts > w.size):
        raise ValueError(f"counts must be in [0, {w.size}]")
    order = np.argsort(np.abs(w), kind="stable")
    out = []
    for m in counts:
        keep = np.ones(w.size, dtype=bool)
        keep[order[:m]] = False
        out.append(least_increase(H, w, keep, refit=refit, grad=g))
    return np.array(out)


@dataclass(frozen=True)
class QuadraticLimit:
    """The exact pruning limit of a quadratic loss.

    Attributes:
        sparsity: Largest fraction removed whose least increase is at most ``eps``
            (``num_removed / dim``).
        num_removed: The corresponding number of weights removed.
        increase: The least increase there.
        dim: $D$.
        refit: Whether the kept weights were re-fitted.
        support: Kept mask at the limit.
    """

    sparsity: float
    num_removed: int
    increase: float
    dim: int
    refit: bool
    support: np.ndarray


def magnitude_limit(
    hessian, w_star, eps: float, *, refit: bool = True, grad=None
) -> QuadraticLimit:
    r"""Exact limit of global magnitude pruning: the largest $m$ with $\Delta L(m) \le \epsilon$.

    With ``refit`` the increase is non-decreasing in $m$ (nested supports), so bisection on
    $m$ costs $\lceil\log_2 D\rceil$ Schur complements. Without refit it need not be monotone;
    every $m$ is evaluated in $O(D^2)$ by accumulating $\tfrac12 u^\top H u$ and the largest
    $m$ meeting the bound is returned (as :func:`pnlib.prune.actual_limit` does on a sweep).

    Args:
        hessian: $H$, shape ``(D, D)``, PSD.
        w_star: $w^*$.
        eps: Allowed loss increase $\epsilon > 0$.
        refit: Re-fit the kept weights.
        grad: Gradient $g$ (default 0).

    Returns:
        A :class:`QuadraticLimit`.

    Raises:
        ValueError: If ``eps <= 0`` or shapes do not match.
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    H, w, g = _check_problem(hessian, w_star, grad)
    d = w.size
    order = np.argsort(np.abs(w), kind="stable")

    def keep_mask(m: int) -> np.ndarray:
        keep = np.ones(d, dtype=bool)
        keep[order[:m]] = False
        return keep

    if refit:
        lo, hi = 0, d  # increase(lo) <= eps (m = 0 costs 0); find the largest such m
        if least_increase(H, w, keep_mask(d), refit=True, grad=g) <= eps:
            lo = d
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if least_increase(H, w, keep_mask(mid), refit=True, grad=g) <= eps:
                lo = mid
            else:
                hi = mid
        m = lo
    else:
        wp = w[order]
        Hp = H[np.ix_(order, order)]
        cross = np.cumsum((np.tril(Hp, -1) @ wp) * wp)  # sum_{j<i<m} H_ij w_i w_j
        diag = np.cumsum(np.diag(Hp) * wp**2)
        lin = np.cumsum(-g[order] * wp)
        q = np.concatenate([[0.0], lin + 0.5 * diag + cross])
        m = int(np.flatnonzero(q <= eps).max())
    keep = keep_mask(m)
    return QuadraticLimit(
        sparsity=m / d,
        num_removed=m,
        increase=least_increase(H, w, keep, refit=refit, grad=g),
        dim=d,
        refit=refit,
        support=keep,
    )


def best_support_limit(hessian, w_star, eps: float, *, grad=None) -> QuadraticLimit:
    r"""The best support of each size by brute force, for small $D$ (at most 20).

    Feasibility is monotone in the number kept (a superset of a feasible support is feasible),
    so the smallest feasible size $k$ is found by scanning $k$ upwards; the limit is
    $(D - k)/D$, always at least the magnitude limit.

    Args:
        hessian: $H$, shape ``(D, D)``, PSD.
        w_star: $w^*$.
        eps: Allowed loss increase $\epsilon > 0$.
        grad: Gradient $g$ (default 0).

    Returns:
        A :class:`QuadraticLimit` with the best support (refit).

    Raises:
        ValueError: If ``D > 20``, ``eps <= 0`` or shapes do not match (keeping every weight
            costs nothing, so some support always meets ``eps``).
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    H, w, g = _check_problem(hessian, w_star, grad)
    d = w.size
    if d > _MAX_BRUTE_FORCE_DIM:
        raise ValueError(f"brute force over supports needs D <= {_MAX_BRUTE_FORCE_DIM}, got {d}")
    for k in range(d + 1):
        best, best_keep = math.inf, None
        for kept in itertools.combinations(range(d), k):
            keep = np.zeros(d, dtype=bool)
            keep[list(kept)] = True
            value = least_increase(H, w, keep, refit=True, grad=g)
            if value < best:
                best, best_keep = value, keep
        if best <= eps:
            return QuadraticLimit((d - k) / d, d - k, best, d, True, best_keep)
    raise ValueError("no support meets eps: the loss increase is negative nowhere")  # unreachable


def haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal matrix (QR of a Gaussian matrix, signs fixed).

    Args:
        dim: Size.
        rng: Random generator.

    Returns:
        An orthogonal ``(dim, dim)`` matrix.

    Raises:
        ValueError: If ``dim < 1``.
    """
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    q, r = scipy.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def rotation_invariant_hessian(eigenvalues, rng: np.random.Generator) -> np.ndarray:
    r"""$H = Q \operatorname{diag}(\lambda) Q^\top$ with $Q$ Haar: eigenvectors in random position.

    This is the setting of the random-subspace model: the coordinate supports of pruning are
    in random position relative to the ellipsoid's axes.

    Args:
        eigenvalues: The spectrum, ``D`` values.
        rng: Random generator.

    Returns:
        The symmetric matrix $H$.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    q = haar_orthogonal(lam.size, rng)
    H = (q * lam) @ q.T
    return 0.5 * (H + H.T)


def diagonal_hessian(
    eigenvalues, weights=None, *, alignment: str = "aligned", rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""A diagonal $H$: each eigenvalue sits on one weight's axis.

    Args:
        eigenvalues: The spectrum, ``D`` values.
        weights: $w^*$ (needed unless ``alignment="random"``).
        alignment: ``"aligned"``: the largest curvatures on the largest-magnitude weights (the
            small weights are flat, the favourable case for magnitude pruning); ``"anti"``: the
            largest curvatures on the smallest weights; ``"random"``: a random assignment.
        rng: Random generator (for ``"random"``).

    Returns:
        The diagonal matrix.

    Raises:
        ValueError: On an unknown alignment, missing weights or rng, or a size mismatch.
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64).reshape(-1))
    d = lam.size
    if alignment == "random":
        if rng is None:
            raise ValueError("alignment='random' needs rng")
        return np.diag(rng.permutation(lam))
    if alignment not in ("aligned", "anti"):
        raise ValueError(f"alignment must be 'aligned', 'anti' or 'random', got {alignment!r}")
    if weights is None or np.asarray(weights).size != d:
        raise ValueError(f"alignment={alignment!r} needs weights with {d} entries")
    order = np.argsort(np.abs(np.asarray(weights, dtype=np.float64).reshape(-1)), kind="stable")
    diag = np.empty(d)
    diag[order] = lam if alignment == "aligned" else lam[::-1]
    return np.diag(diag)


def power_law_spectrum(dim: int, exponent: float, lam_max: float = 1.0) -> np.ndarray:
    r"""Deterministic spectrum $\lambda_i = \lambda_{\max} (i/D)^{p}$, $i = 1..D$.

    A larger exponent $p$ puts more mass near zero (the bulk-plus-outliers shape of network
    Hessians); $p = 0$ gives all eigenvalues equal.

    Args:
        dim: $D$.
        exponent: $p \ge 0$.
        lam_max: Largest eigenvalue.

    Returns:
        The ``D`` eigenvalues, increasing.

    Raises:
        ValueError: If ``dim < 1`` or ``exponent < 0``.
    """
    if dim < 1 or exponent < 0:
        raise ValueError(f"need dim >= 1 and exponent >= 0, got {dim}, {exponent}")
    return lam_max * (np.arange(1, dim + 1) / dim) ** exponent
