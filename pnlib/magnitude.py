r"""The magnitude order of the prunable weights: the one owner of "which weights go first".

Global magnitude pruning at sparsity $s$ (fraction removed) removes exactly
``num_removed(s, n)`` $= \lfloor s n + 1/2 \rfloor$ of the $n$ prunable weights: those with the
smallest magnitudes, ties broken by position (a stable sort). The supports at increasing
sparsities are therefore nested, which every bisection over sparsity in the project relies on.
:mod:`pnlib.prune` (masks and sweeps), :mod:`pnlib.bounds` ($R(s)$) and the predictors all take
the order from here.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
from torch import Tensor, nn

from pnlib import models

_SQ_NORMS: dict[str, np.ndarray] = {}

__all__ = ["check_sparsity", "flat_prunable", "magnitude_order", "num_removed", "removed_sq_norms"]


def check_sparsity(sparsity: float) -> float:
    """Validate a sparsity (fraction removed).

    Args:
        sparsity: The value to check.

    Returns:
        It, as a float.

    Raises:
        ValueError: If it is not a finite number in [0, 1].
    """
    value = float(sparsity)
    if not (0.0 <= value <= 1.0):
        raise ValueError(
            f"sparsity (fraction of weights removed) must be in [0, 1], got {sparsity}"
        )
    return value


def num_removed(sparsity: float, n: int) -> int:
    """Number of weights removed at ``sparsity`` among ``n``: round half up of ``s * n``.

    Args:
        sparsity: Fraction removed, in [0, 1].
        n: Number of prunable weights.

    Returns:
        An integer in ``[0, n]``.

    Example:
        >>> num_removed(0.5, 5), num_removed(0.0, 7), num_removed(1.0, 7)
        (3, 0, 7)
    """
    return min(n, int(math.floor(check_sparsity(sparsity) * n + 0.5)))


def magnitude_order(weights: Tensor | np.ndarray) -> Tensor:
    """Indices of ``weights`` by increasing magnitude, ties by position (a stable sort).

    Args:
        weights: Flat tensor or numpy array.

    Returns:
        A permutation of ``range(len(weights))`` (a CPU tensor for numpy input).

    Example:
        >>> magnitude_order(np.array([0.3, -0.1, 0.1, 0.05])).tolist()
        [3, 1, 2, 0]
    """
    w = torch.as_tensor(weights)
    return torch.sort(w.abs(), stable=True).indices


def removed_sq_norms(weights: Tensor | np.ndarray) -> np.ndarray:
    r"""Cumulative squared norms of the removed weights: entry ``k`` is $R^2$ after ``k`` removals.

    Args:
        weights: Flat weights.

    Returns:
        A float64 array of length ``n + 1`` starting at 0.
    """
    w = np.ascontiguousarray(torch.as_tensor(weights).detach().double().cpu().reshape(-1).numpy())
    # one sort per weight vector: every fixed point, bound and grid search asks again, and a
    # sort of a paper network's 10^7 weights takes seconds; keyed by content, not identity
    key = hashlib.blake2b(memoryview(w), digest_size=16).hexdigest()
    if key not in _SQ_NORMS:
        ordered = w[magnitude_order(torch.from_numpy(w)).numpy()]
        _SQ_NORMS[key] = np.concatenate([[0.0], np.cumsum(ordered**2)])
        _SQ_NORMS[key].setflags(write=False)  # shared between callers
        while len(_SQ_NORMS) > 4:
            _SQ_NORMS.pop(next(iter(_SQ_NORMS)))
    return _SQ_NORMS[key]


def flat_prunable(model: nn.Module) -> Tensor:
    """All prunable weights as one flat tensor (a copy).

    The order is that of :func:`pnlib.models.prunable_parameters`.

    Args:
        model: The network.

    Returns:
        A 1-D tensor.
    """
    return torch.cat([p.detach().reshape(-1) for p in models.prunable_parameters(model).values()])
