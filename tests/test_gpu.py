"""CUDA against CPU: the Hessian operator, SLQ, training and the prediction on the shared cases.

Skipped without CUDA (``tests/conftest.py``); ``make gpu-check`` runs them with ``pytest -m gpu``.
Everything is float64, so the device changes only the rounding.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from pnlib import predict, spectrum, train
from pnlib.hessian import HessianOperator

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]
F64 = torch.float64
DEVICE = "cuda"


def on_cuda(case):
    model = copy.deepcopy(case.model).to(DEVICE)
    batches = [(x.to(DEVICE), y.to(DEVICE)) for x, y in case.batches]
    return model, batches


def rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


@pytest.mark.parametrize("method", ["forward-over-reverse", "reverse-over-reverse"])
def test_capped_block_on_cuda_equals_the_dense_hessian(case, method):
    H = case.hessian()
    model, batches = on_cuda(case)
    op = HessianOperator(model, case.loss_fn, batches, max_columns=3, method=method)
    V = torch.randn(case.dim, 7, dtype=F64, generator=torch.Generator().manual_seed(0))
    out = op @ V.to(DEVICE)
    assert out.device.type == DEVICE and out.dtype == F64
    assert rel(out.cpu(), H @ V) < 1e-10


def test_slq_on_cuda_matches_cpu(ce_case):
    case = ce_case
    model, batches = on_cuda(case)
    cpu = spectrum.slq(
        HessianOperator(case.model, case.loss_fn, case.batches),
        case.dim,
        10,
        num_probes=3,
        generator=0,
    )
    gpu = spectrum.slq(
        HessianOperator(model, case.loss_fn, batches), case.dim, 10, num_probes=3, generator=0
    )
    scale = float(np.abs(cpu.nodes).max())
    np.testing.assert_allclose(gpu.nodes, cpu.nodes, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(gpu.weights, cpu.weights, rtol=0, atol=1e-8)
    for f in (lambda x: x, np.abs):
        assert spectrum.trace_of(f, gpu)[0] == pytest.approx(spectrum.trace_of(f, cpu)[0], rel=1e-8)


def test_training_on_cuda_matches_cpu(ce_case):
    case = ce_case
    config = train.TrainConfig(epochs=3, batch_size=4, lr=0.05, l1=1e-3)
    cpu_model = copy.deepcopy(case.model)
    gpu_model = copy.deepcopy(case.model).to(DEVICE)
    a = train.train(cpu_model, case.dataset(), config, generator=torch.Generator().manual_seed(1))
    b = train.train(gpu_model, case.dataset(), config, generator=torch.Generator().manual_seed(1))
    for p, q in zip(cpu_model.parameters(), gpu_model.parameters()):
        assert q.device.type == DEVICE
        torch.testing.assert_close(q.cpu(), p, rtol=1e-10, atol=1e-12)
    assert [h["loss"] for h in b.history] == pytest.approx([h["loss"] for h in a.history])


def test_prediction_on_cuda_matches_cpu(case_factory):
    case = case_factory("mlp-ce", n=64)
    options = dict(eps_batch_size=16, grid_points=50, predictors=("paper", "free"))
    cpu = predict.predict_pruning_limit(case.model, (case.x, case.y), **options)
    model = copy.deepcopy(case.model).to(DEVICE)
    gpu = predict.predict_pruning_limit(model, (case.x.to(DEVICE), case.y.to(DEVICE)), **options)
    assert gpu.spectrum_source == cpu.spectrum_source == "exact"
    for name, value in cpu.estimates.items():
        assert gpu.estimates[name] == pytest.approx(value, abs=1e-6), name
