r"""Spectra of symmetric operators: Lanczos, stochastic Lanczos quadrature, trace estimators.

The central object is :class:`SLQResult`, a set of Gauss quadrature rules, one per probe vector:
nodes ``θ_j`` (Ritz values) and weights ``τ_j`` (squared first components of the eigenvectors of
the Lanczos tridiagonal), each row summing to one. Spectral functionals are estimated by the direct
quadrature

    tr f(H)/D ≈ (1/n_v) Σ_l Σ_j τ_j^(l) f(θ_j^(l)),

never through a smoothed density on a grid, which is biased (the chapter on Lanczos and SLQ
shows by how much).

That estimate has two errors: the probe noise, which :func:`trace_of`'s standard error measures,
and the quadrature bias of an $m$-node Gauss rule, which it does not (on a diagonal operator
with Rademacher probes the noise is zero and the bias is all there is). :func:`trace_interval`
bounds both: per probe, the $m$ Lanczos steps and the last residual coefficient
$\beta_m$ (``SLQResult.beta_last``) fix the first $2m + 1$ moments of the probe's spectral
measure, and the Chebyshev–Markov–Stieltjes inequalities turn them into bounds on its
distribution function, through Gauss–Radau rules, which integrate to bounds on
$\int f\,d\mu$ valid for *every* measure with those moments; averaging over probes and
widening by a few standard errors gives an interval for $\operatorname{tr} f(H)/D$.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import torch
from torch import Tensor

__all__ = [
    "LanczosResult",
    "SLQResult",
    "check_symmetric",
    "density",
    "extreme_eigenvalues",
    "from_eigenvalues",
    "lanczos",
    "slq",
    "trace",
    "trace_interval",
    "trace_intervals",
    "trace_of",
    "truncate",
]


@dataclass
class SLQResult:
    r"""Quadrature rules from stochastic Lanczos quadrature, one row per probe.

    Attributes:
        nodes: Ritz values, shape ``(num_probes, m)``, float64.
        weights: Quadrature weights, shape ``(num_probes, m)``, float64, each row summing to one.
        dim: Dimension ``D`` of the operator.
        num_matvecs: Number of operator-vector products spent (a block product of ``p`` columns
            counts ``p``).
        breakdowns: Per probe, the Lanczos step at which ``β ≈ 0`` stopped the recursion early
            (an invariant subspace was found; the rule is then exact for that probe), or ``None``.
        alpha: Per probe, the diagonal of the Lanczos tridiagonal, ``(num_probes, m)`` (zero
            after a breakdown), or ``None``; kept by :func:`slq` so that :func:`truncate` can
            give the rule of any smaller number of steps without new products.
        beta: The off-diagonals, ``(num_probes, m − 1)``, or ``None``.
        beta_last: Per probe, the residual coefficient $\beta_m$ of the last step (the norm
            of the part of $A q_m$ outside the Krylov space; 0 after a breakdown), shape
            ``(num_probes,)``, or ``None``. With ``alpha`` and ``beta`` it fixes the first
            $2m + 1$ moments of the probe's spectral measure, which :func:`trace_interval`
            turns into guaranteed bounds.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int
    num_matvecs: int = 0
    breakdowns: list[int | None] = field(default_factory=list)
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    beta_last: np.ndarray | None = None

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


# ------------------------------------------------------------------------------- operators
class _Block:
    """Uniform ``(dim, p) -> (dim, p)`` torch interface over the kinds of matvec accepted."""

    def __init__(
        self,
        matvec: Any,
        dim: int,
        *,
        block: bool | None,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.dim = int(dim)
        self.numpy = False
        shape = getattr(matvec, "shape", None)
        if shape is not None and tuple(shape) != (dim, dim):
            raise ValueError(f"operator has shape {tuple(shape)}, expected ({dim}, {dim})")
        if isinstance(matvec, np.ndarray) or _is_scipy_operator(matvec):
            self.numpy = True
            self.fn = matvec.__matmul__ if isinstance(matvec, np.ndarray) else matvec.matmat
            self.block = True
            default_dtype, default_device = torch.float64, torch.device("cpu")
        elif hasattr(matvec, "__matmul__") and shape is not None:
            self.fn = matvec.__matmul__
            self.block = True if block is None else block
            default_dtype = getattr(matvec, "dtype", torch.float64)
            default_device = getattr(matvec, "device", torch.device("cpu"))
        elif callable(matvec):
            self.fn = matvec
            self.block = bool(block)
            default_dtype, default_device = torch.float64, torch.device("cpu")
        else:
            raise TypeError(
                "matvec must be a callable, a torch/numpy matrix, a scipy LinearOperator or an "
                f"operator with shape and @, got {type(matvec).__name__}"
            )
        if not isinstance(default_dtype, torch.dtype):
            default_dtype = torch.float64
        self.dtype = dtype or default_dtype
        self.device = torch.device(device) if device is not None else torch.device(default_device)
        self.count = 0

    def __call__(self, V: Tensor) -> Tensor:
        self.count += V.shape[1]
        if self.numpy:
            out = self.fn(V.detach().cpu().to(torch.float64).numpy())
            return torch.as_tensor(np.asarray(out)).reshape(V.shape).to(self.device, self.dtype)
        if self.block:
            out = self.fn(V)
        else:
            out = torch.stack([torch.as_tensor(self.fn(V[:, i])) for i in range(V.shape[1])], 1)
        out = torch.as_tensor(out)
        if tuple(out.shape) != tuple(V.shape):
            raise ValueError(
                f"matvec returned shape {tuple(out.shape)} for input {tuple(V.shape)}; pass "
                "block=False if it only accepts single vectors"
            )
        return out.to(self.device, self.dtype)


def _is_scipy_operator(obj: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    return isinstance(obj, LinearOperator)


def _torch_generator(generator: torch.Generator | int | None) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None:
        return torch.Generator().manual_seed(0)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(int(generator))
    raise TypeError(f"generator must be a torch.Generator, an int or None, got {generator!r}")


def _probes(dim: int, p: int, distribution: str, generator: torch.Generator) -> Tensor:
    # unit-norm probe columns drawn on the CPU in float64 (identical on every device)
    if distribution == "rademacher":
        V = torch.randint(0, 2, (dim, p), generator=generator, dtype=torch.float64) * 2 - 1
    elif distribution in ("gaussian", "normal"):
        V = torch.randn(dim, p, generator=generator, dtype=torch.float64)
    else:
        raise ValueError(f"distribution must be 'rademacher' or 'gaussian', got {distribution!r}")
    return V / torch.linalg.vector_norm(V, dim=0, keepdim=True)


def check_symmetric(
    matvec: Any,
    dim: int,
    *,
    generator: torch.Generator | int | None = None,
    rtol: float | None = None,
    block: bool | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> float:
    """Cheap test of symmetry: compare ``uᵀ(A w)`` with ``wᵀ(A u)`` for two random vectors.

    Costs two products (one block of two columns). A symmetric operator gives equality up to
    rounding; a generic non-symmetric one fails with probability one.

    Args:
        matvec: The operator (see :func:`lanczos`).
        dim: Its dimension.
        generator: Source of the two random vectors.
        rtol: Allowed ``|uᵀAw − wᵀAu| / (‖A w‖ + ‖A u‖)``; default ``sqrt(eps)`` of the
            operator's dtype times 10.
        block: Whether a callable ``matvec`` accepts ``(dim, p)`` blocks.
        dtype: Vector dtype (default the operator's).
        device: Vector device (default the operator's).

    Returns:
        The measured relative asymmetry.

    Raises:
        ValueError: If the asymmetry exceeds ``rtol`` (the operator is not symmetric), or the
            products are not finite.

    Example:
        >>> check_symmetric(np.array([[2.0, 1.0], [1.0, 3.0]]), 2) < 1e-12
        True
    """
    op = _Block(matvec, dim, block=block, dtype=dtype, device=device)
    return _check_symmetric(op, _torch_generator(generator), rtol)


def _check_symmetric(op: _Block, g: torch.Generator, rtol: float | None) -> float:
    U = torch.randn(op.dim, 2, generator=g, dtype=torch.float64).to(op.device, op.dtype)
    AU = op(U).to(torch.float64)
    U = U.to(torch.float64)
    a, b = float(U[:, 0] @ AU[:, 1]), float(U[:, 1] @ AU[:, 0])
    scale = float(torch.linalg.vector_norm(AU[:, 0]) * torch.linalg.vector_norm(U[:, 1]))
    scale += float(torch.linalg.vector_norm(AU[:, 1]) * torch.linalg.vector_norm(U[:, 0]))
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError("the operator returned non-finite products")
    if rtol is None:
        rtol = 10 * math.sqrt(torch.finfo(op.dtype).eps)
    rel = abs(a - b) / scale if scale > 0 else 0.0
    if rel > rtol:
        raise ValueError(
            f"the operator is not symmetric: u'Aw = {a:.6g} but w'Au = {b:.6g} (relative "
            f"asymmetry {rel:.2e} > rtol {rtol:.1e}); Lanczos needs a symmetric operator"
        )
    return rel


# -------------------------------------------------------------------------------- Lanczos
@dataclass
class LanczosResult:
    """Output of :func:`lanczos`: the float64 tridiagonal ``T = Qᵀ A Q`` and the basis ``Q``.

    Attributes:
        alpha: Diagonal of ``T``, length ``k`` (``k = num_steps`` unless it broke down).
        beta: Off-diagonal of ``T``, length ``k − 1``.
        basis: Lanczos vectors ``Q``, shape ``(dim, k)``, in the operator's dtype and device.
        breakdown: The step ``k`` at which ``β ≈ 0`` ended the recursion early (the span of
            ``Q`` is then an invariant subspace, and the Ritz values are exact eigenvalues), or
            ``None``.
        num_matvecs: Products spent.
    """

    alpha: np.ndarray
    beta: np.ndarray
    basis: Tensor
    breakdown: int | None
    num_matvecs: int

    def tridiagonal(self) -> np.ndarray:
        """The dense tridiagonal ``T``.

        Returns:
            ``T``, shape ``(k, k)``, float64.
        """
        return np.diag(self.alpha) + np.diag(self.beta, 1) + np.diag(self.beta, -1)

    def ritz(self) -> tuple[np.ndarray, np.ndarray]:
        """Ritz values and the eigenvectors of ``T`` (``Q @ Y`` are the Ritz vectors).

        Returns:
            ``(theta, Y)``: ascending Ritz values ``(k,)`` and eigenvectors of ``T`` ``(k, k)``.
        """
        return _eigh_tridiagonal(self.alpha, self.beta)


def _eigh_tridiagonal(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if alpha.size == 1:
        return alpha.copy(), np.ones((1, 1))
    return scipy.linalg.eigh_tridiagonal(alpha, beta)


def _block_lanczos(
    op: _Block, V0: Tensor, num_steps: int, reorthogonalize: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int | None], Tensor | None]:
    # p independent Lanczos recursions, one per column of V0, sharing the products; returns
    # float64 alpha (p, m), beta (p, m-1), the last residual norm beta_m (p,) (0 after a
    # breakdown), the breakdown step per column, and the basis (p, m, dim) when
    # reorthogonalising
    dim, p = V0.shape
    m = num_steps
    alpha = np.zeros((p, m))
    beta = np.zeros((p, max(m - 1, 0)))
    beta_last = np.zeros(p)
    stops: list[int | None] = [None] * p
    active = torch.ones(p, dtype=torch.bool, device=op.device)
    Q = torch.zeros(p, m, dim, dtype=op.dtype, device=op.device) if reorthogonalize else None
    q = V0.to(op.device, op.dtype)
    q_prev = torch.zeros_like(q)
    b_prev = torch.zeros(p, dtype=op.dtype, device=op.device)
    anorm = np.zeros(p)
    # beta below the rounding noise of one product (a few eps times the norm) means the Krylov
    # space is invariant. The factor must stay small: in float32, 1e3 * eps already sits above
    # a bulk 1e-4 below the top eigenvalue and ended runs there (tests/test_spectrum.py).
    tol = 100 * torch.finfo(op.dtype).eps
    for j in range(m):
        if Q is not None:
            Q[:, j] = q.T
        w = op(q)
        w = w - b_prev * q_prev
        a = torch.sum(q * w, dim=0, dtype=torch.float64)
        w = w - a.to(op.dtype) * q
        if Q is not None:
            basis = Q[:, : j + 1]  # (p, j + 1, dim)
            # classical Gram-Schmidt, repeated only where a pass removed more than 1 - 1/sqrt(2)
            # of the norm (the Daniel-Gragg-Kaufman-Stewart test: "twice is enough")
            for _ in range(2):
                before = torch.linalg.vector_norm(w, dim=0)
                c = torch.bmm(basis, w.T.unsqueeze(2))  # (p, j + 1, 1)
                w = w - torch.bmm(basis.transpose(1, 2), c).squeeze(2).T
                if bool((torch.linalg.vector_norm(w, dim=0) > before / math.sqrt(2)).all()):
                    break
        a_np = a.cpu().numpy()
        alpha[:, j] = np.where(active.cpu().numpy(), a_np, 0.0)
        anorm = np.maximum(anorm, np.abs(a_np))
        b = torch.sqrt(torch.sum(w * w, dim=0, dtype=torch.float64))
        if j == m - 1:
            beta_last[:] = np.where(active.cpu().numpy(), b.cpu().numpy(), 0.0)
            break
        b_np = b.cpu().numpy()
        anorm = np.maximum(anorm, b_np)
        broke = (b_np <= tol * np.maximum(anorm, np.finfo(np.float64).tiny)) & (
            active.cpu().numpy()
        )
        for i in np.flatnonzero(broke):
            stops[i] = j + 1
        active = active & ~torch.as_tensor(broke, device=op.device)
        beta[:, j] = np.where(active.cpu().numpy(), b_np, 0.0)
        b_safe = torch.where(active, b, torch.ones_like(b)).to(op.dtype)
        q_prev = q
        q = torch.where(active, w / b_safe, torch.zeros_like(w))
        b_prev = torch.where(active, b, torch.zeros_like(b)).to(op.dtype)
        if not bool(active.any()):
            break
    return alpha, beta, beta_last, stops, Q


def _check_steps(num_steps: int, dim: int) -> None:
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise ValueError(f"num_steps must be an integer, got {num_steps!r}")
    if not 1 <= num_steps <= dim:
        raise ValueError(f"num_steps must be between 1 and dim={dim}, got {num_steps}")


def lanczos(
    matvec: Any,
    dim: int,
    num_steps: int,
    *,
    generator: torch.Generator | int | None = None,
    v0: Tensor | np.ndarray | None = None,
    reorthogonalize: bool = True,
    check_symmetry: bool = True,
    block: bool | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> LanczosResult:
    r"""Lanczos tridiagonalisation with full reorthogonalisation (float64 coefficients).

    Builds an orthonormal basis $Q$ of the Krylov space of ``v0`` and $T = Q^\top A Q$. With
    ``num_steps == dim`` (and no breakdown) $T$ is similar to $A$, so its eigenvalues are all of
    $A$'s. If $\beta_j \approx 0$ (relative to the largest coefficient seen) the Krylov space
    is invariant: the recursion stops and reports the step in ``breakdown`` instead of dividing
    by zero.

    Args:
        matvec: A symmetric operator: a callable on torch vectors, a torch or numpy matrix, a
            ``HessianOperator``, a curvlinops operator, or a SciPy ``LinearOperator``.
        dim: Its dimension.
        num_steps: Number of Lanczos vectors, ``1 <= num_steps <= dim``.
        generator: Source of the random start (Rademacher) when ``v0`` is not given.
        v0: Start vector (normalised here).
        reorthogonalize: Re-orthogonalise against all previous vectors (memory ``dim·num_steps``).
        check_symmetry: Spend two products on :func:`check_symmetric` first.
        block: Whether a plain callable accepts ``(dim, p)`` blocks (default ``False``).
        dtype: Dtype of the Lanczos vectors (default the operator's, else float64).
        device: Their device (default the operator's, else CPU).

    Returns:
        A :class:`LanczosResult`.

    Raises:
        ValueError: If ``num_steps`` is not in ``[1, dim]``, ``v0`` has the wrong shape or is
            zero, or the operator is not symmetric.

    Example:
        >>> A = np.diag([1.0, 2.0, 5.0])
        >>> res = lanczos(A, 3, 3, v0=np.ones(3))
        >>> np.round(res.ritz()[0], 10)
        array([1., 2., 5.])
    """
    _check_steps(num_steps, dim)
    op = _Block(matvec, dim, block=block, dtype=dtype, device=device)
    g = _torch_generator(generator)
    if v0 is None:
        V0 = _probes(op.dim, 1, "rademacher", g)
    else:
        V0 = torch.as_tensor(np.asarray(v0) if not isinstance(v0, Tensor) else v0)
        V0 = V0.detach().cpu().to(torch.float64).reshape(-1, 1)
        if V0.shape[0] != op.dim:
            raise ValueError(f"v0 must have length dim={op.dim}, got {V0.shape[0]}")
        nrm = torch.linalg.vector_norm(V0)
        if not bool(torch.isfinite(nrm)) or float(nrm) == 0.0:
            raise ValueError("v0 must be a finite non-zero vector")
        V0 = V0 / nrm
    if check_symmetry:
        _check_symmetric(op, g, None)
    start = op.count
    alpha, beta, _, stops, Q = _block_lanczos(op, V0, num_steps, reorthogonalize)
    k = stops[0] or num_steps
    basis = Q[0, :k].T if Q is not None else torch.empty(op.dim, 0, dtype=op.dtype)
    return LanczosResult(
        alpha=alpha[0, :k].copy(),
        beta=beta[0, : k - 1].copy(),
        basis=basis,
        breakdown=stops[0],
        num_matvecs=op.count - start,
    )


# -------------------------------------------------------------------------------------- SLQ
def slq(
    matvec: Any,
    dim: int,
    num_steps: int,
    *,
    num_probes: int,
    generator: torch.Generator | int | None = None,
    distribution: str = "rademacher",
    reorthogonalize: bool = True,
    check_symmetry: bool = True,
    block: bool | None = None,
    probes_per_pass: int | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> SLQResult:
    r"""Stochastic Lanczos quadrature: one Gauss rule per random probe.

    For each unit probe $v_l$, ``num_steps`` Lanczos steps give
    $T^{(l)} = Y\,\mathrm{diag}(\theta)\,Y^\top$; the nodes are $\theta_j$ and the weights
    $\tau_j = Y_{0j}^2$, so that
    $v_l^\top f(A) v_l \approx \sum_j \tau_j f(\theta_j)$ and, averaged over probes, estimates
    $\operatorname{tr} f(A)/D$ (:func:`trace_of`). The probes advance together: each step is
    one block product of ``num_probes`` columns (one pass over the data for a
    ``HessianOperator``). Plain callables are called column by column unless ``block=True``.

    Args:
        matvec: A symmetric operator (see :func:`lanczos`).
        dim: Its dimension.
        num_steps: Lanczos steps per probe, ``1 <= num_steps <= dim``.
        num_probes: Number of probes (positive).
        generator: Source of the probes (a CPU ``torch.Generator`` or an int seed); probes are
            drawn on the CPU in float64, so results do not depend on the device's RNG.
        distribution: ``"rademacher"`` or ``"gaussian"``.
        reorthogonalize: Full reorthogonalisation (memory ``dim·num_steps·probes``).
        check_symmetry: Spend two products on :func:`check_symmetric` first.
        block: Whether a plain callable accepts ``(dim, p)`` blocks.
        probes_per_pass: Advance at most this many probes together (memory cap); default all.
        dtype: Dtype of the Lanczos vectors (default the operator's, else float64).
        device: Their device (default the operator's, else CPU).

    Returns:
        An :class:`SLQResult`; after a breakdown at step ``k`` a probe's remaining nodes repeat
        its last node with weight 0.

    Raises:
        ValueError: If ``num_steps`` is not in ``[1, dim]``, ``num_probes`` or
            ``probes_per_pass`` is not positive, the distribution is unknown, or the operator
            is not symmetric.

    Example:
        >>> A = np.diag(np.arange(1.0, 11.0))
        >>> r = slq(A, 10, 10, num_probes=4, generator=0, distribution="gaussian")
        >>> round(trace_of(lambda x: x, r)[0], 8) == round(float(np.mean(
        ...     [r.weights[i] @ r.nodes[i] for i in range(4)])), 8)
        True
    """
    _check_steps(num_steps, dim)
    if isinstance(num_probes, bool) or not isinstance(num_probes, (int, np.integer)):
        raise ValueError(f"num_probes must be a positive integer, got {num_probes!r}")
    if num_probes < 1:
        raise ValueError(f"num_probes must be a positive integer, got {num_probes}")
    if probes_per_pass is not None and probes_per_pass < 1:
        raise ValueError(f"probes_per_pass must be positive, got {probes_per_pass}")
    if distribution not in ("rademacher", "gaussian", "normal"):
        raise ValueError(f"distribution must be 'rademacher' or 'gaussian', got {distribution!r}")
    op = _Block(matvec, dim, block=block, dtype=dtype, device=device)
    g = _torch_generator(generator)
    V0 = _probes(op.dim, int(num_probes), distribution, g)
    if check_symmetry:
        _check_symmetric(op, g, None)
    step = probes_per_pass or num_probes
    alphas, betas, lasts, breakdowns = [], [], [], []
    for s in range(0, num_probes, step):
        alpha, beta, last, stops, _ = _block_lanczos(
            op, V0[:, s : s + step], num_steps, reorthogonalize
        )
        alphas.append(alpha)
        betas.append(beta)
        lasts.append(last)
        breakdowns += stops
    alpha, beta = np.concatenate(alphas), np.concatenate(betas)
    nodes, weights = _rules(alpha, beta, breakdowns, num_steps)
    return SLQResult(
        nodes=nodes,
        weights=weights,
        dim=op.dim,
        num_matvecs=op.count,
        breakdowns=breakdowns,
        alpha=alpha,
        beta=beta,
        beta_last=np.concatenate(lasts),
    )


def _rules(
    alpha: np.ndarray, beta: np.ndarray, breakdowns: list[int | None], m: int
) -> tuple[np.ndarray, np.ndarray]:
    p = alpha.shape[0]
    nodes, weights = np.zeros((p, m)), np.zeros((p, m))
    for i in range(p):
        k = min(breakdowns[i] or m, m)
        theta, Y = _eigh_tridiagonal(alpha[i, :k], beta[i, : k - 1])
        tau = Y[0] ** 2
        nodes[i, :k], weights[i, :k] = theta, tau / tau.sum()
        nodes[i, k:] = theta[-1]
    return nodes, weights


def truncate(result: SLQResult, num_steps: int) -> SLQResult:
    """The SLQ rules of the first ``num_steps`` Lanczos steps of each probe, without new products.

    The first ``m`` steps of Lanczos only depend on the start vector, so the leading ``m × m``
    block of a longer run's tridiagonal is exactly the ``m``-step tridiagonal: one run answers
    "how many steps are enough?".

    Args:
        result: An :func:`slq` result (it keeps ``alpha`` and ``beta``).
        num_steps: Steps to keep, between 1 and the steps of ``result``.

    Returns:
        The truncated :class:`SLQResult` (``num_matvecs`` scaled to the steps kept; its
        ``beta_last`` is the coefficient ``beta[:, num_steps - 1]`` of the longer run).

    Raises:
        ValueError: If ``result`` has no tridiagonals or ``num_steps`` is out of range.

    Example:
        >>> r = slq(np.diag(np.arange(20.0)), 20, 10, num_probes=2, generator=0)
        >>> truncate(r, 4).nodes.shape
        (2, 4)
    """
    if result.alpha is None or result.beta is None:
        raise ValueError("result has no tridiagonals (only slq results can be truncated)")
    m_full = result.alpha.shape[1]
    if isinstance(num_steps, bool) or not 1 <= num_steps <= m_full:
        raise ValueError(f"num_steps must be between 1 and {m_full}, got {num_steps}")
    nodes, weights = _rules(result.alpha, result.beta, result.breakdowns, num_steps)
    return SLQResult(
        nodes=nodes,
        weights=weights,
        dim=result.dim,
        num_matvecs=int(round(result.num_matvecs * num_steps / m_full)),
        breakdowns=[b if b is not None and b <= num_steps else None for b in result.breakdowns],
        alpha=result.alpha[:, :num_steps].copy(),
        beta=result.beta[:, : num_steps - 1].copy(),
        beta_last=(
            result.beta[:, num_steps - 1].copy()
            if num_steps < m_full
            else (None if result.beta_last is None else result.beta_last.copy())
        ),
    )


# ------------------------------------------------------------------- guaranteed intervals
# Deflation: a Ritz value whose coupling |β_k z_j| to the residual is at the rounding level of
# the tridiagonal is a node of every Radau rule (weight τ_j); the secular problem drops it.
_DEFLATE = 1e3 * np.finfo(np.float64).eps
# Radau nodes closer than this multiple of the largest deflated coupling are one cluster:
# the deflation may have mixed their weights, so the bounds only use their total.
_CLUSTER = 1e3
# a Radau target whose modified diagonal exceeds this multiple of the scale sits so close to
# a Ritz value that the eigenvalues would lose accuracy; the Gauss values cover it instead
_MAX_OMEGA = 10.0
_CHEAP_CELLS, _CHEAP_PER_CELL = 128, 7
_RULES_PER_ROUND = 4
# rows per block of (points × poles) work arrays: small enough to be reused by the allocator
_CHUNK = 256


def _stable_christoffel(
    y: np.ndarray, poles: np.ndarray, num: np.ndarray, den: np.ndarray, b2: float
) -> np.ndarray:
    # β² (Σ num_j/(θ_j − y))² / (1 + β² Σ den_j/(θ_j − y)²); where y (nearly) hits a pole the
    # sums are rescaled by the nearest pole distance m, so y = θ_j gives the limit num_j²/den_j
    if poles.size == 0 or b2 == 0.0:
        return np.zeros(y.shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = 1.0 / (poles[None, :] - y[:, None])
        out = b2 * (inv @ num) ** 2 / (1.0 + b2 * ((inv * inv) @ den))
        bad = ~np.isfinite(out) | (np.max(np.abs(inv), axis=1) > 1e100)
        if bad.any():
            d = poles[None, :] - y[bad, None]
            m = np.min(np.abs(d), axis=1, keepdims=True)
            r = np.where(d == 0, 1.0, m / d)
            out[bad] = b2 * (r @ num) ** 2 / (m[:, 0] ** 2 + b2 * ((r * r) @ den))
    return out


def _christoffel_and_error(
    y: np.ndarray,
    step: np.ndarray,
    clear: np.ndarray,
    poles: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    b2: float,
) -> tuple[np.ndarray, np.ndarray]:
    # w = β²S²/(1 + β²Q) at y and a bound on its change when y moves by up to ``step``:
    # |w'| step to first order, doubled; infinite where y is not ``clear`` of the poles
    # (by 10 steps, where the first order holds)
    w, dw = np.empty(y.shape), np.empty(y.shape)
    both = np.stack([num, den], axis=1)
    for k in range(0, y.size, _CHUNK):
        x, h = y[k : k + _CHUNK], step[k : k + _CHUNK]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            inv = 1.0 / (poles[None, :] - x[:, None])
            s = inv @ num
            inv *= inv
            ds, q = (inv @ both).T
            inv *= 1.0 / (poles[None, :] - x[:, None])
            dq = 2 * (inv @ den)
            g = 1.0 + b2 * q
            wk = b2 * s * s / g
            slope = np.abs(b2 * s * (2 * ds * g - s * b2 * dq) / (g * g))
        w[k : k + _CHUNK] = wk
        ok = clear[k : k + _CHUNK] & np.isfinite(slope)
        dw[k : k + _CHUNK] = np.where(ok, 2 * slope * h, np.inf)
    bad = ~np.isfinite(w)
    if bad.any():
        w[bad] = _stable_christoffel(y[bad], poles, num, den, b2)
    return w, dw


class _ProbeCMS:
    """Chebyshev–Markov–Stieltjes bounds on one probe's distribution function."""

    def __init__(self, alpha: np.ndarray, beta: np.ndarray, beta_last: float) -> None:
        theta, Y = _eigh_tridiagonal(alpha, beta)
        first, last = Y[0], Y[-1]
        eps = np.finfo(np.float64).eps
        self.alpha, self.beta = alpha, beta
        self.theta = theta
        self.tau = first**2 / np.sum(first**2)
        self.b = abs(float(beta_last))
        self.b2 = self.b**2
        self.scale = max(float(np.max(np.abs(theta))), self.b, np.finfo(np.float64).tiny)
        self.round = 4 * eps * self.scale  # accuracy of the computed Ritz values
        coupling = self.b * np.abs(last)
        live = coupling > _DEFLATE * self.scale
        # Ritz values that (numerically) coincide can only come from a breakdown that the
        # recursion did not detect; their weights are then only known together
        close = np.zeros(theta.size, dtype=bool)
        near = np.diff(theta) <= _DEFLATE * self.scale
        close[1:] |= near
        close[:-1] |= near
        self.robust = bool(np.any(live & close))
        self.clean = live & ~close
        # the Gauss rule's partial sums bound F at the Ritz values (CMS for 2m − 1 moments);
        # at a well-resolved Ritz value they are the limits of the Radau bounds (L, U), so
        # they bound those too
        lo, hi, u_low, l_high = _cumulative_bounds(
            theta[None, :],
            self.tau[None, :],
            np.full((1, theta.size), 64 * eps),
            np.array([_DEFLATE * self.scale]),
        )
        u_low = np.where(self.clean, u_low[0], lo[0])
        l_high = np.where(self.clean, l_high[0], hi[0])
        self.gauss_bounds = (lo[0], hi[0], u_low, l_high)
        self.poles, self.y1z, self.z2 = theta[live], (first * last)[live], (last**2)[live]
        self.fixed, self.fixed_w = theta[~live], self.tau[~live]
        self.cluster = _CLUSTER * float(np.max(coupling[~live], initial=0.0))
        # Christoffel function: exact from the well-resolved poles, plus a bound on the others
        self.clean_poles = theta[self.clean]
        self.clean_y1z, self.clean_z2 = (first * last)[self.clean], (last**2)[self.clean]
        self.other, self.other_y1z = theta[~self.clean], np.abs(first * last)[~self.clean]
        # distances from a deflated Ritz value (a resolved atom) at which to bound the jump of
        # L and U across it: a few multiples of its tiny coupling, above the rounding
        gap = np.maximum(coupling[~live], 2 * self.round)
        self.fixed_gap = (gap[:, None] * np.array([1.0, 10.0, 100.0, 1000.0])).ravel()
        self.fixed_rep = np.repeat(self.fixed, 4)
        if live.all():
            # the (k+1)-point Radau matrix is T_k bordered by β_k and ω (ω placed first)
            self.diag = np.concatenate([[0.0], alpha[::-1]])
            self.off = np.concatenate([[self.b], beta[::-1]])
        elif live.any():
            # the Radau matrix with the deflated Ritz values removed: the arrowhead
            # [[ω, β z'ᵀ], [β z', diag(θ')]] brought to tridiagonal form by Householder
            # reflections that fix the first coordinate (LAPACK dsytrd, lower)
            from scipy.linalg import lapack

            n = self.poles.size
            arrow = np.zeros((n + 1, n + 1))
            arrow[0, 1:] = arrow[1:, 0] = self.b * np.sqrt(self.z2)
            arrow[np.arange(1, n + 1), np.arange(1, n + 1)] = self.poles
            _, self.diag, self.off, _, _ = lapack.dsytrd(arrow, lower=1)
            self.diag[0] = 0.0
        else:
            self.diag = None

    def omega(self, t: np.ndarray) -> np.ndarray:
        # the modified last diagonal entry that makes t a Radau node
        if self.poles.size == 0:
            return t.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return t + self.b2 * (self.z2[None, :] / (self.poles[None, :] - t[:, None])).sum(1)

    def rho_upper(self, s: np.ndarray, delta: float) -> np.ndarray:
        # an upper bound on the Christoffel function ρ = U − L = β²S²/(1 + β²Q) anywhere within
        # ``delta`` of s (and for poles moved by up to ``delta``): S over the well-resolved
        # poles plus a bound on its change, plus a bound on the terms of all other poles;
        # Q only from the resolved poles, at their farthest
        out = np.empty(s.shape)
        for k in range(0, s.size, _CHUNK):
            x = s[k : k + _CHUNK, None]
            dist = np.abs(self.clean_poles[None, :] - x)
            near = np.maximum(dist - delta, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                big_s = np.abs((self.clean_y1z / (self.clean_poles[None, :] - x)).sum(1))
                big_s += delta * (np.abs(self.clean_y1z) / near**2).sum(1)
                if self.other.size:
                    gap = np.maximum(np.abs(self.other[None, :] - x) - delta - self.round, 0.0)
                    big_s += np.where(self.other_y1z == 0.0, 0.0, self.other_y1z / gap).sum(1)
                q = (self.clean_z2 / (dist + delta) ** 2).sum(1)
                out[k : k + _CHUNK] = self.b2 * big_s**2 / (1.0 + self.b2 * q)
        return np.where(np.isnan(out), np.inf, out)

    def _full_rules(self, omegas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the (k+1)-point Radau rules from eigenvectors: backward stable, for the cases where
        # the secular formula is not (numerically coincident Ritz values)
        n = self.alpha.size + 1
        nodes, weights = np.empty((omegas.size, n)), np.empty((omegas.size, n))
        e = np.append(self.beta, self.b)
        for i, om in enumerate(omegas):
            x, V = _eigh_tridiagonal(np.append(self.alpha, om), e)
            nodes[i], weights[i] = x, V[0] ** 2
        return nodes, weights

    def rules(self, targets: np.ndarray, cap: float, delta: float) -> tuple[np.ndarray, ...]:
        # nodes of the Radau rules through the targets and, at each node, bounds on L and U
        # and on F (see _cumulative_bounds); a target next to a live Ritz value needs
        # |ω| > cap (the eigenvalues would lose accuracy) and is skipped. ``delta`` bounds the
        # rounding of the computed nodes.
        from scipy.linalg import lapack

        eps = np.finfo(np.float64).eps
        omegas = self.omega(targets)
        ok = np.isfinite(omegas) & (np.abs(omegas) <= cap)
        targets, omegas = targets[ok], omegas[ok]
        m = omegas.size
        if self.robust:
            nodes, w = self._full_rules(omegas)
            dw = np.full(w.shape, 1e3 * eps)
            fallback = np.ones(m, dtype=bool)
        else:
            parts, weights, errors = [], [], []
            if self.diag is not None:
                red = np.empty((m, self.diag.size))
                d = self.diag.copy()
                for i, om in enumerate(omegas):
                    d[0] = om
                    red[i] = lapack.dsterf(d, self.off)[0]
                # the target is a node by construction: remove the eigensolver's rounding
                rows = np.arange(m)
                near = np.argmin(np.abs(red - targets[:, None]), axis=1)
                snap = np.abs(red[rows, near] - targets) <= delta
                red[rows[snap], near[snap]] = targets[snap]
                exact = np.zeros(red.shape, dtype=bool)
                exact[rows[snap], near[snap]] = True
                red, w, dw = _secular_weights(self, red, omegas, exact)
                parts.append(red)
                weights.append(w)
                errors.append(dw)
            else:  # nothing couples to the residual: the extra node ω has weight 0
                parts.append(omegas[:, None].copy())
                weights.append(np.zeros((m, 1)))
                errors.append(np.zeros((m, 1)))
            parts.append(np.broadcast_to(self.fixed, (m, self.fixed.size)))
            weights.append(np.broadcast_to(self.fixed_w, (m, self.fixed.size)))
            errors.append(np.full((m, self.fixed.size), 64 * eps))
            nodes = np.concatenate(parts, axis=1)
            w, dw = np.concatenate(weights, axis=1), np.concatenate(errors, axis=1)
            # the weights of a rule sum to one; where rounding broke the secular formula, use
            # eigenvectors instead
            fallback = ~(np.abs(w.sum(axis=1) - 1.0) <= 1e-8) | ~(dw.sum(axis=1) <= 1e-7)
            if fallback.any():
                nodes[fallback], w[fallback] = self._full_rules(omegas[fallback])
                dw[fallback] = 1e3 * eps
        order = np.argsort(nodes, axis=1)
        nodes = np.take_along_axis(nodes, order, axis=1)
        w = np.take_along_axis(w, order, axis=1)
        dw = np.take_along_axis(dw, order, axis=1)
        # the target is a node by construction: remove the eigensolver's rounding
        near = np.argmin(np.abs(nodes - targets[:, None]), axis=1)
        rows = np.arange(m)
        snap = np.abs(nodes[rows, near] - targets) <= delta
        nodes[rows[snap], near[snap]] = targets[snap]
        # nodes closer than this may have had their weights mixed by the deflation (or by the
        # rounding of the eigenvectors): only their total counts
        tol = np.where(fallback, _CLUSTER * eps * (np.abs(omegas) + self.scale), self.cluster)
        return (nodes, *_cumulative_bounds(nodes, w, dw, tol))


def _secular_weights(
    cms: _ProbeCMS, nodes: np.ndarray, omegas: np.ndarray, exact: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Weights w = β²S²/(1 + β²Q) of the reduced Radau nodes, with error bounds dw (nodes
    # flagged ``exact`` are the targets, whose position is known exactly).
    # A node y = θ_i + d that the pole θ_i dominates (|d| < 4β|z_i|) is placed by the
    # secular equation, d = β²z_i² / D with D = θ_i + d + β²R_i − ω (R_i: the other
    # poles), which is accurate where the rounding of D is small next to D, and then
    # w = β²(d S_i − y1z_i)² / (d² + β²z_i² + β²d²Q_i), whose relative change is at most
    # twice that of d. Elsewhere the formula is evaluated at the computed node, and dw
    # bounds its change over the eigensolver's rounding of that node.
    eps = np.finfo(np.float64).eps
    poles, y1z, z2, b2 = cms.poles, cms.y1z, cms.z2, cms.b2
    shape = nodes.shape
    y = nodes.ravel().copy()
    om = np.repeat(omegas, shape[1])
    step = np.where(exact.ravel(), 0.0, 16 * eps * (np.abs(om) + cms.scale))
    i = np.clip(np.searchsorted(poles, y), 1, poles.size) - 1
    i = np.where(
        (i + 1 < poles.size)
        & (np.abs(poles[np.minimum(i + 1, poles.size - 1)] - y) < np.abs(poles[i] - y)),
        i + 1,
        i,
    )
    d = y - poles[i]
    w, dw = _christoffel_and_error(y, step, np.abs(d) > 10 * step, poles, y1z, z2, b2)
    # refine only where the plain evaluation is not accurate enough
    near = (np.abs(d) < 4 * cms.b * np.sqrt(z2[i])) & ~exact.ravel() & ~(dw <= 1e-13)
    for k in np.array_split(np.flatnonzero(near), max(1, int(near.sum()) // _CHUNK)):
        if k.size == 0:
            continue
        rows, pole = np.arange(k.size), i[k]
        th, dk, zk, yk = poles[pole], d[k], z2[pole], y1z[pole]
        ok = dk != 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for _ in range(3):
                inv = 1.0 / (poles[None, :] - (th + dk)[:, None])
                inv[rows, pole] = 0.0  # R_i: the other poles only
                terms = b2 * (inv @ z2)
                new_d = b2 * zk / (th + dk + terms - om[k])
                ok &= np.isfinite(new_d) & (np.sign(new_d) == np.sign(dk))
                dk = np.where(ok, new_d, dk)
            size = np.abs(th) + np.abs(dk) + b2 * (np.abs(inv) @ z2) + np.abs(om[k])
            rel_d = 8 * eps * size * np.abs(dk) / (b2 * zk)
            inv = 1.0 / (poles[None, :] - (th + dk)[:, None])
            inv[rows, pole] = 0.0
            s_rest = inv @ y1z
            inv *= inv
            q_rest = inv @ z2
            wk = b2 * (dk * s_rest - yk) ** 2 / (dk**2 + b2 * zk + b2 * dk**2 * q_rest)
        ok &= np.isfinite(wk) & (rel_d < 1e-3)
        k, wk, dk, rel_d, th = k[ok], wk[ok], dk[ok], rel_d[ok], th[ok]
        y[k] = th + dk
        w[k] = wk
        dw[k] = wk * (3 * rel_d + 16 * eps)
    return y.reshape(shape), w.reshape(shape), (dw + 8 * eps * w).reshape(shape)


def _cumulative_bounds(
    nodes: np.ndarray, w: np.ndarray, dw: np.ndarray, tol: np.ndarray
) -> tuple[np.ndarray, ...]:
    # For quadrature rules (rows: sorted nodes, weights w ± dw, exact weights summing to 1),
    # at each node y: lo ≤ Σ_{x<y} w (≤ F(y−) by CMS), hi ≥ Σ_{x≤y} w (≥ F(y)), and bounds on
    # the CMS functions themselves, u_low ≤ U(y) = Σ_{x≤y} w and l_high ≥ L(y) = Σ_{x<y} w.
    # Nodes within ``tol`` of each other form a cluster: only the cluster's total is trusted.
    w_lo, w_hi = np.maximum(w - dw, 0.0), w + dw
    c_lo, c_hi = np.cumsum(w_lo, axis=1), np.cumsum(w_hi, axis=1)
    t_lo, t_hi = c_lo[:, -1:], c_hi[:, -1:]
    below_lo = np.maximum(c_lo - w_lo, 1.0 - (t_hi - (c_hi - w_hi)))  # Σ_{x<y} w ≥
    below_hi = np.minimum(c_hi - w_hi, 1.0 - (t_lo - (c_lo - w_lo)))  # Σ_{x<y} w ≤
    through_lo = np.maximum(c_lo, 1.0 - (t_hi - c_hi))  # Σ_{x≤y} w ≥
    through_hi = np.minimum(c_hi, 1.0 - (t_lo - c_lo))  # Σ_{x≤y} w ≤
    n = nodes.shape[1]
    idx = np.broadcast_to(np.arange(n), nodes.shape)
    new = np.ones(nodes.shape, dtype=bool)
    new[:, 1:] = np.diff(nodes, axis=1) > np.reshape(tol, (-1, 1))
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    end_new = np.ones(nodes.shape, dtype=bool)
    end_new[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(end_new, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    lo = np.take_along_axis(below_lo, start, axis=1)
    hi = np.take_along_axis(through_hi, end, axis=1)
    single = start == end
    # inside a cluster L and U themselves are only bracketed by lo and hi
    u_low = np.where(single, through_lo, lo)
    l_high = np.where(single, below_hi, hi)
    return lo, hi, u_low, l_high


class _Grid:
    """Grid points with bounds on the distribution function of one probe.

    At each ``t``: ``lo ≤ F(t−)`` and ``F(t) ≤ hi``; where the exact CMS values are known also
    ``u_low ≤ U(t)`` and ``l_high ≥ L(t)``, used to bound ``L`` and ``U`` in between through
    the Christoffel function.
    """

    def __init__(self, a: float, b: float, delta: float = 0.0) -> None:
        self.a, self.b, self.delta = a, b, delta
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        t: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        u_low: np.ndarray | None = None,
        l_high: np.ndarray | None = None,
        computed: bool = True,
    ) -> None:
        # without u_low / l_high nothing is known about L and U beyond lo ≤ L, U ≤ hi
        t, lo, hi = (np.ravel(x) for x in (t, lo, hi))
        u_low = lo if u_low is None else np.ravel(u_low)
        l_high = hi if l_high is None else np.ravel(l_high)
        shift = np.full(t.shape, self.delta if computed else 0.0)
        self.parts.append((t, lo, hi, u_low, l_high, shift))

    def assemble(self, rounding: bool = True) -> tuple[np.ndarray, ...]:
        # with ``rounding`` a computed point, whose position is only known to ``delta``, gives
        # its lower bounds from t + delta on and its upper bounds up to t − delta
        t, lo, hi, u_low, l_high, shift = (np.concatenate(x) for x in zip(*self.parts))
        if rounding and np.any(shift > 0):
            one, zero = np.ones_like(t), np.zeros_like(t)
            t, lo, hi, u_low, l_high = (
                np.concatenate(x)
                for x in (
                    (t + shift, t - shift),
                    (lo, zero),
                    (one, hi),
                    (u_low, zero),
                    (one, l_high),
                )
            )
        keep = (t >= self.a) & (t <= self.b)
        t, lo, hi, u_low, l_high = (x[keep] for x in (t, lo, hi, u_low, l_high))
        order = np.argsort(t, kind="stable")
        t, lo, hi, u_low, l_high = (x[order] for x in (t, lo, hi, u_low, l_high))
        t, first = np.unique(t, return_index=True)
        lo = np.maximum.reduceat(lo, first)
        hi = np.minimum.reduceat(hi, first)
        u_low = np.maximum.reduceat(u_low, first)
        l_high = np.minimum.reduceat(l_high, first)
        # F, L and U are non-decreasing; the support holds all the mass
        lo = np.maximum.accumulate(np.clip(lo, 0.0, 1.0))
        hi = np.minimum.accumulate(np.clip(hi, 0.0, 1.0)[::-1])[::-1]
        u_low = np.maximum.accumulate(u_low)
        l_high = np.minimum.accumulate(l_high[::-1])[::-1]
        hi[-1] = 1.0
        return t, lo, hi, u_low, l_high


def _midpoints(left: np.ndarray, right: np.ndarray, pivots: np.ndarray, q: int) -> np.ndarray:
    # q interior points of each cell, geometric about the nearest pivot (breakpoint) when the
    # cell lies on one side of it and spans a large ratio of distances, arithmetic otherwise
    frac = (np.arange(1, q + 1) / (q + 1))[None, :]
    lin = left[:, None] + frac * (right - left)[:, None]
    if pivots.size == 0:
        return lin
    mid = 0.5 * (left + right)
    p = pivots[np.argmin(np.abs(mid[:, None] - pivots[None, :]), axis=1)]
    dl, dr = left - p, right - p
    geo = (dl * dr > 0) & (
        np.maximum(np.abs(dl), np.abs(dr)) > 4 * np.minimum(np.abs(dl), np.abs(dr))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.abs(dl)[:, None] ** (1 - frac) * np.abs(dr)[:, None] ** frac
    return np.where(geo[:, None], p[:, None] + np.sign(dr)[:, None] * g, lin)


def _excess(
    fv: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, delta: float
) -> np.ndarray:
    # how much each cell adds to the width beyond the pointwise band: the change of f times
    # the growth of the bounds across it (cells within the rounding of a point cannot shrink)
    excess = np.max(np.abs(np.diff(fv, axis=1)), axis=0) * (np.diff(lo) + np.diff(hi))
    return np.where(np.diff(t) > 4 * delta, excess, 0.0)


def _eval(functions: list[Callable[[np.ndarray], np.ndarray]], t: np.ndarray) -> np.ndarray:
    out = np.empty((len(functions), t.size))
    for i, f in enumerate(functions):
        v = np.asarray(f(t), dtype=np.float64)
        if v.shape != t.shape:
            raise ValueError(f"f must be vectorised: f(t) has shape {v.shape}, expected {t.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("f returned non-finite values inside the support")
        out[i] = v
    return out


def _probe_interval(
    functions: list[Callable[[np.ndarray], np.ndarray]],
    cms: _ProbeCMS,
    a: float,
    b: float,
    breakpoints: np.ndarray,
    num_rules: int,
    error: float,
) -> tuple[np.ndarray, np.ndarray]:
    inner = breakpoints[(breakpoints > a) & (breakpoints < b)]
    # refinement is geometric about these (f changes fastest next to a kink or an end)
    pivots = np.unique(
        np.concatenate([[a, b], breakpoints[(breakpoints >= a) & (breakpoints <= b)]])
    )
    cap = _MAX_OMEGA * max(cms.scale, abs(a), abs(b))
    # computed nodes are exact up to the rounding of a tridiagonal eigensolver of norm ≤ cap
    grid = _Grid(a, b, 32 * np.finfo(np.float64).eps * cap)
    # at a well-resolved Ritz value the Radau bounds tend to the partial sums of the Gauss
    # weights; at any Ritz value those sums bound F (Chebyshev–Markov–Stieltjes for 2m − 1
    # moments)
    grid.add(cms.theta, *cms.gauss_bounds)
    grid.add(np.array([a, b]), np.zeros(2), np.ones(2), computed=False)
    cheap_rules = cms.diag is None
    # deflated Ritz values (converged, or an atom) get the exact bounds of the rule through them
    fixed = cms.fixed[(cms.fixed > a) & (cms.fixed < b)]
    if not cheap_rules and fixed.size > num_rules // 2:
        fixed = fixed[
            np.argsort(cms.fixed_w[(cms.fixed > a) & (cms.fixed < b)])[-(num_rules // 2) :]
        ]
    targets = np.concatenate([[a, b], inner, fixed])
    used = 0
    while targets.size:
        nodes, *bounds = cms.rules(targets, cap, grid.delta)
        if nodes.shape[0] == 0:
            break
        grid.add(nodes, *bounds)
        used += nodes.shape[0]
        if used >= num_rules:
            break
        # next rules through the middle of the cells where f changes while the bounds grow
        t, lo, hi, _, _ = grid.assemble(rounding=False)
        fv = _eval(functions, t)
        excess = _excess(fv, t, lo, hi, grid.delta)
        worst = np.argsort(excess)[::-1][: 8 * _RULES_PER_ROUND]
        worst = worst[excess[worst] > 0]
        targets = _midpoints(t[worst], t[worst + 1], pivots, 1)[:, 0]
        # a target next to a Ritz value needs a huge ω (inaccurate eigenvalues): skip it
        om = cms.omega(targets)
        targets = targets[np.isfinite(om) & (np.abs(om) <= cap)]
        targets = targets[: min(_RULES_PER_ROUND, num_rules - used)]
    # between grid points, bound L and U through the Christoffel function: U − L = ρ exactly
    t, lo, hi, _, _ = grid.assemble(rounding=False)
    fv = _eval(functions, t)
    excess = _excess(fv, t, lo, hi, grid.delta)
    top = np.argsort(excess)[-_CHEAP_CELLS:]
    top = top[excess[top] > 0]
    s = _midpoints(t[top], t[top + 1], pivots, _CHEAP_PER_CELL).ravel()
    # right beside a deflated Ritz value (a resolved atom) the bounds jump by its weight
    s = np.concatenate([s, cms.fixed_rep - cms.fixed_gap, cms.fixed_rep + cms.fixed_gap])
    s = s[(s > a) & (s < b)]
    if cms.clean_poles.size:  # the Christoffel formula needs s clear of the resolved poles
        pos = np.clip(np.searchsorted(cms.clean_poles, s), 1, cms.clean_poles.size) - 1
        dist = np.minimum(
            np.abs(s - cms.clean_poles[pos]),
            np.abs(s - cms.clean_poles[np.minimum(pos + 1, cms.clean_poles.size - 1)]),
        )
        s = s[dist > max(1e3 * cms.round, 4 * grid.delta)]
    t, lo, hi, u_low, l_high = grid.assemble()
    if s.size:
        r = cms.rho_upper(s, grid.delta)
        i = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2)
        # L(s) = U(s) − ρ(s) ≥ U(t_i) − ρ(s) and U(s) = L(s) + ρ(s) ≤ L(t_{i+1}) + ρ(s)
        s_lo = np.maximum(lo[i], u_low[i] - r)
        s_hi = np.minimum(hi[i + 1], l_high[i + 1] + r)
        good = np.isfinite(r)
        grid.add(s[good], s_lo[good], s_hi[good], computed=False)
        t, lo, hi, _, _ = grid.assemble()
    if error > 0:
        # the runs saw H + E with ‖E‖ ≤ error: by Weyl's inequalities the eigenvalue counts of
        # H and H + E differ by a shift of at most ``error``, so F(t) ≥ lo(t − e) and
        # F(t) ≤ hi(t + e) (in expectation over the probes, which is all the trace needs)
        shifted = _Grid(a, b)
        shifted.add(t + error, lo, np.ones_like(hi), computed=False)
        shifted.add(t - error, np.zeros_like(lo), hi, computed=False)
        shifted.add(pivots, np.zeros(pivots.size), np.ones(pivots.size), computed=False)
        t, lo, hi, _, _ = shifted.assemble()
    fv = _eval(functions, t)
    _check_monotone(fv, t, np.concatenate([[a], inner, [b]]))
    df = np.diff(fv, axis=1)
    up, down = np.maximum(df, 0.0), np.minimum(df, 0.0)
    # ∫ f dμ = f(b) − ∫ F df, with F ≥ lo at the left end of a cell and ≤ hi at its right end
    upper = fv[:, -1] - (up @ lo[:-1] + down @ hi[1:])
    lower = fv[:, -1] - (up @ hi[1:] + down @ lo[:-1])
    return lower, upper


def _check_monotone(fv: np.ndarray, t: np.ndarray, edges: np.ndarray) -> None:
    df = np.diff(fv, axis=1)
    tol = 1e-9 * np.max(np.abs(fv), axis=1, keepdims=True) + 1e-300
    piece = np.searchsorted(edges, 0.5 * (t[:-1] + t[1:])) - 1
    for k in range(edges.size - 1):
        d = df[:, piece == k]
        bad = np.any(d > tol, axis=1) & np.any(d < -tol, axis=1)
        if bad.any():
            raise ValueError(
                f"f is not monotone on [{edges[k]:.6g}, {edges[k + 1]:.6g}]; pass the points where "
                "it changes direction as breakpoints"
            )


def trace_interval(
    f: Callable[[np.ndarray], np.ndarray],
    result: SLQResult,
    *,
    support: tuple[float, float] | None = None,
    breakpoints: Sequence[float] = (0.0,),
    num_se: float = 3.0,
    num_rules: int = 24,
    eigenvalue_error: float | None = None,
) -> tuple[float, float]:
    r"""Guaranteed bounds on $\operatorname{tr} f(H)/D$ from the moments the Lanczos runs saw.

    :func:`trace_of` returns one value of the Gauss rule per probe; its standard error
    measures only the probe noise, never the quadrature bias, which can dominate when $f$
    changes quickly inside a spectral cluster that few Ritz values resolve (a kink at 0 in the
    near-zero bulk of a Hessian). This function returns an interval that holds for *every*
    spectral measure consistent with what each probe's run determined.

    **One probe.** Let $\mu$ be the probe's spectral measure, $F(t) = \mu((-\infty, t])$ its
    distribution function. The $m$ Lanczos steps, with the residual coefficient
    $\beta_m$ (``result.beta_last``), fix the moments $\int x^i\,d\mu$ for $i \le 2m$. For
    any $t$, let $x_0 < \dots < x_m$ and $w_i$ be the nodes and weights of the Gauss–Radau
    rule with a node at $t$: the eigen-decomposition of the $(m+1) \times (m+1)$ Jacobi matrix
    whose last diagonal entry is
    $\omega(t) = t + \beta_m^2 \, [(T_m - t I)^{-1}]_{mm}$. The Chebyshev–Markov–Stieltjes
    inequalities (Akhiezer; Golub & Meurant, *Matrices, Moments and Quadrature*, ch. 6) state
    that for every such $\mu$

    $$L(t) = \sum_{x_i < t} w_i \;\le\; F(t^-) \;\le\; F(t) \;\le\; \sum_{x_i \le t} w_i = U(t),$$

    (proof: the Hermite interpolants of the indicator of $(-\infty, t]$ at the nodes have
    degree $2m$ and lie above, respectively below, it on the whole line), and $U - L$ is the
    Christoffel function $\rho(t) = 1/\sum_{i \le m} p_i(t)^2$. Every node of a Radau rule
    is the prescribed node of that same rule, so one $(m+1)$-point eigenvalue problem gives
    $L$ and $U$ at $m+1$ points; at the Ritz values $\theta_j$ they are the partial sums of
    the Gauss weights. Integrating by parts on the support $[a, b]$,
    $\int f\,d\mu = f(b) - \int_a^b F\,df$, and on a cell $[t_i, t_{i+1}]$ of a grid on which
    $f$ is monotone, $L(t_i) \le F \le U(t_{i+1})$; so

    $$\int f\,d\mu \le f(b) - \sum_i \bigl(\Delta f_i^+ L(t_i) + \Delta f_i^- U(t_{i+1})\bigr)$$

    and the same with $L$ and $U$ exchanged is a lower bound. The discretisation only widens
    the bound (it is a true bound, not an approximation of one). The grid is adaptive:
    ``num_rules`` Radau rules are placed where $\lvert\Delta f\rvert$ times the growth of the
    bounds across a cell is largest, and inside the worst cells $L$ and $U$ are bounded
    further through $U - L = \rho$ (cheap: no eigenvalue problem). After a Lanczos breakdown
    (or $\beta_m = 0$) the rule is exact and the probe's interval is its Gauss value.

    **Rounding.** The Radau nodes and weights come from a secular equation in the eigenbasis
    of $T_m$ (converged Ritz values deflated, as in LAPACK's divide and conquer), with error
    bounds on every weight; the position of every computed node is trusted only to the
    eigensolver's rounding; and the bounds on $F$ are finally moved out by
    ``eigenvalue_error`` (Weyl). So the interval does not depend on rounding luck, but where
    $f$ changes on a scale comparable to $10^{-12} \max\lvert\theta\rvert$ it is wide.

    **Probes.** The mean over probes of the per-probe lower (upper) bounds has expectation at
    most (at least) $\operatorname{tr} f(H)/D$; with two or more probes the bounds are moved
    out by ``num_se`` standard errors of the per-probe lower (upper) bounds. That part is a
    confidence statement over the random probes, not a guarantee; with one probe no allowance
    is made and the interval bounds $v^\top f(H) v$ of that probe.

    The width is that of the sharp pointwise CMS band, $\int \rho\,\lvert df\rvert$, times
    about 1.1 to 1.3 at the default ``num_rules`` (1.05 to 1.1 at 48). The band itself is the
    honest uncertainty: the moments cannot tell where, inside a cluster that no Ritz value
    resolves, the mass lies.

    Args:
        f: Vectorised function of the eigenvalue, continuous, and monotone on each piece of
            the support cut at ``breakpoints``.
        result: An :func:`slq` result (with ``alpha``, ``beta`` and ``beta_last``; also after
            :func:`truncate`), or an exact spectrum from :func:`from_eigenvalues`, for which
            the interval is the exact value twice.
        support: An interval $[a, b]$ assumed to contain the spectrum. Default: the extreme
            Ritz values of all probes moved out by the largest $\lvert\beta_m\rvert$ (an
            assumption, not a certainty: an eigenvalue that no probe has seen yet could lie
            outside; pass a known bound, e.g. from :func:`extreme_eigenvalues`, to be safe).
        breakpoints: The points where ``f`` may change from decreasing to increasing or back
            (default ``(0.0,)``: functions of $\lvert\lambda\rvert$ that are monotone in
            $\lvert\lambda\rvert$, such as the pruning integrands, and monotone functions).
        num_se: Standard errors over probes to widen by (0 for the mean bounds alone).
        num_rules: Radau rules (eigenvalue problems of size ``steps + 1``) per probe; more
            give a tighter grid, at about half a millisecond each for 128 steps (a 128-step,
            4-probe result takes about 0.1 s at the default).
        eigenvalue_error: A bound $e$ on $\lVert E \rVert$, where $H + E$ is the operator the
            runs effectively saw (rounding of the products). By Weyl's inequalities the
            eigenvalue counts of $H$ and $H + E$ differ by a shift of at most $e$, so the
            bounds on $F$ are shifted out by $e$ before integrating. Default: the float64
            rounding $10^3 \varepsilon \max_j \lvert\theta_j\rvert$; for products in float32 pass
            about $10^{-6} \max_j \lvert\theta_j\rvert$ (it matters where $f$ changes on a scale
            that small).

    Returns:
        ``(lower, upper)``.

    Raises:
        ValueError: If ``result`` has no Lanczos coefficients and is not an exact spectrum, has
            no ``beta_last``, ``support`` does not contain the Ritz values, ``breakpoints``,
            ``num_se``, ``num_rules`` or ``eigenvalue_error`` are invalid, or ``f`` is not
            vectorised, finite, and monotone between breakpoints.

    Example:
        >>> A = np.diag(np.linspace(0.0, 1.0, 200))
        >>> r = slq(A, 200, 8, num_probes=1, generator=0)
        >>> lo, hi = trace_interval(lambda x: np.abs(x) / (np.abs(x) + 0.01), r)
        >>> exact = float(np.mean(np.linspace(0, 1, 200) / (np.linspace(0, 1, 200) + 0.01)))
        >>> bool(lo <= exact <= hi), bool(lo <= trace_of(lambda x: x / (x + 0.01), r)[0] <= hi)
        (True, True)
    """
    lower, upper = trace_intervals(
        [f],
        result,
        support=support,
        breakpoints=breakpoints,
        num_se=num_se,
        num_rules=num_rules,
        eigenvalue_error=eigenvalue_error,
    )
    return float(lower[0]), float(upper[0])


def trace_intervals(
    functions: Sequence[Callable[[np.ndarray], np.ndarray]],
    result: SLQResult,
    *,
    support: tuple[float, float] | None = None,
    breakpoints: Sequence[float] = (0.0,),
    num_se: float = 3.0,
    num_rules: int = 24,
    eigenvalue_error: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r""":func:`trace_interval` for several functions at once (e.g. one per radius $R$).

    The Radau rules and the grid are shared (refined where the worst of the functions needs
    it), so a curve of many functions costs little more than one function.

    Args:
        functions: Vectorised functions, each as ``f`` in :func:`trace_interval`.
        result: As in :func:`trace_interval`.
        support: As in :func:`trace_interval`.
        breakpoints: As in :func:`trace_interval` (common to all functions).
        num_se: As in :func:`trace_interval`.
        num_rules: Radau rules per probe, shared by all functions.
        eigenvalue_error: As in :func:`trace_interval`.

    Returns:
        ``(lower, upper)``, arrays with one entry per function.

    Raises:
        ValueError: As :func:`trace_interval`, or if ``functions`` is empty.

    Example:
        >>> r = from_eigenvalues(np.array([0.0, 1.0, 3.0]))
        >>> lo, hi = trace_intervals([np.abs, np.square], r)
        >>> lo.tolist(), hi.tolist()
        ([1.3333333333333333, 3.3333333333333335], [1.3333333333333333, 3.3333333333333335])
    """
    fs = list(functions)
    if not fs or not all(callable(f) for f in fs):
        raise ValueError("functions must be a non-empty sequence of callables")
    if isinstance(num_se, bool) or not (
        isinstance(num_se, (int, float)) and 0 <= num_se < math.inf
    ):
        raise ValueError(f"num_se must be a finite non-negative number, got {num_se!r}")
    if isinstance(num_rules, bool) or not isinstance(num_rules, (int, np.integer)) or num_rules < 2:
        raise ValueError(f"num_rules must be an integer >= 2, got {num_rules!r}")
    if eigenvalue_error is not None and (
        isinstance(eigenvalue_error, bool)
        or not isinstance(eigenvalue_error, (int, float))
        or not 0 <= eigenvalue_error < math.inf
    ):
        raise ValueError(
            f"eigenvalue_error must be a finite non-negative number, got {eigenvalue_error!r}"
        )
    bps = np.asarray(breakpoints, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(bps)):
        raise ValueError(f"breakpoints must be finite numbers, got {breakpoints!r}")
    bps = np.unique(bps)
    if result.alpha is None:
        d = result.nodes.shape[1]
        if (
            result.num_probes == 1
            and d == result.dim
            and np.all(result.weights == result.weights[0, 0])
        ):
            exact = np.array([trace_of(f, result)[0] for f in fs])
            return exact, exact.copy()
        raise ValueError(
            "result has no Lanczos coefficients (alpha, beta, beta_last): only slq results "
            "(or exact spectra from from_eigenvalues) have guaranteed intervals"
        )
    if result.beta is None or result.beta_last is None:
        raise ValueError("result has no beta_last (the last Lanczos residual): re-run slq")
    alpha = np.asarray(result.alpha, dtype=np.float64)
    beta = np.asarray(result.beta, dtype=np.float64)
    beta_last = np.asarray(result.beta_last, dtype=np.float64)
    p = result.num_probes
    if alpha.ndim != 2 or alpha.shape[0] != p or beta.shape != (p, alpha.shape[1] - 1):
        raise ValueError(
            f"alpha and beta must have shapes (probes, m) and (probes, m - 1), got "
            f"{alpha.shape} and {beta.shape} for {p} probes"
        )
    if beta_last.shape != (p,):
        raise ValueError(f"beta_last must have shape ({p},), got {beta_last.shape}")
    live = result.weights > 0
    lo_ritz, hi_ritz = float(result.nodes[live].min()), float(result.nodes[live].max())
    if support is None:
        pad = float(np.max(np.abs(beta_last)))
        a, b = lo_ritz - pad, hi_ritz + pad
    else:
        try:
            a, b = (float(x) for x in support)
        except (TypeError, ValueError):
            raise ValueError(f"support must be a pair (a, b) of numbers, got {support!r}") from None
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise ValueError(f"support must be finite with a < b, got {support!r}")
        # Ritz values lie in the spectrum's hull, up to the rounding of the eigensolver
        slack = 1e3 * np.finfo(np.float64).eps * max(abs(lo_ritz), abs(hi_ritz))
        if a > lo_ritz + slack or b < hi_ritz - slack:
            raise ValueError(
                f"support [{a:.6g}, {b:.6g}] must contain every Ritz value "
                f"([{lo_ritz:.6g}, {hi_ritz:.6g}]): the Ritz values lie in the spectrum's hull"
            )
        a, b = min(a, lo_ritz), max(b, hi_ritz)
    if eigenvalue_error is None:
        error = 1e3 * np.finfo(np.float64).eps * max(abs(lo_ritz), abs(hi_ritz))
    else:
        error = float(eigenvalue_error)
    lower = np.empty((len(fs), p))
    upper = np.empty_like(lower)
    done: dict[bytes, int] = {}  # probes with identical runs (Rademacher on a diagonal)
    for i in range(p):
        key = alpha[i].tobytes() + beta[i].tobytes() + beta_last[i].tobytes()
        if key in done:
            lower[:, i], upper[:, i] = lower[:, done[key]], upper[:, done[key]]
            continue
        done[key] = i
        if result.breakdowns[i] is not None or beta_last[i] == 0:
            # an exact rule, up to the eigenvalue error of its nodes
            keep = result.weights[i] > 0
            x, w = result.nodes[i, keep], result.weights[i, keep]
            near = [x - error, x + error] + [np.full(x.shape, p) for p in bps]
            vals = np.stack([_eval(fs, y) for y in near])  # (2 + breakpoints, functions, nodes)
            inside = np.stack(
                [np.ones(x.shape, dtype=bool)] * 2 + [np.abs(x - p) <= error for p in bps]
            )[:, None, :]
            lower[:, i] = np.where(inside, vals, np.inf).min(axis=0) @ w
            upper[:, i] = np.where(inside, vals, -np.inf).max(axis=0) @ w
        else:
            cms = _ProbeCMS(alpha[i], beta[i], beta_last[i])
            lower[:, i], upper[:, i] = _probe_interval(fs, cms, a, b, bps, int(num_rules), error)
    lo, hi = lower.mean(axis=1), upper.mean(axis=1)
    if p > 1:
        lo = lo - num_se * lower.std(axis=1, ddof=1) / math.sqrt(p)
        hi = hi + num_se * upper.std(axis=1, ddof=1) / math.sqrt(p)
        # the widening cannot take a bound outside the range of f on the support: f is
        # monotone between breakpoints, so its extremes there are at the ends and breakpoints
        ends = np.array(sorted({a, b, *[x for x in bps if a < x < b]}))
        values = np.stack([_eval(fs, np.array([x]))[:, 0] for x in ends])
        lo, hi = np.maximum(lo, values.min(axis=0)), np.minimum(hi, values.max(axis=0))
    return lo, hi


def density(result: SLQResult, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed spectral density on a grid, for plots only.

    ``φ(t) = (1/n_v) Σ_l Σ_j τ_j g_σ(t − θ_j)``, which integrates to one over the real line.
    Integrating a function against this curve on a grid is biased (by ``σ`` and the grid);
    use :func:`trace_of` for numbers.

    Args:
        result: Quadrature rules.
        grid: Points ``t`` at which to evaluate.
        sigma: Standard deviation of the Gaussian kernel (positive).

    Returns:
        The density at each grid point, an array of the grid's shape.

    Raises:
        ValueError: If ``sigma`` is not positive.

    Example:
        >>> r = from_eigenvalues(np.array([0.0]))
        >>> t = np.linspace(-1, 1, 2001)
        >>> round(float(np.trapezoid(density(r, t, 0.1), t)), 6)
        1.0
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    t = np.asarray(grid, dtype=np.float64)
    flat = t.reshape(-1)
    out = np.zeros_like(flat)
    norm = 1.0 / (sigma * math.sqrt(2 * math.pi) * result.num_probes)
    for th, w in zip(result.nodes, result.weights):
        keep = w > 0
        z = (flat[:, None] - th[keep][None, :]) / sigma
        out += np.exp(-0.5 * z * z) @ w[keep]
    return (out * norm).reshape(t.shape)


def extreme_eigenvalues(
    matvec: Any,
    dim: int,
    *,
    k: int = 1,
    method: str = "lanczos",
    num_steps: int | None = None,
    generator: torch.Generator | int | None = None,
    tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest and ``k`` largest (algebraic) eigenvalues.

    Args:
        matvec: A symmetric operator (see :func:`lanczos`).
        dim: Its dimension.
        k: How many at each end.
        method: ``"lanczos"`` (Ritz values of one run of ``num_steps`` steps; the extremes
            converge first) or ``"eigsh"`` (SciPy's ARPACK, ``which="SA"`` and ``"LA"``,
            through a LinearOperator).
        num_steps: Lanczos steps (default ``min(dim, max(64, 4k))``).
        generator: Source of the random start.
        tol: ARPACK's relative tolerance.

    Returns:
        ``(smallest, largest)``, each ascending, of length ``k``.

    Raises:
        ValueError: If ``method`` is unknown or ``k`` is out of range.

    Example:
        >>> lo, hi = extreme_eigenvalues(np.diag(np.arange(10.0)), 10, k=2)
        >>> np.round(lo, 8).tolist(), np.round(hi, 8).tolist()
        ([0.0, 1.0], [8.0, 9.0])
    """
    if not 1 <= k <= dim:
        raise ValueError(f"k must be between 1 and dim={dim}, got {k}")
    if method == "lanczos":
        steps = num_steps or min(dim, max(64, 4 * k))
        theta, _ = lanczos(matvec, dim, steps, generator=generator).ritz()
        if theta.size < k:
            raise ValueError(f"Lanczos found only {theta.size} Ritz values (breakdown); k={k}")
        return theta[:k].copy(), theta[-k:].copy()
    if method == "eigsh":
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = _Block(matvec, dim, block=None, dtype=None, device=None)

        def mv(x: np.ndarray) -> np.ndarray:
            X = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(dim, -1))
            return op(X.to(op.device, op.dtype)).detach().cpu().to(torch.float64).numpy()

        lin = LinearOperator((dim, dim), matvec=mv, matmat=mv, dtype=np.float64)
        rng = np.random.default_rng(int(_torch_generator(generator).initial_seed()))
        start = rng.standard_normal(dim)
        lo = np.sort(eigsh(lin, k=k, which="SA", tol=tol, v0=start, return_eigenvectors=False))
        hi = np.sort(eigsh(lin, k=k, which="LA", tol=tol, v0=start, return_eigenvectors=False))
        return lo, hi
    raise ValueError(f"method must be 'lanczos' or 'eigsh', got {method!r}")


def trace(
    operator: Any,
    num_matvecs: int,
    *,
    method: str = "hutchpp",
    distribution: str = "rademacher",
    generator: torch.Generator | int | None = None,
) -> float:
    """Randomised trace estimate with curvlinops' Hutchinson, Hutch++ or XTrace.

    All probes go through the operator as one block (one data pass for a ``HessianOperator``).
    curvlinops draws from torch's global generator; here it is seeded from ``generator`` inside
    ``torch.random.fork_rng``, so the call is reproducible and leaves global state untouched.

    Args:
        operator: A torch matrix, a ``HessianOperator`` or a curvlinops operator (anything with
            ``shape``, ``dtype``, ``device`` and ``@``).
        num_matvecs: Products to spend (below the dimension; a multiple of 3 for Hutch++, even
            for XTrace).
        method: ``"hutchinson"``, ``"hutchpp"`` or ``"xtrace"``.
        distribution: ``"rademacher"`` or ``"normal"`` (Hutchinson and Hutch++ only).
        generator: Seed source.

    Returns:
        The estimate of ``tr(A)``.

    Raises:
        ValueError: If ``method`` is unknown (curvlinops raises for a bad ``num_matvecs``).

    Example:
        >>> B = torch.randn(100, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> A = B @ B.T  # rank 5: Hutch++ with 30 products captures it exactly
        >>> bool(abs(trace(A, 30, method="hutchpp", generator=0) - float(A.trace())) < 1e-8)
        True
    """
    from curvlinops import hutchinson_trace, hutchpp_trace, xtrace

    fns = {"hutchinson": hutchinson_trace, "hutchpp": hutchpp_trace, "xtrace": xtrace}
    if method not in fns:
        raise ValueError(f"method must be one of {sorted(fns)}, got {method!r}")
    seed = int(torch.randint(0, 2**62, (1,), generator=_torch_generator(generator)))
    device = getattr(operator, "device", torch.device("cpu"))
    devices = [device] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if method == "xtrace":
            return float(xtrace(operator, num_matvecs))
        return float(fns[method](operator, num_matvecs, distribution=distribution))
