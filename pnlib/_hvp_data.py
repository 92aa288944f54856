r"""The data passes of :class:`pnlib.hessian.HessianOperator`: batches, shards, weights, counts.

The operator is the Hessian of the mean loss
$L(w) = \sum_b \frac{\lvert b\rvert}{N} \bar\ell_b(w)$, so every product or gradient is one pass
over the batches $b$, each weighted by $\lvert b\rvert/N$ (or $1/N$ for a loss with
``reduction="sum"``). With $W$ processes, rank $r$ takes batches $r, r+W, r+2W, \dots$ and the
partial sums meet in an ``all_reduce``.

The example count $N$ is read from the lengths where they are known without loading any data
(tensors, lists of batches, a ``Dataset`` or a plain ``DataLoader`` over one); only an iterable of
unknown length is counted by a pass over it.

:func:`check_deterministic` runs two passes and compares them batch by batch, which catches
loaders that shuffle or augment and models that stay random in eval mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    default_collate,
)

if TYPE_CHECKING:
    from pnlib._hvp_kernels import FunctionalLoss

Batches = Iterable[tuple[Tensor, Tensor]]

DEFAULT_BATCH_SIZE = 1024
# cached mode joins batches into chunks of about this many examples: one trace per chunk, and
# the cached values take the same memory however the data are cut
CHUNK = 2048


def is_xy_tuple(data: Any) -> bool:
    """Whether ``data`` is a tuple ``(x, y)`` of two tensors (one dataset, not a batch list).

    Args:
        data: Anything.

    Returns:
        ``True`` for a pair of tensors.
    """
    return (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], Tensor)
        and isinstance(data[1], Tensor)
    )


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (``(0, 1)`` without a process group).

    Returns:
        ``(rank, world_size)``.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def prepare_batches(data: Any, batch_size: int | None) -> Batches:
    """The data as a re-iterable sequence of ``(x, y)`` batches.

    Args:
        data: A ``Dataset`` (batched without shuffling), an iterable of ``(x, y)`` batches, or a
            tuple ``(x, y)`` of tensors (one batch, or chunks of ``batch_size``).
        batch_size: Batch size for a ``Dataset`` (default 1024) or a tuple (default one batch).

    Returns:
        A list of batches or a ``DataLoader``, or the iterable itself.

    Raises:
        ValueError: If the tensors of a tuple have different lengths.
        TypeError: If ``data`` is none of the accepted kinds.
    """
    if is_xy_tuple(data):
        x, y = data
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y have different lengths: {x.shape[0]} != {y.shape[0]}")
        if batch_size is None:
            return [(x, y)]
        return list(zip(x.split(batch_size), y.split(batch_size)))
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size or DEFAULT_BATCH_SIZE, shuffle=False)
    if isinstance(data, Iterator):
        return list(data)  # a one-shot iterator: keep the batches for repeated passes
    if isinstance(data, Iterable):
        return data
    raise TypeError(
        "data must be a Dataset, an iterable of (x, y) batches or a tuple (x, y) of "
        f"tensors, got {type(data).__name__}"
    )


def known_sizes(batches: Batches) -> list[int] | None:
    """The size of every batch, read without loading data; ``None`` where only a pass can tell.

    Lists and tuples of batches hold their tensors already. A ``DataLoader`` is read off its
    sampler (``len(dataset)`` for an unshuffled one) when it batches one example per index the
    standard way: torch's ``BatchSampler`` over a ``SequentialSampler`` or ``RandomSampler``
    and the default collate function. Anything else (custom samplers or collate functions,
    iterable datasets) is left to a counting pass.

    Args:
        batches: As returned by :func:`prepare_batches`.

    Returns:
        The sizes in order, or ``None``.
    """
    if isinstance(batches, (list, tuple)):
        return [int(b[0].shape[0]) for b in batches]
    if not isinstance(batches, DataLoader):
        return None
    sampler = batches.batch_sampler
    if (
        type(sampler) is not BatchSampler
        or type(sampler.sampler) not in (SequentialSampler, RandomSampler)
        or batches.collate_fn is not default_collate
    ):
        return None
    try:
        n = len(sampler.sampler)
    except TypeError:  # a dataset without __len__
        return None
    full, rest = divmod(n, sampler.batch_size)
    return [sampler.batch_size] * full + ([rest] if rest and not sampler.drop_last else [])


class DataPasses:
    r"""This rank's batches of a dataset, on the compute device and dtype, with their weights.

    Args:
        data: As for :func:`prepare_batches`.
        batch_size: As for :func:`prepare_batches`.
        loss: The functional loss: batches go to its device, floating ones in its dtype, and
            are weighted $\lvert b\rvert/N$ for a batch-mean loss, $1/N$ for a sum.
        rank: This process's rank; it takes batches ``rank, rank + world, ...``.
        world: Number of processes.

    Attributes:
        num_local: Examples in this rank's batches.
        num_data: Examples over all ranks, $N$.

    Raises:
        ValueError: If there are no examples on any rank.
    """

    def __init__(
        self,
        data: Any,
        batch_size: int | None,
        loss: FunctionalLoss,
        *,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.batches = prepare_batches(data, batch_size)
        self.device, self.dtype, self.mean = loss.device, loss.dtype, loss.mean
        self.rank, self.world = rank, world
        sizes = known_sizes(self.batches)
        if sizes is None:  # an iterable of unknown length: one counting pass
            self.num_local = sum(int(x.shape[0]) for x, _ in self.local())
        else:
            self.num_local = sum(sizes[rank::world])
        # on the compute device, which every backend reduces (NCCL takes no CPU tensors)
        count = torch.tensor([float(self.num_local)], dtype=torch.float64, device=self.device)
        self.num_data = int(self.all_reduce(count)[0])
        if self.num_data == 0:
            raise ValueError("data is empty: the Hessian of a loss over no examples is undefined")

    def local(self) -> Iterator[tuple[Tensor, Tensor]]:
        """This rank's non-empty batches as the data hold them.

        Yields:
            ``(x, y)`` per batch.
        """
        for i, batch in enumerate(self.batches):
            if i % self.world == self.rank:
                x, y = batch[0], batch[1]
                if x.shape[0] > 0:
                    yield x, y

    def to_device(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Move a batch to the device, casting floating tensors to the compute dtype.

        Args:
            x: Inputs.
            y: Targets.

        Returns:
            ``(x, y)`` on the device.
        """
        x, y = x.to(self.device), y.to(self.device)
        x = x.to(self.dtype) if x.is_floating_point() else x
        return x, (y.to(self.dtype) if y.is_floating_point() else y)

    def weight(self, size: int) -> float:
        r"""The weight of a batch of ``size`` examples in the mean loss.

        Args:
            size: Examples in the batch.

        Returns:
            $\lvert b\rvert/N$ for a mean loss, $1/N$ for a sum.
        """
        return (size if self.mean else 1.0) / self.num_data

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, float]]:
        for x, y in self.local():
            yield *self.to_device(x, y), self.weight(int(x.shape[0]))

    def first(self) -> tuple[Tensor, Tensor, float] | None:
        """The first local batch, or ``None`` on a rank without batches.

        Returns:
            ``(x, y, weight)`` or ``None``.
        """
        return next(iter(self), None)

    def chunks(self, size: int = CHUNK) -> Iterator[tuple[Tensor, Tensor, float]]:
        """The local batches joined into chunks of about ``size`` examples, with their weights.

        The mean loss is the same however the data are cut, since every chunk is weighted by
        its size. Batches whose example shapes differ are not joined.

        Args:
            size: Examples per chunk (a chunk closes once it holds at least this many).

        Yields:
            ``(x, y, weight)`` per chunk, on the device.
        """
        xs: list[Tensor] = []
        ys: list[Tensor] = []
        for x, y, _ in self:
            if xs and (x.shape[1:] != xs[0].shape[1:] or y.shape[1:] != ys[0].shape[1:]):
                yield self._joined(xs, ys)
                xs, ys = [], []
            xs.append(x)
            ys.append(y)
            if sum(int(t.shape[0]) for t in xs) >= size:
                yield self._joined(xs, ys)
                xs, ys = [], []
        if xs:
            yield self._joined(xs, ys)

    def _joined(self, xs: list[Tensor], ys: list[Tensor]) -> tuple[Tensor, Tensor, float]:
        x = torch.cat(xs)
        return x, torch.cat(ys), self.weight(int(x.shape[0]))

    def all_reduce(self, t: Tensor) -> Tensor:
        """Sum ``t`` over the ranks in place (nothing to do in one process).

        Args:
            t: This rank's partial sum.

        Returns:
            ``t``, now the total.
        """
        if self.world > 1:
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t


_DATA_DIFFER = (
    "two passes over the data gave different batches{where}: the loader shuffles (a "
    "DataLoader with shuffle=True or a random sampler) or augments (random transforms). "
    "Products would mix different losses; pass a fixed dataset, a DataLoader with "
    "shuffle=False and deterministic transforms, or check_deterministic=False"
)
_STATE_CHANGES = (
    "a pass over the data changed the model's buffers{where}: a module stays in training mode "
    "under model.eval() (BatchNorm whose train() ignores eval(), updating its running "
    "statistics) or updates other state in its forward pass. Products would depend on the "
    "batching and change the model; make the forward pass stateless under model.eval(), or "
    "pass check_deterministic=False"
)
_LOSS_DIFFER = (
    "two passes over the same data gave different losses{where}: the model is random in eval "
    "mode (dropout called with training=True, a module whose train() ignores eval(), noise "
    "layers). Make the forward pass deterministic under model.eval(), or pass "
    "check_deterministic=False"
)


def fingerprint(t: Tensor) -> Tensor:
    r"""A float64 number that changes when any entry or the order of examples of ``t`` changes.

    It is $v^\top T u$ for the batch flattened to a matrix $T$ (examples by features) and
    fixed Gaussian vectors $u, v$: one matrix-vector product, and no two different batches
    share it except on a set of measure zero.

    Args:
        t: A batch (examples first).

    Returns:
        A 0-d float64 tensor on the batch's device.
    """
    flat = t.reshape(t.shape[0], -1).to(torch.float64)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(flat.shape[1], generator=gen, dtype=torch.float64).to(flat.device)
    v = torch.randn(flat.shape[0], generator=gen, dtype=torch.float64).to(flat.device)
    return v @ (flat @ u)


def _sums(tensors: list[Tensor]) -> Tensor:
    # one float64 sum per tensor, brought to the CPU in one synchronisation
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    return torch.stack([t.sum(dtype=torch.float64).to(tensors[0].device) for t in tensors]).cpu()


def _records(passes: DataPasses, loss: FunctionalLoss) -> tuple[Tensor, bool]:
    # one pass: per local batch (size, fingerprint of x, fingerprint of y, loss), and whether
    # the pass changed the constants (buffers, unselected parameters) the loss was built on
    primals, consts = loss.state()
    with loss.eval_mode(), torch.no_grad():
        before = _sums(list(consts.values()))
        rows = [
            torch.stack(
                [
                    torch.tensor(float(x.shape[0]), dtype=torch.float64, device=x.device),
                    fingerprint(x),
                    fingerprint(y),
                    loss.of_batch(consts, x, y)(*primals).to(torch.float64),
                ]
            )
            for x, y, _ in passes
        ]
        after = _sums(list(consts.values()))
    changed = not torch.allclose(before, after, rtol=0.0, atol=0.0, equal_nan=True)
    return (torch.stack(rows).cpu() if rows else torch.zeros(0, 4, dtype=torch.float64)), changed


def _first_mismatch(a: Tensor, b: Tensor, rtol: float) -> int | None:
    # index of the first row where a and b differ by more than rtol (relative), else None
    if a.shape != b.shape:
        return min(a.shape[0], b.shape[0])
    bad = (a - b).abs() > rtol * torch.maximum(a.abs(), b.abs())
    return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def check_deterministic(passes: DataPasses, loss: FunctionalLoss) -> None:
    r"""Run two passes over the data and raise if they disagree in any batch.

    Both passes run as products do: in eval mode, at the current weights, without gradients.
    The batches must agree in number, size and contents (their :func:`fingerprint`, to a
    relative $10^{-9}$), the passes must leave the model's buffers as they were, and the
    losses must agree to a relative $\sqrt{\varepsilon}$ of the compute dtype. Under
    ``torch.distributed`` every rank checks its own batches and all raise together.

    Args:
        passes: The data.
        loss: The functional loss.

    Raises:
        RuntimeError: If the batches, the buffers or the losses differ between the passes (the
            message names the likely causes).
    """
    (first, changed), (second, changed_again) = _records(passes, loss), _records(passes, loss)
    data_bad = _first_mismatch(first[:, :3], second[:, :3], 1e-9)
    loss_bad = _first_mismatch(first[:, 3], second[:, 3], torch.finfo(passes.dtype).eps ** 0.5)
    found = [data_bad is not None, changed or changed_again, loss_bad is not None]
    flags = passes.all_reduce(torch.tensor(found, dtype=torch.float64, device=passes.device))
    for flag, bad, template in zip(
        flags.tolist(), (data_bad, None, loss_bad), (_DATA_DIFFER, _STATE_CHANGES, _LOSS_DIFFER)
    ):
        if flag > 0:
            where = "" if bad is None else f" (local batch {bad} on rank {passes.rank})"
            raise RuntimeError(template.format(where=where))
