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
function transforms). The cache is rebuilt when the weights change.

When ``torch.distributed`` is initialised, rank $r$ of $W$ processes handles batches
$r, r+W, r+2W, \dots$ and the weighted partial products are summed with ``all_reduce``: the
result is the same operator, computed in parallel.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jacrev, jvp, linearize, vmap
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
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
# cached mode joins batches into chunks of about this many examples: one trace per chunk, and
# the cached values take the same memory however the data are cut
_CACHE_CHUNK = 2048
# cache="auto" decides once more columns than this have been multiplied at the same weights
_AUTO_AFTER_COLUMNS = 8


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


def _storage_ptr(t: Tensor) -> int:
    try:
        return t.untyped_storage().data_ptr()
    except RuntimeError:  # tensors without storage (functorch wrappers) count as none
        return 0


class _NewTensorBytes(TorchDispatchMode):
    """Bytes of the storages of every tensor created inside the context (each counted once).

    The tensors are held until the context is left, so no address is reused and counted twice.
    """

    def __init__(self, exclude: set[int]) -> None:
        super().__init__()
        self._exclude = exclude
        self._seen: dict[int, int] = {}
        self._held: list[Tensor] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204, D105
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, Tensor):
                ptr = _storage_ptr(t)
                if ptr and ptr not in self._exclude:
                    self._seen[ptr] = t.untyped_storage().nbytes()
                    self._held.append(t)
        return out

    def __exit__(self, *exc: object) -> None:  # noqa: D105
        self._held.clear()
        super().__exit__(*exc)

    @property
    def total(self) -> int:
        """The counted bytes."""
        return sum(self._seen.values())


def _agrees(got: Sequence[Tensor], want: Sequence[Tensor]) -> bool:
    # equal up to rounding: relative error at most sqrt(eps) of the dtype
    diff = sum(float(torch.linalg.vector_norm(g - w)) ** 2 for g, w in zip(got, want))
    norm = sum(float(torch.linalg.vector_norm(w)) ** 2 for w in want)
    return diff <= torch.finfo(want[0].dtype).eps * max(norm, torch.finfo(want[0].dtype).tiny)


def _available_bytes(device: torch.device) -> int:
    # memory the cache may grow into: free CUDA memory, or MemAvailable on a Linux CPU
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
    return 0


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
            (default: 1024 for a Dataset, one batch for a tuple). The primal cache joins
            smaller batches into chunks of about 2048 examples; its memory is bounded by
            ``cache_budget`` instead.
        max_columns: At most this many columns of a block go through ``vmap`` together (caps
            memory; larger blocks then take several passes). Default: no limit.
        distributed: Shard the batches over the ``torch.distributed`` ranks and ``all_reduce``
            the products. Default: whenever ``torch.distributed`` is initialised.
        method: ``"forward-over-reverse"`` (default; ``jvp`` of the gradient, ``vmap`` over a
            block) or ``"reverse-over-reverse"`` (double backward as in PyHessian; a block
            reuses one first-backward graph for all its columns). Both give the same operator;
            the benchmark ``bench_hvp.py`` says which is faster where.
        cache: Keep the primal pass (forward-over-reverse only): ``True``, ``False``, or
            ``"auto"`` (default): once more than 8 columns have been multiplied at the same
            weights (a Lanczos run, not a few products), keep it if
            :meth:`estimate_cache_bytes` fits in ``cache_budget``. Losses that need
            ``jacrev`` (``mse_loss``) run uncached, as does any model whose traced product
            fails a check against a plain one on the first chunk (with a ``RuntimeWarning``).
            A cached product costs a third to a half of an uncached one on CPU
            (``benchmarks/bench_hvp.py``); the first product after a weight change pays for
            the trace (about 0.3-0.8 s per chunk on CPU).
        cache_budget: Bytes the cache may take in ``"auto"`` mode. Default: a quarter of the
            memory available on the device (``MemAvailable`` on CPU, free memory on CUDA).

    Attributes:
        names: Names of the parameters, in the order of the flat vectors.
        shapes: Their shapes.
        num_data: Total number of examples ``N`` (over all ranks).

    Raises:
        ValueError: If the data is empty, the loss reduction is not mean or sum, ``dtype`` is
            not floating, ``method`` or ``cache`` is unknown, ``cache=True`` is asked of
            reverse-over-reverse, or ``params`` is invalid.
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
        cache: bool | str = "auto",
        cache_budget: int | None = None,
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
        self._num_local = sum(int(x.shape[0]) for x, _ in self._local_batches())
        self.num_data = int(
            self._all_reduce(torch.tensor([float(self._num_local)], dtype=torch.float64))[0]
        )
        if self.num_data == 0:
            raise ValueError("data is empty: the Hessian of a loss over no examples is undefined")
        self._cache_mode = cache if method == "forward-over-reverse" else False
        self._cache_budget = cache_budget
        self._cache: list[tuple[Callable[..., tuple[Tensor, ...]], float]] | None = None
        self._cache_key: tuple[Any, ...] | None = None
        self._cache_decided: bool | None = None
        self._columns_key: tuple[Any, ...] | None = None
        self._columns_seen = 0
        # vmap turns a convolution with a block of weight tangents into a grouped convolution,
        # which on CPU is slower than one convolution per column (benchmarks/bench_hvp.py)
        self._loop_columns = self._device.type == "cpu" and any(
            isinstance(m, nn.modules.conv._ConvNd) for m in model.modules()
        )

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
    def cached(self) -> bool:
        """Whether the last product ran from the primal cache (see ``cache``)."""
        return self._cache is not None and self._cache_key == self._weights_key()

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

    def _grad_fn(self, loss: Callable[..., Tensor], num: int) -> Callable[..., tuple[Tensor, ...]]:
        return (jacrev if self._use_jacrev else grad)(loss, argnums=tuple(range(num)))

    def _with_jacrev_fallback(self, compute: Callable[[], Any]) -> Any:
        try:
            return compute()
        except RuntimeError as err:
            if self._use_jacrev or "ZeroTensor" not in str(err):
                raise
            self._use_jacrev = True  # grad under jvp trips over mse_loss's zero tensors
            return compute()

    def _columns(
        self, product: Callable[..., tuple[Tensor, ...]], tangents: tuple[Tensor, ...]
    ) -> tuple[Tensor, ...]:
        # apply a single-vector product to k tangents given as (k, *shape) tensors
        k = tangents[0].shape[0]
        if k == 1:  # no vmap: its batching rules cost more than one lane
            return tuple(t[None] for t in product(*(t[0] for t in tangents)))
        if self._loop_columns:
            cols = [product(*(t[i] for t in tangents)) for i in range(k)]
            return tuple(torch.stack(c) for c in zip(*cols))
        return vmap(product, randomness="same")(*tangents)

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

        def hvp(*vs: Tensor) -> tuple[Tensor, ...]:
            return jvp(self._grad_fn(loss, len(primals)), primals, vs)[1]

        return self._with_jacrev_fallback(lambda: self._columns(hvp, tangents))

    # ----------------------------------------------------------------- cache
    def _weights_key(self) -> tuple[Any, ...]:
        # changes when a parameter or buffer is replaced, reassigned or updated in place
        tensors = [*self.model.parameters(), *self.model.buffers()]
        return tuple((id(t), t._version, t.data_ptr()) for t in tensors)

    def _chunks(self) -> Iterator[tuple[Tensor, Tensor]]:
        # the local batches, joined into chunks of about _CACHE_CHUNK examples (the mean loss
        # is the same however the data are cut, since every chunk is weighted by its size)
        xs: list[Tensor] = []
        ys: list[Tensor] = []
        for xb, yb in self._local_batches():
            x, y = self._to_device(xb, yb)
            if xs and (x.shape[1:] != xs[0].shape[1:] or y.shape[1:] != ys[0].shape[1:]):
                yield torch.cat(xs), torch.cat(ys)
                xs, ys = [], []
            xs.append(x)
            ys.append(y)
            if sum(int(t.shape[0]) for t in xs) >= _CACHE_CHUNK:
                yield torch.cat(xs), torch.cat(ys)
                xs, ys = [], []
        if xs:
            yield torch.cat(xs), torch.cat(ys)

    def _trace(
        self, loss: Callable[..., Tensor], primals: tuple[Tensor, ...]
    ) -> Callable[..., tuple[Tensor, ...]]:
        # the tangent map of the gradient at the primals, with the primal values kept
        with warnings.catch_warnings():
            # torch's constant folding warns about its own attribute nodes
            warnings.filterwarnings("ignore", "Attempted to insert a get_attr Node")
            return linearize(self._grad_fn(loss, len(primals)), *primals)[1]

    def _plain_product(
        self, loss: Callable[..., Tensor], primals: tuple[Tensor, ...], vs: tuple[Tensor, ...]
    ) -> tuple[Tensor, ...]:
        # one uncached product; it also settles grad against jacrev for this loss (tracing
        # grad over mse_loss crashes where the plain product raises)
        return self._with_jacrev_fallback(
            lambda: jvp(self._grad_fn(loss, len(primals)), primals, vs)[1]
        )

    def estimate_cache_bytes(self) -> int:
        """Memory of the primal cache over the local data, estimated high from two small products.

        A plain product on the first 16 and on the first 32 examples of the first batch is run
        while the bytes of every tensor it creates are counted: the primal values the cache
        would keep and, as a margin, the tangent pass's temporaries. The difference gives the
        bytes per example, scaled to the local dataset; the rest (weight-sized tensors) is
        counted once per cached chunk. Against the memory the cache really keeps
        (``benchmarks/bench_hvp.py``) this errs high by a factor of about 1.5.

        Returns:
            The estimate in bytes.
        """
        primals, consts = self._state()
        x, y = self._to_device(*next(self._local_batches()))
        zeros = tuple(torch.zeros_like(p) for p in primals)
        inputs = {_storage_ptr(t) for t in (*primals, *consts.values(), x, y, *zeros)}

        def created_bytes(m: int) -> int:
            loss = self._batch_loss(consts, x[:m], y[:m])
            # settle grad against jacrev outside the counter: under a dispatch mode the
            # zero-tensor failure of grad over mse_loss crashes instead of raising
            self._plain_product(loss, primals, zeros)
            with _NewTensorBytes(exclude=inputs) as counter:
                self._plain_product(loss, primals, zeros)
            return counter.total

        large = min(32, int(x.shape[0]))
        small = large // 2
        with self._eval_mode(), torch.no_grad():
            at_large = created_bytes(large)
            if small < 1:
                return int(at_large * self._num_local)
            at_small = created_bytes(small)
        per_example = max(0.0, (at_large - at_small) / (large - small))
        fixed = max(0.0, at_large - per_example * large)
        chunks = -(-self._num_local // _CACHE_CHUNK)
        return int(per_example * self._num_local + fixed * chunks)

    def _use_cache(self, columns: int) -> bool:
        # "auto" runs plain until more than _AUTO_AFTER_COLUMNS columns have been multiplied at
        # the same weights: a few products between weight changes do not pay for a trace, a
        # Lanczos run does. Whether the cache fits is decided once.
        if self._cache_mode != "auto" or self._cache_decided is False:
            return bool(self._cache_mode) and self._cache_decided is not False
        key = self._weights_key()
        if key != self._columns_key:
            self._columns_key, self._columns_seen = key, 0
        self._columns_seen += columns
        if self._columns_seen <= _AUTO_AFTER_COLUMNS:
            return False
        if self._cache_decided is None:
            budget = self._cache_budget
            if budget is None:
                budget = _available_bytes(self._device) // 4
            self._cache_decided = self.estimate_cache_bytes() <= budget
        return self._cache_decided

    def _linearized(
        self, primals: tuple[Tensor, ...], consts: dict[str, Tensor]
    ) -> list[tuple[Callable[..., tuple[Tensor, ...]], float]] | None:
        # per chunk, the tangent map v -> H_chunk v with the primal values kept (rebuilt when
        # the weights change); None if the traced map fails its check against a plain product
        key = self._weights_key()
        if self._cache is not None and key == self._cache_key:
            return self._cache
        self._cache = None  # free the old values before tracing new ones
        fns = []
        for x, y in self._chunks():
            loss = self._batch_loss(consts, x, y)
            if not fns:
                # one plain product first: it settles grad against jacrev, and checks the trace
                gen = torch.Generator(self._device).manual_seed(0)
                probe = tuple(
                    torch.randn(p.shape, generator=gen, dtype=p.dtype, device=p.device)
                    for p in primals
                )
                ref = self._plain_product(loss, primals, probe)
            if self._use_jacrev:  # traced jacrev gives wrong products: stay uncached
                self._cache_decided = False
                return None
            fn = self._trace(loss, primals)
            if not fns and not _agrees(fn(*probe), ref):
                warnings.warn(
                    "the traced Hessian-vector product disagrees with the plain one for this "
                    "model and loss; products run without the primal cache",
                    RuntimeWarning,
                    stacklevel=4,
                )
                self._cache_decided = False
                return None
            fns.append((fn, self._weight(int(x.shape[0]))))
        self._cache, self._cache_key = fns, key
        return fns

    def _matmat(self, V: Tensor) -> Tensor:
        k = V.shape[1]
        out = torch.zeros(self._dim, k, dtype=self._dtype, device=self._device)
        if k == 0:
            return out
        step = self.max_columns or k
        primals, consts = self._state()
        Product = Callable[[tuple[Tensor, ...]], tuple[Tensor, ...]]
        with self._eval_mode(), torch.no_grad():
            cached = self._linearized(primals, consts) if self._use_cache(k) else None

            def parts() -> Iterator[tuple[Product, float]]:
                # one pass over the data: (product on a block of tangents, weight) per part
                if cached is not None:
                    for fn, w in cached:
                        yield (lambda ts, fn=fn: self._columns(fn, ts)), w
                    return
                for b in self._local_batches():
                    x, y = self._to_device(*b)
                    w = self._weight(int(x.shape[0]))
                    yield (lambda ts, x=x, y=y: self._batch_products(primals, consts, x, y, ts)), w

            for start in range(0, k, step):
                tangents = self._split(V[:, start : start + step].contiguous())
                acc = [torch.zeros_like(t) for t in tangents]
                for product, w in parts():
                    for a, p in zip(acc, product(tangents)):
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
