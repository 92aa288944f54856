r"""The paper's experiment end to end: train, sweep, spectrum, predict, measure, write results.

Two entry points:

* :func:`predict_pruning_limit` is what a researcher calls on their own trained network: it
  estimates $\epsilon$, the Hessian spectrum (exact for small $D$, stochastic Lanczos quadrature
  otherwise) and the zero-curvature mass, and returns the predicted pruning limit
  $s^* = s(R(s^*))$ of design.md section 5 with its lower and upper bounds.
* :func:`run` executes one :class:`ExperimentConfig` (one task of the paper, or an embedded one):
  it trains with LOMP (or loads the cached checkpoint), sweeps one-shot global magnitude pruning
  over a grid of sparsities, predicts, measures the actual limit by three criteria and writes
  ``results/<task>/<run>/metrics.json`` and ``env.json`` atomically.

**Resumption.** Training writes a checkpoint every epoch, keyed by a hash of the
training-relevant part of the configuration (:meth:`ExperimentConfig.train_key`), under
``<results_root>/checkpoints/``. Every later stage (sweep, $\epsilon$, spectrum, zero-curvature
mass) stores its output under ``<results_root>/<task>/<run>/checkpoints/`` with a key of its own
inputs, so an interrupted run started again skips what is finished. Every stage draws its
randomness from a generator seeded by the configuration alone, so a resumed run gives exactly the
metrics of an uninterrupted one (only the recorded times differ).

**The schema of ``metrics.json``** (``schema`` = :data:`SCHEMA`); sparsities are fractions
removed, densities fractions kept, and ``*_pp`` values are percentage points:

========================  ======================================================================
key                       content
========================  ======================================================================
``schema``                :data:`SCHEMA`
``task``, ``run``         names of the task and of this run
``config``                the full configuration (:meth:`ExperimentConfig.to_dict`)
``train_key``             hash of the training-relevant configuration (names the checkpoint)
``device``                where the run computed, in words
``dims``                  ``num_parameters``, ``num_prunable`` (= $D$ of the Hessian),
                          ``num_train``, ``num_test``, ``num_hessian`` (examples in $H$)
``dense``                 ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy``
``eps``                   ``value``, ``source`` (``"std of batch losses"`` or ``"given"``),
                          ``batch_size``, ``num_batches``
``spectrum``              ``source`` (``"exact"`` or ``"slq"``), ``dim``, ``num_steps``,
                          ``num_probes``, ``num_matvecs``, ``ritz_min``, ``ritz_max``,
                          ``trace`` and ``trace_stderr`` (of $H$), ``negative_mass``,
                          ``near_zero_mass`` (quadrature mass with $\lvert\theta\rvert \le 10^{-6}
                          \max\lvert\theta\rvert$), ``zero_row_fraction`` (sampled Hessian rows with
                          $\ell_1$ norm below ``zero_tol``), ``zero_rows`` (rows sampled),
                          ``zero_mass_used`` (mass put at $\lambda = 0$ in the prediction)
``prediction``            ``sparsity``, ``density``, ``lower``, ``upper`` (sparsities),
                          ``gap_pp`` (upper minus lower), ``radius`` ($R(s^*)$), ``negative``
``variants``              predicted sparsity with ``abs`` and ``clip`` handling of negative
                          eigenvalues, without the zero-curvature mass, and (``half_steps``,
                          optional, ``null`` for an exact spectrum) from the first half of the
                          Lanczos steps
``actual``                largest sparsity meeting each criterion: ``accuracy`` (the paper's),
                          ``tolerance``, ``loss`` (training-loss increase at most $\epsilon$)
``delta_pp``              $|s^*_{\rm pred} - s_{\rm actual}|$ per criterion, in points
``path``                  the second-order model along the pruning step at $s^*$
                          (:func:`path_terms`): ``radius``, ``linear`` ($g^\top\Delta$),
                          ``quadratic`` ($\tfrac12\Delta^\top H\Delta$), ``random_quadratic``
                          ($\tfrac12 R^2\operatorname{tr}H/D$), ``alignment`` (their ratio)
                          and ``loss_increase`` (measured by the sweep), at ``sparsity``
``times``                 seconds per stage (``train``, ``sweep``, ``eps``, ``spectrum``,
                          ``zero_mass``, ``predict``, ``path``), ``total`` and ``wall``
``reused``                per stage, whether it was loaded from a finished earlier attempt
``curves``                the sweep, compact: ``stride`` (every ``stride``-th grid point),
                          ``sparsity``, ``radius``, ``train_loss``, ``train_accuracy``,
                          ``test_loss``, ``test_accuracy`` and ``theory`` ($s(R)$ at those
                          radii), each rounded to 6 significant digits
========================  ======================================================================
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, Subset

from pnlib import bounds, data, models, prune, repro, spectrum, train
from pnlib.paths import read_json, results_dir, torch_save, write_json

SCHEMA = "pnlib.experiment/1"
"""Version tag written into every ``metrics.json``."""

STAGES = ("train", "sweep", "eps", "spectrum", "zero_mass", "predict", "path")
"""The stages of :func:`run`, in order; each one's time is recorded."""

NEGATIVE = ("abs", "clip")
ZERO_MASS = ("auto", "always", "never")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float64")
CURVE_POINTS = 200
"""At most this many grid points of the sweep go into ``metrics.json``."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LossFn = Callable[[Tensor, Tensor], Tensor]


# --------------------------------------------------------------------------------------------
# the prediction for any trained model
# --------------------------------------------------------------------------------------------


@dataclass
class PruningPrediction:
    r"""The predicted pruning limit of a trained network, with what it was computed from.

    Attributes:
        limit: The fixed point, its bounds and $R(s^*)$, from
            :func:`pnlib.bounds.predicted_sparsity`.
        eps: The allowed loss increase $\epsilon$.
        eps_source: ``"std of batch losses"`` (the paper's rule) or ``"given"``.
        spectrum: The quadrature rule of the Hessian spectrum (exact eigenvalues or SLQ),
            *without* the zero-curvature mass.
        spectrum_source: ``"exact"`` (``eigvalsh`` of the dense Hessian) or ``"slq"``.
        zero_mass: Mass placed at $\lambda = 0$ in the prediction (the paper's "important
            eigenvalues"), a fraction in [0, 1].
        negative: How negative eigenvalues were treated (``"abs"`` or ``"clip"``).
        summary: The spectrum summary (see the module docstring, key ``spectrum``).
        weights: The flat prunable weights the prediction used (float64 numpy array).
    """

    limit: bounds.PruningLimit
    eps: float
    eps_source: str
    spectrum: spectrum.SLQResult
    spectrum_source: str
    zero_mass: float
    negative: str
    summary: dict[str, Any]
    weights: np.ndarray = field(repr=False)

    @property
    def sparsity(self) -> float:
        """Predicted largest removable fraction $s^*$."""
        return float(self.limit.estimate)

    @property
    def density(self) -> float:
        r"""Predicted smallest kept fraction $\rho^* = 1 - s^*$."""
        return 1.0 - self.sparsity

    def theory(self, radius: np.ndarray | float) -> np.ndarray:
        r"""The theory curve $s(R) = 1 - \rho(R)$ at the given radii.

        Args:
            radius: Norms $R$ of removed weights.

        Returns:
            Removable fractions, same shape as ``radius``.
        """
        radius = np.atleast_1d(np.asarray(radius, dtype=np.float64))
        return np.asarray(
            bounds.max_sparsity(
                self.spectrum, radius, self.eps, negative=self.negative, zero_mass=self.zero_mass
            ),
            dtype=np.float64,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (sparsities, bounds, gap, radius at the limit, ε, spectrum).

        Returns:
            A dictionary of plain numbers and strings.
        """
        lower, upper = _bounds_as_sparsity(self.limit)
        return {
            "sparsity": self.sparsity,
            "density": self.density,
            "lower": lower,
            "upper": upper,
            "gap_pp": 100.0 * (upper - lower),
            "radius": float(self.limit.radius),
            "negative": self.negative,
            "eps": self.eps,
            "eps_source": self.eps_source,
            "spectrum": dict(self.summary),
        }


def batch_loss_eps(
    model: nn.Module,
    data_set: Dataset,
    *,
    batch_size: int = 128,
    loss_fn: LossFn | None = None,
) -> tuple[float, int]:
    r"""The paper's $\epsilon$: the standard deviation of the mini-batch training losses.

    The authors' code takes ``np.std`` (population, ``ddof=0``) of the batch-mean losses of one
    pass over the training data in eval mode (paper-notes section 4.1).

    Args:
        model: The trained network.
        data_set: Training data.
        batch_size: Mini-batch size (the paper's 128).
        loss_fn: Batch-mean loss; default cross-entropy.

    Returns:
        ``(eps, num_batches)``.

    Raises:
        ValueError: If there are fewer than two batches or the spread is zero.
    """
    losses = train.batch_losses(model, data_set, batch_size=batch_size, loss_fn=loss_fn)
    if losses.numel() < 2:
        raise ValueError(
            f"eps from batch losses needs at least two batches; got {losses.numel()} "
            f"(batch_size {batch_size}, {len(data_set)} examples): pass eps explicitly"
        )
    eps = float(losses.std(unbiased=False))
    if not eps > 0:
        raise ValueError("the batch losses do not vary (eps would be 0): pass eps explicitly")
    return eps, int(losses.numel())


def _hessian_operator(model, loss_fn, data_set, dtype, batch_size=None):
    from pnlib import hessian

    return hessian.HessianOperator(
        model, loss_fn, data_set, params="prunable", dtype=dtype, batch_size=batch_size
    )


def _use_exact(exact: bool | str, dim: int, max_dim: int) -> bool:
    if exact == "auto":
        return dim <= max_dim
    return bool(exact)


def estimate_spectrum(
    model: nn.Module,
    loss_fn: LossFn,
    data_set: Dataset,
    *,
    exact: bool | str = "auto",
    exact_max_dim: int = 5000,
    num_steps: int = 128,
    num_probes: int = 4,
    dtype: torch.dtype | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[spectrum.SLQResult, str]:
    """The spectrum of the training-loss Hessian over the prunable weights.

    Args:
        model: The trained network.
        loss_fn: Batch-mean loss.
        data_set: Data the Hessian averages over (the training set, as in the paper).
        exact: ``True``: dense Hessian and ``eigvalsh``; ``False``: SLQ; ``"auto"``: exact when
            ``D <= exact_max_dim``.
        exact_max_dim: Largest ``D`` for which ``"auto"`` chooses the exact spectrum.
        num_steps: Lanczos steps per probe (SLQ).
        num_probes: Probe vectors (SLQ).
        dtype: Dtype of the products (default float64 for exact, the model's otherwise).
        batch_size: Examples per batch of the products (memory); default the operator's.
        generator: Source of the probe vectors (default seeded with 0).

    Returns:
        ``(rule, source)`` with ``source`` in ``{"exact", "slq"}``.

    Raises:
        ValueError: If ``exact`` is not a bool or ``"auto"``, or SLQ settings are invalid.
    """
    from pnlib import hessian

    if exact not in (True, False, "auto"):
        raise ValueError(f"exact must be True, False or 'auto', got {exact!r}")
    dim = sum(p.numel() for p in models.prunable_parameters(model).values())
    if _use_exact(exact, dim, exact_max_dim):
        H = hessian.exact_hessian(
            model,
            loss_fn,
            data_set,
            params="prunable",
            dtype=dtype or torch.float64,
            batch_size=batch_size,
        )
        eigenvalues = torch.linalg.eigvalsh(0.5 * (H + H.T).double().cpu()).numpy()
        rule = spectrum.from_eigenvalues(eigenvalues)
        rule.num_matvecs = dim
        return rule, "exact"
    if num_steps < 1 or num_probes < 1:
        raise ValueError(f"num_steps and num_probes must be >= 1, got {num_steps}, {num_probes}")
    op = _hessian_operator(model, loss_fn, data_set, dtype, batch_size)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    rule = spectrum.slq(op, dim, min(num_steps, dim), num_probes=num_probes, generator=generator)
    return rule, "slq"


def boundary_rows(weights: np.ndarray, num_rows: int) -> np.ndarray:
    r"""Indices of the boundary weights at magnitude quantiles $0, 1/m, \dots, (m-1)/m$.

    At sparsity $q$ the boundary weight is the largest one removed, the
    $\max(1, \lceil q n \rceil)$-th smallest magnitude (paper-notes section 4.5).

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
    order = np.argsort(np.abs(weights), kind="stable")
    n = weights.size
    ranks = [max(1, math.ceil(q * n / num_rows)) - 1 for q in range(num_rows)]
    return order[np.asarray(ranks, dtype=np.int64)]


def zero_curvature_mass(
    op: Any, weights: np.ndarray, *, num_rows: int = 100, tol: float = 1e-7, block: int = 10
) -> tuple[float, np.ndarray]:
    r"""Fraction of sampled Hessian rows that are numerically zero (the paper's $z$).

    For the boundary weights at ``num_rows`` magnitude quantiles, the rows $H e_j$ are computed
    as Hessian-vector products with unit vectors and their $\ell_1$ norms compared with ``tol``.
    A zero row is an exact null direction of $H$ (a zero eigenvalue), which the prediction
    treats as infinitely flat. The paper's code uses the same threshold on a batch-summed row
    divided by the number of examples; here the row is the exact one of the mean loss.

    Args:
        op: Hessian operator with ``op @ V`` for a ``(D, k)`` block.
        weights: Flat prunable weights (to find the boundary weights).
        num_rows: Rows to sample (the paper: 100).
        tol: Threshold on the row's $\ell_1$ norm (the paper: $10^{-7}$).
        block: Rows computed per product (memory: ``block`` vectors of size ``D``).

    Returns:
        ``(z, row_norms)``: the fraction of rows below ``tol`` and all sampled row norms.
    """
    rows = boundary_rows(weights, num_rows)
    dim = weights.size
    norms = []
    for start in range(0, rows.size, block):
        chunk = rows[start : start + block]
        E = torch.zeros(dim, chunk.size, dtype=op.dtype, device=op.device)
        E[torch.as_tensor(chunk, device=op.device), torch.arange(chunk.size, device=op.device)] = 1
        norms.append((op @ E).abs().sum(dim=0).double().cpu().numpy())
    row_norms = np.concatenate(norms)
    return float(np.mean(row_norms < tol)), row_norms


def summarize_spectrum(rule: spectrum.SLQResult, source: str, num_steps: int) -> dict[str, Any]:
    """Summary numbers of a quadrature rule for ``metrics.json``.

    Args:
        rule: Exact or SLQ rule.
        source: ``"exact"`` or ``"slq"``.
        num_steps: Lanczos steps requested (reported for SLQ).

    Returns:
        ``source``, ``dim``, ``num_steps``, ``num_probes``, ``num_matvecs``, ``ritz_min``,
        ``ritz_max``, ``trace``, ``trace_stderr``, ``negative_mass``, ``near_zero_mass``.
    """
    live = rule.weights > 0
    nodes = rule.nodes[live]
    top = float(np.abs(nodes).max()) if nodes.size else 0.0
    trace, trace_err = spectrum.trace_of(lambda x: x, rule)
    negative, _ = spectrum.trace_of(lambda x: (x < 0).astype(float), rule)
    near_zero, _ = spectrum.trace_of(lambda x: (np.abs(x) <= 1e-6 * top).astype(float), rule)
    return {
        "source": source,
        "dim": int(rule.dim),
        "num_steps": int(rule.nodes.shape[1]) if source == "exact" else int(num_steps),
        "num_probes": int(rule.num_probes),
        "num_matvecs": int(rule.num_matvecs),
        "ritz_min": float(nodes.min()),
        "ritz_max": float(nodes.max()),
        "trace": trace * rule.dim,
        "trace_stderr": trace_err * rule.dim,
        "negative_mass": negative,
        "near_zero_mass": near_zero,
    }


def _resolve_zero_mass(mode: str, source: str, z: float) -> float:
    if mode == "never":
        return 0.0
    if mode == "always":
        return z
    # exact eigenvalues already contain the null space; SLQ blurs it (paper-notes 4.5)
    return z if source == "slq" else 0.0


def _bounds_as_sparsity(limit: Any) -> tuple[float, float]:
    lower, upper = float(limit.lower), float(limit.upper)
    return min(lower, upper), max(lower, upper)


def predict_from(
    weights: np.ndarray,
    rule: spectrum.SLQResult,
    eps: float,
    *,
    zero_mass: float = 0.0,
    negative: str = "abs",
) -> bounds.PruningLimit:
    r"""Solve the fixed point $s^* = s(R(s^*))$ for given weights, spectrum and $\epsilon$.

    Args:
        weights: Flat prunable weights $w^*$.
        rule: Quadrature rule of the Hessian spectrum.
        eps: Allowed loss increase.
        zero_mass: Mass $z$ added at $\lambda = 0$:
            $s(R) = z + (1 - z)\sum_j \tau_j f(\theta_j)$, as the paper's code does.
        negative: ``"abs"`` (the paper's $\lvert\lambda\rvert$) or ``"clip"`` (negative → 0).

    Returns:
        The :class:`pnlib.bounds.PruningLimit`.

    Raises:
        ValueError: If ``negative`` is unknown.
    """
    if negative not in NEGATIVE:
        raise ValueError(f"negative must be one of {NEGATIVE}, got {negative!r}")
    return bounds.predicted_sparsity(
        np.asarray(weights, dtype=np.float64), rule, eps, negative=negative, zero_mass=zero_mass
    )


def predict_pruning_limit(
    model: nn.Module,
    loss_fn: LossFn | None,
    data_set: Dataset,
    *,
    eps: float | None = None,
    eps_batch_size: int = 128,
    num_steps: int = 128,
    num_probes: int = 4,
    exact: bool | str = "auto",
    exact_max_dim: int = 5000,
    negative: str = "abs",
    zero_mass: str = "auto",
    zero_rows: int = 100,
    zero_tol: float = 1e-7,
    dtype: torch.dtype | None = None,
    generator: torch.Generator | None = None,
) -> PruningPrediction:
    r"""Predict how sparse a trained network can be pruned one-shot (design.md section 5).

    Computes $\epsilon$ (default: the standard deviation of the mini-batch training losses, the
    authors' rule), the spectrum of the training-loss Hessian over the prunable weights (exact
    ``eigvalsh`` for small $D$ when allowed, stochastic Lanczos quadrature otherwise), the
    fraction of numerically zero Hessian rows, and the fixed point $s^* = s(R(s^*))$ with
    $s(R) = \frac1D\sum_i 2\epsilon/(2\epsilon + \lvert\lambda_i\rvert R^2)$ and its bounds.

    Args:
        model: The trained network (on its device; left unchanged).
        loss_fn: Batch-mean loss; ``None`` for cross-entropy.
        data_set: Training data (the Hessian and $\epsilon$ average over it).
        eps: Allowed loss increase; ``None`` for the batch-loss standard deviation.
        eps_batch_size: Batch size of that rule.
        num_steps: Lanczos steps per probe (SLQ; the paper: 128).
        num_probes: SLQ probes (the paper: 1; more give an error bar).
        exact: ``True``, ``False`` or ``"auto"`` (exact when ``D <= exact_max_dim``).
        exact_max_dim: Threshold of ``"auto"``.
        negative: ``"abs"`` or ``"clip"`` treatment of negative eigenvalues.
        zero_mass: ``"auto"`` (add the sampled zero-row fraction to SLQ spectra only; an exact
            spectrum contains its null space), ``"always"`` or ``"never"``.
        zero_rows: Hessian rows sampled for the zero-curvature mass (0 to skip).
        zero_tol: Threshold on a row's $\ell_1$ norm.
        dtype: Dtype of the Hessian products.
        generator: Randomness of SLQ (default seeded with 0).

    Returns:
        The prediction with its bounds, $\epsilon$ and the spectrum summary.

    Raises:
        ValueError: On an invalid option or ``eps <= 0``, before any Hessian product.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(64, 3, generator=g), torch.randint(0, 2, (64,), generator=g)
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        >>> p = predict_pruning_limit(net, None, TensorDataset(x.double(), y), eps_batch_size=16)
        >>> p.spectrum_source, 0.0 <= p.sparsity <= 1.0
        ('exact', True)
    """
    _check_prediction_options(eps, negative, zero_mass, zero_rows, exact)
    loss_fn = loss_fn or nn.functional.cross_entropy
    if eps is None:
        eps_value, _ = batch_loss_eps(model, data_set, batch_size=eps_batch_size, loss_fn=loss_fn)
        eps_source = "std of batch losses"
    else:
        eps_value, eps_source = float(eps), "given"
    rule, source = estimate_spectrum(
        model,
        loss_fn,
        data_set,
        exact=exact,
        exact_max_dim=exact_max_dim,
        num_steps=num_steps,
        num_probes=num_probes,
        dtype=dtype,
        generator=generator,
    )
    weights = prune.flat_prunable(model).double().cpu().numpy()
    z, rows = 0.0, 0
    if zero_rows > 0:
        op = _hessian_operator(model, loss_fn, data_set, dtype)
        z, _ = zero_curvature_mass(op, weights, num_rows=zero_rows, tol=zero_tol)
        rows = zero_rows
    used = _resolve_zero_mass(zero_mass, source, z)
    summary = summarize_spectrum(rule, source, num_steps)
    summary.update(zero_row_fraction=z, zero_rows=rows, zero_mass_used=used)
    limit = predict_from(weights, rule, eps_value, zero_mass=used, negative=negative)
    return PruningPrediction(
        limit, eps_value, eps_source, rule, source, used, negative, summary, weights
    )


def _check_prediction_options(eps, negative, zero_mass, zero_rows, exact) -> None:
    if eps is not None and not (isinstance(eps, (int, float)) and eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive number or None, got {eps!r}")
    if negative not in NEGATIVE:
        raise ValueError(f"negative must be one of {NEGATIVE}, got {negative!r}")
    if zero_mass not in ZERO_MASS:
        raise ValueError(f"zero_mass must be one of {ZERO_MASS}, got {zero_mass!r}")
    if zero_rows < 0:
        raise ValueError(f"zero_rows must be >= 0, got {zero_rows}")
    if exact not in (True, False, "auto"):
        raise ValueError(f"exact must be True, False or 'auto', got {exact!r}")


# --------------------------------------------------------------------------------------------
# configurations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentConfig:
    r"""One task: model, data, LOMP training, sweep, spectrum and prediction settings.

    Attributes:
        task: Name of the task; results go to ``results/<task>/<run>/``.
        model: Architecture, one of :data:`pnlib.models.MODELS`.
        dataset: Dataset, one of :data:`pnlib.data.DATASETS`.
        run: Name of this run of the task.
        seed: Seed of the initialisation, the data order, the subsets and SLQ.
        model_options: Extra keyword arguments of :func:`pnlib.models.build` (e.g. ``hidden``).
        train: Training hyperparameters (a :class:`pnlib.train.TrainConfig` or a mapping).
        data_root: Folder of the paper's datasets (default ``PNLIB_DATA`` or ``<root>/data``).
        train_subset: Train on this many training examples (seeded choice); ``None``: all.
        hessian_subset: Examples the Hessian, $\epsilon$ and the zero rows average over
            (a seeded subset of the training data); ``None``: all, as in the paper.
        sweep_train_subset: Training examples evaluated at each sweep point; ``None``: all.
        grid_points: Sparsity grid ``i / grid_points`` (the paper: 1000).
        tolerance: Accuracy drop of the tolerance criterion (a fraction; 0.01 = one point).
        eps: Allowed loss increase; ``None``: standard deviation of the batch losses.
        eps_batch_size: Batch size of that rule (the paper: 128).
        negative: ``"abs"`` (the paper) or ``"clip"`` treatment of negative eigenvalues.
        exact: ``True``/``False``/``"auto"``: exact spectrum when ``D <= exact_max_dim``.
        exact_max_dim: Threshold of ``"auto"``.
        num_steps: Lanczos steps per SLQ probe (the paper: 128; 96 for AlexNet).
        num_probes: SLQ probes (the paper: 1).
        zero_rows: Hessian rows sampled for the zero-curvature mass (the paper: 100; 0 skips).
        zero_tol: Threshold on a row's $\ell_1$ norm (the paper: 1e-7).
        zero_mass: ``"auto"`` (use it with SLQ only), ``"always"`` or ``"never"``.
        hessian_dtype: ``"auto"`` (float64 for an exact spectrum, the model's otherwise),
            ``"float32"`` or ``"float64"``.
        hessian_batch_size: Examples per batch of the Hessian-vector products (memory);
            ``None``: :class:`pnlib.hessian.HessianOperator`'s default.
        eval_batch_size: Batch size of evaluation during the sweep.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        progress: Show progress bars.
    """

    task: str
    model: str
    dataset: str
    run: str = "default"
    seed: int = 0
    model_options: dict[str, Any] = field(default_factory=dict)
    train: train.TrainConfig = field(default_factory=train.TrainConfig)
    data_root: str | None = None
    train_subset: int | None = None
    hessian_subset: int | None = None
    sweep_train_subset: int | None = None
    grid_points: int = 1000
    tolerance: float = 0.01
    eps: float | None = None
    eps_batch_size: int = 128
    negative: str = "abs"
    exact: bool | str = "auto"
    exact_max_dim: int = 5000
    num_steps: int = 128
    num_probes: int = 1
    zero_rows: int = 100
    zero_tol: float = 1e-7
    zero_mass: str = "auto"
    hessian_dtype: str = "auto"
    hessian_batch_size: int | None = None
    eval_batch_size: int = 1024
    device: str = "auto"
    progress: bool = False

    def __post_init__(self) -> None:
        """Validate names and ranges before any work.

        Raises:
            ValueError: If a name is unknown or a value out of range (the message lists what is
                allowed).
        """
        if isinstance(self.train, dict):
            object.__setattr__(self, "train", train.TrainConfig.from_dict(self.train))
        object.__setattr__(self, "model_options", dict(self.model_options or {}))
        for name in ("task", "run"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _NAME.match(value):
                raise ValueError(
                    f"{name} must be a non-empty name of letters, digits, '.', '_' or '-', "
                    f"got {value!r}"
                )
        if self.model not in models.MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {sorted(models.MODELS)}")
        if self.dataset not in data.DATASETS:
            raise ValueError(
                f"unknown dataset {self.dataset!r}; choose one of {sorted(data.DATASETS)}"
            )
        self._check_choices()
        self._check_ranges()

    def _check_choices(self) -> None:
        choices = {
            "negative": (self.negative, NEGATIVE),
            "zero_mass": (self.zero_mass, ZERO_MASS),
            "hessian_dtype": (self.hessian_dtype, DTYPES),
            "device": (self.device, DEVICES),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.exact not in (True, False, "auto"):
            raise ValueError(f"exact must be true, false or 'auto', got {self.exact!r}")

    def _check_ranges(self) -> None:
        positive = {
            "grid_points": self.grid_points,
            "eps_batch_size": self.eps_batch_size,
            "exact_max_dim": self.exact_max_dim,
            "num_steps": self.num_steps,
            "num_probes": self.num_probes,
            "eval_batch_size": self.eval_batch_size,
            "hessian_batch_size": self.hessian_batch_size,
            "train_subset": self.train_subset,
            "hessian_subset": self.hessian_subset,
            "sweep_train_subset": self.sweep_train_subset,
        }
        bad = {k: v for k, v in positive.items() if v is not None and not _is_int(v, 1)}
        if bad:
            raise ValueError(f"{bad}: these must be integers >= 1 (subsets may be null)")
        if not _is_int(self.seed, 0) or not _is_int(self.zero_rows, 0):
            raise ValueError(
                f"seed and zero_rows must be integers >= 0, got {self.seed}, {self.zero_rows}"
            )
        if not 0.0 <= self.tolerance <= 1.0:
            raise ValueError(f"tolerance is a fraction in [0, 1], got {self.tolerance}")
        if self.eps is not None and not (self.eps > 0 and math.isfinite(self.eps)):
            raise ValueError(f"eps must be a positive number or null, got {self.eps}")
        if not self.zero_tol > 0:
            raise ValueError(f"zero_tol must be > 0, got {self.zero_tol}")

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of the configuration keys.

        Returns:
            The field names, in declaration order.
        """
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        """Build a config from a mapping (a YAML file, notebook parameters), refusing unknown keys.

        Args:
            values: Field names and values; ``train`` may be a mapping of
                :class:`pnlib.train.TrainConfig` fields.

        Returns:
            The validated config.

        Raises:
            ValueError: If a key is unknown (the message lists the allowed ones) or a required
                one missing, or a value is invalid.

        Example:
            >>> ExperimentConfig.from_dict({"task": "t", "model": "mlp", "dataset": "digits",
            ...                             "colour": "red"})
            Traceback (most recent call last):
            ...
            ValueError: unknown experiment settings ['colour']; allowed: task, model, ...
        """
        names = cls.field_names()
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"unknown experiment settings {unknown}; allowed: {', '.join(names)}")
        missing = [n for n in ("task", "model", "dataset") if n not in values]
        if missing:
            raise ValueError(
                f"missing experiment settings {missing} (required: task, model, dataset)"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (``train`` as a mapping).

        Returns:
            Plain values.
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["train"] = dataclasses.asdict(self.train)
        out["train"]["milestones"] = list(self.train.milestones)
        out["model_options"] = json.loads(json.dumps(self.model_options))
        return out

    def train_key(self) -> str:
        """Hash of what determines the trained weights (model, data, subset, seed, training).

        Returns:
            16 hex digits; the training checkpoint is named after it.
        """
        d = self.to_dict()
        return _digest(
            {
                k: d[k]
                for k in ("model", "model_options", "dataset", "train_subset", "seed", "train")
            }
        )


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_config(path: str | os.PathLike) -> ExperimentConfig:
    """Read an ``experiments/*.yaml`` file into a config.

    The file holds ``notebook:`` and ``parameters:`` (the notebook's UPPER_CASE parameters);
    :func:`config_from_parameters` maps those onto the config.

    Args:
        path: The YAML file.

    Returns:
        The validated config.

    Raises:
        ValueError: If the file has no ``parameters`` mapping.
    """
    import yaml

    spec = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(spec, dict) or not isinstance(spec.get("parameters"), dict):
        raise ValueError(f"{path} must hold 'notebook:' and a 'parameters:' mapping")
    return config_from_parameters(spec["parameters"])


TRAIN_PARAMETERS = {
    "EPOCHS": "epochs",
    "BATCH_SIZE": "batch_size",
    "LR": "lr",
    "MOMENTUM": "momentum",
    "WEIGHT_DECAY": "weight_decay",
    "L1": "l1",
    "L1_SCOPE": "l1_scope",
    "SCHEDULE": "schedule",
    "MILESTONES": "milestones",
    "GAMMA": "gamma",
    "WARMUP_EPOCHS": "warmup_epochs",
    "STEP_PER_ITERATION": "step_per_iteration",
}
"""Notebook parameters of chapter 08 that map onto :class:`pnlib.train.TrainConfig` fields."""

NOTEBOOK_ONLY = ("SAVE_RESULTS", "SAVE_FIGS", "RESUME", "DEMO_EXAMPLES")
"""Notebook parameters that do not belong to the configuration."""


def config_from_parameters(parameters: dict[str, Any]) -> ExperimentConfig:
    """Map the UPPER_CASE notebook parameters of chapter 08 onto an :class:`ExperimentConfig`.

    ``EPOCHS``, ``LR`` and the other names in :data:`TRAIN_PARAMETERS` go to ``train``,
    ``MODEL_OPTIONS`` (a mapping) to ``model_options``; every other name is the lower-case config
    key (``TASK`` → ``task``, ``NUM_STEPS`` → ``num_steps``, ...); :data:`NOTEBOOK_ONLY` names are
    ignored.

    Args:
        parameters: Notebook parameters.

    Returns:
        The validated config.

    Raises:
        ValueError: If a name maps onto no config key (the message lists the allowed ones).
    """
    names = set(ExperimentConfig.field_names())
    values: dict[str, Any] = {"train": {}, "model_options": {}}
    unknown = []
    for key, value in parameters.items():
        if key in NOTEBOOK_ONLY:
            continue
        if key in TRAIN_PARAMETERS:
            values["train"][TRAIN_PARAMETERS[key]] = value
        elif key == "MODEL_OPTIONS":
            values["model_options"].update(value or {})
        elif key.lower() in names and key.lower() not in ("train", "model_options"):
            values[key.lower()] = value
        else:
            unknown.append(key)
    if unknown:
        allowed = sorted(
            {n.upper() for n in names} - {"TRAIN"} | set(TRAIN_PARAMETERS) | set(NOTEBOOK_ONLY)
        )
        raise ValueError(f"unknown parameters {sorted(unknown)}; allowed: {', '.join(allowed)}")
    return ExperimentConfig.from_dict(values)


# --------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    r"""What :func:`run` produced.

    Attributes:
        metrics: The content of ``metrics.json``.
        directory: ``<results_root>/<task>/<run>``.
        model: The trained network (dense, in eval mode).
        sweep: The full pruning sweep.
        prediction: The prediction (spectrum, ε, bounds).
        history: Per-epoch training history.
        hessian_data: The training examples the Hessian and $\epsilon$ averaged over.
    """

    metrics: dict[str, Any]
    directory: Path
    model: nn.Module
    sweep: prune.SweepResult
    prediction: PruningPrediction
    history: list[dict[str, float]]
    hessian_data: Dataset


def resolve_device(name: str) -> torch.device:
    """The device a config asks for.

    Args:
        name: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Returns:
        The device.

    Raises:
        ValueError: If ``"cuda"`` is asked for on a machine without CUDA, or the name is unknown.
    """
    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; use 'auto'")
    return torch.device(name)


def _subset(data_set: Dataset, size: int | None, seed: int) -> Dataset:
    if size is None or size >= len(data_set):
        return data_set
    order = torch.randperm(len(data_set), generator=torch.Generator().manual_seed(seed))
    return Subset(data_set, order[:size].tolist())


class _Stages:
    """Finished stages saved as ``<folder>/checkpoints/<stage>.pt`` with the key of their inputs."""

    def __init__(self, folder: Path, resume: bool) -> None:
        self.folder = folder / "checkpoints"
        self.resume = resume
        self.times: dict[str, float] = {}
        self.reused: dict[str, bool] = {}

    def __call__(self, name: str, key: str, compute: Callable[[], Any]) -> Any:
        import pnlib

        # a stage saved by another version of the schema or of pnlib is recomputed
        key = _digest([SCHEMA, pnlib.__version__, key])
        path = self.folder / f"{name}.pt"
        if self.resume and path.exists():
            state = torch.load(path, map_location="cpu", weights_only=False)
            if state.get("key") == key:
                self.times[name], self.reused[name] = float(state["seconds"]), True
                return state["value"]
        start = time.perf_counter()
        value = compute()
        seconds = time.perf_counter() - start
        torch_save({"key": key, "value": value, "seconds": seconds}, path)
        self.times[name], self.reused[name] = seconds, False
        return value


def train_checkpoint(config: ExperimentConfig, results_root: Path) -> Path:
    """Where the training checkpoint of a config lives.

    Args:
        config: The experiment.
        results_root: Root of the results.

    Returns:
        ``<results_root>/checkpoints/train-<model>-<dataset>-<train_key>.pt``.
    """
    name = f"train-{config.model}-{config.dataset}-{config.train_key()}.pt"
    return results_root / "checkpoints" / name


def run(
    config: ExperimentConfig | dict[str, Any],
    *,
    results_root: str | os.PathLike | None = None,
    resume: bool = True,
) -> RunResult:
    r"""Run one experiment end to end and write its ``metrics.json`` and ``env.json``.

    Stages: load the data (a missing dataset raises :class:`pnlib.data.DatasetNotFoundError`
    before anything is trained), train with LOMP or resume from the checkpoint, sweep one-shot
    global magnitude pruning, estimate $\epsilon$, the spectrum and the zero-curvature mass,
    predict, and measure the actual limit by the ``accuracy``, ``tolerance`` and ``loss``
    criteria. The schema of ``metrics.json`` is in the module docstring.

    Args:
        config: The experiment (or a mapping for :meth:`ExperimentConfig.from_dict`).
        results_root: Root of the results (default ``<project>/results``).
        resume: Reuse the training checkpoint and finished stages; ``False`` starts over.

    Returns:
        The metrics, the folder, the trained model, the sweep and the prediction.
    """
    if not isinstance(config, ExperimentConfig):
        config = ExperimentConfig.from_dict(config)
    root = Path(results_root) if results_root is not None else results_dir()
    folder = root / config.task / config.run
    checkpoint = train_checkpoint(config, root)
    if not resume:
        checkpoint.unlink(missing_ok=True)
    device = resolve_device(config.device)
    train_set = data.load(config.dataset, root=config.data_root, train=True)
    test_set = data.load(config.dataset, root=config.data_root, train=False)
    stages = _Stages(folder, resume)
    start = time.perf_counter()
    model, history = _train_stage(config, train_set, checkpoint, device, stages)
    sweep = _sweep_stage(config, model, train_set, test_set, stages)
    hess_set = _subset(train_set, config.hessian_subset, config.seed + 2)
    prediction = _predict_stages(config, model, hess_set, stages)
    path = _path_stage(config, model, hess_set, prediction, sweep, stages)
    metrics = _metrics(config, model, sweep, prediction, stages, train_set, test_set, hess_set)
    metrics["path"] = path
    metrics["times"]["total"] = sum(metrics["times"].values())
    metrics["times"]["wall"] = time.perf_counter() - start
    validate_metrics(metrics)
    env = repro.environment(device, dtype=str(next(model.parameters()).dtype).replace("torch.", ""))
    env["train_key"] = config.train_key()
    write_json(folder / "env.json", env)
    write_json(folder / "metrics.json", metrics)
    return RunResult(metrics, folder, model, sweep, prediction, history, hess_set)


def _build_model(config: ExperimentConfig, device: torch.device) -> nn.Module:
    info = data.info(config.dataset)
    generator = torch.Generator().manual_seed(config.seed)
    model = models.build(
        config.model,
        num_classes=info.num_classes,
        in_shape=tuple(info.in_shape),
        generator=generator,
        **config.model_options,
    )
    return model.to(device)


def _train_stage(config, train_set, checkpoint, device, stages):
    model = _build_model(config, device)
    fit_set = _subset(train_set, config.train_subset, config.seed + 1)
    result = train.train(
        model,
        fit_set,
        config.train,
        generator=torch.Generator().manual_seed(config.seed),
        checkpoint=checkpoint,
        device=device,
        progress=config.progress,
    )
    stages.times["train"] = float(sum(h["seconds"] for h in result.history))
    stages.reused["train"] = result.resumed_from >= config.train.epochs
    model.eval()
    return model, result.history


def _sweep_stage(config, model, train_set, test_set, stages):
    sweep_train = _subset(train_set, config.sweep_train_subset, config.seed + 3)
    measure = train.measure_on(
        {"train": sweep_train, "test": test_set}, batch_size=config.eval_batch_size
    )
    grid = prune.sparsity_grid(config.grid_points)
    key = _digest(
        [config.train_key(), config.grid_points, config.sweep_train_subset, config.eval_batch_size]
    )
    return stages("sweep", key, lambda: prune.sweep(model, grid, measure, progress=config.progress))


def _hessian_dtype(config: ExperimentConfig, exact: bool) -> torch.dtype | None:
    if config.hessian_dtype == "auto":
        return torch.float64 if exact else None
    return getattr(torch, config.hessian_dtype)


def _predict_stages(config, model, hess_set, stages) -> PruningPrediction:
    loss_fn = nn.functional.cross_entropy
    base = [config.train_key(), config.hessian_subset, config.hessian_batch_size]
    if config.eps is None:
        eps_key = _digest(base + [config.eps_batch_size])
        eps, num_batches = stages(
            "eps",
            eps_key,
            lambda: batch_loss_eps(model, hess_set, batch_size=config.eps_batch_size),
        )
        eps_source = "std of batch losses"
    else:
        eps, num_batches, eps_source = float(config.eps), 0, "given"
        stages.times["eps"], stages.reused["eps"] = 0.0, False
    dim = sum(p.numel() for p in models.prunable_parameters(model).values())
    exact = _use_exact(config.exact, dim, config.exact_max_dim)
    dtype = _hessian_dtype(config, exact)
    spec_key = _digest(base + [exact, config.num_steps, config.num_probes, str(dtype), config.seed])
    rule, source = stages(
        "spectrum",
        spec_key,
        lambda: estimate_spectrum(
            model,
            loss_fn,
            hess_set,
            exact=exact,
            num_steps=config.num_steps,
            num_probes=config.num_probes,
            dtype=dtype,
            batch_size=config.hessian_batch_size,
            generator=torch.Generator().manual_seed(config.seed + 4),
        ),
    )
    weights = prune.flat_prunable(model).double().cpu().numpy()

    def zero_rows():
        if config.zero_rows == 0:
            return 0.0, np.zeros(0)
        op = _hessian_operator(model, loss_fn, hess_set, dtype, config.hessian_batch_size)
        # as many columns per product as SLQ uses, which the config sized for memory
        return zero_curvature_mass(
            op, weights, num_rows=config.zero_rows, tol=config.zero_tol, block=config.num_probes
        )

    zero_key = _digest(base + [config.zero_rows, config.zero_tol, str(dtype)])
    z, _ = stages("zero_mass", zero_key, zero_rows)
    start = time.perf_counter()
    used = _resolve_zero_mass(config.zero_mass, source, z)
    summary = summarize_spectrum(rule, source, config.num_steps)
    summary.update(zero_row_fraction=z, zero_rows=config.zero_rows, zero_mass_used=used)
    limit = predict_from(weights, rule, eps, zero_mass=used, negative=config.negative)
    prediction = PruningPrediction(
        limit, eps, eps_source, rule, source, used, config.negative, summary, weights
    )
    prediction.summary["eps_batches"] = num_batches
    stages.times["predict"], stages.reused["predict"] = time.perf_counter() - start, False
    return prediction


def half_steps_estimate(prediction: PruningPrediction, *, negative: str = "abs") -> float | None:
    """The predicted sparsity from the first half of each probe's Lanczos steps.

    The first ``m`` steps of a run are exactly an ``m``-step run (:func:`pnlib.spectrum.truncate`),
    so this costs no product; if it differs from the full prediction by more than the probe noise,
    the steps were too few for $f_R$ (chapter 06).

    Args:
        prediction: A prediction from an SLQ or exact spectrum.
        negative: Handling of negative eigenvalues, as in :func:`predict_from`.

    Returns:
        The estimate, or ``None`` for an exact spectrum or an SLQ run of fewer than 2 steps.
    """
    rule = prediction.spectrum
    if prediction.spectrum_source != "slq" or rule.alpha is None or rule.alpha.shape[1] < 2:
        return None
    half = spectrum.truncate(rule, rule.alpha.shape[1] // 2)
    return float(
        predict_from(
            prediction.weights,
            half,
            prediction.eps,
            zero_mass=prediction.zero_mass,
            negative=negative,
        ).estimate
    )


def _round(values: np.ndarray, digits: int = 6) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64)]


def _curves(sweep: prune.SweepResult, prediction: PruningPrediction) -> dict[str, Any]:
    stride = max(1, math.ceil(sweep.sparsity.size / CURVE_POINTS))
    idx = np.arange(0, sweep.sparsity.size, stride)
    out: dict[str, Any] = {
        "stride": stride,
        "sparsity": _round(sweep.sparsity[idx]),
        "radius": _round(sweep.radius[idx]),
    }
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        out[key] = _round(sweep.metrics[key][idx])
    out["theory"] = _round(prediction.theory(sweep.radius[idx]))
    return out


def _path_stage(config, model, hess_set, prediction, sweep, stages) -> dict[str, float]:
    exact = prediction.spectrum_source == "exact"
    dtype = _hessian_dtype(config, exact) or next(model.parameters()).dtype
    trace = prediction.summary["trace"]
    key = _digest(
        [
            config.train_key(),
            config.hessian_subset,
            config.hessian_batch_size,
            str(dtype),
            round(prediction.sparsity, 12),
            trace,
        ]
    )
    terms = stages(
        "path",
        key,
        lambda: path_terms(
            model,
            None,
            hess_set,
            prediction.sparsity,
            trace=trace,
            dtype=dtype,
            batch_size=config.hessian_batch_size,
        ),
    )
    losses = sweep.metrics["train_loss"]
    return {
        "sparsity": prediction.sparsity,
        **terms,
        "loss_increase": float(np.interp(prediction.sparsity, sweep.sparsity, losses) - losses[0]),
    }


def _metrics(config, model, sweep, prediction, stages, train_set, test_set, hess_set):
    eps = prediction.eps
    actual = {
        "accuracy": prune.actual_limit(sweep, "accuracy"),
        "tolerance": prune.actual_limit(sweep, "tolerance", tolerance=config.tolerance),
        "loss": prune.actual_limit(sweep, "loss", eps=eps),
    }
    pred = prediction.to_dict()
    spec = pred.pop("spectrum")
    variants = {
        f"negative_{mode}": float(
            predict_from(
                prediction.weights,
                prediction.spectrum,
                eps,
                zero_mass=prediction.zero_mass,
                negative=mode,
            ).estimate
        )
        for mode in NEGATIVE
    }
    variants["without_zero_mass"] = float(
        predict_from(
            prediction.weights, prediction.spectrum, eps, negative=config.negative
        ).estimate
    )
    variants["half_steps"] = half_steps_estimate(prediction, negative=config.negative)
    num_params = sum(p.numel() for p in model.parameters())
    return {
        "schema": SCHEMA,
        "task": config.task,
        "run": config.run,
        "config": config.to_dict(),
        "train_key": config.train_key(),
        "device": repro.device_name(next(model.parameters()).device),
        "dims": {
            "num_parameters": int(num_params),
            "num_prunable": int(sweep.num_prunable),
            "num_train": len(train_set),
            "num_test": len(test_set),
            "num_hessian": len(hess_set),
        },
        "dense": {
            k: float(sweep.metrics[k][0])
            for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
        },
        "eps": {
            "value": eps,
            "source": prediction.eps_source,
            "batch_size": config.eps_batch_size,
            "num_batches": int(spec.pop("eps_batches", 0)),
        },
        "spectrum": spec,
        "prediction": {
            k: pred[k]
            for k in ("sparsity", "density", "lower", "upper", "gap_pp", "radius", "negative")
        },
        "variants": variants,
        "actual": actual,
        "delta_pp": {k: 100.0 * abs(prediction.sparsity - v) for k, v in actual.items()},
        "times": {name: float(stages.times.get(name, 0.0)) for name in STAGES},
        "reused": {name: bool(stages.reused.get(name, False)) for name in STAGES},
        "curves": _curves(sweep, prediction),
    }


def read_results(results_root: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Read every ``<task>/<run>/metrics.json`` under the results folder.

    Args:
        results_root: Root of the results (default ``<project>/results``).

    Returns:
        The metrics, sorted by task and run; files of another schema are skipped.
    """
    root = Path(results_root) if results_root is not None else results_dir()
    found = []
    for path in sorted(root.glob("*/*/metrics.json")):
        metrics = read_json(path)
        if isinstance(metrics, dict) and metrics.get("schema") == SCHEMA:
            found.append(metrics)
    return found


METRICS_SCHEMA: dict[str, tuple[str, ...]] = {
    "schema": (),
    "task": (),
    "run": (),
    "config": ("task", "model", "dataset", "run", "seed", "train"),
    "train_key": (),
    "device": (),
    "dims": ("num_parameters", "num_prunable", "num_train", "num_test", "num_hessian"),
    "dense": ("train_loss", "train_accuracy", "test_loss", "test_accuracy"),
    "eps": ("value", "source", "batch_size", "num_batches"),
    "spectrum": (
        "source",
        "dim",
        "num_steps",
        "num_probes",
        "num_matvecs",
        "ritz_min",
        "ritz_max",
        "trace",
        "trace_stderr",
        "negative_mass",
        "near_zero_mass",
        "zero_row_fraction",
        "zero_rows",
        "zero_mass_used",
    ),
    "prediction": ("sparsity", "density", "lower", "upper", "gap_pp", "radius", "negative"),
    "variants": ("negative_abs", "negative_clip", "without_zero_mass"),
    "actual": ("accuracy", "tolerance", "loss"),
    "delta_pp": ("accuracy", "tolerance", "loss"),
    "path": (
        "sparsity",
        "radius",
        "linear",
        "quadratic",
        "random_quadratic",
        "alignment",
        "loss_increase",
    ),
    "times": (*STAGES, "total", "wall"),
    "reused": STAGES,
    "curves": (
        "stride",
        "sparsity",
        "radius",
        "train_loss",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "theory",
    ),
}
"""Required keys of ``metrics.json`` and of each of its sections (see the module docstring)."""


def validate_metrics(metrics: dict[str, Any]) -> None:
    """Check a ``metrics.json`` against :data:`METRICS_SCHEMA` and its invariants.

    Invariants: the schema tag is :data:`SCHEMA`; sparsities and densities lie in [0, 1] and
    add up; lower ≤ prediction ≤ upper; ``delta_pp`` is the distance of prediction and actual
    limit in points; ``ε`` > 0; the curves have equal lengths.

    Args:
        metrics: The decoded file.

    Raises:
        ValueError: Naming every missing key or broken invariant.
    """
    problems = []
    for section, keys in METRICS_SCHEMA.items():
        if section not in metrics:
            problems.append(f"missing {section!r}")
            continue
        missing = [k for k in keys if k not in metrics[section]]
        if missing:
            problems.append(f"{section!r} lacks {missing}")
    if problems:
        raise ValueError("metrics.json does not follow the schema: " + "; ".join(problems))
    pred, actual = metrics["prediction"], metrics["actual"]
    checks = {
        f"schema is {SCHEMA!r}": metrics["schema"] == SCHEMA,
        "sparsities in [0, 1]": all(
            0.0 <= v <= 1.0
            for v in [pred["sparsity"], pred["lower"], pred["upper"], *actual.values()]
        ),
        "density = 1 - sparsity": abs(pred["density"] + pred["sparsity"] - 1.0) < 1e-12,
        "lower <= prediction <= upper": pred["lower"] - 1e-12
        <= pred["sparsity"]
        <= pred["upper"] + 1e-12,
        "gap_pp = 100 (upper - lower)": abs(pred["gap_pp"] - 100 * (pred["upper"] - pred["lower"]))
        < 1e-9,
        "delta_pp = 100 |prediction - actual|": all(
            abs(metrics["delta_pp"][k] - 100 * abs(pred["sparsity"] - v)) < 1e-9
            for k, v in actual.items()
        ),
        "eps > 0": metrics["eps"]["value"] > 0,
        "curves of equal length": len(
            {len(v) for k, v in metrics["curves"].items() if k != "stride"}
        )
        == 1,
    }
    broken = [name for name, ok in checks.items() if not ok]
    if broken:
        raise ValueError(f"metrics.json breaks invariants: {broken}")


def path_terms(
    model: nn.Module,
    loss_fn: LossFn | None,
    data_set: Dataset,
    sparsity: float,
    *,
    trace: float | None = None,
    dtype: torch.dtype | None = torch.float64,
    batch_size: int | None = None,
) -> dict[str, float]:
    r"""The terms of the second-order model of the loss along the magnitude-pruning step.

    With $\Delta = w^k - w^*$ the step that removes the fraction ``sparsity`` of the prunable
    weights, the loss changes by about $g^\top\Delta + \tfrac12\Delta^\top H\Delta$. The
    theory assumes $g = 0$ and models the removed direction as random, for which
    $\mathbb E[\Delta^\top H \Delta] = R^2 \operatorname{tr}(H)/D$. The ratio ``alignment`` of
    the measured curvature to that random value says how far the assumption is from the truth
    (1: as random; above 1: the removed weights sit in sharper directions).

    Args:
        model: The trained network.
        loss_fn: Batch-mean loss (``None``: cross-entropy).
        data_set: Training data.
        sparsity: Fraction removed.
        trace: $\operatorname{tr} H$ (e.g. ``metrics["spectrum"]["trace"]``); ``None``:
            Hutchinson's estimate with 64 Rademacher probes (seeded).
        dtype: Dtype of the products.
        batch_size: Examples per batch of the products.

    Returns:
        ``radius`` ($R$), ``linear`` ($g^\top\Delta$), ``quadratic``
        ($\tfrac12\Delta^\top H\Delta$), ``random_quadratic`` ($\tfrac12 R^2\operatorname{tr}
        (H)/D$) and ``alignment`` (their ratio).
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    op = _hessian_operator(model, loss_fn, data_set, dtype, batch_size)
    grad, _ = op.gradient_and_loss()
    flat = torch.cat([p.detach().reshape(-1) for p in models.prunable_parameters(model).values()])
    flat = flat.to(device=op.device, dtype=op.dtype)
    removed = prune.magnitude_order(flat)[: prune.num_removed(sparsity, flat.numel())]
    step = torch.zeros_like(flat)
    step[removed] = -flat[removed]
    quadratic = 0.5 * float(step @ (op @ step))
    if trace is None:
        g = torch.Generator().manual_seed(0)
        V = (torch.randint(0, 2, (flat.numel(), 64), generator=g) * 2 - 1).to(flat)
        trace = float((V * (op @ V)).sum() / 64)
    radius2 = float(step @ step)
    random_quadratic = 0.5 * radius2 * trace / flat.numel()
    return {
        "radius": math.sqrt(radius2),
        "linear": float(grad.to(step) @ step),
        "quadratic": quadratic,
        "random_quadratic": random_quadratic,
        "alignment": quadratic / random_quadratic if random_quadratic else float("nan"),
    }
