"""Spectra of symmetric operators: Lanczos, stochastic Lanczos quadrature, trace estimators.

The central object is :class:`SLQResult`, a set of Gauss quadrature rules, one per probe vector:
nodes ``θ_j`` (Ritz values) and weights ``τ_j`` (squared first components of the eigenvectors of
the Lanczos tridiagonal), each row summing to one. Spectral functionals are estimated by the direct
quadrature

    tr f(H)/D ≈ (1/n_v) Σ_l Σ_j τ_j^(l) f(θ_j^(l)),

never through a smoothed density on a grid, which is biased (the chapter on Lanczos and SLQ
shows by how much).
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
    "truncate",
    "trace_of",
]


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
        alpha: Per probe, the diagonal of the Lanczos tridiagonal, ``(num_probes, m)`` (zero
            after a breakdown), or ``None``; kept by :func:`slq` so that :func:`truncate` can
            give the rule of any smaller number of steps without new products.
        beta: The off-diagonals, ``(num_probes, m − 1)``, or ``None``.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int
    num_matvecs: int = 0
    breakdowns: list[int | None] = field(default_factory=list)
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None

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
) -> tuple[np.ndarray, np.ndarray, list[int | None], Tensor | None]:
    # p independent Lanczos recursions, one per column of V0, sharing the products; returns
    # float64 alpha (p, m), beta (p, m-1), the breakdown step per column, and the basis
    # (p, m, dim) when reorthogonalising
    dim, p = V0.shape
    m = num_steps
    alpha = np.zeros((p, m))
    beta = np.zeros((p, max(m - 1, 0)))
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
        if j == m - 1:
            break
        b = torch.sqrt(torch.sum(w * w, dim=0, dtype=torch.float64))
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
    return alpha, beta, stops, Q


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
    alpha, beta, stops, Q = _block_lanczos(op, V0, num_steps, reorthogonalize)
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
    alphas, betas, breakdowns = [], [], []
    for s in range(0, num_probes, step):
        alpha, beta, stops, _ = _block_lanczos(op, V0[:, s : s + step], num_steps, reorthogonalize)
        alphas.append(alpha)
        betas.append(beta)
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
        The truncated :class:`SLQResult` (``num_matvecs`` scaled to the steps kept).

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
    )


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
