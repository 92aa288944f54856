r"""The paper's experiment end to end: train, sweep, spectrum, predict, measure, write results.

Two entry points:

* :func:`pnlib.predict.predict_pruning_limit` is what a researcher calls on their
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
randomness from a generator seeded by the configuration alone (the training augmentation from one
saved with the training checkpoint), and every measurement sees the training images without
augmentation in a fixed order, so a resumed run gives exactly the metrics of an uninterrupted one
(only the recorded times differ). A checkpoint that cannot be read is named in a warning, moved
aside and recomputed; temporary files of a killed attempt are removed when the next one starts.

**Parameters.** Chapter 09's UPPER_CASE parameters are checked by :func:`check_parameters`
(:func:`parameter_rules`: type and range of each, named in the message) and mapped onto the
config by :func:`config_from_parameters`; ``make experiment`` does this before a kernel starts.
:data:`SMOKE_PARAMETERS` is the smoke size of ``make experiment NAME=<task> SMOKE=1``, and
:func:`task_runs` picks the runs the reproduction page reports.

**The schema of ``metrics.json``** (``schema`` = :data:`SCHEMA`); sparsities are fractions
removed, densities fractions kept, and ``*_pp`` values are percentage points:

{metrics_table}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import textwrap
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
from pnlib.paths import (
    cache_dir,
    clean_stale_temporaries,
    move_aside,
    project_root,
    read_json,
    results_dir,
    torch_save,
    write_json,
)

SCHEMA = "pnlib.experiment/2"
"""Version tag written into every ``metrics.json``."""

PREDICTION_STAGES = ("eps", "spectrum", "zero_mass", "taylor", "refit", "authors", "path")
"""The stages of :func:`pnlib.predict.predict_pruning_limit`, each checkpointed by :func:`run`."""
PREDICTION_KEYS = (
    "sparsity",
    "density",
    "lower",
    "upper",
    "gap_pp",
    "interval_lower",
    "interval_upper",
    "radius",
    "negative",
)
"""The keys of ``metrics.json``'s ``prediction`` section (the paper's fixed point)."""
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
        test_subset: Test examples evaluated at each sweep point (a seeded subset); ``None``:
            all, as in the paper (smoke runs use a few).
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
        progress: Report the run: a line when each stage starts and ends with the elapsed time,
            a line per training epoch with the time left, and progress bars.
        smoke: A smoke run (every size shrunk by :func:`smoke_parameters` so that the route can
            be checked in minutes on a CPU); its limits mean nothing and the reproduction page
            leaves it out.
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
    test_subset: int | None = None
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
    smoke: bool = False

    def __post_init__(self) -> None:
        """Validate names, types and ranges before any work.

        Raises:
            ValueError: If a name is unknown or a value out of range (the message names the
                setting and lists what is allowed).
        """
        if isinstance(self.train, dict):
            object.__setattr__(self, "train", train.TrainConfig.from_dict(self.train))
        if not isinstance(self.train, train.TrainConfig):
            raise ValueError(
                f"train must be a mapping of training settings, got {type(self.train).__name__}"
            )
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
        object.__setattr__(self, "model_options", _model_options(self.model, self.model_options))
        _check_choices(self)
        _check_ranges(self)
        if isinstance(self.data_root, os.PathLike):
            object.__setattr__(self, "data_root", os.fspath(self.data_root))
        for name in ("tolerance", "eps", "zero_tol", "data_root", "progress", "smoke"):
            object.__setattr__(
                self, name, train.check_setting(name, getattr(self, name), CONFIG_RULES[name])
            )
        _check_prediction_fields(self)
        # the known size of the training split; run() checks again with the files' own size
        known = data.info(self.dataset).num_train
        _check_eps_batches(self, min(self.hessian_subset or known, known))
        _settings(self)  # the prediction's own checks, once, before any work

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


def _check_prediction_fields(config: ExperimentConfig) -> None:
    # predictors as a tuple of known names; the refit measurement's switch and budget
    if isinstance(config.predictors, str):
        object.__setattr__(config, "predictors", (config.predictors,))
    if not isinstance(config.predictors, (list, tuple)):
        raise ValueError(
            f"predictors must be a list of names from {predict.PREDICTORS}, "
            f"got {config.predictors!r}"
        )
    object.__setattr__(config, "predictors", tuple(config.predictors or ()))
    if not isinstance(config.measure_refit, bool) or not _is_int(config.refit_max_iter, 1):
        raise ValueError(
            "measure_refit must be true or false and refit_max_iter an integer >= 1, got "
            f"{config.measure_refit!r}, {config.refit_max_iter!r}"
        )


def _check_eps_batches(config: ExperimentConfig, examples: int | None) -> None:
    """Refuse a Hessian subset too small for two batches of the ε rule.

    Args:
        config: The experiment.
        examples: Examples the Hessian and ε average over (``None``: not known yet).

    Raises:
        ValueError: Naming ``HESSIAN_SUBSET`` and ``EPS_BATCH_SIZE`` when ``eps`` is derived
            from fewer than two batch losses.
    """
    if config.eps is not None or examples is None:
        return
    batches = math.ceil(examples / config.eps_batch_size)
    if batches < 2:
        raise ValueError(
            f"HESSIAN_SUBSET (hessian_subset) = {config.hessian_subset} leaves {examples} "
            f"examples, {batches} batch of EPS_BATCH_SIZE (eps_batch_size) = "
            f"{config.eps_batch_size}; eps from the spread of the batch losses needs at least "
            "two: make HESSIAN_SUBSET larger than EPS_BATCH_SIZE, lower EPS_BATCH_SIZE, "
            "or give EPS"
        )


def _check_choices(config: ExperimentConfig) -> None:
    choices = {
        "negative": (config.negative, NEGATIVE),
        "zero_mass": (config.zero_mass, ZERO_MASS),
        "hessian_dtype": (config.hessian_dtype, DTYPES),
        "device": (config.device, DEVICES),
    }
    for name, (value, allowed) in choices.items():
        if isinstance(value, bool) or value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    if not any(config.exact is v for v in (True, False)) and config.exact != "auto":
        raise ValueError(f"exact must be true, false or 'auto', got {config.exact!r}")


def _check_ranges(config: ExperimentConfig) -> None:
    positive = {
        "grid_points": config.grid_points,
        "eps_batch_size": config.eps_batch_size,
        "exact_max_dim": config.exact_max_dim,
        "num_steps": config.num_steps,
        "num_probes": config.num_probes,
        "eval_batch_size": config.eval_batch_size,
        "hessian_batch_size": config.hessian_batch_size,
        "train_subset": config.train_subset,
        "hessian_subset": config.hessian_subset,
        "sweep_train_subset": config.sweep_train_subset,
        "test_subset": config.test_subset,
    }
    bad = {k: v for k, v in positive.items() if v is not None and not _is_int(v, 1)}
    if bad:
        raise ValueError(f"{bad}: these must be integers >= 1 (subsets may be null)")
    if not _is_int(config.seed, 0) or not _is_int(config.zero_rows, 0):
        raise ValueError(
            f"seed and zero_rows must be integers >= 0, got {config.seed!r}, {config.zero_rows!r}"
        )


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _model_options(model: str, options: Any) -> dict[str, Any]:
    """The model's options, its defaults filled in (``{}`` for an MLP is ``hidden: [32, 32]``).

    Args:
        model: The architecture.
        options: The options given (a mapping or ``None``).

    Returns:
        The options :func:`pnlib.models.build` will use, so that a config records what runs.

    Raises:
        ValueError: If the options are not a mapping or the model does not take one of them
            (the message names the model and what it takes).
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValueError(f"model_options must be a mapping, got {options!r}")
    allowed = models._OPTIONS.get(model, {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {model!r} takes no option {', '.join(map(repr, unknown))} "
            f"(MODEL_OPTIONS / model_options); allowed: {', '.join(allowed) or 'none'}"
        )
    return json.loads(json.dumps({**allowed, **options}))


_ONE_UP = {"low": 1, "nullable": True}
CONFIG_RULES: dict[str, train.Rule] = {
    "task": train.Rule("str"),
    "model": train.Rule("choice", choices=models.MODELS),
    "dataset": train.Rule("choice", choices=data.DATASETS),
    "run": train.Rule("str"),
    "seed": train.Rule("int", low=0),
    "model_options": train.Rule("mapping", nullable=True),
    "data_root": train.Rule("str", nullable=True),
    "train_subset": train.Rule("int", **_ONE_UP),
    "hessian_subset": train.Rule("int", **_ONE_UP),
    "sweep_train_subset": train.Rule("int", **_ONE_UP),
    "test_subset": train.Rule("int", **_ONE_UP),
    "grid_points": train.Rule("int", low=2),
    "tolerance": train.Rule("float", low=0, high=1),
    "eps": train.Rule("float", low=0, low_open=True, nullable=True, text="a positive number"),
    "eps_batch_size": train.Rule("int", low=1),
    "negative": train.Rule("choice", choices=NEGATIVE),
    "exact": train.Rule("choice", choices=(True, False, "auto")),
    "exact_max_dim": train.Rule("int", low=1),
    "num_steps": train.Rule("int", low=1),
    "num_probes": train.Rule("int", low=1),
    "zero_rows": train.Rule("int", low=0),
    "zero_tol": train.Rule("float", low=0, low_open=True),
    "zero_mass": train.Rule("choice", choices=ZERO_MASS),
    "hessian_dtype": train.Rule("choice", choices=DTYPES),
    "hessian_batch_size": train.Rule("int", **_ONE_UP),
    "predictors": train.Rule("names", choices=predict.PREDICTORS),
    "measure_refit": train.Rule("bool"),
    "refit_max_iter": train.Rule("int", low=1),
    "eval_batch_size": train.Rule("int", low=1),
    "device": train.Rule("choice", choices=DEVICES),
    "progress": train.Rule("bool"),
    "smoke": train.Rule("bool"),
}
"""What each :class:`ExperimentConfig` field allows (``train`` has :data:`pnlib.train.TRAIN_RULES`).

The notebook parameters of chapter 09 are checked against these rules, under their own
UPPER_CASE names, before anything runs (:func:`config_from_parameters`)."""


def load_config(path: str | os.PathLike, *, smoke: bool = False) -> ExperimentConfig:
    """Read an ``experiments/*.yaml`` file into the config that ``make experiment`` runs.

    The file holds ``notebook:`` and ``parameters:`` (the notebook's UPPER_CASE parameters) and
    nothing else. The parameters are laid over the defaults of the notebook's ``parameters``
    cell, exactly as papermill injects them (:func:`pnlib.runner.task_parameters`), and
    :func:`config_from_parameters` maps the result onto the config.

    Args:
        path: The YAML file.
        smoke: Apply :func:`smoke_parameters` on top (what ``SMOKE=1`` runs).

    Returns:
        The validated config.

    Raises:
        ValueError: If the file has another top-level key, no ``parameters`` mapping, or a
            parameter is unknown or invalid (the message names it).
    """
    from pnlib import runner

    _, _, full = runner.task_parameters(path, smoke=smoke)
    return config_from_parameters(full)


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
"""Notebook parameters of chapter 09 that map onto :class:`pnlib.train.TrainConfig` fields."""

NOTEBOOK_RULES: dict[str, train.Rule] = {
    "SAVE_RESULTS": train.Rule("bool"),
    "SAVE_FIGS": train.Rule("bool"),
    "RESUME": train.Rule("bool"),
    "DEMO_EXAMPLES": train.Rule("int", low=0),
    "DEMO_STEPS": train.Rule("int", low=1),
    "DEMO_PROBES": train.Rule("int", low=1),
    "DEMO_ZERO_ROWS": train.Rule("int", low=0),
    "DEMO_MAX_GB": train.Rule("float", low=0, low_open=True),
}
"""Notebook parameters of chapter 09 that do not belong to the configuration, and their rules."""

NOTEBOOK_ONLY = tuple(NOTEBOOK_RULES)
"""Notebook parameters that do not belong to the configuration."""


def parameter_rules() -> dict[str, train.Rule]:
    """What each notebook parameter of chapter 09 allows, by its UPPER_CASE name.

    Returns:
        ``EPOCHS`` → the rule of ``train.epochs``, ``NUM_STEPS`` → that of ``num_steps``, ...,
        and :data:`NOTEBOOK_RULES`.
    """
    rules = {k.upper(): v for k, v in CONFIG_RULES.items()}
    rules.update({upper: train.TRAIN_RULES[lower] for upper, lower in TRAIN_PARAMETERS.items()})
    rules.update(NOTEBOOK_RULES)
    return rules


def check_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Check notebook parameters by their own names, all at once, before any work.

    Args:
        parameters: UPPER_CASE names and values (YAML or ``-p`` values).

    Returns:
        The values in their canonical types (``"5e-5"`` becomes ``5e-05``, lists of milestones
        tuples).

    Raises:
        ValueError: Naming every parameter that is unknown or breaks its rule, with what it
            allows (``EPOCHS must be an integer >= 1; got True (bool)``).

    Example:
        >>> check_parameters({"L1": "5e-5", "EPOCHS": 3})
        {'L1': 5e-05, 'EPOCHS': 3}
    """
    rules = parameter_rules()
    unknown = sorted(set(parameters) - set(rules))
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; allowed: {', '.join(sorted(rules))}")
    out, problems = {}, []
    for key, value in parameters.items():
        try:
            out[key] = train.check_setting(key, value, rules[key])
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise ValueError("invalid parameters: " + "; ".join(problems))
    return out


def config_from_parameters(parameters: dict[str, Any]) -> ExperimentConfig:
    """Map the UPPER_CASE notebook parameters of chapter 09 onto an :class:`ExperimentConfig`.

    Every parameter is first checked by :func:`check_parameters` under its own name. ``EPOCHS``,
    ``LR`` and the other names in :data:`TRAIN_PARAMETERS` go to ``train``, ``MODEL_OPTIONS`` (a
    mapping) to ``model_options``; every other name is the lower-case config key (``TASK`` →
    ``task``, ``NUM_STEPS`` → ``num_steps``, ...); :data:`NOTEBOOK_ONLY` names are checked and
    then ignored.

    Args:
        parameters: Notebook parameters.

    Returns:
        The validated config.

    Raises:
        ValueError: If a name maps onto no config key (the message lists the allowed ones) or a
            value breaks its rule (the message names the parameter and what it allows).
    """
    parameters = check_parameters(parameters)
    values: dict[str, Any] = {"train": {}, "model_options": {}}
    for key, value in parameters.items():
        if key in NOTEBOOK_ONLY:
            continue
        if key in TRAIN_PARAMETERS:
            values["train"][TRAIN_PARAMETERS[key]] = value
        elif key == "MODEL_OPTIONS":
            values["model_options"].update(value or {})
        else:
            values[key.lower()] = value
    return ExperimentConfig.from_dict(values)


SMOKE_PARAMETERS: dict[str, Any] = {
    "RUN": "smoke",
    "SMOKE": True,
    "EPOCHS": 1,
    "TRAIN_SUBSET": 16,
    "HESSIAN_SUBSET": 2,
    "EPS_BATCH_SIZE": 1,
    "HESSIAN_BATCH_SIZE": 2,
    "SWEEP_TRAIN_SUBSET": 8,
    "TEST_SUBSET": 8,
    "EVAL_BATCH_SIZE": 16,
    "GRID_POINTS": 4,
    "NUM_STEPS": 3,
    "NUM_PROBES": 1,
    "PREDICTORS": ["paper", "free", "taylor", "authors"],
    "REFIT_MAX_ITER": 2,
    "DEMO_STEPS": 2,
    "DEMO_PROBES": 1,
    "DEMO_ZERO_ROWS": 0,
}
"""What ``SMOKE=1`` sets (:func:`smoke_parameters`): every size that costs time, shrunk.

One epoch on 16 training images; the Hessian, ε (two batches of one image) and the zero rows on
2 images; a sweep of 4 sparsities over 8 training and 8 test images; SLQ with one probe of 3
steps; the refit measurement with 2 L-BFGS iterations per point; the demonstration cells of
chapter 09 with one probe of 2 steps. The trust-region ``refit`` predictor is left out: its
conjugate-gradient iterations (up to 100 products per sparsity) cannot be capped from a task
file. The run is named ``smoke`` and marked ``smoke: true`` in its config. What remains costs
most for the largest networks: a Hessian-vector product of a convolutional network on a CPU,
and the fixed point over $D$ sorted weights (tens of seconds per call for AlexNet's 47 million)."""

SMOKE_ZERO_ROWS = 2
"""Hessian rows a smoke run samples for the zero-curvature mass (fewer if the task asks fewer)."""


def smoke_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``SMOKE=1`` lays over a task's, so that any task runs in minutes on a CPU.

    Args:
        parameters: The task's parameters (with the notebook's defaults).

    Returns:
        :data:`SMOKE_PARAMETERS`, and ``ZERO_ROWS`` capped at :data:`SMOKE_ZERO_ROWS` (a task that
        skips the zero rows keeps skipping them).
    """
    out = dict(SMOKE_PARAMETERS)
    rows = parameters.get("ZERO_ROWS", 0)
    out["ZERO_ROWS"] = min(rows if _is_int(rows, 0) else 0, SMOKE_ZERO_ROWS)
    return out


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


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Reporter:
    """Progress lines of a run: ``[elapsed] task/run: message``, flushed at once.

    Args:
        config: The run (its name prefixes each line).
        write: Where a line goes (default ``print``); ``None`` keeps the run quiet.
    """

    def __init__(self, config: ExperimentConfig, write: Callable[[str], None] | None = print):
        self.name, self.write, self.start = f"{config.task}/{config.run}", write, time.time()

    def __call__(self, message: str) -> None:
        """Report one line.

        Args:
            message: What happened.
        """
        if self.write is None:
            return
        elapsed = time.time() - self.start
        minutes, secs = divmod(int(elapsed), 60)
        line = f"[{minutes // 60:d}:{minutes % 60:02d}:{secs:02d}] {self.name} {message}"
        if self.write is print:
            print(line, flush=True)
        else:
            self.write(line)


class _Stages:
    """Finished stages saved as ``<folder>/checkpoints/<stage>.pt`` with the key of their inputs.

    Each stage is reported when it starts and when it ends (or is reused); a checkpoint that
    cannot be read is named in a warning, moved aside and computed again.
    """

    def __init__(self, folder: Path, resume: bool, report: Callable[[str], None] | None = None):
        self.folder = folder / "checkpoints"
        self.resume = resume
        self.times: dict[str, float] = {}
        self.reused: dict[str, bool] = {}
        self.report = report or (lambda message: None)

    def __call__(self, name: str, key: str, compute: Callable[[], Any]) -> Any:
        import pnlib

        # a stage saved by another version of the schema or of pnlib is recomputed
        key = _digest([SCHEMA, pnlib.__version__, key])
        path = self.folder / f"{name}.pt"
        if self.resume and path.exists():
            state = self._load(path)
            if state is not None and state.get("key") == key:
                self.times[name], self.reused[name] = float(state["seconds"]), True
                self.report(f"{name}: reused (it took {_duration(state['seconds'])})")
                return state["value"]
        self.report(f"{name}: started")
        start = time.perf_counter()
        value = compute()
        seconds = time.perf_counter() - start
        torch_save({"key": key, "value": value, "seconds": seconds}, path)
        self.times[name], self.reused[name] = seconds, False
        self.report(f"{name}: done in {_duration(seconds)}")
        return value

    @staticmethod
    def _load(path: Path) -> dict | None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
            if not isinstance(state, dict) or not {"key", "value", "seconds"} <= set(state):
                raise ValueError("not a stage checkpoint")
        except Exception as error:  # truncated, corrupted or unreadable: compute it again
            move_aside(path, f"{type(error).__name__}: {error}")
            return None
        return state


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


def results_root_for(save_results: bool) -> Path:
    """The results root chapter 09 writes to.

    Args:
        save_results: The notebook's ``SAVE_RESULTS``.

    Returns:
        :func:`pnlib.paths.results_dir` (``results/``, or ``PNLIB_RESULTS``) when saving, else a
        scratch folder ``<cache>/book-results``.
    """
    return results_dir() if save_results else cache_dir() / "book-results"


def run(
    config: ExperimentConfig | dict[str, Any],
    *,
    results_root: str | os.PathLike | None = None,
    resume: bool = True,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    r"""Run one experiment end to end and write its ``metrics.json`` and ``env.json``.

    Stages: load the data (a missing dataset raises :class:`pnlib.data.DatasetNotFoundError`
    before anything is trained), train with LOMP or resume from the checkpoint, sweep one-shot
    global magnitude pruning, estimate $\epsilon$, the spectrum and the zero-curvature mass,
    predict, and measure the actual limit by the ``accuracy``, ``tolerance`` and ``loss``
    criteria. The schema of ``metrics.json`` is in the module docstring.

    Only training sees augmented images (drawn from a generator seeded by the config and saved
    with the training checkpoint); the sweep, $\epsilon$, every Hessian product, the zero rows,
    the path terms and the refit measurement see the training images without augmentation, in a
    fixed order. Everything that can be checked without data is checked before the data are
    loaded, and the size of the $\epsilon$ batches against the data before training starts.
    Temporary files a killed earlier attempt left behind are removed first.

    Args:
        config: The experiment (or a mapping for :meth:`ExperimentConfig.from_dict`).
        results_root: Root of the results (default ``<project>/results``).
        resume: Reuse the training checkpoint and finished stages; ``False`` starts over.
        log: Where the progress lines go (:class:`Reporter`); default ``print`` when
            ``config.progress``, else nowhere.

    Returns:
        The metrics, the folder, the trained model, the sweep and the prediction.
    """
    if not isinstance(config, ExperimentConfig):
        config = ExperimentConfig.from_dict(config)
    report = Reporter(config, log if log is not None else (print if config.progress else None))
    root = Path(results_root) if results_root is not None else results_dir()
    folder = root / config.task / config.run
    clean_stale_temporaries(root / "checkpoints", folder, folder / "checkpoints")
    checkpoint = train_checkpoint(config, root)
    if not resume:
        checkpoint.unlink(missing_ok=True)
    device = resolve_device(config.device)
    # measurements see the training images as they are; only training augments them
    train_set = data.load(config.dataset, root=config.data_root, train=True, augment=False)
    test_set = data.load(config.dataset, root=config.data_root, train=False)
    test_set = _subset(test_set, config.test_subset, config.seed + 5)
    hess_set = _subset(train_set, config.hessian_subset, config.seed + 2)
    _check_eps_batches(config, len(hess_set))
    model = _build_model(config, device)
    config, notes = _what_runs(config, model)
    for note in notes:
        report(f"note: {note}")
    augment = torch.Generator().manual_seed(config.seed + 6)
    fit_set = data.load(
        config.dataset, root=config.data_root, train=True, augment=True, generator=augment
    )
    dims = sum(p.numel() for p in models.prunable_parameters(model).values())
    report(
        f"{config.model} on {config.dataset} ({len(train_set)} training, {len(test_set)} test, "
        f"{len(hess_set)} Hessian examples), D = {dims:,}, on {repro.device_name(device)}"
        + (" [smoke run: every size shrunk, the limits mean nothing]" if config.smoke else "")
    )
    stages = _Stages(folder, resume, report)
    start = time.perf_counter()
    model, history = _train_stage(config, model, fit_set, checkpoint, augment, stages, report)
    sweep = _sweep_stage(config, model, train_set, test_set, stages)
    prediction = _predict_stages(config, model, hess_set, stages)
    report(f"predict: done ({_duration(stages.times.get('predict', 0.0))} outside the stages)")
    refits = _refit_stages(config, model, train_set, sweep, prediction.eps, stages)
    metrics = _metrics(config, model, sweep, prediction, stages, train_set, test_set, hess_set)
    metrics["notes"] = [*metrics["notes"], *notes]
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
    report(f"done in {_duration(metrics['times']['wall'])}: {folder / 'metrics.json'}")
    return RunResult(metrics, folder, model, sweep, prediction, history, hess_set)


def _what_runs(config: ExperimentConfig, model: nn.Module) -> tuple[ExperimentConfig, list[str]]:
    """The config as it will run on this model, and what was changed to make it so.

    SLQ cannot run more Lanczos steps than the dimension ``D`` of the block: a larger
    ``num_steps`` is lowered to ``D``, recorded as such, and noted.

    Args:
        config: The config asked for.
        model: The built network.

    Returns:
        The config that runs and the notes for ``metrics.json``.
    """
    dim = sum(p.numel() for p in models.prunable_parameters(model).values())
    notes = []
    if config.num_steps > dim:
        notes.append(
            f"num_steps {config.num_steps} was asked for but D = {dim}: SLQ runs at most D "
            f"Lanczos steps, so num_steps = {dim} ran and is recorded"
        )
        config = dataclasses.replace(config, num_steps=dim)
    return config, notes


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


def _train_stage(config, model, fit_set, checkpoint, augment, stages, report):
    fit_set = _subset(fit_set, config.train_subset, config.seed + 1)
    total, started = config.train.epochs, time.perf_counter()
    ran: list[float] = []

    def on_epoch(stats: dict[str, float]) -> None:
        ran.append(stats["seconds"])
        left = (total - int(stats["epoch"])) * sum(ran) / len(ran)
        report(
            f"train: epoch {int(stats['epoch'])}/{total}, loss {stats['loss']:.4g}, accuracy "
            f"{stats['accuracy']:.3f}, {_duration(stats['seconds'])} per epoch, about "
            f"{_duration(left)} left"
        )

    report(f"train: {total} epochs on {len(fit_set)} examples (checkpoint {checkpoint.name})")
    result = train.train(
        model,
        fit_set,
        config.train,
        generator=torch.Generator().manual_seed(config.seed),
        checkpoint=checkpoint,
        device=device_of(model),
        progress=config.progress,
        augment_generator=augment,
        on_epoch=on_epoch,
    )
    stages.times["train"] = float(sum(h["seconds"] for h in result.history))
    stages.reused["train"] = result.resumed_from >= config.train.epochs
    if stages.reused["train"]:
        report(
            f"train: reused the finished checkpoint (it took {_duration(stages.times['train'])})"
        )
    else:
        resumed = f", resumed after epoch {result.resumed_from}" if result.resumed_from else ""
        report(f"train: done in {_duration(time.perf_counter() - started)}{resumed}")
    model.eval()
    return model, result.history


def device_of(model: nn.Module) -> torch.device:
    """The device of a model's parameters.

    Args:
        model: The network.

    Returns:
        The device of its first parameter.
    """
    return next(model.parameters()).device


def _sweep_stage(config, model, train_set, test_set, stages):
    sweep_train = _subset(train_set, config.sweep_train_subset, config.seed + 3)
    measure = train.measure_on(
        {"train": sweep_train, "test": test_set}, batch_size=config.eval_batch_size
    )
    grid = prune.sparsity_grid(config.grid_points)
    inputs = [config.train_key(), config.grid_points, config.sweep_train_subset]
    inputs.append(config.eval_batch_size)
    if config.test_subset is not None:  # (absent from older keys, which stay valid)
        inputs.append(["test_subset", config.test_subset])
    key = _digest(inputs)
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
        "prediction": {k: pred[k] for k in PREDICTION_KEYS},
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


NOT_COMPARED = ("run", "progress", "device", "data_root")
"""Config keys that do not decide a run's numbers: a run that differs from its task file only in
these still counts as made with the task file's own parameters."""


def _config_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(ExperimentConfig):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    out["train"] = dataclasses.asdict(train.TrainConfig())
    out["predictors"] = list(predict.PREDICTORS)
    return out


def _plain(value: Any) -> Any:
    # compare 1 and 1.0, (1, 2) and [1, 2] as equal, keep booleans apart
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def run_differences(metrics: dict[str, Any], task: dict[str, Any]) -> list[str]:
    """The settings in which a run departs from its task file's own parameters.

    Keys missing from an older run's config count as their defaults; the keys of
    :data:`NOT_COMPARED` are ignored, and ``num_steps`` is compared after capping at ``D`` (what
    SLQ can run).

    Args:
        metrics: A run's ``metrics.json``.
        task: The task file's config (:meth:`ExperimentConfig.to_dict` of :func:`load_config`).

    Returns:
        The differing keys (``train.epochs``, ``grid_points``, ...), or ``["smoke"]`` first for a
        smoke run; empty when the run used the task file's parameters.
    """
    have = {**_config_defaults(), **metrics.get("config", {})}
    have["train"] = {**dataclasses.asdict(train.TrainConfig()), **have.get("train", {})}
    dim = metrics.get("dims", {}).get("num_prunable")
    out = ["smoke"] if have.get("smoke") else []
    for key, want in task.items():
        if key in NOT_COMPARED or key == "smoke":
            continue
        mine = have.get(key)
        if key == "num_steps" and dim:
            want, mine = min(want, dim), min(mine, dim)
        if key == "train":
            out += [f"train.{k}" for k, v in want.items() if _plain(mine.get(k)) != _plain(v)]
        elif _plain(mine) != _plain(want):
            out.append(key)
    return out


def task_runs(
    results_root: str | os.PathLike | None = None, experiments: str | os.PathLike | None = None
) -> tuple[dict[str, dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """The run of each task file that the reproduction page reports, and the runs it leaves out.

    A run counts when it was made with its task file's own parameters (:func:`run_differences`
    is empty): smoke runs and runs with overridden parameters are left out. Of the runs that
    count, the one named as the task file's ``RUN`` (``default`` unless the file says otherwise)
    wins; failing that, the alphabetically last.

    Args:
        results_root: Root of the results (default :func:`pnlib.paths.results_dir`).
        experiments: Folder of the task files (default ``<project>/experiments``).

    Returns:
        ``{task: metrics}`` in task-file order, and ``(metrics, why)`` for each run of a task
        file that was left out.
    """
    folder = Path(experiments) if experiments is not None else project_root() / "experiments"
    tasks = {p.stem: load_config(p).to_dict() for p in sorted(folder.glob("*.yaml"))}
    chosen: dict[str, dict[str, Any]] = {}
    left_out: list[tuple[dict[str, Any], str]] = []
    for metrics in read_results(results_root):
        task = tasks.get(metrics["task"])
        if task is None:
            continue
        differ = run_differences(metrics, task)
        if differ:
            why = "smoke run" if differ[0] == "smoke" else "overridden: " + ", ".join(differ)
            left_out.append((metrics, why))
            continue
        current = chosen.get(metrics["task"])
        if current is None or current["run"] != task["run"]:
            chosen[metrics["task"]] = metrics  # sorted by run: the named run, else the last
    return {t: chosen[t] for t in tasks if t in chosen}, left_out


def summary(
    metrics: dict[str, Any],
    folder: str | os.PathLike | None = None,
    notebook: str | os.PathLike | None = None,
) -> str:
    """A few lines that say what a run found and where its files are, for the terminal.

    Args:
        metrics: The run's ``metrics.json``.
        folder: Where ``metrics.json`` is.
        notebook: The executed notebook.

    Returns:
        The text: predictions (the recommended one marked), actual limits, ε, times, paths.
    """
    est, actual = metrics["estimates"], metrics["actual"]
    pred = metrics["prediction"]
    mark = metrics.get("recommended")
    smoke = metrics.get("config", {}).get("smoke")
    lines = [
        f"== {metrics['task']}/{metrics['run']}"
        + (" (smoke run: every size shrunk, the limits mean nothing)" if smoke else ""),
        f"   {metrics['config']['model']} on {metrics['config']['dataset']}, "
        f"D = {metrics['dims']['num_prunable']:,}, {metrics['device']}, "
        f"dense test accuracy {metrics['dense']['test_accuracy']:.4f}",
        "   predicted sparsity: "
        + ", ".join(
            f"{k} {v:.3f}" + (" (recommended)" if k == mark else "") for k, v in est.items()
        )
        + f"; paper's bounds [{pred['lower']:.3f}, {pred['upper']:.3f}]",
        "   actual limits:      " + ", ".join(f"{k} {v:.3f}" for k, v in actual.items()),
        f"   eps {metrics['eps']['value']:.3g} ({metrics['eps']['source']}); spectrum "
        f"{metrics['spectrum']['source']}, {metrics['spectrum']['num_matvecs']} products",
        "   times: "
        + ", ".join(
            f"{k} {_duration(v)}" + (" (reused)" if metrics.get("reused", {}).get(k) else "")
            for k, v in metrics["times"].items()
            if k not in ("total", "wall") and (v >= 0.05 or metrics.get("reused", {}).get(k))
        )
        + f"; wall {_duration(metrics['times']['wall'])}",
    ]
    lines += [f"   note: {n}" for n in metrics.get("notes", [])]
    if folder is not None:
        lines.append(f"   metrics: {Path(folder) / 'metrics.json'}")
    if notebook is not None:
        lines.append(f"   notebook: {notebook}")
    return "\n".join(lines)


def demo_plan(
    dim: int, examples: int, steps: int, probes: int, max_gb: float, itemsize: int = 8
) -> dict[str, Any]:
    """How large chapter 09's demonstration may be: its Lanczos memory against a budget.

    SLQ keeps every Lanczos vector of every probe, ``probes × steps × D`` numbers. When that
    does not fit in ``max_gb``, one probe is used, and the steps are lowered until it fits; with
    fewer than two steps, or fewer than two examples (ε needs two batches), the demonstration is
    skipped.

    Args:
        dim: ``D``, the prunable weights.
        examples: Examples available for the demonstration.
        steps: Lanczos steps asked for.
        probes: SLQ probes asked for.
        max_gb: Memory budget in GiB.
        itemsize: Bytes per number (8 for float64 products, 4 for float32).

    Returns:
        ``steps`` and ``probes`` to use, ``gb`` (the estimate for the steps asked for),
        ``eps_batch_size`` (at most 128, two batches at least), ``run`` and ``why``.

    Example:
        >>> plan = demo_plan(46_778_400, 2000, 64, 4, 2.0, itemsize=4)  # AlexNet
        >>> plan["probes"], plan["steps"], round(plan["gb"], 1)
        (1, 11, 44.6)
    """
    gb = probes * steps * dim * itemsize / 2**30
    used_probes = probes if gb <= max_gb else 1
    fit = int(max_gb * 2**30 // max(1, used_probes * dim * itemsize))
    use = max(0, min(steps, fit, dim))
    plan = {
        "steps": use,
        "probes": used_probes,
        "gb": gb,
        "eps_batch_size": max(1, min(128, examples // 2)),
        "run": True,
        "why": f"{probes} probes x {steps} steps x D = {dim:,} need {gb:.2f} GiB",
    }
    if examples < 2:
        plan.update(run=False, why=f"only {examples} example(s): eps needs two batches")
    elif use < 2:
        plan.update(run=False, why=plan["why"] + f", more than DEMO_MAX_GB = {max_gb:g}")
    elif use < steps or used_probes < probes:
        plan["why"] += f"; {used_probes} probe(s) of {use} steps fit in DEMO_MAX_GB = {max_gb:g}"
    return plan


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
    "prediction": PREDICTION_KEYS,
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

METRICS_DOC: dict[str, str] = {
    "schema": (":data:`SCHEMA` "),
    "task": ("name of the task "),
    "run": ("name of this run "),
    "config": (
        "the full configuration (:meth:`ExperimentConfig.to_dict`): ``task``, ``model``, "
        "``dataset``, ``run``, ``seed``, ``train`` and every other field "
    ),
    "train_key": ("hash of the training-relevant configuration (names the checkpoint) "),
    "device": ("where the run computed, in words "),
    "dims": (
        "``num_parameters``, ``num_prunable`` (= $D$ of the Hessian), ``num_train``, "
        "``num_test``, ``num_hessian`` (examples in $H$) "
    ),
    "dense": ("``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` "),
    "eps": (
        '``value``, ``source`` (``"std of batch losses"`` or ``"given"``), ``batch_size``, '
        "``num_batches`` "
    ),
    "spectrum": (
        '``source`` (``"exact"`` or ``"slq"``), ``dim``, ``num_steps``, ``num_probes``, '
        "``num_matvecs``, ``ritz_min``, ``ritz_max``, ``trace`` and ``trace_stderr`` (signed "
        "$\\operatorname{tr} H$), ``abs_trace`` ($\\operatorname{tr}\\lvert H\\rvert$), "
        "``negative_mass`` (nodes below $-$``negative_tol`` $= "
        "-10^{-9}\\max\\lvert\\theta\\rvert$), ``near_zero_mass`` (quadrature mass with "
        "$\\lvert\\theta\\rvert \\le 10^{-6} \\max\\lvert\\theta\\rvert$), ``zero_row_fraction`` "
        "(sampled Hessian rows with $\\ell_1$ norm below ``zero_tol``), ``zero_rows`` (rows "
        "sampled), ``zero_mass_used`` (mass put at $\\lambda = 0$ in the prediction), ``why`` "
        "(why the spectrum is exact or SLQ) "
    ),
    "prediction": (
        "the paper's fixed point: ``sparsity``, ``density``, ``lower``, ``upper`` (sparsities),"
        " ``gap_pp`` (upper minus lower), ``interval_lower`` and ``interval_upper`` (an "
        "interval on $s^*$ that covers the quadrature bias of SLQ, "
        ":func:`pnlib.bounds.limit_interval`), ``radius`` ($R(s^*)$), ``negative`` "
    ),
    "estimates": (
        "predicted sparsity per predictor of :mod:`pnlib.predict` (``paper``, ``free``, "
        "``taylor``, ``refit``, ``authors``) "
    ),
    "recommended": ("the predictor :func:`pnlib.predict.predict_pruning_limit` recommends "),
    "costs": (
        "per predictor (``paper``, ...) and stage: ``hvps`` (Hessian-vector products), "
        "``gradients``, ``data_passes``, ``seconds`` "
    ),
    "notes": ("what the prediction wants the reader to know (vacuous bounds, CG) "),
    "variants": (
        "the paper's fixed point with ``abs`` and ``clip`` handling of negative eigenvalues "
        "(``negative_abs``, ``negative_clip``), without the zero-curvature mass "
        "(``without_zero_mass``), from the first half of the Lanczos steps (``half_steps``, "
        "``null`` for an exact spectrum), and the authors' pipeline one choice at a time "
        "(``authors_quirks``, ``authors_grid_argmin``) "
    ),
    "actual": (
        "largest sparsity meeting each criterion: ``accuracy`` (test accuracy not below dense),"
        " ``accuracy_above`` (strictly above dense, the authors' code), ``tolerance``, ``loss``"
        " (training-loss increase at most $\\epsilon$), and the measured refit limits ``refit`` "
        "and ``refit_local`` (:mod:`pnlib.refit`) "
    ),
    "refit": (
        "the refit measurements: ``limit``, ``local``, ``monotone``, ``evaluations``, "
        "``iterations``, ``seconds``, and the points evaluated "
    ),
    "delta_pp": (
        "per criterion of ``actual`` (``accuracy``, ``accuracy_above``, ``tolerance``, "
        "``loss``, and the refit limits when measured) and per predictor, "
        "$|s_{\\rm estimate} - s_{\\rm actual}|$ in points "
    ),
    "path": (
        "the second-order model along the pruning step at $s^*$ "
        "(:func:`pnlib.predict.path_terms`): ``radius``, ``linear`` ($g^\\top\\Delta$), "
        "``quadratic`` ($\\tfrac12\\Delta^\\top H\\Delta$), ``random_quadratic`` ($\\tfrac12 "
        "R^2\\operatorname{tr}H/D$), ``alignment`` (their ratio) and ``loss_increase`` (measured"
        " by the sweep), at ``sparsity`` "
    ),
    "times": ("seconds per stage (:data:`STAGES`), ``total`` and ``wall`` "),
    "reused": ("per stage, whether it was loaded from a finished earlier attempt "),
    "curves": (
        "the sweep, compact: ``stride`` (every ``stride``-th grid point), ``sparsity``, "
        "``radius``, ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy``, "
        "``theory`` ($s(R)$ at those radii) and ``taylor`` (the Taylor increase), each rounded "
        "to 6 significant digits "
    ),
}
"""What each section of ``metrics.json`` holds; the module docstring's table is made from it."""


def _metrics_table() -> str:
    # an RST table of METRICS_DOC, wrapped to the docstring's width
    rule = "=" * 24 + "  " + "=" * 70
    rows = [rule, f"{'key':24s}  content", rule]
    for key, text in METRICS_DOC.items():
        lines = textwrap.wrap(text, 70) or [""]
        rows.append(f"{'``' + key + '``':24s}  {lines[0]}")
        rows += [" " * 26 + line for line in lines[1:]]
    return "\n".join([*rows, rule])


if __doc__:
    __doc__ = __doc__.replace("{metrics_table}", _metrics_table())


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
        "interval_lower <= prediction <= interval_upper": pred["interval_lower"] - 1e-12
        <= pred["sparsity"]
        <= pred["interval_upper"] + 1e-12,
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
