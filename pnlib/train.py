r"""Training with $\ell_1$/$\ell_2$ regularisation, evaluation, checkpoints and resumption.

LOMP, the paper's method, is plain SGD on the cross-entropy plus $\lambda\|w\|_1$ followed by
one-shot global magnitude pruning; this module is its first half. Training is deterministic on
CPU: the data order of epoch $e$ comes from a generator seeded with ``(base_seed, e)``, so a run
resumed from the checkpoint of epoch $e$ continues exactly as the uninterrupted run would. Data
augmentation draws from a generator of its own (``augment_generator``, see
:func:`pnlib.data.load`), whose state is saved with each checkpoint and restored on resumption. A
checkpoint that cannot be read (truncated, corrupted) is named in a warning, moved aside and
training starts over.

Every setting is checked by :func:`check_setting` before any work, with a message that names the
setting and what it allows.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from pnlib import models
from pnlib.paths import move_aside, torch_save

SCHEDULES = ("constant", "multistep", "cosine")
L1_SCOPES = ("weights", "all")
LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Rule:
    """What a setting allows: its kind, its range, whether it may be null.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"names"`` (a list of choices),
            ``"ints"`` (a list of integers), ``"str"`` or ``"mapping"``.
        low: Smallest value (numbers; the length of nothing else).
        high: Largest value.
        low_open: ``low`` itself is not allowed.
        high_open: ``high`` itself is not allowed.
        nullable: ``None`` (YAML ``null``) is allowed.
        choices: The allowed values of a ``"choice"``.
        finite: Numbers must be finite.
        text: Words for the rule instead of the generated ones (``"a positive number"``).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    nullable: bool = False
    choices: tuple = ()
    finite: bool = True
    text: str = ""

    def describe(self) -> str:
        """The rule in words, as error messages give it.

        Returns:
            E.g. ``"an integer >= 1"``, ``"a number in [0, 1)"``, ``"one of 'abs', 'clip'"``.
        """
        if self.text:
            return self.text + (" or null" if self.nullable else "")
        what = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "ints": "a list of integers",
            "str": "a string",
            "mapping": "a mapping",
        }.get(self.kind)
        if self.kind == "choice":
            what = "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "names":
            what = "a list of names from " + ", ".join(repr(c) for c in self.choices)
        if self.kind in ("int", "float", "ints"):
            if self.low is not None and self.high is not None:
                left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
                what += f" in {left}{_num(self.low)}, {_num(self.high)}{right}"
            elif self.low is not None:
                what += f" {'>' if self.low_open else '>='} {_num(self.low)}"
            elif self.high is not None:
                what += f" {'<' if self.high_open else '<='} {_num(self.high)}"
        return what + (" or null" if self.nullable else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


_FLOAT_TEXT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def check_setting(name: str, value: Any, rule: Rule) -> Any:
    """Check one setting against its rule and return it in its canonical type.

    Integers must be integers (not ``True``, not ``2.5``, not ``"ten"``); numbers may be integers
    or floats, and a string that spells a number (``"5e-5"``, which YAML 1.1 reads as a string)
    is converted; choices must be among the allowed values.

    Args:
        name: The setting's name as the user wrote it (``EPOCHS``, ``train.epochs``, ...).
        value: The value given.
        rule: What the setting allows.

    Returns:
        The value: ``int``, a number (a float, or the integer given), ``bool``, a tuple (of ints,
        of names), or as given.

    Raises:
        ValueError: ``"<name> must be <rule>; got <value> (<type>)"``.

    Example:
        >>> check_setting("L1", "5e-5", Rule("float", low=0))
        5e-05
        >>> check_setting("EPOCHS", True, Rule("int", low=1))
        Traceback (most recent call last):
        ...
        ValueError: EPOCHS must be an integer >= 1; got True (bool)
    """
    if value is None:
        if rule.nullable:
            return None
        _refuse(name, value, rule)
    kind = rule.kind
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            _refuse(name, value, rule)
        return bool(value)
    if kind == "choice":
        if not _among(value, rule.choices):
            _refuse(name, value, rule)
        return value
    if kind == "names":
        names = (value,) if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not all(_among(n, rule.choices) for n in names):
            _refuse(name, value, rule)
        return tuple(names)
    if kind == "str":
        if not isinstance(value, str):
            _refuse(name, value, rule)
        return value
    if kind == "mapping":
        if not isinstance(value, dict):
            _refuse(name, value, rule)
        return value
    if kind == "ints":
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
            _refuse(name, value, rule)
        try:
            items = [check_setting(name, v, dataclasses.replace(rule, kind="int")) for v in value]
        except ValueError:
            _refuse(name, value, rule)
        return tuple(items)
    if isinstance(value, (bool, np.bool_)):
        _refuse(name, value, rule)
    if kind == "int":
        if not isinstance(value, (int, np.integer)):
            _refuse(name, value, rule)
        number: float = int(value)
    else:
        if isinstance(value, str) and _FLOAT_TEXT.match(value):
            value = float(value)
        if not isinstance(value, (int, float, np.integer, np.floating)):
            _refuse(name, value, rule)
        number = float(value)
        if math.isnan(number) or (rule.finite and math.isinf(number)):
            _refuse(name, value, rule)
        value = value.item() if isinstance(value, (np.integer, np.floating)) else value
    low_bad = rule.low is not None and (number < rule.low or (rule.low_open and number == rule.low))
    high_bad = rule.high is not None and (
        number > rule.high or (rule.high_open and number == rule.high)
    )
    if low_bad or high_bad:
        _refuse(name, value, rule)
    # an integer given for a number stays an integer: the configuration's hash (the name of its
    # checkpoints) is the same as before the checks existed
    return int(number) if kind == "int" else value


def _among(value: Any, choices: tuple) -> bool:
    # True is not 1 and 1 is not True: a choice must match in type as well as in value
    return any(value is c or (type(value) is type(c) and value == c) for c in choices)


def _refuse(name: str, value: Any, rule: Rule) -> None:
    """Raise the error of :func:`check_setting`.

    Args:
        name: The setting.
        value: What was given.
        rule: What is allowed.

    Raises:
        ValueError: Always.
    """
    raise ValueError(f"{name} must be {rule.describe()}; got {value!r} ({type(value).__name__})")


TRAIN_RULES: dict[str, Rule] = {
    "epochs": Rule("int", low=1),
    "batch_size": Rule("int", low=1),
    "lr": Rule("float", low=0, low_open=True),
    "momentum": Rule("float", low=0, high=1, high_open=True),
    "weight_decay": Rule("float", low=0),
    "l1": Rule("float", low=0),
    "l1_scope": Rule("choice", choices=L1_SCOPES),
    "schedule": Rule("choice", choices=SCHEDULES),
    "milestones": Rule("ints", low=0),
    "gamma": Rule("float", low=0, low_open=True),
    "warmup_epochs": Rule("int", low=0),
    "step_per_iteration": Rule("bool"),
    "max_loss": Rule("float", low=0, low_open=True, finite=False),
}
"""What each :class:`TrainConfig` field allows (:func:`check_setting`)."""


class TrainingDiverged(RuntimeError):
    """Raised when the training loss becomes NaN, infinite, or larger than ``max_loss``."""


@dataclass(frozen=True)
class TrainConfig:
    r"""Hyperparameters of one training run (SGD with momentum).

    Attributes:
        epochs: Number of passes over the training data.
        batch_size: Mini-batch size.
        lr: Peak learning rate.
        momentum: SGD momentum.
        weight_decay: $\ell_2$ coefficient (coupled weight decay, as ``torch.optim.SGD``).
        l1: $\lambda$ of the penalty $\lambda\|w\|_1$ added to the loss.
        l1_scope: ``"weights"``: conv/linear weights only; ``"all"``: every weight and bias,
            BatchNorm included (what the paper's code does).
        schedule: ``"constant"``, ``"multistep"`` (multiply by ``gamma`` at ``milestones``) or
            ``"cosine"`` (from ``lr`` to 0 over the epochs after warm-up).
        milestones: Epochs at which ``"multistep"`` decays.
        gamma: Decay factor of ``"multistep"``.
        warmup_epochs: Linear warm-up from 0 to ``lr`` over this many epochs.
        step_per_iteration: Reproduce a quirk of the paper's code, which steps its schedulers
            every iteration: milestones, warm-up length and the cosine period are then counted
            in iterations, not epochs (so the decay happens within the first epoch or two).
        max_loss: A training loss above this (or NaN/inf) stops training with an error.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    l1: float = 0.0
    l1_scope: str = "weights"
    schedule: str = "constant"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    warmup_epochs: int = 0
    step_per_iteration: bool = False
    max_loss: float = 1e4

    def __post_init__(self) -> None:
        """Validate every field before any work starts (:data:`TRAIN_RULES`).

        Raises:
            ValueError: Naming the field, what it allows and what it got.
        """
        for name, rule in TRAIN_RULES.items():
            try:
                value = check_setting(name, getattr(self, name), rule)
            except ValueError as error:
                raise ValueError(f"invalid training settings: {error}") from None
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a config from a mapping, refusing unknown keys.

        Args:
            values: Field names and values.

        Returns:
            The config.

        Raises:
            ValueError: If a key is not a field.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; allowed: {sorted(names)}")
        return cls(**values)


def learning_rate(config: TrainConfig, epoch: int, iteration: int, iters_per_epoch: int) -> float:
    r"""Learning rate at ``iteration`` (0-based) of ``epoch`` (0-based), in closed form.

    Warm-up is linear, $\eta\,(t+1)/T_w$; then the multistep rate is $\eta\gamma^{\#\{m \le t\}}$
    and the cosine rate $\tfrac{\eta}{2}(1 + \cos(\pi (t - T_w)/(T - T_w)))$, with $t$ counted in
    epochs, or in iterations when ``step_per_iteration`` reproduces the paper's code.

    Args:
        config: The training settings.
        epoch: Current epoch.
        iteration: Iteration within the epoch.
        iters_per_epoch: Iterations per epoch.

    Returns:
        The learning rate.

    Example:
        >>> cfg = TrainConfig(epochs=10, lr=0.1, schedule="multistep", milestones=(5,), gamma=0.1)
        >>> learning_rate(cfg, 4, 0, 10), round(learning_rate(cfg, 5, 0, 10), 6)
        (0.1, 0.01)
    """
    if config.step_per_iteration:
        t, total = epoch * iters_per_epoch + iteration, config.epochs * iters_per_epoch
    else:
        t, total = epoch, config.epochs
    warm = config.warmup_epochs
    if t < warm:
        return config.lr * (t + 1) / warm
    if config.schedule == "multistep":
        return config.lr * config.gamma ** sum(t >= m for m in config.milestones)
    if config.schedule == "cosine":
        span = max(total - warm, 1)
        return config.lr * 0.5 * (1 + math.cos(math.pi * (t - warm) / span))
    return config.lr


def l1_parameters(model: nn.Module, scope: str = "weights") -> list[nn.Parameter]:
    r"""Parameters the $\ell_1$ penalty acts on.

    Args:
        model: The network.
        scope: ``"weights"`` (conv/linear weights) or ``"all"`` (every parameter).

    Returns:
        The parameters.

    Raises:
        ValueError: If ``scope`` is unknown.
    """
    if scope == "weights":
        return list(models.prunable_parameters(model).values())
    if scope == "all":
        return [p for p in model.parameters() if p.requires_grad]
    raise ValueError(f"l1_scope must be one of {L1_SCOPES}, got {scope!r}")


def l1_penalty(params: Iterable[Tensor]) -> Tensor:
    r"""$\sum_p \|p\|_1$ over the given tensors (a plain sum, not a mean).

    Args:
        params: Tensors.

    Returns:
        A scalar tensor (differentiable).
    """
    return sum(p.abs().sum() for p in params)


def make_loader(
    data: Dataset, batch_size: int, *, shuffle: bool, seed: int | None = None
) -> DataLoader:
    """A single-process DataLoader whose order is fixed by ``seed``.

    Args:
        data: The dataset.
        batch_size: Batch size.
        shuffle: Shuffle the order.
        seed: Seed of the order (required when shuffling).

    Returns:
        The loader.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Dataset | Iterable[tuple[Tensor, Tensor]],
    *,
    loss_fn: LossFn | None = None,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` over a dataset, in eval mode.

    Args:
        model: The network (its train/eval mode is restored afterwards).
        data: A Dataset, or an iterable of ``(inputs, targets)`` batches.
        loss_fn: Batch-mean loss; default cross-entropy.
        batch_size: Batch size when ``data`` is a Dataset.
        device: Where to compute; default the model's device.

    Returns:
        ``{"loss": ..., "accuracy": ...}``, the accuracy as a fraction in [0, 1].

    Raises:
        ValueError: If the dataset is empty.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    batches = make_loader(data, batch_size, shuffle=False) if isinstance(data, Dataset) else data
    was_training = model.training
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    try:
        for inputs, targets in batches:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            loss_sum += float(loss_fn(outputs, targets)) * len(targets)
            correct += int((outputs.argmax(dim=1) == targets).sum())
            total += len(targets)
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    return {"loss": loss_sum / total, "accuracy": correct / total}


def measure_on(
    splits: dict[str, Dataset | Iterable[tuple[Tensor, Tensor]]],
    *,
    loss_fn: LossFn | None = None,
    batch_size: int = 1024,
) -> Callable[[nn.Module], dict[str, float]]:
    """A function that evaluates a model on several data splits, for :func:`pnlib.prune.sweep`.

    Args:
        splits: Named datasets (or batch iterables), e.g. ``{"train": ..., "test": ...}``.
        loss_fn: Batch-mean loss; default cross-entropy.
        batch_size: Batch size for datasets.

    Returns:
        ``model -> {"<split>_loss": ..., "<split>_accuracy": ...}``.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> data = TensorDataset(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
        >>> sorted(measure_on({"test": data})(nn.Linear(3, 2)))
        ['test_accuracy', 'test_loss']
    """

    def measure(model: nn.Module) -> dict[str, float]:
        scores = {}
        for name, data in splits.items():
            result = evaluate(model, data, loss_fn=loss_fn, batch_size=batch_size)
            scores.update({f"{name}_loss": result["loss"], f"{name}_accuracy": result["accuracy"]})
        return scores

    return measure


@torch.no_grad()
def batch_losses(
    model: nn.Module,
    data: Dataset,
    *,
    batch_size: int = 128,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Mean loss of each mini-batch (in dataset order), in eval mode.

    The paper's code sets the allowed loss increase $\epsilon$ to the standard deviation of these
    values over the training set.

    Args:
        model: The network.
        data: The dataset.
        batch_size: Mini-batch size.
        loss_fn: Batch-mean loss; default cross-entropy.
        device: Where to compute; default the model's device.

    Returns:
        A float64 tensor with one loss per batch.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        values = [
            float(loss_fn(model(x.to(device)), y.to(device)))
            for x, y in make_loader(data, batch_size, shuffle=False)
        ]
    finally:
        model.train(was_training)
    return torch.tensor(values, dtype=torch.float64)


@dataclass
class TrainResult:
    """What a training run produced besides the trained model (updated in place).

    Attributes:
        history: One dict per epoch (epoch, lr, loss, penalty, accuracy, seconds, and
            ``eval_loss``/``eval_accuracy`` when evaluation data was given).
        resumed_from: Epoch count of the checkpoint the run resumed from (0 if none).
    """

    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0


def train(
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    *,
    generator: torch.Generator | None = None,
    loss_fn: LossFn | None = None,
    eval_data: Dataset | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    augment_generator: torch.Generator | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    r"""Train ``model`` in place with SGD on the loss plus $\lambda\|w\|_1$.

    With ``checkpoint`` set, the model, optimiser, history, data-order seed and the state of
    ``augment_generator`` are saved atomically after every epoch, and a later call with the same
    path resumes after the last completed epoch (a finished run returns at once). A checkpoint
    that cannot be read is moved aside with a warning that names it, and training starts over.

    Args:
        model: The network, already on ``device``.
        data: Training dataset.
        config: Hyperparameters.
        generator: Source of the data-order seed (default seeded with 0).
        loss_fn: Batch-mean data loss; default cross-entropy.
        eval_data: Dataset evaluated after every epoch (for the history only).
        checkpoint: File for the per-epoch checkpoint.
        device: Device of the batches; default the model's.
        progress: Show a tqdm progress bar over epochs.
        augment_generator: The generator the training data's augmentation draws from
            (:func:`pnlib.data.load`); its state is saved and restored with the checkpoint.
        on_epoch: Called with each epoch's history entry once it is saved (progress reports).

    Returns:
        The history of the run.

    Raises:
        TrainingDiverged: If the loss becomes non-finite or exceeds ``config.max_loss``.
        ValueError: If a checkpoint exists for a different configuration.
    """
    from tqdm import tqdm

    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    base_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    result = TrainResult()
    if checkpoint is not None and Path(checkpoint).exists():
        restored = _restore(checkpoint, model, optimizer, config, result, augment_generator)
        base_seed = base_seed if restored is None else restored
    penalised = l1_parameters(model, config.l1_scope) if config.l1 > 0 else []
    epochs = range(result.resumed_from, config.epochs)
    for epoch in tqdm(epochs, disable=not progress, desc="epochs", file=sys.stderr):
        start = time.perf_counter()
        loader = make_loader(data, config.batch_size, shuffle=True, seed=base_seed + epoch)
        stats = run_epoch(model, loader, optimizer, config, epoch, penalised, loss_fn, device)
        stats.update(epoch=epoch + 1, seconds=time.perf_counter() - start)
        if eval_data is not None:
            scores = evaluate(model, eval_data, loss_fn=loss_fn, device=device)
            stats.update(eval_loss=scores["loss"], eval_accuracy=scores["accuracy"])
        result.history.append(stats)
        if checkpoint is not None:
            _save(checkpoint, model, optimizer, config, result, base_seed, augment_generator)
        if on_epoch is not None:
            on_epoch(stats)
    return result


def run_epoch(
    model,
    loader,
    optimizer,
    config,
    epoch,
    penalised,
    loss_fn,
    device,
    *,
    before_step=None,
    after_step=None,
) -> dict:
    """One epoch of the training loop (shared with :mod:`pnlib.baselines`' masked SGD).

    Args:
        model: The network, trained in place.
        loader: The epoch's batches.
        optimizer: SGD over the model's parameters.
        config: The :class:`TrainConfig` (learning-rate schedule, l1, divergence limit).
        epoch: Zero-based epoch number (for the schedule).
        penalised: Parameters under the l1 penalty.
        loss_fn: Batch-mean loss.
        device: Where the batches go.
        before_step: Called as ``before_step(model, optimizer)`` after the backward pass, before
            the optimizer step (masked SGD zeroes pruned gradients here).
        after_step: Called as ``after_step(model, optimizer)`` after each step.

    Returns:
        The epoch's last learning rate, mean training loss, l1 penalty and accuracy.

    Raises:
        TrainingDiverged: If a batch loss is not finite or exceeds ``config.max_loss``.
    """
    model.train()
    total, loss_sum, correct, lr = 0, 0.0, 0, config.lr
    for iteration, (inputs, targets) in enumerate(loader):
        lr = learning_rate(config, epoch, iteration, len(loader))
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        value = float(loss.detach())
        if not math.isfinite(value) or value > config.max_loss:
            raise TrainingDiverged(
                f"training loss {value} at epoch {epoch + 1}, iteration {iteration + 1} "
                f"(limit {config.max_loss}); lower the learning rate (now {lr:g})"
            )
        objective = loss + config.l1 * l1_penalty(penalised) if penalised else loss
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if before_step is not None:
            before_step(model, optimizer)
        optimizer.step()
        if after_step is not None:
            after_step(model, optimizer)
        loss_sum += value * len(targets)
        correct += int((outputs.argmax(dim=1) == targets).sum())
        total += len(targets)
    with torch.no_grad():
        penalty = float(l1_penalty(penalised)) if penalised else 0.0
    return {"lr": lr, "loss": loss_sum / total, "penalty": penalty, "accuracy": correct / total}


CHECKPOINT_KEYS = ("config", "model", "optimizer", "history", "base_seed")
"""What a training checkpoint holds (besides ``augment_state``, the augmentation's generator)."""


def _save(path, model, optimizer, config, result, base_seed, augment_generator=None) -> None:
    state = {
        "config": dataclasses.asdict(config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": result.history,
        "base_seed": base_seed,
    }
    if augment_generator is not None:
        state["augment_state"] = augment_generator.get_state()
    torch_save(state, path)


def _restore(path, model, optimizer, config, result, augment_generator=None) -> int | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict) or not set(CHECKPOINT_KEYS) <= set(state):
            raise ValueError("not a training checkpoint of pnlib.train")
    except Exception as error:  # truncated, corrupted or foreign: start over
        move_aside(path, f"{type(error).__name__}: {error}")
        return None
    saved = {**state["config"], "milestones": tuple(state["config"]["milestones"])}
    if saved != dataclasses.asdict(config):
        raise ValueError(
            f"checkpoint {path} belongs to another configuration; delete it or use another path"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if augment_generator is not None and "augment_state" in state:
        augment_generator.set_state(state["augment_state"])
    result.history = list(state["history"])
    result.resumed_from = len(result.history)
    return int(state["base_seed"])
