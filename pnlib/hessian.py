r"""Hessian-vector products over a whole dataset, and exact Hessians for tiny networks.

The operator is the Hessian of the mean training loss

$$
L(w) = \frac{1}{N} \sum_{n=1}^{N} \ell(f_w(x_n), y_n)
= \sum_{b} \frac{\lvert b\rvert}{N} \bar\ell_b(w),
$$

where $\bar\ell_b$ is the mean loss of batch $b$. Every product $Hv$ is one pass over the data:
per batch, forward-over-reverse differentiation (``torch.func.jvp`` of the reverse-mode gradient,
with ``torch.func.functional_call``; ``grad``, or ``jacrev`` where ``grad`` under ``jvp`` trips
over ``mse_loss``'s zero tensors) gives $\nabla^2\bar\ell_b\,v$, weighted by
$\lvert b\rvert/N$, so uneven batches are weighted exactly. A block of $k$ vectors goes through
the data once: the tangent of the ``jvp`` is vectorised with ``torch.func.vmap``, so the forward
and backward pass of the primal are shared by all $k$ columns (on CPU, models with convolutions
loop over the columns instead: ``vmap`` turns a block of weight tangents into a grouped
convolution, which is slower there).

Every product at the same weights repeats the same primal pass, so when the data's activations
fit in memory the operator keeps it: per chunk of data, ``torch.func.linearize`` traces the
forward-over-reverse computation once and keeps its primal values, and each later product runs
only the tangent part (about two thirds of the work, with none of the per-call overhead of the
function transforms). The cache is rebuilt when the weights change. Losses that need ``jacrev``
(``mse_loss``) run uncached, as does any model whose traced product fails a check against a
plain one on the first chunk (with a ``RuntimeWarning``). A cached product costs a third to a
half of an uncached one on CPU (``benchmarks/bench_hvp.py``); the first product after a weight
change pays for the trace (about 0.3-0.8 s per chunk on CPU).

When ``torch.distributed`` is initialised, rank $r$ of $W$ processes handles batches
$r, r+W, r+2W, \dots$ and the weighted partial products are summed with ``all_reduce``: the
result is the same operator, computed in parallel.

The products run in eval mode, and at construction two passes over the data must agree batch by
batch (``check_deterministic``), so that every product sees the same loss. The operator composes
small parts: ``pnlib._hvp_data`` (the passes over the data: local batches, chunks, weights, the
example count, the determinism check), ``pnlib._hvp_kernels`` (the functional loss, and the
kernels ``forward_over_reverse``, ``reverse_over_reverse`` and ``over_columns`` as pure
functions) and ``pnlib._hvp_cache`` (the primal cache).

Example:
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> x, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    >>> op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), dtype=torch.float64)
    >>> op.shape
    (26, 26)
    >>> H = exact_hessian(net, nn.CrossEntropyLoss(), (x, y))
    >>> v = torch.randn(26, dtype=torch.float64)
    >>> bool(torch.allclose(op @ v, H @ v))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import linearize
from torch.utils.data import Dataset

from pnlib._hvp_cache import PrimalCache
from pnlib._hvp_data import DataPasses, rank_and_world
from pnlib._hvp_data import check_deterministic as _check_passes
from pnlib._hvp_kernels import (
    FunctionalLoss,
    flatten_block,
    gradient_and_value,
    over_columns,
    split_block,
)

__all__ = [
    "HessianOperator",
    "exact_hessian",
    "flat_params",
    "gradient",
    "select_parameters",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
ParamSpec = str | Sequence[str] | None
Block = tuple[Tensor, ...]


def select_parameters(model: nn.Module, params: ParamSpec = None) -> list[str]:
    """Names of the parameters the Hessian is taken with respect to, in module order.

    Args:
        model: The network.
        params: ``None`` or ``"all"``: every parameter with ``requires_grad`` (the default, the
            full Hessian of the loss); ``"prunable"``: the conv/linear weights that global
            magnitude pruning acts on (:func:`pnlib.models.prunable_parameters`); or a list of
            parameter names.

    Returns:
        The selected names, in the order of ``model.named_parameters()``.

    Raises:
        ValueError: If ``params`` is an unknown string, names unknown parameters, or selects none.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
        >>> select_parameters(net, "prunable")
        ['0.weight', '2.weight']
    """
    named = dict(model.named_parameters())
    if params is None or params == "all":
        names = [n for n, p in named.items() if p.requires_grad]
    elif params == "prunable":
        from pnlib.models import prunable_parameters

        chosen = set(prunable_parameters(model))
        names = [n for n in named if n in chosen]
    elif isinstance(params, str):
        raise ValueError(
            f"params must be None, 'all', 'prunable' or a list of names, got {params!r}"
        )
    else:
        wanted = list(params)
        unknown = [n for n in wanted if n not in named]
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}; the model has {list(named)}")
        names = [n for n in named if n in set(wanted)]
    if not names:
        raise ValueError(f"params={params!r} selects no parameters")
    return names


def flat_params(model: nn.Module, *, params: ParamSpec = None) -> Tensor:
    """Concatenate the selected parameters into one detached vector (the order of the operator).

    Args:
        model: The network.
        params: Which parameters, as in :func:`select_parameters`.

    Returns:
        A 1-D tensor of length ``D``, a detached copy.

    Example:
        >>> net = nn.Linear(3, 2)
        >>> flat_params(net).shape
        torch.Size([8])
    """
    named = dict(model.named_parameters())
    return torch.cat([named[n].detach().reshape(-1) for n in select_parameters(model, params)])


def _check_options(
    method: str,
    cache: bool | str,
    cache_budget: int | None,
    batch_size: int | None,
    max_columns: int | None,
) -> None:
    if method not in ("forward-over-reverse", "reverse-over-reverse"):
        raise ValueError(
            f"method must be 'forward-over-reverse' or 'reverse-over-reverse', got {method!r}"
        )
    if cache not in (True, False, "auto"):
        raise ValueError(f"cache must be True, False or 'auto', got {cache!r}")
    if cache is True and method != "forward-over-reverse":
        raise ValueError("cache=True needs method='forward-over-reverse'")
    if cache_budget is not None and cache_budget < 0:
        raise ValueError(f"cache_budget must be a number of bytes >= 0, got {cache_budget}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if max_columns is not None and max_columns < 1:
        raise ValueError(f"max_columns must be a positive integer, got {max_columns}")


def _shard(distributed: bool | None) -> tuple[bool, int, int]:
    # (shard or not, rank, world): by default shard whenever torch.distributed is initialised
    rank, world = rank_and_world()
    shard = (world > 1) if distributed is None else bool(distributed)
    if shard and world == 1 and not torch.distributed.is_initialized():
        raise ValueError("distributed=True needs an initialised torch.distributed process group")
    return (shard, rank, world) if shard else (False, 0, 1)


def _as_block(v: Any, dim: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, bool]:
    # a vector (D,) or block (D, k) as a (D, k) block on the device, and whether it was a vector
    if not isinstance(v, Tensor):
        v = torch.as_tensor(np.asarray(v))
    if v.ndim not in (1, 2) or v.shape[0] != dim:
        raise ValueError(
            f"expected a vector of shape ({dim},) or a block ({dim}, k), got {tuple(v.shape)}"
        )
    return (v[:, None] if v.ndim == 1 else v).to(device, dtype), v.ndim == 1


def _loop_columns(model: nn.Module, device: torch.device) -> bool:
    # vmap turns a convolution with a block of weight tangents into a grouped convolution,
    # which on CPU is slower than one convolution per column (benchmarks/bench_hvp.py)
    return device.type == "cpu" and any(
        isinstance(m, nn.modules.conv._ConvNd) for m in model.modules()
    )


def _scipy_view(op: HessianOperator) -> Any:
    from scipy.sparse.linalg import LinearOperator

    def mv(x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.ascontiguousarray(x))
        return (op @ t).detach().cpu().to(torch.float64).numpy()

    return LinearOperator(op.shape, matvec=mv, matmat=mv, rmatvec=mv, rmatmat=mv, dtype=np.float64)


class HessianOperator:
    r"""The Hessian of the mean loss over a dataset, as a linear operator ``op @ v``.

    Args:
        model: The network. It is not modified; products run in eval mode (dropout off,
            BatchNorm with running statistics) and the previous mode is restored.
        loss_fn: Batch loss ``loss_fn(output, target)`` with mean reduction (as
            ``nn.CrossEntropyLoss()``); a module with ``reduction="sum"`` is also handled.
        data: A ``Dataset`` (batched without shuffling), an iterable of ``(x, y)`` batches
            (a list, or a ``DataLoader`` without shuffling or augmentation; any batch sizes),
            or a tuple ``(x, y)`` of tensors (one batch, or chunks of ``batch_size``).
        params: Which parameters count: ``None``/``"all"`` (default, every trainable
            parameter), ``"prunable"`` (conv/linear weights only), or a list of names.
        dtype: Compute in this floating dtype (parameters, buffers and floating inputs are cast;
            the model itself is untouched). Default: the parameters' dtype.
        batch_size: Batch size used to split a ``Dataset`` (default 1024) or an ``(x, y)``
            tuple (default one batch). The primal cache joins batches into chunks of about 2048
            examples; its memory is bounded by ``cache_budget`` instead.
        max_columns: At most this many columns of a block go through ``vmap`` together (caps
            memory; larger blocks then take several passes). Default: no limit.
        distributed: Shard the batches over the ``torch.distributed`` ranks and ``all_reduce``
            the products. Default: whenever ``torch.distributed`` is initialised.
        method: ``"forward-over-reverse"`` (default; ``jvp`` of the gradient, ``vmap`` over a
            block) or ``"reverse-over-reverse"`` (double backward as in PyHessian; a block
            reuses one first-backward graph for all its columns). Both give the same operator;
            the benchmark ``bench_hvp.py`` says which is faster where.
        cache: Keep the primal pass (forward-over-reverse only; see the module notes):
            ``True``, ``False``, or ``"auto"`` (default): once more than 8 columns have been
            multiplied at the same weights (a Lanczos run, not a few products), keep it if
            :meth:`estimate_cache_bytes` fits in ``cache_budget``.
        cache_budget: Bytes the cache may take in ``"auto"`` mode. Default: a quarter of the
            memory available on the device (``MemAvailable`` on CPU, free memory on CUDA).
        check_deterministic: Check at construction that two forward passes over the data agree
            batch by batch, in contents and losses: catches loaders that shuffle or augment and
            models random in eval mode. Default ``True`` (two forward passes, once).

    Attributes:
        names: Names of the parameters, in the order of the flat vectors.
        shapes: Their shapes.
        num_data: Total number of examples ``N`` (over all ranks).

    Raises:
        ValueError: If the data is empty, the loss reduction is not mean or sum, ``dtype`` is
            not floating, ``method`` or ``cache`` is unknown, ``cache=True`` is asked of
            reverse-over-reverse, or ``params`` is invalid.
        TypeError: If ``data`` is none of the accepted kinds.
        RuntimeError: If ``check_deterministic`` finds two passes over the data that differ.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        data: Dataset | Iterable[tuple[Tensor, Tensor]] | tuple[Tensor, Tensor],
        *,
        params: ParamSpec = None,
        dtype: torch.dtype | None = None,
        batch_size: int | None = None,
        max_columns: int | None = None,
        distributed: bool | None = None,
        method: str = "forward-over-reverse",
        cache: bool | str = "auto",
        cache_budget: int | None = None,
        check_deterministic: bool = True,
    ) -> None:
        _check_options(method, cache, cache_budget, batch_size, max_columns)
        self.model, self.loss_fn = model, loss_fn
        self.method, self.max_columns = method, max_columns
        self._loss = FunctionalLoss(model, loss_fn, select_parameters(model, params), dtype)
        self.names, self.shapes = self._loss.names, self._loss.shapes
        self.distributed, rank, world = _shard(distributed)
        self._data = DataPasses(data, batch_size, self._loss, rank=rank, world=world)
        self.num_data = self._data.num_data
        fwd = method == "forward-over-reverse"
        self._primal = PrimalCache(self._loss, self._data, cache if fwd else False, cache_budget)
        self._loop_columns = _loop_columns(model, self.device)
        if check_deterministic:
            _check_passes(self._data, self._loss)

    @property
    def shape(self) -> tuple[int, int]:
        """``(D, D)``."""
        return (self._loss.dim, self._loss.dim)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype products are computed and returned in."""
        return self._loss.dtype

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters, where products are computed."""
        return self._loss.device

    @property
    def cached(self) -> bool:
        """Whether the last product ran from the primal cache (see ``cache``)."""
        return self._primal.holds()

    # the traced chunks; benchmarks/bench_hvp.py sets None to time a rebuild
    _cache = property(
        lambda self: self._primal.maps, lambda self, m: setattr(self._primal, "maps", m)
    )

    def _parts(self, primals: Block, consts: dict[str, Tensor], maps: list | None) -> Iterator:
        # one pass over the data: (product on a block of tangents, weight) per part
        loop, method = self._loop_columns, self.method
        if maps is not None:
            yield from (((lambda ts, fn=fn: over_columns(fn, ts, loop=loop)), w) for fn, w in maps)
            return
        for x, y, w in self._data:
            f = self._loss.of_batch(consts, x, y)
            yield (lambda ts, f=f: self._loss.product(f, primals, ts, method=method, loop=loop)), w

    def _matmat(self, V: Tensor) -> Tensor:
        k = V.shape[1]
        out = torch.zeros(self.shape[0], k, dtype=self.dtype, device=self.device)
        if k == 0:
            return out
        primals, consts = self._loss.state()
        step = self.max_columns or k
        with self._loss.eval_mode(), torch.no_grad():
            use_cache = self._primal.wanted(k)  # `linearize`: looked up now (tests replace it)
            maps = self._primal.maps_for(primals, consts, linearize) if use_cache else None
            for start in range(0, k, step):
                tangents = split_block(V[:, start : start + step].contiguous(), self.shapes)
                acc = [torch.zeros_like(t) for t in tangents]
                for product, w in self._parts(primals, consts, maps):
                    for a, p in zip(acc, product(tangents)):
                        a.add_(p, alpha=w)
                out[:, start : start + step] = flatten_block(acc)
        return self._data.all_reduce(out)

    def __matmul__(self, v: Tensor) -> Tensor:
        """Multiply the Hessian onto a vector ``(D,)`` or a block ``(D, k)``: ``op @ v``.

        One pass over the data for the whole block.

        Args:
            v: Vector or block of column vectors (any dtype/device; cast to the operator's).

        Returns:
            ``H v`` with the shape of ``v``, in the operator's dtype and on its device.
        """
        V, single = _as_block(v, self.shape[0], self.device, self.dtype)
        out = self._matmat(V)
        return out[:, 0] if single else out

    matvec = __matmul__

    def gradient_and_loss(self) -> tuple[Tensor, float]:
        """Gradient and value of the mean loss over the dataset (eval mode, same weighting).

        Returns:
            ``(g, L)``: the flat gradient ``(D,)`` and the mean loss.
        """
        primals, consts = self._loss.state()
        total = torch.zeros(self.shape[0] + 1, dtype=self.dtype, device=self.device)
        with self._loss.eval_mode(), torch.no_grad():
            for x, y, w in self._data:
                gs, loss = gradient_and_value(self._loss.of_batch(consts, x, y), primals)
                total[:-1].add_(torch.cat([t.reshape(-1) for t in gs]), alpha=w)
                total[-1] += w * loss
        total = self._data.all_reduce(total)
        return total[:-1].clone(), float(total[-1])

    def estimate_cache_bytes(self) -> int:
        """Memory of the primal cache over the local data, estimated high from two small products.

        The bytes of all tensors a plain product creates on the first 16 and the first 32
        examples give the bytes per example and the fixed part (``pnlib._hvp_cache``); it errs
        high by a factor of about 1.5 (``benchmarks/bench_hvp.py``). 0 on a rank without data.

        Returns:
            The estimate in bytes.
        """
        return self._primal.estimate()

    def to_linear_operator(self) -> Any:
        """A ``scipy.sparse.linalg.LinearOperator`` view (numpy float64 in and out).

        Products run in torch on the operator's device; use it with ``eigsh`` and friends.

        Returns:
            The SciPy linear operator.
        """
        return _scipy_view(self)

    def __repr__(self) -> str:
        return (
            f"HessianOperator(D={self.shape[0]}, N={self.num_data}, dtype={self.dtype}, "
            f"device={self.device}, params={len(self.names)} tensors)"
        )


def gradient(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    params: ParamSpec = None,
    dtype: torch.dtype | None = None,
    batch_size: int | None = None,
    check_deterministic: bool = True,
) -> Tensor:
    """Gradient of the mean loss over a dataset, flattened in the operator's order.

    Args:
        model: The network (products in eval mode).
        loss_fn: Batch-mean loss.
        data: As for :class:`HessianOperator`.
        params: Which parameters, as in :func:`select_parameters`.
        dtype: Compute dtype (default the parameters').
        batch_size: As for :class:`HessianOperator`.
        check_deterministic: As for :class:`HessianOperator`.

    Returns:
        The flat gradient, a tensor of length ``D``.
    """
    op = HessianOperator(
        model,
        loss_fn,
        data,
        params=params,
        dtype=dtype,
        batch_size=batch_size,
        check_deterministic=check_deterministic,
    )
    return op.gradient_and_loss()[0]


def exact_hessian(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    params: ParamSpec = None,
    dtype: torch.dtype = torch.float64,
    batch_size: int | None = None,
    columns_per_pass: int = 64,
    check_deterministic: bool = True,
) -> Tensor:
    """The dense Hessian ``(D, D)`` of the mean loss, column block by column block.

    Each pass over the data multiplies the Hessian onto ``columns_per_pass`` unit vectors, so the
    result is exactly what :class:`HessianOperator` represents. Only for tiny networks
    (``D`` up to a few thousand).

    Args:
        model: The network.
        loss_fn: Batch-mean loss.
        data: As for :class:`HessianOperator`.
        params: Which parameters, as in :func:`select_parameters`.
        dtype: Compute dtype, float64 by default.
        batch_size: As for :class:`HessianOperator`.
        columns_per_pass: Unit vectors per data pass (memory against passes).
        check_deterministic: As for :class:`HessianOperator`.

    Returns:
        The Hessian, on the model's device (not symmetrised: its asymmetry is rounding error).

    Raises:
        ValueError: If ``columns_per_pass`` is not positive.
    """
    if columns_per_pass < 1:
        raise ValueError(f"columns_per_pass must be positive, got {columns_per_pass}")
    op = HessianOperator(
        model,
        loss_fn,
        data,
        params=params,
        dtype=dtype,
        batch_size=batch_size,
        check_deterministic=check_deterministic,
    )
    d = op.shape[0]
    H = torch.empty(d, d, dtype=op.dtype, device=op.device)
    for start in range(0, d, columns_per_pass):
        stop = min(d, start + columns_per_pass)
        E = torch.zeros(d, stop - start, dtype=op.dtype, device=op.device)
        E[torch.arange(start, stop), torch.arange(stop - start)] = 1.0
        H[:, start:stop] = op @ E
    return H
