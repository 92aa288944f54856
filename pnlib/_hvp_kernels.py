r"""Hessian-vector product kernels and the functional loss they differentiate.

A kernel takes ``loss``, a function of the selected parameters alone (one batch's mean loss,
built by :class:`FunctionalLoss` with ``torch.func.functional_call``), the parameters $w$ and
tangents $v$, and returns $\nabla^2 \ell(w)\, v$ in the parameters' shapes:

- :func:`forward_over_reverse`: the directional derivative of the gradient,
  ``jvp(grad(loss), w, v)``; no graph of the graph is kept.
- :func:`reverse_over_reverse`: the gradient of $v^\top \nabla \ell(w)$ by a second backward
  pass (double backward, as in PyHessian); a block of $k$ tangents reuses one first backward.
- :func:`gradient_and_value`: the gradient and the loss, for the gradient pass.
- :func:`over_columns`: a single-vector kernel applied to a block of $k$ tangents, with
  ``torch.func.vmap`` (the primal pass is shared by the columns) or a loop.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jacrev, jvp, vmap

__all__ = [
    "FunctionalLoss",
    "flatten_block",
    "forward_over_reverse",
    "gradient_and_value",
    "over_columns",
    "reverse_over_reverse",
    "split_block",
]

Loss = Callable[..., Tensor]
Product = Callable[..., tuple[Tensor, ...]]
GradTransform = Callable[..., Product]
T = TypeVar("T")


def forward_over_reverse(
    loss: Loss,
    primals: tuple[Tensor, ...],
    tangents: tuple[Tensor, ...],
    *,
    gradient: GradTransform = grad,
) -> tuple[Tensor, ...]:
    r"""$\nabla^2 \ell(w)\, v$ as the derivative of the gradient along $v$ (forward-over-reverse).

    Args:
        loss: Scalar function of the parameter tensors.
        primals: The parameters $w$.
        tangents: The vector $v$, one tensor per parameter.
        gradient: ``torch.func.grad``, or ``torch.func.jacrev`` for losses whose zero tensors
            trip ``grad`` under ``jvp`` (``mse_loss``); both give the gradient of a scalar.

    Returns:
        The product, one tensor per parameter.

    Example:
        >>> f = lambda w: (w**3).sum()
        >>> forward_over_reverse(f, (torch.tensor([1.0, 2.0]),), (torch.ones(2),))
        (tensor([ 6., 12.]),)
    """
    return jvp(gradient(loss, argnums=tuple(range(len(primals)))), primals, tangents)[1]


def gradient_and_value(
    loss: Loss, primals: tuple[Tensor, ...]
) -> tuple[tuple[Tensor, ...], Tensor]:
    r"""The gradient $\nabla \ell(w)$ and the value $\ell(w)$, by one backward pass.

    Args:
        loss: Scalar function of the parameter tensors.
        primals: The parameters $w$.

    Returns:
        ``(gradient, value)``, the gradient one tensor per parameter.
    """
    return torch.func.grad_and_value(loss, argnums=tuple(range(len(primals))))(*primals)


def reverse_over_reverse(
    loss: Loss, primals: tuple[Tensor, ...], tangents: tuple[Tensor, ...]
) -> tuple[Tensor, ...]:
    r"""$\nabla^2 \ell(w)\, V$ for a block of $k$ tangents by double backward.

    One backward pass with ``create_graph=True`` gives $\nabla \ell(w)$ as a graph; each column
    $v_i$ is one more backward pass through it, of $v_i^\top \nabla \ell(w)$.

    Args:
        loss: Scalar function of the parameter tensors.
        primals: The parameters $w$.
        tangents: The block, one ``(k, *shape)`` tensor per parameter.

    Returns:
        The products, one ``(k, *shape)`` tensor per parameter.

    Example:
        >>> f = lambda w: (w**3).sum()
        >>> reverse_over_reverse(f, (torch.tensor([1.0, 2.0]),), (torch.eye(2),))
        (tensor([[ 6.,  0.],
                [ 0., 12.]]),)
    """
    k = tangents[0].shape[0]
    with torch.enable_grad():
        ps = [p.detach().requires_grad_() for p in primals]
        gs = torch.autograd.grad(loss(*ps), ps, create_graph=True)
        cols = [
            torch.autograd.grad(gs, ps, [t[i] for t in tangents], retain_graph=i < k - 1)
            for i in range(k)
        ]
    return tuple(torch.stack([c[j] for c in cols]) for j in range(len(ps)))


def over_columns(
    product: Product, tangents: tuple[Tensor, ...], *, loop: bool = False
) -> tuple[Tensor, ...]:
    """Apply a single-vector product to a block of $k$ tangents.

    Args:
        product: ``product(*v)`` for one tangent ``v`` (a tensor per parameter).
        tangents: The block, one ``(k, *shape)`` tensor per parameter.
        loop: Loop over the columns instead of ``vmap`` (faster on CPU for convolutions,
            which ``vmap`` turns into grouped convolutions).

    Returns:
        The products, one ``(k, *shape)`` tensor per parameter.

    Example:
        >>> over_columns(lambda v: (2 * v,), (torch.eye(2),))
        (tensor([[2., 0.],
                [0., 2.]]),)
    """
    k = tangents[0].shape[0]
    if k == 1:  # no vmap: its batching rules cost more than one lane
        return tuple(t[None] for t in product(*(t[0] for t in tangents)))
    if loop:
        cols = [product(*(t[i] for t in tangents)) for i in range(k)]
        return tuple(torch.stack(c) for c in zip(*cols))
    return vmap(product, randomness="same")(*tangents)


def split_block(flat: Tensor, shapes: Sequence[torch.Size]) -> tuple[Tensor, ...]:
    """A flat ``(D, k)`` block as one ``(k, *shape)`` tensor per parameter.

    Args:
        flat: The block; its rows are the parameters' entries, in order.
        shapes: The parameters' shapes.

    Returns:
        The tangents.

    Example:
        >>> [t.shape for t in split_block(torch.zeros(7, 2), [(2, 3), (1,)])]
        [torch.Size([2, 2, 3]), torch.Size([2, 1])]
    """
    k = flat.shape[1]
    sizes = [math.prod(s) for s in shapes]
    return tuple(c.T.reshape(k, *s) for c, s in zip(flat.split(sizes, dim=0), shapes))


def flatten_block(parts: Sequence[Tensor]) -> Tensor:
    """The inverse of :func:`split_block`: ``(k, *shape)`` tensors to a flat ``(D, k)`` block.

    Args:
        parts: One tensor per parameter.

    Returns:
        The block.
    """
    k = parts[0].shape[0]
    return torch.cat([p.reshape(k, -1) for p in parts], dim=1).T


class FunctionalLoss:
    """One batch's loss as a pure function of the selected parameters, in the compute dtype.

    The other parameters and the buffers enter as constants; floating ones are cast to the
    compute dtype (the model itself is untouched).

    Args:
        model: The network.
        loss_fn: Batch loss ``loss_fn(output, target)`` with mean or sum reduction.
        names: The selected parameters, in the order of the flat vectors.
        dtype: Compute dtype; default the first selected parameter's.

    Attributes:
        names: The selected parameter names.
        shapes: Their shapes.
        dim: Total number of selected entries, $D$.
        dtype: The compute dtype.
        device: The device of the first selected parameter.
        mean: Whether the loss is a batch mean (``False``: a sum).
        needs_jacrev: Whether ``grad`` failed under ``jvp`` and ``jacrev`` is used instead.

    Raises:
        ValueError: If the reduction is neither mean nor sum, or ``dtype`` is not floating.
    """

    def __init__(
        self, model: nn.Module, loss_fn: Callable, names: list[str], dtype: torch.dtype | None
    ) -> None:
        reduction = getattr(loss_fn, "reduction", "mean")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"loss_fn reduction must be 'mean' or 'sum', got {reduction!r}")
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")
        named = dict(model.named_parameters())
        self.model, self.loss_fn, self.names = model, loss_fn, names
        self.mean = reduction == "mean"
        self.shapes = [named[n].shape for n in names]
        self.dim = int(sum(named[n].numel() for n in names))
        self.dtype = dtype or named[names[0]].dtype
        self.device = named[names[0]].device
        self.needs_jacrev = False

    @contextlib.contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Put the model in eval mode inside the context, and restore its mode after.

        Yields:
            Nothing.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    def state(self) -> tuple[tuple[Tensor, ...], dict[str, Tensor]]:
        """The selected parameters, and everything else as constants (detached, cast).

        Returns:
            ``(primals, consts)``.
        """
        selected = set(self.names)
        named = dict(self.model.named_parameters())

        def cast(t: Tensor) -> Tensor:
            t = t.detach()
            return t.to(self.dtype) if t.is_floating_point() else t

        primals = tuple(cast(named[n]) for n in self.names)
        consts = {n: cast(p) for n, p in named.items() if n not in selected}
        consts.update({n: cast(b) for n, b in self.model.named_buffers()})
        return primals, consts

    def of_batch(self, consts: dict[str, Tensor], x: Tensor, y: Tensor) -> Loss:
        """The loss of batch ``(x, y)`` as a function of the selected parameters.

        Args:
            consts: The constants from :meth:`state`.
            x: Inputs.
            y: Targets.

        Returns:
            ``loss(*params)``.
        """
        names, model, loss_fn = self.names, self.model, self.loss_fn

        def loss(*ps: Tensor) -> Tensor:
            out = functional_call(model, {**consts, **dict(zip(names, ps))}, (x,))
            return loss_fn(out, y)

        return loss

    @property
    def gradient(self) -> GradTransform:
        """The gradient transform kernels use: ``grad``, or ``jacrev`` once ``grad`` failed."""
        return jacrev if self.needs_jacrev else grad

    def settle(self, compute: Callable[[GradTransform], T]) -> T:
        """Run ``compute(gradient)``, switching for good from ``grad`` to ``jacrev`` if needed.

        ``grad`` under ``jvp`` fails on losses that hand it immutable zero tensors
        (``mse_loss``) with a plain ``RuntimeError``; rather than match its message, any
        ``RuntimeError`` but running out of memory is retried once with ``jacrev``, which
        computes the same gradient. If that fails too, the first error is raised.

        Args:
            compute: Function of the gradient transform.

        Returns:
            What ``compute`` returns.

        Raises:
            OutOfMemoryError: If ``compute`` runs out of memory (not retried).
            RuntimeError: The error of ``grad`` if ``jacrev`` fails too.
        """
        if self.needs_jacrev:
            return compute(jacrev)
        try:
            return compute(grad)
        except torch.OutOfMemoryError:
            raise
        except RuntimeError as err:
            try:
                out = compute(jacrev)
            except RuntimeError:
                raise err from None
            self.needs_jacrev = True
            return out

    def product(
        self,
        loss: Loss,
        primals: tuple[Tensor, ...],
        tangents: tuple[Tensor, ...],
        *,
        method: str = "forward-over-reverse",
        loop: bool = False,
    ) -> tuple[Tensor, ...]:
        """The Hessian of ``loss`` at ``primals`` times a block of tangents.

        Args:
            loss: A function from :meth:`of_batch`.
            primals: The weights, from :meth:`state`.
            tangents: The block, one ``(k, *shape)`` tensor per parameter.
            method: ``"forward-over-reverse"`` (:func:`forward_over_reverse` over the columns,
                settled against ``jacrev``) or ``"reverse-over-reverse"``.
            loop: As for :func:`over_columns`.

        Returns:
            The products, one ``(k, *shape)`` tensor per parameter.
        """
        if method == "reverse-over-reverse":
            return reverse_over_reverse(loss, primals, tangents)
        return self.settle(
            lambda g: over_columns(
                lambda *vs: forward_over_reverse(loss, primals, vs, gradient=g),
                tangents,
                loop=loop,
            )
        )

    def __repr__(self) -> str:
        return f"FunctionalLoss(D={self.dim}, dtype={self.dtype}, params={len(self.names)})"
