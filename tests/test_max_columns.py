"""``HessianOperator(max_columns=...)``: a block wider than the cap, in several passes, is exact."""

from __future__ import annotations

import pytest
import torch

import pnlib.hessian
from pnlib.hessian import HessianOperator

F64 = torch.float64


def rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


@pytest.mark.parametrize(
    "method,cache",
    [
        ("forward-over-reverse", False),
        ("forward-over-reverse", True),
        ("reverse-over-reverse", False),
    ],
)
def test_capped_block_equals_dense_hessian(case, monkeypatch, method, cache):
    H = case.hessian()
    widths = []
    split = pnlib.hessian.split_block

    def recording(V, shapes):
        widths.append(V.shape[1])
        return split(V, shapes)

    monkeypatch.setattr(pnlib.hessian, "split_block", recording)
    op = HessianOperator(
        case.model, case.loss_fn, case.batches, max_columns=3, method=method, cache=cache
    )
    V = torch.randn(case.dim, 10, dtype=F64, generator=torch.Generator().manual_seed(1))
    out = op @ V
    # 10 columns through a cap of 3: passes of 3, 3, 3 and 1, together the whole block
    assert widths == [3, 3, 3, 1]
    assert out.shape == V.shape and out.dtype == F64
    assert rel(out, H @ V) < 1e-10
    # the same operator without the cap gives the same product, in one pass
    widths.clear()
    whole = HessianOperator(case.model, case.loss_fn, case.batches, method=method, cache=cache) @ V
    assert widths == [10]
    assert rel(out, whole) < 1e-12


def test_cap_at_one_column_and_at_the_block_width(case_factory):
    case = case_factory("mlp-ce")
    H = case.hessian()
    V = torch.randn(case.dim, 4, dtype=F64, generator=torch.Generator().manual_seed(2))
    for cap in (1, 4, 100):
        op = HessianOperator(case.model, case.loss_fn, case.batches, max_columns=cap)
        assert rel(op @ V, H @ V) < 1e-10
        assert rel(op @ V[:, 0], H @ V[:, 0]) < 1e-10  # a single vector


@pytest.mark.parametrize("bad", [0, -2])
def test_cap_must_be_positive(case_factory, bad):
    case = case_factory("mlp-ce")
    with pytest.raises(ValueError, match="max_columns"):
        HessianOperator(case.model, case.loss_fn, case.batches, max_columns=bad)
