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
and backward pass of the primal are shared by all $k$ columns.

When ``torch.distributed`` is initialised, rank $r$ of $W$ processes handles batches
$r, r+W, r+2W, \dots$ and the weighted partial products are summed with ``all_reduce``: the
result is the same operator, computed in parallel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jacrev, jvp, vmap
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "HessianOperator",
    "exact_hessian",
    "flat_params",
    "gradient",
    "select_parameters",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
ParamSpec = str | Sequence[str] | None

_DEFAULT_BATCH_SIZE = 1024


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


def _is_xy_tuple(data: Any) -> bool:
    return (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], Tensor)
        and isinstance(data[1], Tensor)
    )


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class HessianOperator:
    r"""The Hessian of the mean loss over a dataset, as a linear operator ``op @ v``.

    Args:
        model: The network. It is not modified; products run in eval mode (dropout off,
            BatchNorm with running statistics) and the previous mode is restored.
        loss_fn: Batch loss ``loss_fn(output, target)`` with mean reduction (as
            ``nn.CrossEntropyLoss()``); a module with ``reduction="sum"`` is also handled.
        data: A ``Dataset`` (batched without shuffling), an iterable of ``(x, y)`` batches
            (a list, or a ``DataLoader`` without augmentation; any batch sizes), or a tuple
            ``(x, y)`` of tensors (one batch, or chunks of ``batch_size``).
        params: Which parameters count: ``None``/``"all"`` (default, every trainable
            parameter), ``"prunable"`` (conv/linear weights only), or a list of names.
        dtype: Compute in this floating dtype (parameters, buffers and floating inputs are cast;
            the model itself is untouched). Default: the parameters' dtype.
        batch_size: Batch size used to split a ``Dataset`` or an ``(x, y)`` tuple
            (default: 1024 for a Dataset, one batch for a tuple).
        max_columns: At most this many columns of a block go through ``vmap`` together (caps
            memory; larger blocks then take several passes). Default: no limit.
        distributed: Shard the batches over the ``torch.distributed`` ranks and ``all_reduce``
            the products. Default: whenever ``torch.distributed`` is initialised.
        method: ``"forward-over-reverse"`` (default; ``jvp`` of the gradient, ``vmap`` over a
            block) or ``"reverse-over-reverse"`` (double backward as in PyHessian; a block
            reuses one first-backward graph for all its columns). Both give the same operator;
            the benchmark ``bench_hvp.py`` says which is faster where.

    Attributes:
        names: Names of the parameters, in the order of the flat vectors.
        shapes: Their shapes.
        num_data: Total number of examples ``N`` (over all ranks).

    Raises:
        ValueError: If the data is empty, the loss reduction is not mean or sum, ``dtype`` is
            not floating, ``method`` is unknown, or ``params`` is invalid.
        TypeError: If ``data`` is none of the accepted kinds.

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
    ) -> None:
        if method not in ("forward-over-reverse", "reverse-over-reverse"):
            raise ValueError(
                f"method must be 'forward-over-reverse' or 'reverse-over-reverse', got {method!r}"
            )
        self.method = method
        self._use_jacrev = False
        reduction = getattr(loss_fn, "reduction", "mean")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"loss_fn reduction must be 'mean' or 'sum', got {reduction!r}")
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if max_columns is not None and max_columns < 1:
            raise ValueError(f"max_columns must be a positive integer, got {max_columns}")
        self.model = model
        self.loss_fn = loss_fn
        self._reduction = reduction
        self.names = select_parameters(model, params)
        named = dict(model.named_parameters())
        first = named[self.names[0]]
        self._dtype = dtype or first.dtype
        self._device = first.device
        self.shapes = [named[n].shape for n in self.names]
        self._sizes = [int(np.prod(s)) for s in self.shapes]
        self._dim = int(sum(self._sizes))
        self.max_columns = max_columns
        rank, world = _distributed()
        self.distributed = (world > 1) if distributed is None else bool(distributed)
        if self.distributed and world == 1 and not torch.distributed.is_initialized():
            raise ValueError(
                "distributed=True needs an initialised torch.distributed process group"
            )
        self._rank, self._world = (rank, world) if self.distributed else (0, 1)
        self._data = self._prepare_data(data, batch_size)
        local = sum(int(x.shape[0]) for x, _ in self._local_batches())
        self.num_data = int(self._all_reduce(torch.tensor([float(local)], dtype=torch.float64))[0])
        if self.num_data == 0:
            raise ValueError("data is empty: the Hessian of a loss over no examples is undefined")

    # ------------------------------------------------------------------ data
    @staticmethod
    def _prepare_data(data: Any, batch_size: int | None) -> Iterable[tuple[Tensor, Tensor]]:
        if _is_xy_tuple(data):
            x, y = data
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"x and y have different lengths: {x.shape[0]} != {y.shape[0]}")
            if batch_size is None:
                return [(x, y)]
            return list(zip(x.split(batch_size), y.split(batch_size)))
        if isinstance(data, Dataset):
            return DataLoader(data, batch_size=batch_size or _DEFAULT_BATCH_SIZE, shuffle=False)
        if isinstance(data, Iterator):
            return list(data)  # a one-shot iterator: keep the batches for repeated passes
        if isinstance(data, Iterable):
            return data
        raise TypeError(
            "data must be a Dataset, an iterable of (x, y) batches or a tuple (x, y) of "
            f"tensors, got {type(data).__name__}"
        )

    def _local_batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i, batch in enumerate(self._data):
            if i % self._world == self._rank:
                x, y = batch[0], batch[1]
                if x.shape[0] > 0:
                    yield x, y

    def _to_device(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        x = x.to(self._device)
        if x.is_floating_point():
            x = x.to(self._dtype)
        y = y.to(self._device)
        if y.is_floating_point():
            y = y.to(self._dtype)
        return x, y

    def _all_reduce(self, t: Tensor) -> Tensor:
        if self._world > 1:
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int]:
        """``(D, D)``."""
        return (self._dim, self._dim)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype products are computed and returned in."""
        return self._dtype

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters, where products are computed."""
        return self._device

    # ------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    def _state(self) -> tuple[tuple[Tensor, ...], dict[str, Tensor]]:
        # selected parameters (cast, detached) and everything else as constants
        selected = set(self.names)
        named = dict(self.model.named_parameters())

        def cast(t: Tensor) -> Tensor:
            t = t.detach()
            return t.to(self._dtype) if t.is_floating_point() else t

        primals = tuple(cast(named[n]) for n in self.names)
        consts = {n: cast(p) for n, p in named.items() if n not in selected}
        consts.update({n: cast(b) for n, b in self.model.named_buffers()})
        return primals, consts

    def _batch_loss(self, consts: dict[str, Tensor], x: Tensor, y: Tensor) -> Callable[..., Tensor]:
        names, model, loss_fn = self.names, self.model, self.loss_fn

        def loss(*ps: Tensor) -> Tensor:
            out = functional_call(model, {**consts, **dict(zip(names, ps))}, (x,))
            return loss_fn(out, y)

        return loss

    def _weight(self, batch: int) -> float:
        return (batch if self._reduction == "mean" else 1.0) / self.num_data

    def _split(self, flat: Tensor) -> tuple[Tensor, ...]:
        # flat (D, k) block -> tuple of (k, *shape) tensors
        chunks = flat.split(self._sizes, dim=0)
        k = flat.shape[1]
        return tuple(c.T.reshape(k, *s) for c, s in zip(chunks, self.shapes))

    def _flatten(self, parts: Sequence[Tensor], k: int) -> Tensor:
        # tuple of (k, *shape) tensors -> flat (D, k)
        return torch.cat([p.reshape(k, -1) for p in parts], dim=1).T

    def _check_vector(self, v: Tensor) -> tuple[Tensor, bool]:
        if not isinstance(v, Tensor):
            v = torch.as_tensor(np.asarray(v))
        if v.ndim not in (1, 2) or v.shape[0] != self._dim:
            raise ValueError(
                f"expected a vector of shape ({self._dim},) or a block ({self._dim}, k), "
                f"got {tuple(v.shape)}"
            )
        single = v.ndim == 1
        return (v[:, None] if single else v).to(self._device, self._dtype), single

    def _batch_products(
        self,
        primals: tuple[Tensor, ...],
        consts: dict[str, Tensor],
        x: Tensor,
        y: Tensor,
        tangents: tuple[Tensor, ...],
    ) -> tuple[Tensor, ...]:
        # Hessian of one batch's loss times k tangents given as (k, *shape) tensors
        loss = self._batch_loss(consts, x, y)
        argnums = tuple(range(len(primals)))
        k = tangents[0].shape[0]
        if self.method == "reverse-over-reverse":
            with torch.enable_grad():
                ps = [p.detach().requires_grad_() for p in primals]
                gs = torch.autograd.grad(loss(*ps), ps, create_graph=True)
                cols = [
                    torch.autograd.grad(gs, ps, [t[i] for t in tangents], retain_graph=i < k - 1)
                    for i in range(k)
                ]
            return tuple(torch.stack([c[j] for c in cols]) for j in range(len(ps)))
        try:
            g = (jacrev if self._use_jacrev else grad)(loss, argnums=argnums)
            if k == 1:  # no vmap: its batching rules (grouped convolutions) cost more than one lane
                return tuple(t[None] for t in jvp(g, primals, tuple(t[0] for t in tangents))[1])

            def hvp(*vs: Tensor) -> tuple[Tensor, ...]:
                return jvp(g, primals, vs)[1]

            return vmap(hvp, randomness="same")(*tangents)
        except RuntimeError as err:
            if self._use_jacrev or "ZeroTensor" not in str(err):
                raise
            self._use_jacrev = True  # grad under jvp trips over mse_loss's zero tensors
            return self._batch_products(primals, consts, x, y, tangents)

    def _matmat(self, V: Tensor) -> Tensor:
        k = V.shape[1]
        out = torch.zeros(self._dim, k, dtype=self._dtype, device=self._device)
        if k == 0:
            return out
        step = self.max_columns or k
        primals, consts = self._state()
        with self._eval_mode(), torch.no_grad():
            for start in range(0, k, step):
                tangents = self._split(V[:, start : start + step].contiguous())
                acc = [torch.zeros_like(t) for t in tangents]
                for xb, yb in self._local_batches():
                    x, y = self._to_device(xb, yb)
                    prods = self._batch_products(primals, consts, x, y, tangents)
                    w = self._weight(int(x.shape[0]))
                    for a, p in zip(acc, prods):
                        a.add_(p, alpha=w)
                out[:, start : start + step] = self._flatten(acc, tangents[0].shape[0])
        return self._all_reduce(out)

    # ---------------------------------------------------------------- public
    def __matmul__(self, v: Tensor) -> Tensor:
        """Multiply the Hessian onto a vector ``(D,)`` or a block ``(D, k)`` (one data pass).

        Args:
            v: Vector or block of column vectors (any dtype/device; cast to the operator's).

        Returns:
            ``H v`` with the shape of ``v``, in the operator's dtype and on its device.
        """
        V, single = self._check_vector(v)
        out = self._matmat(V)
        return out[:, 0] if single else out

    def matvec(self, v: Tensor) -> Tensor:
        """Same as ``self @ v``.

        Args:
            v: Vector ``(D,)`` or block ``(D, k)``.

        Returns:
            ``H v``.
        """
        return self @ v

    def gradient_and_loss(self) -> tuple[Tensor, float]:
        """Gradient and value of the mean loss over the dataset (eval mode, same weighting).

        Returns:
            ``(g, L)``: the flat gradient ``(D,)`` and the mean loss.
        """
        primals, consts = self._state()
        total = torch.zeros(self._dim + 1, dtype=self._dtype, device=self._device)
        with self._eval_mode(), torch.no_grad():
            for xb, yb in self._local_batches():
                x, y = self._to_device(xb, yb)
                f = self._batch_loss(consts, x, y)
                gs, loss = torch.func.grad_and_value(f, argnums=tuple(range(len(primals))))(
                    *primals
                )
                w = self._weight(int(x.shape[0]))
                total[:-1].add_(torch.cat([t.reshape(-1) for t in gs]), alpha=w)
                total[-1] += w * loss
        total = self._all_reduce(total)
        return total[:-1].clone(), float(total[-1])

    def to_linear_operator(self) -> Any:
        """A ``scipy.sparse.linalg.LinearOperator`` view (numpy float64 in and out).

        Products run in torch on the operator's device; use it with ``eigsh`` and friends.

        Returns:
            The SciPy linear operator.
        """
        from scipy.sparse.linalg import LinearOperator

        def mv(x: np.ndarray) -> np.ndarray:
            t = torch.as_tensor(np.ascontiguousarray(x))
            return (self @ t).detach().cpu().to(torch.float64).numpy()

        return LinearOperator(
            self.shape, matvec=mv, matmat=mv, rmatvec=mv, rmatmat=mv, dtype=np.float64
        )

    def __repr__(self) -> str:
        return (
            f"HessianOperator(D={self._dim}, N={self.num_data}, dtype={self._dtype}, "
            f"device={self._device}, params={len(self.names)} tensors)"
        )


def gradient(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    params: ParamSpec = None,
    dtype: torch.dtype | None = None,
    batch_size: int | None = None,
) -> Tensor:
    """Gradient of the mean loss over a dataset, flattened in the operator's order.

    Args:
        model: The network (products in eval mode).
        loss_fn: Batch-mean loss.
        data: As for :class:`HessianOperator`.
        params: Which parameters, as in :func:`select_parameters`.
        dtype: Compute dtype (default the parameters').
        batch_size: As for :class:`HessianOperator`.

    Returns:
        The flat gradient, a tensor of length ``D``.
    """
    op = HessianOperator(model, loss_fn, data, params=params, dtype=dtype, batch_size=batch_size)
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

    Returns:
        The Hessian, on the model's device (not symmetrised: its asymmetry is rounding error).

    Raises:
        ValueError: If ``columns_per_pass`` is not positive.
    """
    if columns_per_pass < 1:
        raise ValueError(f"columns_per_pass must be positive, got {columns_per_pass}")
    op = HessianOperator(model, loss_fn, data, params=params, dtype=dtype, batch_size=batch_size)
    d = op.shape[0]
    H = torch.empty(d, d, dtype=op.dtype, device=op.device)
    for start in range(0, d, columns_per_pass):
        stop = min(d, start + columns_per_pass)
        E = torch.zeros(d, stop - start, dtype=op.dtype, device=op.device)
        E[torch.arange(start, stop), torch.arange(stop - start)] = 1.0
        H[:, start:stop] = op @ E
    return H
