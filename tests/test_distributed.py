"""Data-parallel Hessian products: two CPU processes (gloo) equal one process in float64."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from pnlib.hessian import HessianOperator

F64 = torch.float64


def _case():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 3)).to(F64)
    x = torch.randn(29, 6, dtype=F64, generator=g)
    y = torch.randint(0, 3, (29,), generator=g)
    # five uneven batches: rank 0 gets batches 0, 2, 4 (sizes 7, 5, 3), rank 1 gets 1, 3 (8, 6)
    sizes = [7, 8, 5, 6, 3]
    batches = list(zip(x.split(sizes), y.split(sizes)))
    V = torch.randn(sum(p.numel() for p in model.parameters()), 3, dtype=F64, generator=g)
    return model, batches, V


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model, batches, V = _case()
        op = HessianOperator(model, nn.CrossEntropyLoss(), batches, cache=False)
        g, loss = op.gradient_and_loss()
        # each rank keeps the primal pass of its own batches only
        cached = HessianOperator(model, nn.CrossEntropyLoss(), batches, cache=True)
        HV_cached = cached @ V
        assert cached.cached
        torch.save(
            {
                "HV": op @ V,
                "Hv": op @ V[:, 0],
                "HV_cached": HV_cached,
                "g": g,
                "loss": loss,
                "n": op.num_data,
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_products_equal_single_process():
    model, batches, V = _case()
    op = HessianOperator(model, nn.CrossEntropyLoss(), batches, cache=False)
    ref_HV = op @ V
    ref_g, ref_loss = op.gradient_and_loss()
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(2, _free_port(), tmp), nprocs=2, join=True)
        results = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(2)]
    for res in results:
        assert res["n"] == 29
        for key in ("HV", "HV_cached"):
            assert float(torch.linalg.norm(res[key] - ref_HV) / torch.linalg.norm(ref_HV)) < 1e-10
        assert float(torch.linalg.norm(res["Hv"] - ref_HV[:, 0])) < 1e-10 * float(
            torch.linalg.norm(ref_HV[:, 0])
        )
        assert float(torch.linalg.norm(res["g"] - ref_g) / torch.linalg.norm(ref_g)) < 1e-10
        assert abs(res["loss"] - ref_loss) < 1e-12


def test_distributed_true_without_process_group_raises():
    model, batches, _ = _case()
    with pytest.raises(ValueError, match="process group"):
        HessianOperator(model, nn.CrossEntropyLoss(), batches, distributed=True)
