r"""The paper's experiment end to end: train, sweep, spectrum, predict, measure, write results.

Two entry points:

* :func:`predict_pruning_limit` (from :mod:`pnlib.predict`) is what a researcher calls on their
  own trained network: every predictor of the pruning limit, with a recommendation.
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
                          ``trace`` and ``trace_stderr`` (signed $\operatorname{tr} H$),
                          ``abs_trace`` ($\operatorname{tr}\lvert H\rvert$), ``negative_mass``
                          (nodes below $-$``negative_tol`` $= -10^{-9}\max\lvert\theta\rvert$),
                          ``near_zero_mass`` (quadrature mass with $\lvert\theta\rvert \le 10^{-6}
                          \max\lvert\theta\rvert$), ``zero_row_fraction`` (sampled Hessian rows with
                          $\ell_1$ norm below ``zero_tol``), ``zero_rows`` (rows sampled),
                          ``zero_mass_used`` (mass put at $\lambda = 0$ in the prediction),
                          ``why`` (why the spectrum is exact or SLQ)
``prediction``            the paper's fixed point: ``sparsity``, ``density``, ``lower``,
                          ``upper`` (sparsities), ``gap_pp`` (upper minus lower), ``radius``
                          ($R(s^*)$), ``negative``
``estimates``             predicted sparsity per predictor of :mod:`pnlib.predict` (``paper``,
                          ``free``, ``taylor``, ``refit``, ``authors``)
``recommended``           the predictor :func:`pnlib.predict.predict_pruning_limit` recommends
``costs``                 per predictor and stage: ``hvps`` (Hessian-vector products),
                          ``gradients``, ``data_passes``, ``seconds``
``notes``                 what the prediction wants the reader to know (vacuous bounds, CG)
``variants``              the paper's fixed point with ``abs`` and ``clip`` handling of negative
                          eigenvalues, without the zero-curvature mass, from the first half of
                          the Lanczos steps (``half_steps``, ``null`` for an exact spectrum),
                          and the authors' pipeline one choice at a time (``authors_quirks``,
                          ``authors_grid_argmin``)
``actual``                largest sparsity meeting each criterion: ``accuracy`` (test accuracy not
                          below dense), ``accuracy_above`` (strictly above dense, the authors'
                          code), ``tolerance``, ``loss`` (training-loss increase at most
                          $\epsilon$), and the measured refit limits ``refit`` and
                          ``refit_local`` (:mod:`pnlib.refit`)
``refit``                 the refit measurements: ``limit``, ``local``, ``monotone``,
                          ``evaluations``, ``iterations``, ``seconds``, and the points evaluated
``delta_pp``              per criterion and predictor, $|s_{\rm estimate} - s_{\rm actual}|$ in
                          points
``path``                  the second-order model along the pruning step at $s^*$
                          (:func:`pnlib.predict.path_terms`): ``radius``, ``linear``
                          ($g^\top\Delta$), ``quadratic`` ($\tfrac12\Delta^\top H\Delta$),
                          ``random_quadratic`` ($\tfrac12 R^2\operatorname{tr}H/D$),
                          ``alignment`` (their ratio) and ``loss_increase`` (measured by the
                          sweep), at ``sparsity``
``times``                 seconds per stage (:data:`STAGES`), ``total`` and ``wall``
``reused``                per stage, whether it was loaded from a finished earlier attempt
``curves``                the sweep, compact: ``stride`` (every ``stride``-th grid point),
                          ``sparsity``, ``radius``, ``train_loss``, ``train_accuracy``,
                          ``test_loss``, ``test_accuracy``, ``theory`` ($s(R)$ at those
                          radii) and ``taylor`` (the Taylor increase), each rounded to 6
                          significant digits
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

from pnlib import bounds, data, models, predict, prune, refit, repro, train
from pnlib.paths import read_json, results_dir, torch_save, write_json

SCHEMA = "pnlib.experiment/2"
"""Version tag written into every ``metrics.json``."""

PREDICTION_STAGES = ("eps", "spectrum", "zero_mass", "taylor", "refit", "authors", "path")
"""The stages of :func:`pnlib.predict.predict_pruning_limit`, each checkpointed by :func:`run`."""
STAGES = (
    "train",
    "sweep",
    *PREDICTION_STAGES,
    "predict",
    "measure_refit",
    "measure_refit_local",
)
"""The stages of :func:`run`, in order; each one's time is recorded."""

NEGATIVE = predict.NEGATIVE
ZERO_MASS = predict.ZERO_MASS
DEVICES = ("auto", "cpu", "cuda")
DTYPES = predict.DTYPES
CURVE_POINTS = 200
"""At most this many grid points of the sweep go into ``metrics.json``."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LossFn = Callable[[Tensor, Tensor], Tensor]


# --------------------------------------------------------------------------------------------
# the prediction: one engine, in pnlib.predict

predict_pruning_limit = predict.predict_pruning_limit
PruningPrediction = predict.PruningPrediction
batch_loss_eps = predict.batch_loss_eps
zero_curvature_mass = predict.zero_curvature_mass
half_steps_estimate = predict.half_steps_estimate


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
        predictors: Predictors to run (:data:`pnlib.predict.PREDICTORS`, all by default).
        measure_refit: Measure the global and local refit limits (:mod:`pnlib.refit`).
        refit_max_iter: Most L-BFGS iterations per refit point.
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
    predictors: tuple[str, ...] = predict.PREDICTORS
    measure_refit: bool = True
    refit_max_iter: int = 500
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
        if isinstance(self.predictors, str):
            object.__setattr__(self, "predictors", (self.predictors,))
        object.__setattr__(self, "predictors", tuple(self.predictors or ()))
        if not isinstance(self.measure_refit, bool) or not _is_int(self.refit_max_iter, 1):
            raise ValueError(
                "measure_refit must be true or false and refit_max_iter an integer >= 1, got "
                f"{self.measure_refit!r}, {self.refit_max_iter!r}"
            )
        _settings(self)  # the prediction's own checks, once, before any work

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
        out["predictors"] = list(self.predictors)
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
    refits = _refit_stages(config, model, train_set, sweep, prediction.eps, stages)
    metrics = _metrics(config, model, sweep, prediction, stages, train_set, test_set, hess_set)
    metrics["path"] = _path(prediction, sweep)
    metrics["actual"].update({k: v["limit"] for k, v in refits.items()})
    metrics["refit"] = refits
    metrics["delta_pp"] = {
        k: {name: 100.0 * abs(e - v) for name, e in metrics["estimates"].items()}
        for k, v in metrics["actual"].items()
    }
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


def _settings(config: ExperimentConfig) -> predict.Settings:
    return predict.Settings(
        eps=config.eps,
        eps_batch_size=config.eps_batch_size,
        negative=config.negative,
        exact=config.exact,
        exact_max_dim=config.exact_max_dim,
        num_steps=config.num_steps,
        num_probes=config.num_probes,
        zero_mass=config.zero_mass,
        zero_rows=config.zero_rows,
        zero_tol=config.zero_tol,
        dtype=config.hessian_dtype,
        batch_size=config.hessian_batch_size,
        seed=config.seed + 4,
        grid_points=config.grid_points,
        predictors=config.predictors,
    )


def _predict_stages(config, model, hess_set, stages) -> predict.PruningPrediction:
    base = [config.train_key(), config.hessian_subset, config.hessian_batch_size]

    def stage(name: str, key: list, compute: Callable[[], Any]) -> Any:
        return stages(name, _digest(base + key), compute)

    start = time.perf_counter()
    prediction = predict.predict_pruning_limit(
        model, hess_set, settings=_settings(config), stage=stage
    )
    # what the call spent outside its checkpointed stages (the fixed points, the bounds)
    fresh = sum(stages.times.get(n, 0.0) for n in PREDICTION_STAGES if not stages.reused.get(n))
    stages.times["predict"] = max(0.0, time.perf_counter() - start - fresh)
    stages.reused["predict"] = False
    return prediction


def _refit_stages(config, model, train_set, sweep, eps, stages) -> dict[str, dict]:
    if not config.measure_refit:
        return {}
    data_set = _subset(train_set, config.sweep_train_subset, config.seed + 3)
    out = {}
    for name, local in (("refit", False), ("refit_local", True)):
        key = _digest([config.train_key(), config.sweep_train_subset, eps, config.refit_max_iter])
        out[name] = stages(
            f"measure_{name}",
            key,
            lambda local=local: refit.measured_refit_limit(
                model,
                data_set,
                sweep.sparsity,
                eps,
                local=local,
                max_iter=config.refit_max_iter,
            ).to_dict(),
        )
    return out


def _round(values: np.ndarray, digits: int = 6) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64)]


def _curves(sweep: prune.SweepResult, prediction: predict.PruningPrediction) -> dict[str, Any]:
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
    taylor = prediction.details.get("taylor")
    if taylor is not None and taylor.sparsity.size == sweep.sparsity.size:
        out["taylor"] = _round(taylor.loss_increase[idx])
    return out


def _path(prediction: predict.PruningPrediction, sweep: prune.SweepResult) -> dict[str, float]:
    losses = sweep.metrics["train_loss"]
    return {
        "sparsity": prediction.sparsity,
        **prediction.details["path"],
        "loss_increase": float(np.interp(prediction.sparsity, sweep.sparsity, losses) - losses[0]),
    }


def _variants(prediction: predict.PruningPrediction) -> dict[str, float | None]:
    rule, eps, w = prediction.spectrum, prediction.eps, prediction.weights
    out = {
        f"negative_{mode}": float(
            bounds.predicted_sparsity(
                w, rule, eps, zero_mass=prediction.zero_mass, negative=mode
            ).estimate
        )
        for mode in bounds.NEGATIVE
    }
    out["without_zero_mass"] = float(
        bounds.predicted_sparsity(w, rule, eps, negative=prediction.negative).estimate
    )
    out["half_steps"] = predict.half_steps_estimate(prediction)
    authors = prediction.details.get("authors")
    if authors:
        out["authors_quirks"] = dict(authors["quirks"])
        out["authors_grid_argmin"] = authors["grid_argmin"]
    return out


def _metrics(config, model, sweep, prediction, stages, train_set, test_set, hess_set):
    eps = prediction.eps
    actual = {
        "accuracy": prune.actual_limit(sweep, "accuracy"),
        "accuracy_above": prune.actual_limit(sweep, "accuracy_above"),
        "tolerance": prune.actual_limit(sweep, "tolerance", tolerance=config.tolerance),
        "loss": prune.actual_limit(sweep, "loss", eps=eps),
    }
    pred = prediction.to_dict()
    spec = pred.pop("spectrum")
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
        "estimates": dict(prediction.estimates),
        "recommended": prediction.recommended,
        "costs": pred["costs"],
        "notes": pred["notes"],
        "variants": _variants(prediction),
        "actual": actual,
        "times": {name: float(stages.times.get(name, 0.0)) for name in STAGES},
        "reused": {name: bool(stages.reused.get(name, False)) for name in STAGES},
        "curves": _curves(sweep, prediction),
    }


def read_results(
    results_root: str | os.PathLike | None = None, *, any_schema: bool = False
) -> list[dict[str, Any]]:
    """Read every ``<task>/<run>/metrics.json`` under the results folder.

    Args:
        results_root: Root of the results (default ``<project>/results``).
        any_schema: Also return files of an earlier schema (for their times and devices).

    Returns:
        The metrics, sorted by task and run; files of another schema are skipped unless
        ``any_schema``.
    """
    root = Path(results_root) if results_root is not None else results_dir()
    found = []
    for path in sorted(root.glob("*/*/metrics.json")):
        metrics = read_json(path)
        ok = isinstance(metrics, dict) and str(metrics.get("schema", "")).startswith("pnlib.")
        if ok and (any_schema or metrics.get("schema") == SCHEMA):
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
        "abs_trace",
        "negative_mass",
        "negative_tol",
        "near_zero_mass",
        "zero_row_fraction",
        "zero_rows",
        "zero_mass_used",
    ),
    "prediction": ("sparsity", "density", "lower", "upper", "gap_pp", "radius", "negative"),
    "estimates": ("paper",),
    "recommended": (),
    "costs": ("paper",),
    "notes": (),
    "variants": ("negative_abs", "negative_clip", "without_zero_mass"),
    "actual": ("accuracy", "accuracy_above", "tolerance", "loss"),
    "delta_pp": ("accuracy", "accuracy_above", "tolerance", "loss"),
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
        "delta_pp = 100 |estimate - actual|": all(
            abs(metrics["delta_pp"][k][name] - 100 * abs(e - v)) < 1e-9
            for k, v in actual.items()
            for name, e in metrics["estimates"].items()
            if math.isfinite(e)
        ),
        "estimates[paper] = prediction": metrics["estimates"]["paper"] == pred["sparsity"],
        "eps > 0": metrics["eps"]["value"] > 0,
        "curves of equal length": len(
            {len(v) for k, v in metrics["curves"].items() if k != "stride"}
        )
        == 1,
    }
    broken = [name for name, ok in checks.items() if not ok]
    if broken:
        raise ValueError(f"metrics.json breaks invariants: {broken}")
