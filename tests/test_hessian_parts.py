"""The parts of HessianOperator: kernels, data passes, determinism check, primal cache key."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jacrev
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset, TensorDataset

from pnlib._hvp_cache import weights_key
from pnlib._hvp_data import DataPasses, check_deterministic, known_sizes
from pnlib._hvp_kernels import (
    FunctionalLoss,
    flatten_block,
    forward_over_reverse,
    gradient_and_value,
    over_columns,
    reverse_over_reverse,
    split_block,
)
from pnlib.hessian import HessianOperator, exact_hessian, select_parameters

F64 = torch.float64


def rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def small_problem(loss: str = "ce", n: int = 9):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).to(F64)
    x = torch.randn(n, 4, dtype=F64, generator=g)
    if loss == "ce":
        return model, nn.CrossEntropyLoss(), x, torch.randint(0, 3, (n,), generator=g)
    return model, nn.MSELoss(), x, torch.randn(n, 3, dtype=F64, generator=g)


def functional(model, loss_fn, x, y):
    names = [n for n, _ in model.named_parameters()]
    primals = tuple(p.detach() for p in model.parameters())

    def loss(*ps):
        return loss_fn(functional_call(model, dict(zip(names, ps)), (x,)), y)

    return loss, primals


def dense_hessian(loss, primals):
    # the exact float64 Hessian by torch.func.hessian of the loss of one flat vector
    shapes = [p.shape for p in primals]
    sizes = [p.numel() for p in primals]

    def flat_loss(w):
        return loss(*(c.reshape(s) for c, s in zip(w.split(sizes), shapes)))

    w = torch.cat([p.reshape(-1) for p in primals])
    return torch.func.hessian(flat_loss)(w)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_kernels_match_the_exact_hessian(kind):
    model, loss_fn, x, y = small_problem(kind)
    loss, primals = functional(model, loss_fn, x, y)
    H = dense_hessian(loss, primals)
    d = H.shape[0]
    V = torch.randn(d, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    shapes = [p.shape for p in primals]
    tangents = split_block(V, shapes)
    assert torch.equal(flatten_block(tangents), V)
    # mse_loss's zero tensors trip grad under jvp; jacrev gives the same gradient
    gradient = jacrev if kind == "mse" else grad
    one = forward_over_reverse(loss, primals, tuple(t[0] for t in tangents), gradient=gradient)
    assert rel(flatten_block([t[None] for t in one])[:, 0], H @ V[:, 0]) < 1e-12
    for loop in (False, True):

        def product(*vs):
            return forward_over_reverse(loss, primals, vs, gradient=gradient)

        block = over_columns(product, tangents, loop=loop)
        assert rel(flatten_block(block), H @ V) < 1e-12
    assert rel(flatten_block(reverse_over_reverse(loss, primals, tangents)), H @ V) < 1e-12
    g, value = gradient_and_value(loss, primals)
    assert float(value) == pytest.approx(float(loss(*primals)), rel=1e-14)
    assert (
        rel(
            torch.cat([t.reshape(-1) for t in g]),
            torch.func.jacrev(
                lambda w: loss(
                    *(c.reshape(s) for c, s in zip(w.split([p.numel() for p in primals]), shapes))
                )
            )(torch.cat([p.reshape(-1) for p in primals])),
        )
        < 1e-12
    )


def test_functional_loss_settles_grad_against_jacrev():
    model, loss_fn, x, y = small_problem("mse")
    fl = FunctionalLoss(model, loss_fn, select_parameters(model), None)
    primals, consts = fl.state()
    loss = fl.of_batch(consts, x, y)
    H = dense_hessian(loss, primals)
    V = torch.randn(fl.dim, 3, dtype=F64, generator=torch.Generator().manual_seed(2))
    assert not fl.needs_jacrev
    out = fl.product(loss, primals, split_block(V, fl.shapes))
    assert fl.needs_jacrev  # grad under jvp failed on mse_loss; jacrev took over for good
    assert rel(flatten_block(out), H @ V) < 1e-12
    # a loss that fails for another reason raises its own error, not jacrev's
    fresh = FunctionalLoss(model, loss_fn, select_parameters(model), None)

    def broken(*ps):
        raise RuntimeError("a genuine failure")

    with pytest.raises(RuntimeError, match="genuine"):
        fresh.product(broken, primals, split_block(V, fl.shapes))
    assert not fresh.needs_jacrev


# ----------------------------------------------------------------------------- data passes
class CountingDataset(Dataset):
    def __init__(self, x, y, noise: float = 0.0):
        self.x, self.y, self.noise, self.loads = x, y, noise, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.loads += 1
        x = self.x[i]
        if self.noise:  # random augmentation
            x = x + self.noise * torch.randn_like(x)
        return x, self.y[i]


class UnsizedBatches:
    """An iterable of batches without a length (a stream, as far as the operator knows)."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


class Stream(IterableDataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return iter(zip(self.x, self.y))


def test_example_count_reads_lengths_without_loading_data():
    model, loss_fn, x, y = small_problem(n=23)
    ds = CountingDataset(x, y)
    op = HessianOperator(model, loss_fn, ds, batch_size=5, check_deterministic=False)
    assert op.num_data == 23 and ds.loads == 0  # len(dataset), no pass over the data
    v = torch.randn(op.shape[0], dtype=F64)
    ref = HessianOperator(model, loss_fn, (x, y)) @ v
    assert rel(op @ v, ref) < 1e-12 and ds.loads == 23  # one product, one pass
    # the default determinism check is the only pass at construction: two of them
    ds.loads = 0
    HessianOperator(model, loss_fn, ds, batch_size=5)
    assert ds.loads == 2 * 23


def test_known_sizes_agree_with_a_counting_pass():
    _, _, x, y = small_problem(n=23)
    ds = TensorDataset(x, y)
    loaders = {
        "list": [(x[:10], y[:10]), (x[10:], y[10:])],
        "loader": DataLoader(ds, batch_size=6),
        "drop_last": DataLoader(ds, batch_size=6, drop_last=True),
        "subset": DataLoader(Subset(ds, range(3, 20)), batch_size=4),
    }
    for name, data in loaders.items():
        sizes = known_sizes(data)
        assert sizes == [int(b[0].shape[0]) for b in data], name
    # only a pass can tell for these: custom collate, a custom sampler, a stream, no length
    sampler = torch.utils.data.BatchSampler(range(23), 5, drop_last=False)
    unknown = [
        DataLoader(ds, batch_size=6, collate_fn=lambda b: torch.utils.data.default_collate(b)),
        DataLoader(ds, batch_sampler=sampler),
        DataLoader(Stream(x, y), batch_size=6),
        UnsizedBatches([(x, y)]),
    ]
    for data in unknown:
        assert known_sizes(data) is None
    model, loss_fn, _, _ = small_problem()
    for data in unknown:
        assert HessianOperator(model, loss_fn, data).num_data == 23


def test_local_batches_of_a_rank_and_chunks():
    model, loss_fn, x, y = small_problem(n=23)
    fl = FunctionalLoss(model, loss_fn, select_parameters(model), None)
    batches = list(zip(x.split([7, 8, 5, 3]), y.split([7, 8, 5, 3])))
    one = DataPasses(batches, None, fl)
    assert one.num_local == one.num_data == 23
    assert [int(b.shape[0]) for b, _, _ in one] == [7, 8, 5, 3]
    assert sum(w for _, _, w in one) == pytest.approx(1.0)
    chunks = list(one.chunks(10))
    assert [int(c.shape[0]) for c, _, _ in chunks] == [15, 8]
    assert sum(w for _, _, w in chunks) == pytest.approx(1.0)
    # sum reduction: every batch weighs 1/N
    fl_sum = FunctionalLoss(model, nn.CrossEntropyLoss(reduction="sum"), fl.names, None)
    assert DataPasses(batches, None, fl_sum).weight(7) == pytest.approx(1 / 23)
    assert DataPasses(batches, None, fl).first()[0].shape[0] == 7


def test_empty_data_is_an_error():
    model, loss_fn, x, y = small_problem()
    with pytest.raises(ValueError, match="empty"):
        HessianOperator(model, loss_fn, TensorDataset(x[:0], y[:0]))
    with pytest.raises(ValueError, match="empty"):
        HessianOperator(model, loss_fn, UnsizedBatches([]))


# ----------------------------------------------------------------------------- determinism
class NoisyNet(nn.Module):
    """A network that stays random in eval mode (functional dropout with training=True)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.b(F.dropout(torch.tanh(self.a(x)), 0.5, training=True))


def test_determinism_check_catches_shuffling_and_augmenting_loaders():
    model, loss_fn, x, y = small_problem(n=24)
    ds = TensorDataset(x, y)
    with pytest.raises(RuntimeError, match="shuffle"):
        HessianOperator(model, loss_fn, DataLoader(ds, batch_size=6, shuffle=True))
    with pytest.raises(RuntimeError, match="augment"):
        HessianOperator(model, loss_fn, CountingDataset(x, y, noise=0.01), batch_size=6)
    # tiny augmentations are caught as well: the fingerprint sees every entry
    with pytest.raises(RuntimeError, match="different batches"):
        HessianOperator(model, loss_fn, CountingDataset(x, y, noise=1e-6), batch_size=6)
    # switched off, a shuffled loader still gives the same operator up to rounding
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=F64)
    shuffled = DataLoader(ds, batch_size=6, shuffle=True)
    op = HessianOperator(model, loss_fn, shuffled, check_deterministic=False)
    assert rel(op @ v, HessianOperator(model, loss_fn, (x, y)) @ v) < 1e-12


def test_determinism_check_catches_models_random_in_eval_mode():
    _, loss_fn, x, y = small_problem()
    torch.manual_seed(0)
    net = NoisyNet().to(F64)
    with pytest.raises(RuntimeError, match="random in eval mode"):
        HessianOperator(net, loss_fn, (x, y))
    # dropout and BatchNorm modules are switched off by eval mode: nothing to report
    bn = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Dropout(0.5), nn.Linear(5, 3))
    bn = bn.to(F64).train()
    op = HessianOperator(bn, loss_fn, (x, y))
    v = torch.randn(op.shape[0], dtype=F64)
    assert torch.equal(op @ v, op @ v) and bn.training


class StubbornBatchNorm(nn.BatchNorm1d):
    """A BatchNorm that stays in training mode under model.eval()."""

    def train(self, mode: bool = True):
        return super().train(True)


def test_determinism_check_catches_batchnorm_left_in_training_mode():
    _, loss_fn, x, y = small_problem(n=12)
    net = nn.Sequential(nn.Linear(4, 5), StubbornBatchNorm(5), nn.Tanh(), nn.Linear(5, 3))
    for dtype in (F64, torch.float32):  # buffers shared with the model, or cast copies
        net = net.to(dtype)
        with pytest.raises(RuntimeError, match="buffers"):
            HessianOperator(net, loss_fn, (x.to(dtype), y), batch_size=4, dtype=F64)


def test_check_deterministic_direct():
    model, loss_fn, x, y = small_problem()
    fl = FunctionalLoss(model, loss_fn, select_parameters(model), None)
    check_deterministic(DataPasses((x, y), 4, fl), fl)  # fixed data: passes


# ----------------------------------------------------------------------------- cache key
def test_weights_key_follows_every_kind_of_weight_change():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(F64)
    key = weights_key(model)
    assert weights_key(model) == key
    with torch.no_grad():
        model[0].weight.mul_(0.5)  # in place: the version counter moves
    assert weights_key(model) != key
    key = weights_key(model)
    model[0].weight.data[0, 0] += 1.0  # through .data: a counter of its own; the sums move
    assert weights_key(model) != key
    key = weights_key(model)
    model[1].running_mean.data.add_(0.25)  # buffers count too
    assert weights_key(model) != key
    key = weights_key(model)
    model[0].weight = nn.Parameter(model[0].weight.detach().clone())  # replaced
    assert weights_key(model) != key
    with torch.no_grad():
        model[0].bias.fill_(float("nan"))
    assert weights_key(model) == weights_key(model)  # NaN weights still equal themselves


def test_cache_follows_a_write_through_data():
    model, loss_fn, x, y = small_problem()
    op = HessianOperator(model, loss_fn, (x, y), cache=True)
    v = torch.randn(op.shape[0], dtype=F64)
    op @ v
    assert op.cached
    model[0].weight.data.mul_(0.5)
    assert not op.cached
    H = exact_hessian(model, loss_fn, (x, y))
    assert rel(op @ v, H @ v) < 1e-10 and op.cached


# ---------------------------------------------------------------- a rank with no batches
def _block(model):
    d = sum(p.numel() for p in model.parameters())
    return torch.randn(d, 9, dtype=F64, generator=torch.Generator().manual_seed(3))


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model, loss_fn, x, y = small_problem(n=9)
        batches = [(x, y)]  # one batch: rank 1 has none
        V = _block(model)
        op = HessianOperator(model, loss_fn, batches)
        out = {"n": op.num_data, "est": op.estimate_cache_bytes(), "HV": op @ V}
        out["g"], out["loss"] = op.gradient_and_loss()
        for cache in (True, "auto"):
            cached = HessianOperator(model, loss_fn, batches, cache=cache, cache_budget=2**40)
            out[f"HV_{cache}"] = cached @ V  # nine columns: "auto" decides to cache
            out[f"cached_{cache}"] = cached.cached
        # a check that fails on rank 0 only raises on both ranks
        noisy = CountingDataset(x, y, noise=0.1) if rank == 0 else CountingDataset(x, y)
        try:
            HessianOperator(model, loss_fn, noisy, batch_size=5)
            out["raised"] = ""
        except RuntimeError as err:
            out["raised"] = str(err)
        torch.save(out, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_rank_without_batches():
    model, loss_fn, x, y = small_problem(n=9)
    H = exact_hessian(model, loss_fn, (x, y))
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(2, _free_port(), tmp), nprocs=2, join=True)
        results = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(2)]
    g, loss = HessianOperator(model, loss_fn, (x, y)).gradient_and_loss()
    assert results[1]["est"] == 0 < results[0]["est"]
    HV = H @ _block(model)
    for res in results:
        assert res["n"] == 9
        for key in ("HV", "HV_True", "HV_auto"):
            assert rel(res[key], HV) < 1e-10
        assert res["cached_True"] and res["cached_auto"]
        assert rel(res["g"], g) < 1e-12 and abs(res["loss"] - loss) < 1e-12
        # the check failed on rank 0 only, and both ranks raised
        assert "different batches" in res["raised"]
    assert "rank 0" in results[0]["raised"]
