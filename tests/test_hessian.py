"""HessianOperator against exact float64 Hessians and curvlinops' independent operator."""

from __future__ import annotations

import functools

import pytest
import torch
from curvlinops import HessianLinearOperator
from curvlinops.examples.functorch import functorch_hessian
from torch import nn
from torch.utils.data import TensorDataset

from pnlib.hessian import (
    HessianOperator,
    exact_hessian,
    flat_params,
    gradient,
    select_parameters,
)

F64 = torch.float64


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 3))


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 2, 3),
        nn.Softplus(),
        nn.Flatten(),
        nn.Linear(2 * 2 * 2, 3),
    )


def make_case(kind: str, loss: str, n: int = 11, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = (mlp() if kind == "mlp" else cnn()).to(F64)
    x = torch.randn(n, 5, dtype=F64, generator=g) if kind == "mlp" else None
    if kind == "cnn":
        x = torch.randn(n, 2, 8, 8, dtype=F64, generator=g)
    if loss == "ce":
        loss_fn = nn.CrossEntropyLoss()
        y = torch.randint(0, 3, (n,), generator=g)
    else:
        loss_fn = nn.MSELoss()
        y = torch.randn(n, 3, dtype=F64, generator=g)
    # uneven batches: 4, 4, 3 (and a different split for the second data form)
    batches = [(x[:4], y[:4]), (x[4:8], y[4:8]), (x[8:], y[8:])]
    return model, loss_fn, x, y, batches


def reference_hessian(model, loss_fn, x, y, names):
    named = dict(model.named_parameters())
    params = [named[n] for n in names]
    return functorch_hessian(model, loss_fn, params, [(x, y)]).detach()


@functools.cache
def case_hessian(kind: str, loss: str) -> torch.Tensor:
    """The reference Hessian of ``make_case(kind, loss)``, computed once for both methods."""
    model, loss_fn, x, y, _ = make_case(kind, loss)
    return reference_hessian(model, loss_fn, x, y, select_parameters(model))


def rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
@pytest.mark.parametrize("method", ["forward-over-reverse", "reverse-over-reverse"])
def test_hvp_matches_exact_hessian(kind, loss, method):
    model, loss_fn, x, y, batches = make_case(kind, loss)
    H = case_hessian(kind, loss)
    op = HessianOperator(model, loss_fn, batches, method=method)
    d = op.shape[0]
    assert H.shape == (d, d)
    g = torch.Generator().manual_seed(1)
    v = torch.randn(d, dtype=F64, generator=g)
    V = torch.randn(d, 5, dtype=F64, generator=g)
    assert rel(op @ v, H @ v) < 1e-10
    assert rel(op @ V, H @ V) < 1e-10
    # the block product equals column-by-column products
    cols = torch.stack([op @ V[:, i] for i in range(5)], 1)
    assert rel(op @ V, cols) < 1e-12
    # the dense Hessian built from our products (its own default method, so checked once per case;
    # 64 columns per pass: several passes, the last one short) is the reference
    if method == "reverse-over-reverse":
        assert rel(exact_hessian(model, loss_fn, batches, columns_per_pass=64), H) < 1e-10


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_hvp_matches_curvlinops(kind):
    model, loss_fn, x, y, batches = make_case(kind, "ce", n=13)
    names = select_parameters(model, "prunable")
    named = dict(model.named_parameters())
    ref = HessianLinearOperator(model, loss_fn, [named[n] for n in names], batches)
    op = HessianOperator(model, loss_fn, batches, params="prunable")
    V = torch.randn(op.shape[0], 3, dtype=F64, generator=torch.Generator().manual_seed(2))
    assert op.shape == tuple(ref.shape)
    assert rel(op @ V, ref @ V) < 1e-10


def test_data_forms_and_uneven_batches_agree():
    model, loss_fn, x, y, batches = make_case("mlp", "ce", n=23)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=F64)
    ref = HessianOperator(model, loss_fn, (x, y)) @ v  # one batch: no weighting involved
    forms = [
        batches,
        (x, y),
        TensorDataset(x, y),
        iter([(x[:10], y[:10]), (x[10:], y[10:])]),
        torch.utils.data.DataLoader(TensorDataset(x, y), batch_size=6),
    ]
    for data in forms:
        kw = {"batch_size": 5} if isinstance(data, (tuple, TensorDataset)) else {}
        assert rel(HessianOperator(model, loss_fn, data, **kw) @ v, ref) < 1e-12
    # the sum reduction gives the same mean-loss Hessian
    op_sum = HessianOperator(model, nn.CrossEntropyLoss(reduction="sum"), batches)
    assert rel(op_sum @ v, ref) < 1e-12


def test_param_selection_is_the_submatrix():
    model, loss_fn, x, y, batches = make_case("mlp", "mse")
    names_all = select_parameters(model)
    H = reference_hessian(model, loss_fn, x, y, names_all)
    sizes = [dict(model.named_parameters())[n].numel() for n in names_all]
    starts = torch.cumsum(torch.tensor([0, *sizes]), 0)
    keep = torch.cat(
        [
            torch.arange(int(starts[i]), int(starts[i + 1]))
            for i, n in enumerate(names_all)
            if n.endswith("weight")
        ]
    )
    Hp = exact_hessian(model, loss_fn, batches, params="prunable")
    assert rel(Hp, H[keep][:, keep]) < 1e-10
    one = exact_hessian(model, loss_fn, batches, params=["2.bias"])
    i = names_all.index("2.bias")
    sl = slice(int(starts[i]), int(starts[i + 1]))
    assert rel(one, H[sl, sl]) < 1e-10
    assert flat_params(model, params="prunable").shape == (Hp.shape[0],)


def test_gradient_and_loss_match_autograd():
    model, loss_fn, x, y, batches = make_case("cnn", "ce")
    op = HessianOperator(model, loss_fn, batches)
    g, L = op.gradient_and_loss()
    model.zero_grad()
    full = loss_fn(model(x), y)
    full.backward()
    ref = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert rel(g, ref) < 1e-12
    assert abs(L - full.item()) < 1e-12
    assert rel(gradient(model, loss_fn, batches), ref) < 1e-12


def test_float32_model_in_float64_and_eval_mode_restored():
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Dropout(0.5), nn.Tanh(), nn.Linear(5, 2)
    )
    model.train()
    with torch.no_grad():
        model(torch.randn(32, 4))  # non-trivial running statistics
    x, y = torch.randn(9, 4), torch.randint(0, 2, (9,))
    op = HessianOperator(model, nn.CrossEntropyLoss(), (x, y), dtype=F64)
    assert op.dtype == F64 and model.training
    assert next(model.parameters()).dtype == torch.float32  # the model is not modified
    ref_model = nn.Sequential(*[m for m in model]).to(F64).eval()
    H = reference_hessian(ref_model, nn.CrossEntropyLoss(), x.to(F64), y, select_parameters(model))
    v = torch.randn(op.shape[0], dtype=F64)
    # eval mode: dropout off and running statistics, so products are deterministic and exact
    assert rel(op @ v, H @ v) < 1e-10
    assert torch.equal(op @ v, op @ v)
    assert model.training


def test_scipy_linear_operator():
    model, loss_fn, x, y, batches = make_case("mlp", "ce")
    H = exact_hessian(model, loss_fn, batches).numpy()
    lin = HessianOperator(model, loss_fn, batches).to_linear_operator()
    import numpy as np

    v = np.random.default_rng(0).standard_normal((H.shape[0], 2))
    assert np.allclose(lin @ v, H @ v, rtol=1e-10, atol=1e-12)
    assert np.allclose(lin @ v[:, 0], H @ v[:, 0], rtol=1e-10, atol=1e-12)


def test_bad_arguments():
    model, loss_fn, x, y, batches = make_case("mlp", "ce")
    with pytest.raises(ValueError, match="empty"):
        HessianOperator(model, loss_fn, [])
    with pytest.raises(ValueError, match="empty"):
        HessianOperator(model, loss_fn, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="prunable"):
        HessianOperator(model, loss_fn, batches, params="weights")
    with pytest.raises(ValueError, match="unknown parameter"):
        HessianOperator(model, loss_fn, batches, params=["nope"])
    with pytest.raises(ValueError, match="reduction"):
        HessianOperator(model, nn.CrossEntropyLoss(reduction="none"), batches)
    with pytest.raises(ValueError, match="floating"):
        HessianOperator(model, loss_fn, batches, dtype=torch.int64)
    with pytest.raises(ValueError, match="reverse-over-reverse"):
        HessianOperator(model, loss_fn, batches, method="finite-difference")
    with pytest.raises(TypeError, match="Dataset"):
        HessianOperator(model, loss_fn, 3)
    with pytest.raises(ValueError, match="'auto'"):
        HessianOperator(model, loss_fn, batches, cache="yes")
    with pytest.raises(ValueError, match="forward-over-reverse"):
        HessianOperator(model, loss_fn, batches, cache=True, method="reverse-over-reverse")
    with pytest.raises(ValueError, match="bytes"):
        HessianOperator(model, loss_fn, batches, cache_budget=-1)
    op = HessianOperator(model, loss_fn, batches)
    with pytest.raises(ValueError, match="shape"):
        op @ torch.zeros(op.shape[0] + 1, dtype=F64)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_cuda_matches_cpu_in_float64(kind):
    model, loss_fn, x, y, batches = make_case(kind, "ce", n=37)
    V = torch.randn(sum(p.numel() for p in model.parameters()), 4, dtype=F64)
    cpu = HessianOperator(model, loss_fn, batches) @ V
    model = model.to("cuda")
    for cache in (False, True):
        op = HessianOperator(model, loss_fn, batches, cache=cache)
        assert op.device.type == "cuda"
        out = op @ V.cuda()
        assert out.device.type == "cuda" and op.cached == cache
        assert rel(out.cpu(), cpu) < 1e-10


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_primal_cache_gives_the_same_operator(kind):
    model, loss_fn, x, y, batches = make_case(kind, "ce", n=13)
    H = reference_hessian(model, loss_fn, x, y, select_parameters(model))
    plain = HessianOperator(model, loss_fn, batches, cache=False)
    cached = HessianOperator(model, loss_fn, batches, cache=True)
    g = torch.Generator().manual_seed(3)
    v = torch.randn(plain.shape[0], dtype=F64, generator=g)
    V = torch.randn(plain.shape[0], 4, dtype=F64, generator=g)
    assert rel(cached @ v, plain @ v) < 1e-12
    assert cached.cached and not plain.cached
    assert rel(cached @ V, H @ V) < 1e-10
    # the cache follows the weights: an in-place update rebuilds it
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.7)
    assert not cached.cached
    H2 = reference_hessian(model, loss_fn, x, y, select_parameters(model))
    assert rel(cached @ V, H2 @ V) < 1e-10
    assert cached.cached


def test_auto_cache_follows_the_budget():
    model, loss_fn, x, y, batches = make_case("mlp", "ce", n=40)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=F64)
    small = HessianOperator(model, loss_fn, (x[:20], y[:20]), batch_size=5)
    big = HessianOperator(model, loss_fn, (x, y), batch_size=5)
    est = big.estimate_cache_bytes()
    # the per-example part doubles with the data, the weight-sized part does not
    assert 0 < small.estimate_cache_bytes() < est <= 2 * small.estimate_cache_bytes()
    # the bytes are linear in the examples: slices of another batching give the same line
    one = HessianOperator(model, loss_fn, (x, y))
    assert one.estimate_cache_bytes() == pytest.approx(est, rel=0.01)
    tight = HessianOperator(model, loss_fn, (x, y), batch_size=5, cache_budget=est - 1)
    roomy = HessianOperator(model, loss_fn, (x, y), batch_size=5, cache_budget=est)
    # a few products at the same weights run plain; the ninth column decides
    for _ in range(8):
        assert rel(roomy @ v, tight @ v) < 1e-12
        assert not roomy.cached
    assert rel(roomy @ v, tight @ v) < 1e-12
    assert roomy.cached and not tight.cached
    # a block of more than 8 columns decides at once
    fresh = HessianOperator(model, loss_fn, (x, y), batch_size=5, cache_budget=est)
    V = torch.randn(fresh.shape[0], 9, dtype=F64, generator=torch.Generator().manual_seed(5))
    assert rel(fresh @ V, tight @ V) < 1e-12
    assert fresh.cached


def test_cache_falls_back_for_mse_and_for_a_failed_check(monkeypatch):
    model, loss_fn, x, y, batches = make_case("mlp", "mse")
    H = reference_hessian(model, loss_fn, x, y, select_parameters(model))
    op = HessianOperator(model, loss_fn, batches, cache=True)
    v = torch.randn(op.shape[0], dtype=F64, generator=torch.Generator().manual_seed(4))
    assert rel(op @ v, H @ v) < 1e-10 and not op.cached  # mse needs jacrev: no cache

    import pnlib.hessian as hessian_module

    def broken_linearize(fn, *primals):
        out, tangent_map = torch.func.linearize(fn, *primals)
        return out, lambda *vs: tuple(2 * t for t in tangent_map(*vs))

    monkeypatch.setattr(hessian_module, "linearize", broken_linearize)
    model, loss_fn, x, y, batches = make_case("mlp", "ce")
    H = reference_hessian(model, loss_fn, x, y, select_parameters(model))
    op = HessianOperator(model, loss_fn, batches, cache=True)
    with pytest.warns(RuntimeWarning, match="disagrees"):
        assert rel(op @ v, H @ v) < 1e-10
    assert not op.cached


def test_determinism_check_is_on_by_default_and_can_be_switched_off():
    model, loss_fn, x, y, batches = make_case("mlp", "ce", n=24)
    shuffled = torch.utils.data.DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)
    for build in (HessianOperator, gradient, exact_hessian):
        with pytest.raises(RuntimeError, match="shuffle"):
            build(model, loss_fn, shuffled)
    # every example once per pass: without the check, the same mean loss up to rounding
    g = gradient(model, loss_fn, shuffled, check_deterministic=False)
    assert rel(g, gradient(model, loss_fn, (x, y))) < 1e-12
    H = exact_hessian(model, loss_fn, shuffled, check_deterministic=False)
    assert rel(H, exact_hessian(model, loss_fn, (x, y))) < 1e-12
