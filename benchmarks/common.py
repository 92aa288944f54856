"""Pieces both benchmarks use: device synchronisation and PyHessian's Hessian-vector product."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a timer sees all of it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def double_backward_product(
    model: nn.Module, loss_fn, batches, vs: list[Tensor], params: list[Tensor]
) -> list[Tensor]:
    """PyHessian's product: per batch, backward with ``create_graph``, then a second backward.

    Args:
        model: The network (its mode is left as it is).
        loss_fn: Batch-mean loss.
        batches: List of ``(x, y)`` batches; each is weighted by its size.
        vs: The vector, one tensor per parameter.
        params: The parameters, in the order of ``vs``.

    Returns:
        ``H v`` over the data, one tensor per parameter.
    """
    n = sum(int(x.shape[0]) for x, _ in batches)
    out = [torch.zeros_like(p) for p in params]
    for x, y in batches:
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        hv = torch.autograd.grad(grads, params, grad_outputs=vs)
        for o, h in zip(out, hv):
            o.add_(h.detach(), alpha=x.shape[0] / n)
    return out
