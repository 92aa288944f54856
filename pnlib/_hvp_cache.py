r"""The primal cache of :class:`pnlib.hessian.HessianOperator`.

Every product at the same weights repeats the same primal pass. Per chunk of data,
``torch.func.linearize`` traces the forward-over-reverse computation once and keeps its primal
values; each later product runs only the tangent part. The cache follows the weights
(:func:`weights_key`), checks the traced map against a plain product on the first chunk, and in
``"auto"`` mode is kept only when :func:`estimate_bytes` fits in a budget.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from pnlib._hvp_data import CHUNK, DataPasses
from pnlib._hvp_kernels import FunctionalLoss, forward_over_reverse

TangentMap = Callable[..., tuple[Tensor, ...]]
Loss = Callable[..., Tensor]

# cache="auto" decides once more columns than this have been multiplied at the same weights
AUTO_AFTER_COLUMNS = 8


def tensor_version(t: Tensor) -> int | None:
    """Torch's count of the in-place changes of ``t``, or ``None`` where torch has none.

    It is ``Tensor._version``, the counter autograd checks saved tensors against. The attribute
    is private, so it is read here only, and a torch without it gives ``None`` (then
    :func:`weights_key` rests on its checksums alone).

    Args:
        t: A tensor.

    Returns:
        The counter, or ``None``.
    """
    return getattr(t, "_version", None)


def weights_key(model: nn.Module) -> tuple[Any, ...]:
    """A value that changes whenever a parameter or buffer of ``model`` changes.

    Per tensor: its identity, storage address and :func:`tensor_version`, and over all tensors
    the bytes of their float64 sums. The version counter sees every in-place change made
    through the tensor or its views (optimiser steps, masks applied under ``no_grad``,
    ``load_state_dict``) at no cost, but a write through ``.data`` goes to a tensor with a
    counter of its own; the sums catch those (one reduction per tensor and a single host
    synchronisation, small beside a pass over the data). Bytes, not floats, so that a NaN
    weight still equals itself.

    Args:
        model: The network.

    Returns:
        The key; equal keys mean unchanged weights.
    """
    tensors = [*model.parameters(), *model.buffers()]
    ids = tuple((id(t), t.data_ptr(), tensor_version(t)) for t in tensors)
    if not tensors:
        return ids, b""
    with torch.no_grad():
        sums = torch.stack([t.sum(dtype=torch.float64).to(tensors[0].device) for t in tensors])
    return ids, sums.cpu().numpy().tobytes()


def _storage_ptr(t: Tensor) -> int:
    try:
        return t.untyped_storage().data_ptr()
    except RuntimeError:  # tensors without storage (functorch wrappers) count as none
        return 0


class NewTensorBytes(TorchDispatchMode):
    """Bytes of the storages of every tensor created inside the context (each counted once).

    The tensors are held until the context is left, so no address is reused and counted twice.

    Args:
        exclude: Storage addresses not to count (the inputs).
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


def estimate_bytes(
    product_on: Callable[[int], object], batch: int, num_local: int, inputs: Sequence[Tensor]
) -> int:
    """Memory of the cache over ``num_local`` examples, from plain products on 16 and 32 of them.

    The bytes of every tensor a plain product creates are counted: the primal values the cache
    would keep and, as a margin, the tangent pass's temporaries. Their difference gives the
    bytes per example; the rest (weight-sized tensors) is counted once per chunk.

    Args:
        product_on: ``product_on(m)`` runs one plain product on the first ``m`` examples of the
            first batch (it is run once outside the counter first, to settle ``grad`` against
            ``jacrev``: under a dispatch mode ``grad``'s zero-tensor failure crashes).
        batch: Examples in the first batch.
        num_local: Examples on this rank.
        inputs: Tensors not to count (weights, constants, the batch).

    Returns:
        The estimate in bytes.
    """
    exclude = {_storage_ptr(t) for t in inputs}

    def created(m: int) -> int:
        product_on(m)
        with NewTensorBytes(exclude) as counter:
            product_on(m)
        return counter.total

    large = min(32, batch)
    small = large // 2
    at_large = created(large)
    if small < 1:
        return int(at_large * num_local)
    at_small = created(small)
    per_example = max(0.0, (at_large - at_small) / (large - small))
    fixed = max(0.0, at_large - per_example * large)
    return int(per_example * num_local + fixed * -(-num_local // CHUNK))


def agrees(got: Sequence[Tensor], want: Sequence[Tensor]) -> bool:
    """Whether two products are equal up to rounding: relative error at most sqrt(eps).

    Args:
        got: One product, a tensor per parameter.
        want: The other.

    Returns:
        ``True`` if they agree.
    """
    diff = sum(float(torch.linalg.vector_norm(g - w)) ** 2 for g, w in zip(got, want))
    norm = sum(float(torch.linalg.vector_norm(w)) ** 2 for w in want)
    return diff <= torch.finfo(want[0].dtype).eps * max(norm, torch.finfo(want[0].dtype).tiny)


def available_bytes(device: torch.device) -> int:
    """Memory the cache may grow into: free CUDA memory, or ``MemAvailable`` on a Linux CPU.

    Args:
        device: The compute device.

    Returns:
        Bytes (0 where unknown).
    """
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
    return 0


def trace(linearize: Callable, gradient: Callable, primals: tuple[Tensor, ...]) -> TangentMap:
    """The tangent map of ``gradient`` at ``primals``, with the primal values kept.

    Args:
        linearize: ``torch.func.linearize`` (a parameter so that it can be replaced).
        gradient: The gradient function of one chunk's loss.
        primals: The weights.

    Returns:
        ``v -> H v`` for the chunk, one tensor per parameter in and out.
    """
    with warnings.catch_warnings():
        # torch's constant folding warns about its own attribute nodes
        warnings.filterwarnings("ignore", "Attempted to insert a get_attr Node")
        return linearize(gradient, *primals)[1]


class PrimalCache:
    """The traced tangent maps of the chunks of data at the model's current weights.

    Args:
        loss: The functional loss (its model's weights are followed).
        data: The data passes.
        mode: ``True``, ``False`` or ``"auto"``.
        budget: Bytes the cache may take in ``"auto"`` mode; ``None``: a quarter of the
            memory available on the device.

    Attributes:
        maps: Per chunk, ``(tangent map, weight)``, or ``None`` while nothing is cached.
        key: The :func:`weights_key` the maps were traced at.
        decided: Whether to cache, once decided (``False`` also after a failed check).
    """

    def __init__(
        self, loss: FunctionalLoss, data: DataPasses, mode: bool | str, budget: int | None
    ) -> None:
        self.loss, self.data, self.mode, self.budget = loss, data, mode, budget
        self.maps: list[tuple[TangentMap, float]] | None = None
        self.key: tuple[Any, ...] | None = None
        self.decided: bool | None = None
        self._columns_key: tuple[Any, ...] | None = None
        self._columns_seen = 0

    def holds(self) -> bool:
        """Whether maps are cached for the current weights.

        Returns:
            ``True`` if a product would run from the cache.
        """
        return self.maps is not None and self.key == weights_key(self.loss.model)

    def wanted(self, columns: int) -> bool:
        """Whether a product of ``columns`` columns should run from the cache.

        ``"auto"`` runs plain until more than 8 columns have been multiplied at the same
        weights (a few products between weight changes do not pay for a trace, a Lanczos run
        does); then it decides once whether :meth:`estimate` fits in the budget.

        Args:
            columns: Columns of this product.

        Returns:
            ``True`` to use (and if needed build) the cache.
        """
        if self.mode != "auto" or self.decided is False:
            return bool(self.mode) and self.decided is not False
        key = weights_key(self.loss.model)
        if key != self._columns_key:
            self._columns_key, self._columns_seen = key, 0
        self._columns_seen += columns
        if self._columns_seen <= AUTO_AFTER_COLUMNS:
            return False
        if self.decided is None:
            budget = self.budget
            if budget is None:
                budget = available_bytes(self.loss.device) // 4
            self.decided = self.estimate() <= budget
        return self.decided

    def estimate(self) -> int:
        """:func:`estimate_bytes` for this rank's data (0 on a rank without batches).

        Returns:
            The estimate in bytes.
        """
        first = self.data.first()
        if first is None:
            return 0
        primals, consts = self.loss.state()
        x, y, _ = first
        zeros = tuple(torch.zeros_like(p) for p in primals)

        def product_on(m: int) -> tuple[Tensor, ...]:
            f = self.loss.of_batch(consts, x[:m], y[:m])
            return self.loss.settle(lambda g: forward_over_reverse(f, primals, zeros, gradient=g))

        inputs = (*primals, *consts.values(), x, y, *zeros)
        with self.loss.eval_mode(), torch.no_grad():
            return estimate_bytes(product_on, int(x.shape[0]), self.data.num_local, inputs)

    def _reference(self, loss: Loss, primals: tuple[Tensor, ...]) -> tuple[Any, Any]:
        # a fixed random vector and its plain product, or None for a loss that needs jacrev
        # (traced jacrev gives wrong products); it also settles grad against jacrev, since
        # tracing grad over mse_loss crashes where the plain product raises
        gen = torch.Generator(self.loss.device).manual_seed(0)
        probe = tuple(
            torch.randn(p.shape, generator=gen, dtype=p.dtype, device=p.device) for p in primals
        )
        ref = self.loss.settle(lambda g: forward_over_reverse(loss, primals, probe, gradient=g))
        return probe, None if self.loss.needs_jacrev else ref

    def maps_for(
        self, primals: tuple[Tensor, ...], consts: dict[str, Tensor], linearize: Callable
    ) -> list[tuple[TangentMap, float]] | None:
        """The cached maps, traced anew if the weights changed; ``None`` if they can't be.

        The first chunk's map is checked against a plain product; a loss that needs ``jacrev``
        or a failed check (with a ``RuntimeWarning``) turns the cache off for good.

        Args:
            primals: The weights, from :meth:`FunctionalLoss.state`.
            consts: The constants, from the same.
            linearize: ``torch.func.linearize`` (a parameter so that it can be replaced).

        Returns:
            Per chunk, ``(tangent map, weight)``; or ``None``.
        """
        key = weights_key(self.loss.model)
        if self.maps is not None and key == self.key:
            return self.maps
        self.maps = None  # free the old values before tracing new ones
        argnums = tuple(range(len(primals)))
        maps: list[tuple[TangentMap, float]] = []
        for x, y, w in self.data.chunks():
            loss = self.loss.of_batch(consts, x, y)
            if not maps:
                probe, ref = self._reference(loss, primals)
                if ref is None:
                    self.decided = False
                    return None
            fn = trace(linearize, self.loss.gradient(loss, argnums=argnums), primals)
            if not maps and not agrees(fn(*probe), ref):
                warnings.warn(
                    "the traced Hessian-vector product disagrees with the plain one for this "
                    "model and loss; products run without the primal cache",
                    RuntimeWarning,
                    stacklevel=4,
                )
                self.decided = False
                return None
            maps.append((fn, w))
        self.maps, self.key = maps, key
        return maps
