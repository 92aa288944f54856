r"""The prediction engine: every predictor of the pruning limit from one call and one operator.

:func:`predict_pruning_limit` takes a trained network and its training data, in any of the usual
forms, and returns a :class:`PruningPrediction` with an estimate of the largest removable
fraction (sparsity) from each predictor:

* ``paper``: the fixed point $s^* = s(R(s^*))$ of the paper's curve
  $s(R) = \frac1D\sum_i 2\epsilon/(2\epsilon + \lvert\lambda_i\rvert R^2)$
  (:func:`pnlib.bounds.predicted_sparsity`), with its lower and upper bounds;
* ``free``: the same fixed point with the re-fitted, rotation-invariant large-$D$ curve;
* ``taylor``: the largest grid sparsity whose second-order Taylor increase along the magnitude
  pruning path, $g^\top\Delta + \frac12\Delta^\top H\Delta$, is at most $\epsilon$
  (:func:`pnlib.predictors.taylor_curve_quadratic`);
* ``refit``: the same with the kept weights re-fitted inside a trust region of radius $R(s)$
  (Steihaug's truncated CG on the Hessian model, :func:`pnlib.predictors.refit_limit_quadratic`);
  it predicts the *local* refit limit of :mod:`pnlib.refit`;
* ``authors``: the paper's fixed point computed as the authors' code does (:mod:`pnlib.authors`).

One :class:`pnlib.hessian.HessianOperator` over every trainable parameter serves $\epsilon$'s data,
the spectrum (exact or SLQ, on the prunable block), the zero-curvature rows, the Taylor curve,
the refit and the path terms; the prunable block is read through index positions, so no second
operator is built. All settings are validated by :class:`Settings` before any product.

$\epsilon$ is the population standard deviation (``ddof = 0``, as the authors' ``np.std``) of the
mean losses of consecutive batches of 128 training examples, in dataset order, in eval mode.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from pnlib import authors, bounds, predictors, prune, spectrum, train
from pnlib._hvp_cache import available_bytes
from pnlib.magnitude import flat_prunable, magnitude_order, num_removed, removed_sq_norms
from pnlib.predictors import PredictorCost

__all__ = [
    "DEFAULT_PREDICTORS",
    "PREDICTORS",
    "Comparison",
    "Curvature",
    "OutOfTime",
    "PruningPrediction",
    "Settings",
    "as_dataset",
    "batch_loss_eps",
    "boundary_rows",
    "check_eps",
    "compare",
    "estimate_spectrum",
    "half_steps_estimate",
    "path_terms",
    "predict_pruning_limit",
    "summarize_spectrum",
    "zero_curvature_mass",
]

PREDICTORS = ("paper", "free", "taylor", "refit", "authors")
"""Every predictor the engine knows."""
DEFAULT_PREDICTORS = ("paper", "free", "taylor", "refit")
"""Those :func:`predict_pruning_limit` runs unless told otherwise."""
NEGATIVE = bounds.NEGATIVE
ZERO_MASS = ("auto", "always", "never")
DTYPES = ("auto", "float32", "float64")
LossFn = Callable[[Tensor, Tensor], Tensor]
Stage = Callable[[str, list, Callable[[], Any]], Any]


class OutOfTime(Exception):
    """A predictor ran past its time bound."""


# --------------------------------------------------------------------------------- settings


def check_eps(eps: Any) -> float | None:
    """``None`` (the batch-loss rule) or :func:`pnlib.bounds.check_eps`.

    Args:
        eps: The value.

    Returns:
        ``None`` or a float.
    """
    return None if eps is None else bounds.check_eps(eps)


def _positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True)
class Settings:
    r"""Everything a prediction depends on, validated once before any work.

    Attributes:
        eps: Allowed loss increase; ``None``: the batch-loss rule (module docstring).
        eps_batch_size: Batch size of that rule (the paper's 128).
        negative: ``"abs"`` (the paper's $\lvert\lambda\rvert$) or ``"clip"`` (negative → 0).
        exact: ``True`` (dense Hessian and ``eigvalsh``), ``False`` (SLQ) or ``"auto"``: exact
            when $D \le$ ``exact_max_dim``, its memory fits and its measured cost (``D`` products
            at the timed rate plus ``eigvalsh``) is within ``exact_budget_s``.
        exact_max_dim: Largest ``D`` for an exact spectrum in ``"auto"``.
        exact_budget_s: Seconds an exact spectrum may take in ``"auto"``.
        num_steps: Lanczos steps per probe (the paper: 128).
        num_probes: SLQ probes.
        zero_mass: ``"auto"`` (the sampled zero-row fraction is added to SLQ spectra only),
            ``"always"`` or ``"never"``.
        zero_rows: Hessian rows sampled for it (0 skips).
        zero_tol: Threshold on a row's $\ell_1$ norm.
        dtype: ``"auto"`` (float64 when ``D <= exact_max_dim``, else the model's),
            ``"float32"`` or ``"float64"``.
        batch_size: Examples per batch of the Hessian products; ``None``: the operator's.
        seed: Seed of the SLQ probes and the authors' shuffled batches.
        grid_points: Sparsity grid ``i / grid_points`` of the Taylor, refit and authors'
            predictors.
        taylor_points: Points of the Taylor predictor's coarse curve, refined by bisection
            (:func:`pnlib.predictors.taylor_limit_quadratic`).
        predictors: Which predictors to run (``paper`` is always run: the others build on it).
        max_seconds: Time bound of each of ``taylor``, ``refit`` and ``authors``; one that runs
            past it is reported as ``nan`` with a note. ``None``: no bound.
        refit_maxiter: Most CG iterations per refit point.
        refit_rtol: Relative residual at which refit CG stops.
        eta: Failure probability of the paper's bounds.
        interval_width: With SLQ, double the Lanczos steps until the interval on the paper's
            fixed point (:func:`pnlib.bounds.limit_interval`) is at most this wide; ``None``:
            one run of ``num_steps``.
        max_products: Most Hessian-vector products the spectrum may spend on that;
            ``None``: no bound besides ``D`` steps.
    """

    eps: float | None = None
    eps_batch_size: int = 128
    negative: str = "abs"
    exact: bool | str = "auto"
    exact_max_dim: int = 16384
    exact_budget_s: float = 120.0
    num_steps: int = 128
    num_probes: int = 4
    zero_mass: str = "auto"
    zero_rows: int = 100
    zero_tol: float = 1e-7
    dtype: str = "auto"
    batch_size: int | None = None
    seed: int = 0
    grid_points: int = 1000
    taylor_points: int = 100
    predictors: tuple[str, ...] = DEFAULT_PREDICTORS
    max_seconds: float | None = None
    refit_maxiter: int = 100
    refit_rtol: float = 1e-3
    eta: float = 0.01
    interval_width: float | None = None
    max_products: int | None = None

    def __post_init__(self) -> None:
        """Validate every field.

        Raises:
            ValueError: Naming the field and what is allowed.
        """
        object.__setattr__(self, "eps", check_eps(self.eps))
        chosen = (self.predictors,) if isinstance(self.predictors, str) else self.predictors
        chosen = tuple(chosen)
        unknown = [p for p in chosen if p not in PREDICTORS]
        if unknown:
            raise ValueError(f"unknown predictors {unknown}; choose from {PREDICTORS}")
        object.__setattr__(self, "predictors", tuple(p for p in PREDICTORS if p in chosen))
        _choice("negative", self.negative, NEGATIVE)
        _choice("zero_mass", self.zero_mass, ZERO_MASS)
        _choice("dtype", self.dtype, DTYPES)
        if self.exact not in (True, False, "auto"):
            raise ValueError(f"exact must be True, False or 'auto', got {self.exact!r}")
        for name in ("eps_batch_size", "exact_max_dim", "num_steps", "num_probes"):
            _positive_int(name, getattr(self, name))
        for name in ("zero_rows", "seed"):
            _positive_int(name, getattr(self, name), 0)
        _positive_int("grid_points", self.grid_points, 2)
        _positive_int("taylor_points", self.taylor_points, 2)
        _positive_int("refit_maxiter", self.refit_maxiter)
        if self.batch_size is not None:
            _positive_int("batch_size", self.batch_size)
        if not (self.zero_tol > 0):
            raise ValueError(f"zero_tol must be > 0, got {self.zero_tol!r}")
        if not (0 < self.refit_rtol < 1):
            raise ValueError(f"refit_rtol must be in (0, 1), got {self.refit_rtol!r}")
        if not (0 < self.eta < 1):
            raise ValueError(f"eta must be in (0, 1), got {self.eta!r}")
        if self.interval_width is not None and not (0 < self.interval_width <= 1):
            raise ValueError(f"interval_width must be in (0, 1], got {self.interval_width!r}")
        if self.max_products is not None:
            _positive_int("max_products", self.max_products)
        for name in ("exact_budget_s", "max_seconds"):
            value = getattr(self, name)
            if value is not None and not (value > 0):
                raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")

    @classmethod
    def from_options(cls, **options: Any) -> Settings:
        """Settings from keyword options, refusing unknown names.

        Args:
            **options: Field names and values.

        Returns:
            The validated settings.

        Raises:
            ValueError: On an unknown name (listing the allowed ones) or a bad value.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise ValueError(f"unknown options {unknown}; allowed: {', '.join(names)}")
        return cls(**options)


# --------------------------------------------------------------------------------- data


def as_dataset(data: Any, model: nn.Module | None = None) -> Dataset:
    """The training data as a map-style ``Dataset``, whatever form it came in.

    Accepted: a ``Dataset``; a ``DataLoader`` (its dataset is used, in order: shuffling and the
    loader's batch size do not change the prediction); a pair ``(X, y)`` of tensors; a list or
    tuple of ``(X, y)`` batches. The inputs' floating dtype must match the model's.

    Args:
        data: The training data.
        model: The network (for the dtype check).

    Returns:
        A Dataset of ``(x, y)`` examples.

    Raises:
        TypeError: For any other kind of data.
        ValueError: If the data are empty, the tensors of a pair differ in length, or the
            inputs' dtype differs from the model's.
    """
    kinds = "a Dataset, a DataLoader, an (X, y) pair of tensors or a list of (X, y) batches"
    if isinstance(data, DataLoader):
        loader = data
        data = loader.dataset
        if isinstance(data, IterableDataset):
            data = list(loader)
    if isinstance(data, Dataset) and not isinstance(data, IterableDataset):
        dataset = data
    elif _is_pair(data):
        X, y = data
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        dataset = TensorDataset(X, y)
    elif isinstance(data, (list, tuple)) and data and all(_is_pair(b) for b in data):
        dataset = TensorDataset(torch.cat([b[0] for b in data]), torch.cat([b[1] for b in data]))
    else:
        raise TypeError(f"data must be {kinds}; got {type(data).__name__}")
    if len(dataset) == 0:
        raise ValueError("the data are empty")
    if model is not None:
        x = dataset[0][0]
        want = next(model.parameters()).dtype
        if isinstance(x, Tensor) and x.is_floating_point() and x.dtype != want:
            raise ValueError(
                f"the inputs are {x.dtype} but the model's parameters are {want}: convert one "
                f"of them (e.g. X.to({want}) or model.to({x.dtype}))"
            )
    return dataset


def _is_pair(obj: Any) -> bool:
    return (
        isinstance(obj, (tuple, list))
        and len(obj) == 2
        and isinstance(obj[0], Tensor)
        and isinstance(obj[1], Tensor)
    )


def batch_loss_eps(
    model: nn.Module,
    data_set: Dataset,
    *,
    batch_size: int = 128,
    loss_fn: LossFn | None = None,
    shuffle_seed: int | None = None,
) -> tuple[float, int]:
    r"""The paper's $\epsilon$: the spread of the mini-batch training losses.

    The population standard deviation (``ddof = 0``, as ``np.std`` in the authors' code) of the
    mean losses of consecutive batches, in eval mode. The authors' batches are shuffled; pass
    ``shuffle_seed`` for that (the engine's ``authors`` predictor does).

    Args:
        model: The trained network.
        data_set: Training data.
        batch_size: Mini-batch size (the paper's 128).
        loss_fn: Batch-mean loss; default cross-entropy.
        shuffle_seed: Shuffle the batches with this seed; ``None``: dataset order.

    Returns:
        ``(eps, num_batches)``.

    Raises:
        ValueError: If there are fewer than two batches or the spread is zero.
    """
    data_set = as_dataset(data_set)
    if shuffle_seed is not None:
        g = torch.Generator().manual_seed(shuffle_seed)
        data_set = torch.utils.data.Subset(data_set, torch.randperm(len(data_set), generator=g))
    losses = train.batch_losses(model, data_set, batch_size=batch_size, loss_fn=loss_fn)
    if losses.numel() < 2:
        raise ValueError(
            f"eps from batch losses needs at least two batches; got {losses.numel()} "
            f"(eps_batch_size {batch_size}, {len(data_set)} examples): pass eps explicitly or a "
            "smaller eps_batch_size"
        )
    eps = float(losses.std(unbiased=False))
    if not eps > 0:
        raise ValueError("the batch losses do not vary (eps would be 0): pass eps explicitly")
    return eps, int(losses.numel())


# --------------------------------------------------------------------------------- curvature


class Curvature:
    """One Hessian operator over every trainable parameter, and its prunable block.

    Args:
        model: The network.
        loss_fn: Batch-mean loss.
        data_set: Training data.
        dtype: Product dtype.
        batch_size: Examples per product batch.
    """

    def __init__(self, model, loss_fn, data_set, dtype, batch_size) -> None:
        from pnlib.hessian import HessianOperator

        self.op = HessianOperator(
            model, loss_fn, data_set, params="all", dtype=dtype, batch_size=batch_size
        )
        self.products = 0
        named = dict(model.named_parameters())
        sizes = [named[n].numel() for n in self.op.names]
        start = dict(zip(self.op.names, np.cumsum([0] + sizes)))
        from pnlib.models import prunable_parameters

        def positions(names: Iterable[str]) -> Tensor:
            return torch.cat([torch.arange(start[n], start[n] + named[n].numel()) for n in names])

        self.prunable = positions(prunable_parameters(model))
        self.authors = torch.sort(positions(authors.parameter_names(model))).values
        self.dim = self.op.shape[0]
        self.weights = flat_prunable(model).to(self.op.dtype).to(self.op.device)
        self.deadline: float | None = None

    def matmat(self, V: Tensor) -> Tensor:
        """``H V`` over all parameters, counting products and honouring the deadline.

        Args:
            V: Block ``(D, k)``.

        Returns:
            ``H V``.

        Raises:
            OutOfTime: Past the deadline of a time-bounded predictor.
        """
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime
        self.products += V.shape[1]
        return self.op @ V.to(self.op.dtype)

    def block(self, positions: Tensor) -> Callable[[Tensor], Tensor]:
        """The product of the block of ``H`` on ``positions`` (pad, multiply, read back).

        Args:
            positions: Coordinates of the block.

        Returns:
            ``V -> H[positions][:, positions] V`` for a vector or a block.
        """
        idx = positions.to(self.op.device)

        def product(V: Tensor) -> Tensor:
            single = V.ndim == 1
            V = V[:, None] if single else V
            full = torch.zeros(self.dim, V.shape[1], dtype=self.op.dtype, device=self.op.device)
            full[idx] = V.to(full)
            out = self.matmat(full)[idx]
            return out[:, 0] if single else out

        return product

    def dense(self, positions: Tensor, columns: int = 64) -> Tensor:
        """The dense block of ``H`` on ``positions``, in float64 on the CPU.

        Args:
            positions: Coordinates of the block.
            columns: Unit vectors per product.

        Returns:
            The symmetrised block.
        """
        n = positions.numel()
        product = self.block(positions)
        H = torch.empty(n, n, dtype=torch.float64)
        for lo in range(0, n, columns):
            hi = min(n, lo + columns)
            E = torch.zeros(n, hi - lo, dtype=self.op.dtype, device=self.op.device)
            E[torch.arange(lo, hi), torch.arange(hi - lo)] = 1
            H[:, lo:hi] = product(E).double().cpu()
        return 0.5 * (H + H.T)


def _exact_affordable(curv: Curvature, settings: Settings, dim: int) -> tuple[bool, str]:
    if settings.exact is not True and settings.exact is not False:
        if dim > settings.exact_max_dim:
            return False, f"D = {dim} > exact_max_dim = {settings.exact_max_dim}"
        need = 3 * 8 * dim * dim
        available = available_bytes(torch.device("cpu"))
        if available and need > available / 4:
            return False, f"the dense Hessian needs {need / 2**30:.1f} GiB"
        product = curv.block(curv.prunable)
        k = min(dim, 32)
        V = torch.randn(dim, k, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        product(V)  # the first product may build the operator's cache
        start = time.perf_counter()
        product(V)
        per_column = (time.perf_counter() - start) / k
        estimate = dim * per_column + 3e-11 * dim**3
        if estimate > settings.exact_budget_s:
            return False, f"an exact spectrum would take about {estimate:.0f} s"
        return True, f"an exact spectrum takes about {estimate:.0f} s"
    return bool(settings.exact), "as asked"


def estimate_spectrum(
    curv: Curvature, settings: Settings, positions: Tensor, exact: bool, probes: int
) -> spectrum.SLQResult:
    """The spectrum of the block of ``H`` on ``positions``: exact, or SLQ with ``probes`` probes.

    Args:
        curv: The operator.
        settings: Steps and seed.
        positions: Coordinates of the block.
        exact: Dense ``eigvalsh`` instead of SLQ.
        probes: SLQ probes.

    Returns:
        The quadrature rule (``num_matvecs`` counts the products spent).
    """
    dim = positions.numel()
    if exact:
        rule = spectrum.from_eigenvalues(torch.linalg.eigvalsh(curv.dense(positions)).numpy())
        rule.num_matvecs = dim
        return rule
    product = curv.block(positions)
    return spectrum.slq(
        _Shaped(product, dim, curv.op.dtype, curv.op.device),
        dim,
        min(settings.num_steps, dim),
        num_probes=probes,
        generator=torch.Generator().manual_seed(settings.seed),
    )


@dataclass
class _Shaped:
    fn: Callable[[Tensor], Tensor]
    n: int
    dtype: torch.dtype
    device: torch.device

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    def __matmul__(self, V: Tensor) -> Tensor:
        return self.fn(V)


def boundary_rows(weights: np.ndarray, num_rows: int) -> np.ndarray:
    r"""Indices of the boundary weights at magnitude quantiles $0, 1/m, \dots, (m-1)/m$.

    At sparsity $q$ the boundary weight is the largest one removed, the
    $\max(1, \lceil q n \rceil)$-th smallest magnitude.

    Args:
        weights: Flat prunable weights.
        num_rows: Number ``m`` of quantiles.

    Returns:
        ``m`` indices into ``weights``.

    Raises:
        ValueError: If ``num_rows < 1``.

    Example:
        >>> boundary_rows(np.array([0.3, -0.1, 0.2, 0.05]), 2).tolist()
        [3, 1]
    """
    if num_rows < 1:
        raise ValueError(f"num_rows must be >= 1, got {num_rows}")
    order = magnitude_order(np.asarray(weights)).numpy()
    n = len(weights)
    ranks = [max(1, math.ceil(q * n / num_rows)) - 1 for q in range(num_rows)]
    return order[np.asarray(ranks, dtype=np.int64)]


def zero_curvature_mass(
    op: Any, weights: np.ndarray, *, num_rows: int = 100, tol: float = 1e-7, block: int = 25
) -> tuple[float, np.ndarray]:
    r"""Fraction of sampled Hessian rows that are numerically zero (the paper's $z$).

    For the boundary weights at ``num_rows`` magnitude quantiles, the rows $H e_j$ are computed
    as products with unit vectors and their $\ell_1$ norms compared with ``tol``. A zero row is an
    exact null direction of $H$ (a zero eigenvalue), which the prediction treats as flat.

    Args:
        op: Hessian operator with ``op @ V`` for a ``(D, k)`` block (or a callable).
        weights: Flat prunable weights (to find the boundary weights).
        num_rows: Rows to sample (the paper: 100).
        tol: Threshold on the row's $\ell_1$ norm (the paper: $10^{-7}$).
        block: Rows computed per product.

    Returns:
        ``(z, row_norms)``.
    """
    rows = boundary_rows(np.asarray(weights), num_rows)
    product = op if callable(op) and not hasattr(op, "shape") else op.__matmul__
    dtype, device = getattr(op, "dtype", torch.float64), getattr(op, "device", "cpu")
    norms = []
    for start in range(0, rows.size, block):
        chunk = rows[start : start + block]
        E = torch.zeros(len(weights), chunk.size, dtype=dtype, device=device)
        E[torch.as_tensor(chunk, device=device), torch.arange(chunk.size, device=device)] = 1
        norms.append(product(E).abs().sum(dim=0).double().cpu().numpy())
    row_norms = np.concatenate(norms)
    return float(np.mean(row_norms < tol)), row_norms


def summarize_spectrum(rule: spectrum.SLQResult, source: str) -> dict[str, Any]:
    r"""Summary numbers of a quadrature rule, as ``metrics.json`` records them.

    ``trace`` is the signed $\operatorname{tr} H$ and ``abs_trace`` is $\operatorname{tr}
    \lvert H\rvert$; ``negative_mass`` counts nodes below $-10^{-9}\max\lvert\theta\rvert$, so
    that the random signs of numerically zero eigenvalues do not count.

    Args:
        rule: Exact or SLQ rule.
        source: ``"exact"`` or ``"slq"``.

    Returns:
        ``source``, ``dim``, ``num_steps``, ``num_probes``, ``num_matvecs``, ``ritz_min``,
        ``ritz_max``, ``trace``, ``trace_stderr``, ``abs_trace``, ``negative_mass``,
        ``negative_tol``, ``near_zero_mass``.
    """
    live = rule.weights > 0
    nodes = rule.nodes[live]
    top = float(np.abs(nodes).max()) if nodes.size else 0.0
    trace, trace_err = spectrum.trace_of(lambda x: x, rule)
    abs_trace, _ = spectrum.trace_of(np.abs, rule)
    negative_tol = 1e-9 * top
    negative, _ = spectrum.trace_of(lambda x: (x < -negative_tol).astype(float), rule)
    near_zero, _ = spectrum.trace_of(lambda x: (np.abs(x) <= 1e-6 * top).astype(float), rule)
    return {
        "source": source,
        "dim": int(rule.dim),
        "num_steps": int(rule.nodes.shape[1]),
        "num_probes": int(rule.num_probes),
        "num_matvecs": int(rule.num_matvecs),
        "ritz_min": float(nodes.min()),
        "ritz_max": float(nodes.max()),
        "trace": trace * rule.dim,
        "trace_stderr": trace_err * rule.dim,
        "abs_trace": abs_trace * rule.dim,
        "negative_mass": negative,
        "negative_tol": negative_tol,
        "near_zero_mass": near_zero,
    }


# --------------------------------------------------------------------------------- result

RECOMMENDATION = {
    "taylor": (
        "the Taylor predictor follows the actual magnitude-pruning path with the measured "
        "gradient and curvature, and is the predictor of the one-shot loss-criterion limit that "
        "the book's runs found closest on every task; the paper's fixed point models the "
        "removed direction as random and drops the gradient term"
    ),
    "paper": (
        "only the paper's fixed point was computed; it models the removed direction as random "
        "and drops the gradient term, so read it against its bounds"
    ),
}


@dataclass
class PruningPrediction:
    r"""Every estimate of the pruning limit of one trained network, with what they cost.

    Attributes:
        estimates: Predicted largest removable fraction per predictor (``nan`` where one was
            stopped by its time bound).
        recommended: The predictor to use; ``why`` says why.
        why: The reason.
        limit: The paper's fixed point with its lower and upper bounds.
        eps: The allowed loss increase; ``eps_source`` says where it came from.
        eps_source: ``"std of batch losses"`` or ``"given"``.
        spectrum: Quadrature rule of the Hessian over the prunable weights (without the
            zero-curvature mass).
        spectrum_source: ``"exact"`` or ``"slq"``.
        zero_mass: Mass put at $\lambda = 0$ in the paper's curve.
        negative: Handling of negative eigenvalues.
        summary: Spectrum summary (:func:`summarize_spectrum`) with the zero-row fraction.
        costs: Per predictor, products, gradients, passes and seconds.
        notes: Things the user should know (vacuous bounds, time bounds, CG).
        details: Curves and intermediate results, for plots.
        weights: The flat prunable weights (float64).
        settings: The settings used.
    """

    estimates: dict[str, float]
    recommended: str
    why: str
    limit: bounds.PruningLimit
    eps: float
    eps_source: str
    spectrum: spectrum.SLQResult = field(repr=False)
    spectrum_source: str
    zero_mass: float
    negative: str
    summary: dict[str, Any] = field(repr=False)
    costs: dict[str, predictors.PredictorCost] = field(repr=False)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict, repr=False)
    weights: np.ndarray = field(default=None, repr=False)
    settings: Settings = field(default_factory=Settings, repr=False)

    @property
    def sparsity(self) -> float:
        """The paper's fixed point $s^*$."""
        return float(self.limit.estimate)

    @property
    def density(self) -> float:
        r"""$\rho^* = 1 - s^*$ of the paper's fixed point."""
        return 1.0 - self.sparsity

    @property
    def bounds(self) -> tuple[float, float]:
        """The paper's lower and upper bounds, as sparsities."""
        return _bounds_as_sparsity(self.limit)

    def theory(self, radius: np.ndarray | float) -> np.ndarray:
        r"""The paper's curve $s(R)$ at the given radii.

        Args:
            radius: Norms $R$ of removed weights.

        Returns:
            Removable fractions, the shape of ``radius``.
        """
        radius = np.atleast_1d(np.asarray(radius, dtype=np.float64))
        return np.asarray(
            bounds.max_sparsity(
                self.spectrum, radius, self.eps, negative=self.negative, zero_mass=self.zero_mass
            ),
            dtype=np.float64,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: estimates, recommendation, bounds, ε, spectrum, costs, notes.

        Returns:
            Plain numbers, strings and lists.
        """
        lower, upper = self.bounds
        return {
            "estimates": dict(self.estimates),
            "recommended": self.recommended,
            "why": self.why,
            "sparsity": self.sparsity,
            "density": self.density,
            "lower": lower,
            "upper": upper,
            "gap_pp": 100.0 * (upper - lower),
            "interval_lower": float(self.limit.interval_lower),
            "interval_upper": float(self.limit.interval_upper),
            "radius": float(self.limit.radius),
            "negative": self.negative,
            "eps": self.eps,
            "eps_source": self.eps_source,
            "spectrum": dict(self.summary),
            "costs": {k: dataclasses.asdict(v) for k, v in self.costs.items()},
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        estimates = ", ".join(f"{k}={v:.4f}" for k, v in self.estimates.items())
        lower, upper = self.bounds
        seconds = sum(c.seconds for c in self.costs.values())
        notes = "".join(f"\n  note: {n}" for n in self.notes)
        return (
            f"PruningPrediction(recommended={self.recommended!r} "
            f"s={self.estimates[self.recommended]:.4f}\n  estimates: {estimates}\n"
            f"  paper: bounds [{lower:.4f}, {upper:.4f}], quadrature interval "
            f"[{self.limit.interval_lower:.4f}, {self.limit.interval_upper:.4f}]\n"
            f"  eps={self.eps:.4g} ({self.eps_source}), "
            f"spectrum: {self.spectrum_source}, D={self.spectrum.dim}, {seconds:.1f} s{notes})"
        )


def _bounds_as_sparsity(limit: bounds.PruningLimit) -> tuple[float, float]:
    lower, upper = float(limit.lower), float(limit.upper)
    return min(lower, upper), max(lower, upper)


def half_steps_estimate(prediction: PruningPrediction) -> float | None:
    """The paper's fixed point from the first half of each probe's Lanczos steps.

    The first ``m`` steps of a run are exactly an ``m``-step run (:func:`pnlib.spectrum.truncate`),
    so this costs no product.

    Args:
        prediction: A prediction.

    Returns:
        The estimate, or ``None`` for an exact spectrum or an SLQ run of fewer than 2 steps.
    """
    rule = prediction.spectrum
    if prediction.spectrum_source != "slq" or rule.alpha is None or rule.alpha.shape[1] < 2:
        return None
    half = spectrum.truncate(rule, rule.alpha.shape[1] // 2)
    return float(
        bounds.predicted_sparsity(
            prediction.weights,
            half,
            prediction.eps,
            zero_mass=prediction.zero_mass,
            negative=prediction.negative,
        ).estimate
    )


# --------------------------------------------------------------------------------- the engine


def _no_stage(name: str, key: list, compute: Callable[[], Any]) -> Any:
    return compute()


def predict_pruning_limit(
    model: nn.Module,
    data: Any,
    *,
    loss_fn: LossFn | None = None,
    settings: Settings | None = None,
    stage: Stage | None = None,
    **options: Any,
) -> PruningPrediction:
    r"""Predict how sparse a trained network can be pruned, by every predictor, in one call.

    Example, on your own trained classifier ``net`` and its training tensors ``X, y``::

        from pnlib.predict import predict_pruning_limit
        p = predict_pruning_limit(net, (X, y))
        print(p)                                  # every estimate, the recommended one, bounds
        s = p.estimates[p.recommended]            # largest removable fraction of the weights

    Args:
        model: The trained network, on its device (left unchanged).
        data: Its training data: a ``Dataset``, a ``DataLoader``, an ``(X, y)`` pair of tensors
            or a list of ``(X, y)`` batches (:func:`as_dataset`), un-augmented.
        loss_fn: Batch-mean loss ``(outputs, targets) -> scalar``; default cross-entropy.
        settings: A :class:`Settings`; or give its fields as keyword options.
        stage: ``stage(name, key, compute)`` runs (or reloads) each stage; the pipeline of
            :mod:`pnlib.experiment` passes its checkpointing here. Default: run it.
        **options: :class:`Settings` fields (``eps``, ``num_steps``, ``predictors``, ...).

    Returns:
        The :class:`PruningPrediction`.

    Raises:
        ValueError: On an invalid option or data, before any Hessian product.
        TypeError: On data of an unknown kind.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(64, 3, generator=g), torch.randint(0, 2, (64,), generator=g)
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        >>> p = predict_pruning_limit(net, (x, y), eps_batch_size=16, grid_points=50)
        >>> p.spectrum_source, sorted(p.estimates), len(repr(p)) < 2000
        ('exact', ['free', 'paper', 'refit', 'taylor'], True)
    """
    if settings is None:
        settings = Settings.from_options(**options)
    elif options:
        raise ValueError(f"give either settings or options, not both: {sorted(options)}")
    data_set = as_dataset(data, model)
    loss_fn = loss_fn or nn.functional.cross_entropy
    stage = stage or _no_stage
    state = _Run(model, loss_fn, data_set, settings, stage)
    return _assemble(state)


def _dtype(settings: Settings, model: nn.Module, dim: int) -> torch.dtype:
    if settings.dtype == "auto":
        return torch.float64 if dim <= settings.exact_max_dim else next(model.parameters()).dtype
    return getattr(torch, settings.dtype)


class _Run:
    """The stages of one prediction, sharing one operator."""

    def __init__(self, model, loss_fn, data_set, settings: Settings, stage: Stage) -> None:
        self.model, self.loss_fn, self.data, self.s, self.stage = (
            model,
            loss_fn,
            data_set,
            settings,
            stage,
        )
        dim = int(flat_prunable(model).numel())
        self.dtype = _dtype(settings, model, dim)
        self.curv = Curvature(model, loss_fn, data_set, self.dtype, settings.batch_size)
        self.weights = self.curv.weights
        self.w64 = self.weights.double().cpu().numpy()
        self.grid = np.arange(settings.grid_points) / settings.grid_points
        # columns per block product: 64 for small networks, fewer as D grows (memory of vmap)
        self.columns = int(min(64, max(1, 2**24 // self.curv.dim)))
        self.costs: dict[str, predictors.PredictorCost] = {}
        self.notes: list[str] = []
        self.details: dict[str, Any] = {}
        self._gradient: Tensor | None = None
        self.dense_authors: Tensor | None = None

    def timed(self, name: str, key: list, compute: Callable[[], Any]) -> Any:
        # run a stage through the hook; its value carries the cost it had when computed
        def measured() -> dict:
            before, start = self.curv.products, time.perf_counter()
            value = compute()
            cost = predictors.PredictorCost(
                self.curv.products - before, 0, 0, time.perf_counter() - start
            )
            return {"value": value, "cost": dataclasses.asdict(cost)}

        out = self.stage(name, [self.s.seed, str(self.dtype), *key], measured)
        self.costs[name] = predictors.PredictorCost(**out["cost"])
        return out["value"]

    def gradient(self) -> Tensor:
        if self._gradient is None:
            self._gradient = self.curv.op.gradient_and_loss()[0]
        return self._gradient

    def bounded(self, name: str, compute: Callable[[], Any]) -> Any:
        # a predictor past its time bound reports nan and a note instead of failing the call
        if self.s.max_seconds is not None:
            self.curv.deadline = time.perf_counter() + self.s.max_seconds
        try:
            return compute()
        except OutOfTime:
            self.notes.append(f"{name} stopped at its time bound of {self.s.max_seconds} s")
            return None
        finally:
            self.curv.deadline = None

    # ---------------------------------------------------------------- stages
    def eps(self) -> tuple[float, str, int]:
        if self.s.eps is not None:
            return self.s.eps, "given", 0
        eps, n = self.timed(
            "eps",
            [self.s.eps_batch_size],
            lambda: batch_loss_eps(
                self.model, self.data, batch_size=self.s.eps_batch_size, loss_fn=self.loss_fn
            ),
        )
        return eps, "std of batch losses", n

    def spectrum(self, num_steps: int | None = None) -> tuple[spectrum.SLQResult, str, str]:
        s = self.s if num_steps is None else dataclasses.replace(self.s, num_steps=num_steps)

        def compute() -> tuple:
            if num_steps is None:
                exact, reason = _exact_affordable(self.curv, s, self.curv.prunable.numel())
            else:
                exact, reason = False, f"{num_steps} steps to narrow the interval on s*"
            if exact and "authors" in s.predictors:
                # one dense Hessian over weights and biases serves both spectra
                self.dense_authors = self.curv.dense(self.curv.authors)
                inner = torch.searchsorted(self.curv.authors, self.curv.prunable)
                block = self.dense_authors[inner][:, inner]
                rule = spectrum.from_eigenvalues(torch.linalg.eigvalsh(block).numpy())
                rule.num_matvecs = self.curv.authors.numel()
            else:
                rule = estimate_spectrum(self.curv, s, self.curv.prunable, exact, s.num_probes)
            return rule, "exact" if exact else "slq", reason

        # "beta_last": rules saved before SLQResult kept the last beta are computed again
        key = [s.exact, s.exact_max_dim, s.num_steps, s.num_probes, "beta_last"]
        name = "spectrum" if num_steps is None else f"spectrum_{num_steps}"
        return self.timed(name, key, compute)

    def zero_mass(self) -> float:
        if self.s.zero_rows == 0:
            return 0.0
        return self.timed(
            "zero_mass",
            [self.s.zero_rows, self.s.zero_tol],
            lambda: zero_curvature_mass(
                self.curv.block(self.curv.prunable),
                self.w64,
                num_rows=self.s.zero_rows,
                tol=self.s.zero_tol,
            )[0],
        )

    def taylor(self, eps: float) -> float:
        def compute() -> predictors.Prediction | None:
            return self.bounded(
                "taylor",
                lambda: predictors.taylor_limit_quadratic(
                    self.weights,
                    self.grid,
                    self.gradient(),
                    self.curv.matmat,
                    eps,
                    positions=self.curv.prunable,
                    num_coarse=self.s.taylor_points,
                    chunk_size=self.columns,
                ),
            )

        found = self.timed("taylor", [self.s.grid_points, self.s.taylor_points, eps], compute)
        self.details["taylor"] = None if found is None else found.curve
        return float("nan") if found is None else found.sparsity

    def refit(self, eps: float) -> float:
        sq = removed_sq_norms(self.w64)

        def radius(s: np.ndarray) -> np.ndarray:
            return np.sqrt(sq[[num_removed(float(x), self.w64.size) for x in s]])

        def compute() -> predictors.Prediction | None:
            return self.bounded(
                "refit",
                lambda: predictors.refit_limit_quadratic(
                    self.weights,
                    self.grid,
                    self.gradient(),
                    self.curv.matmat,
                    eps,
                    positions=self.curv.prunable,
                    radius=radius,
                    rtol=self.s.refit_rtol,
                    maxiter=self.s.refit_maxiter,
                ),
            )

        found = self.timed(
            "refit", [self.s.grid_points, eps, self.s.refit_rtol, self.s.refit_maxiter], compute
        )
        self.details["refit"] = found
        if found is None:
            return float("nan")
        stuck = int((~found.curve.cg_converged).sum())
        if stuck:
            self.notes.append(
                f"refit: CG reached refit_maxiter={self.s.refit_maxiter} at {stuck} of "
                f"{found.curve.sparsity.size} points (the model value is still an upper bound)"
            )
        return found.sparsity

    def path(self, sparsity: float, trace: float) -> dict[str, float]:
        return self.timed(
            "path",
            [round(sparsity, 12), trace],
            lambda: path_terms(self.curv, self.gradient(), sparsity, trace),
        )


def _authors_estimates(
    run: _Run, eps: float, rule: spectrum.SLQResult, exact: bool, z: float
) -> dict:
    # the authors' pipeline on the run's inputs: all their choices, and each one alone
    s = run.s

    def compute() -> dict | None:
        def inputs() -> dict:
            shuffled, _ = batch_loss_eps(
                run.model,
                run.data,
                batch_size=s.eps_batch_size,
                loss_fn=run.loss_fn,
                shuffle_seed=s.seed,
            )
            if exact and run.dense_authors is not None:
                eigs = torch.linalg.eigvalsh(run.dense_authors).numpy()
                full = spectrum.from_eigenvalues(eigs)
            else:
                full = estimate_spectrum(run.curv, s, run.curv.authors, exact, 1)
            return {"eps": shuffled, "spectrum": full}

        return run.bounded("authors", inputs)

    found = run.timed("authors", [s.exact, s.num_steps, s.eps_batch_size], compute)
    if found is None:
        return {"estimate": float("nan"), "quirks": {}}
    top = authors.norm_sum(run.model)

    def estimate(
        integer_radius=False, smoothed_density=False, all_parameters=False, shuffled_eps=False
    ) -> float:
        curve = authors.authors_curve(
            found["spectrum"] if all_parameters else rule,
            found["eps"] if shuffled_eps else eps,
            zero_mass=z,
            smoothed=smoothed_density,
        )
        return authors.grid_argmin(
            run.w64, curve, s.grid_points, integer_radius=integer_radius, radius_top=top
        )

    quirks = {q: estimate(**{q: True}) for q in authors.QUIRKS}
    return {
        "estimate": estimate(**dict.fromkeys(authors.QUIRKS, True)),
        "grid_argmin": estimate(),
        "quirks": quirks,
        "eps_shuffled": found["eps"],
        "dim_all_parameters": int(found["spectrum"].dim),
    }


def _narrow(run: _Run, rule, limit, eps: float, used: float) -> tuple:
    # more Lanczos steps while the interval on s* is wider than asked and the budget allows
    s = run.s
    spent = rule.num_matvecs
    while (
        s.interval_width is not None
        and rule.alpha is not None
        and limit.interval_upper - limit.interval_lower > s.interval_width
    ):
        steps = 2 * rule.alpha.shape[1]
        cost = steps * s.num_probes
        if steps > rule.dim or (s.max_products is not None and spent + cost > s.max_products):
            run.notes.append(
                f"the interval on s* is {limit.interval_upper - limit.interval_lower:.3f} wide "
                f"at {rule.alpha.shape[1]} Lanczos steps, more than interval_width = "
                f"{s.interval_width}; {steps} steps would exceed the budget"
            )
            break
        rule = run.spectrum(steps)[0]
        spent += rule.num_matvecs
        limit = bounds.predicted_sparsity(
            run.w64, rule, eps, negative=s.negative, zero_mass=used, eta=s.eta, interval=True
        )
    run.details["spectrum_products"] = spent
    return rule, limit


def _assemble(run: _Run) -> PruningPrediction:
    # every stage of the run, then the estimates, the recommendation and the notes
    s = run.s
    eps, eps_source, num_batches = run.eps()
    rule, source, reason = run.spectrum()
    z = run.zero_mass()
    used = z if s.zero_mass == "always" or (s.zero_mass == "auto" and source == "slq") else 0.0
    summary = summarize_spectrum(rule, source)
    summary.update(
        zero_row_fraction=z,
        zero_rows=s.zero_rows,
        zero_mass_used=used,
        why=reason,
        eps_batches=num_batches,
    )
    start = time.perf_counter()
    limit = bounds.predicted_sparsity(
        run.w64, rule, eps, negative=s.negative, zero_mass=used, eta=s.eta, interval=True
    )
    rule, limit = _narrow(run, rule, limit, eps, used)
    spent = PredictorCost()
    for name, cost in run.costs.items():
        if name.startswith("spectrum") or name == "zero_mass":
            spent = spent + cost
    run.costs["paper"] = spent
    run.costs["paper"].seconds += time.perf_counter() - start
    estimates = {"paper": float(limit.estimate)}
    if "free" in s.predictors:
        estimates["free"] = float(
            bounds.predicted_sparsity(
                run.w64, rule, eps, negative=s.negative, zero_mass=used, variant="free"
            ).estimate
        )
        run.costs["free"] = run.costs["paper"]
    if "taylor" in s.predictors:
        estimates["taylor"] = run.taylor(eps)
    if "refit" in s.predictors:
        estimates["refit"] = run.refit(eps)
    if "authors" in s.predictors:
        run.details["authors"] = _authors_estimates(run, eps, rule, source == "exact", used)
        estimates["authors"] = run.details["authors"]["estimate"]
    run.details["path"] = run.path(float(limit.estimate), summary["trace"])
    if limit.upper >= 1.0:
        slack = bounds.akf_slack(rule.dim, s.eta)
        run.notes.append(
            f"the paper's upper bound is 1.0 (vacuous): its slack a_eta sqrt(D)/D = "
            f"{slack:.3f} at D = {rule.dim} is too wide to exclude any sparsity"
        )
    recommended = "taylor" if math.isfinite(estimates.get("taylor", float("nan"))) else "paper"
    return PruningPrediction(
        estimates=estimates,
        recommended=recommended,
        why=RECOMMENDATION[recommended],
        limit=limit,
        eps=eps,
        eps_source=eps_source,
        spectrum=rule,
        spectrum_source=source,
        zero_mass=used,
        negative=s.negative,
        summary=summary,
        costs=run.costs,
        notes=run.notes,
        details=run.details,
        weights=run.w64,
        settings=s,
    )


def path_terms(curv: Curvature, gradient: Tensor, sparsity: float, trace: float) -> dict:
    r"""The terms of the second-order model of the loss along the magnitude-pruning step.

    With $\Delta$ the step that removes the fraction ``sparsity`` of the prunable weights, the
    loss changes by about $g^\top\Delta + \tfrac12\Delta^\top H\Delta$. A randomly oriented step
    of the same norm would have $\mathbb E[\Delta^\top H\Delta] = R^2\operatorname{tr}(H)/D$ with
    the *signed* trace; ``alignment`` is the ratio of the measured curvature term to that value.

    Args:
        curv: The operator.
        gradient: $g$ over all parameters.
        sparsity: Fraction removed.
        trace: $\operatorname{tr} H$ over the prunable weights (signed).

    Returns:
        ``radius``, ``linear``, ``quadratic``, ``random_quadratic``, ``alignment``.
    """
    w = curv.weights
    removed = magnitude_order(w)[: num_removed(sparsity, w.numel())].to(w.device)
    step = torch.zeros(curv.dim, dtype=w.dtype, device=w.device)
    idx = curv.prunable.to(w.device)
    step[idx[removed]] = -w[removed]
    quadratic = 0.5 * float(step @ curv.matmat(step[:, None])[:, 0])
    radius2 = float(step @ step)
    random_quadratic = 0.5 * radius2 * trace / w.numel()
    return {
        "radius": math.sqrt(radius2),
        "linear": float(gradient.to(step) @ step),
        "quadratic": quadratic,
        "random_quadratic": random_quadratic,
        "alignment": quadratic / random_quadratic if random_quadratic else float("nan"),
    }


# --------------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Every predictor of the pruning limit beside the measured limits, with costs.

    Attributes:
        predicted: Predicted sparsity per predictor: ``"paper"``, ``"paper_lower"``,
            ``"paper_upper"``, ``"taylor"`` (no refit, Hessian), ``"refit"`` (GGN).
        actual: Measured limit per criterion: ``"accuracy"``, ``"tolerance"``, ``"loss"``.
        costs: Cost per predictor (``"paper"`` counts the products spent on the spectrum).
        eps: The allowed loss increase used by every predictor and the loss criterion.
        details: The curves, the paper's full result and the sweep, for plots.
        notes: What the caller should know (CG that did not converge).
    """

    predicted: dict[str, float]
    actual: dict[str, float]
    costs: dict[str, PredictorCost]
    eps: float
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def errors(self, criterion: str = "loss") -> dict[str, float]:
        """``predicted - actual`` per predictor, against one criterion's actual limit.

        Args:
            criterion: ``"accuracy"``, ``"tolerance"`` or ``"loss"``.

        Returns:
            Signed errors in sparsity (positive: the predictor is optimistic).

        Raises:
            ValueError: If the criterion is unknown.
        """
        _choice("criterion", criterion, prune.CRITERIA)
        return {k: v - self.actual[criterion] for k, v in self.predicted.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no curves).

        Returns:
            Predictions, actual limits, errors against each criterion, costs and ``eps``.
        """
        return {
            "eps": self.eps,
            "predicted": dict(self.predicted),
            "actual": dict(self.actual),
            "errors": {c: self.errors(c) for c in prune.CRITERIA},
            "costs": {k: vars(v).copy() for k, v in self.costs.items()},
        }


def compare(
    model: nn.Module,
    loss_fn: Any,
    train_data: Dataset,
    test_data: Dataset,
    sparsities: Sequence[float] | np.ndarray,
    *,
    eps: float | None = None,
    paper: Any = None,
    paper_kwargs: dict[str, Any] | None = None,
    sweep: prune.SweepResult | None = None,
    tolerance: float = 0.01,
    dtype: torch.dtype | None = torch.float64,
    taylor_kwargs: dict[str, Any] | None = None,
    refit_kwargs: dict[str, Any] | None = None,
    methods: Sequence[str] = ("taylor", "refit"),
) -> Comparison:
    r"""All predictors of the pruning limit and the three actual limits, on one trained network.

    * the paper's fixed point with its lower and upper bounds: ``paper``, a
      :class:`PruningPrediction`, or one computed here by :func:`predict_pruning_limit`
      (options in ``paper_kwargs``);
    * the no-refit Taylor limit (Hessian) and the refit limit (GGN),
      :func:`pnlib.predictors.taylor_limit` and :func:`pnlib.predictors.refit_limit`, on
      ``sparsities``;
    * the actual limits of one-shot magnitude pruning by the accuracy, tolerance and loss
      criteria (:func:`pnlib.prune.actual_limit`) from ``sweep``, or from a new sweep on
      ``sparsities`` (which must then start at 0).

    The paper's cost counts the Hessian products of its spectrum (``D`` for an exact one) and
    of the zero-curvature rows.

    Args:
        model: The trained network (not modified).
        loss_fn: Batch-mean data loss, or ``None`` for cross-entropy.
        train_data: Training set (the curvature, $\epsilon$ and the loss criterion use it).
        test_data: Test set (the accuracy criteria).
        sparsities: Strictly increasing grid of fractions removed, starting at 0.
        eps: Allowed loss increase; default :func:`batch_loss_eps`, the same rule as
            :func:`predict_pruning_limit`.
        paper: A precomputed prediction of the paper's method (its ``eps`` must match).
        paper_kwargs: Options of :func:`predict_pruning_limit`.
        sweep: A sweep of ``model`` with ``train_loss`` and ``test_accuracy``.
        tolerance: Accuracy drop of the tolerance criterion.
        dtype: Dtype of the curvature computations (float64 by default).
        taylor_kwargs: Extra arguments of :func:`pnlib.predictors.taylor_limit`.
        refit_kwargs: Extra arguments of :func:`pnlib.predictors.refit_limit` (default damping
            a hundredth of the mean curvature $\lvert\operatorname{tr} H\rvert/D$, the absolute
            value of the signed trace, ``maxiter`` 100, ``rtol`` 1e-3).
        methods: Which of ``"taylor"`` and ``"refit"`` to run besides the paper's.

    Returns:
        The comparison.

    Raises:
        ValueError: If ``eps <= 0``, the grid is bad, or ``paper`` used another ``eps``.
    """
    grid = predictors._check_grid(sparsities)
    train_data = as_dataset(train_data, model)
    if eps is None:
        eps = batch_loss_eps(model, train_data, loss_fn=loss_fn)[0]
    eps = check_eps(eps)
    run = set(methods)
    if run - {"taylor", "refit"}:
        raise ValueError(f"methods must be among ('taylor', 'refit'), got {tuple(methods)}")
    costs: dict[str, PredictorCost] = {}
    notes: list[str] = []
    if paper is None:
        options = {"dtype": str(dtype).replace("torch.", ""), "predictors": ("paper",)}
        options.update(paper_kwargs or {})
        paper = predict_pruning_limit(model, train_data, loss_fn=loss_fn, eps=eps, **options)
    elif not math.isclose(paper.eps, eps, rel_tol=1e-9):
        raise ValueError(f"the paper's prediction used eps = {paper.eps}, not {eps}")
    costs["paper"] = paper.costs["paper"]
    predicted = {
        "paper": float(paper.limit.estimate),
        "paper_lower": float(paper.limit.lower),
        "paper_upper": float(paper.limit.upper),
    }
    details: dict[str, Any] = {"paper": paper}
    if "taylor" in run:
        details["taylor"] = predictors.taylor_limit(
            model, loss_fn, train_data, grid, eps, dtype=dtype, **(taylor_kwargs or {})
        )
    if "refit" in run:
        # damping: a Levenberg-Marquardt trust region at a hundredth of the mean curvature, so
        # that CG converges in the nearly flat directions; both can be overridden
        mean_curvature = abs(paper.summary["trace"]) / paper.summary["dim"]
        options = {"damping": 1e-2 * mean_curvature, "maxiter": 100, "rtol": 1e-3}
        options.update(refit_kwargs or {})
        details["refit"] = predictors.refit_limit(
            model, loss_fn, train_data, grid, eps, dtype=dtype, **options
        )
        stuck = int((~details["refit"].curve.cg_converged).sum())
        if stuck:
            notes.append(f"refit: CG reached maxiter at {stuck} points")
    for name in ("taylor", "refit"):
        if name in details:
            predicted[name] = details[name].sparsity
            costs[name] = details[name].cost
    if sweep is None:
        measure = train.measure_on({"train": train_data, "test": test_data}, loss_fn=loss_fn)
        sweep = prune.sweep(model, grid, measure)
    actual = {c: prune.actual_limit(sweep, c, tolerance=tolerance, eps=eps) for c in prune.CRITERIA}
    details["sweep"] = sweep
    return Comparison(predicted, actual, costs, eps, details, notes)
