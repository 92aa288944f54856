"""Shared test settings and cases: headless plotting, the GPU skip, small networks with data.

The ``case`` fixture follows curvlinops' ``case`` fixture: one small float64 network (an MLP or a
CNN) with its data and a loss (cross-entropy or MSE), parametrised over every combination, with
an independent dense Hessian (``torch.func.hessian`` of the mean loss over all the data at once)
to test operators against. ``make_case`` builds one case by name when a test needs a particular
one or another size.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
if "PYTEST_XDIST_WORKER" in os.environ:
    # one thread per worker: the workers already fill the cores
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

F64 = torch.float64
CASES = ("mlp-ce", "mlp-mse", "cnn-ce", "cnn-mse")
NUM_OUTPUTS = 3


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, NUM_OUTPUTS))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 2, 3),
        nn.Softplus(),
        nn.Flatten(),
        nn.Linear(2 * 2 * 2, NUM_OUTPUTS),
    )


@dataclass
class Case:
    """A small float64 network, its data and its batch-mean loss.

    Attributes:
        name: ``"<mlp|cnn>-<ce|mse>"``.
        model: The network (float64, deterministic: no dropout or BatchNorm).
        loss_fn: ``nn.CrossEntropyLoss()`` or ``nn.MSELoss()`` (mean reduction).
        x: All inputs.
        y: All targets (class indices for cross-entropy, ``(n, 3)`` float64 for MSE).
        batches: The data in uneven batches (sizes 4, 4, then the rest).
    """

    name: str
    model: nn.Module
    loss_fn: nn.Module
    x: Tensor
    y: Tensor
    batches: list[tuple[Tensor, Tensor]]

    @property
    def dim(self) -> int:
        """Number of parameters ``D``."""
        return sum(p.numel() for p in self.model.parameters())

    @property
    def classification(self) -> bool:
        """Whether the loss is cross-entropy (targets are classes)."""
        return isinstance(self.loss_fn, nn.CrossEntropyLoss)

    def dataset(self) -> TensorDataset:
        """The data as a dataset (examples in order)."""
        return TensorDataset(self.x, self.y)

    def flat_params(self) -> Tensor:
        """The parameters as one detached vector, in ``named_parameters`` order."""
        return torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])

    def loss_of(self, flat: Tensor, x: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """The mean loss at the flat parameter vector ``flat`` (default: over all the data)."""
        x = self.x if x is None else x
        y = self.y if y is None else y
        params, start = {}, 0
        for name, p in self.model.named_parameters():
            params[name] = flat[start : start + p.numel()].view_as(p)
            start += p.numel()
        return self.loss_fn(torch.func.functional_call(self.model, params, (x,)), y)

    def hessian(self) -> Tensor:
        """The dense Hessian of the mean loss over all the data, by ``torch.func.hessian``.

        Independent of :mod:`pnlib.hessian`: one batch of all examples, plain autodiff.
        """
        return torch.func.hessian(self.loss_of)(self.flat_params()).detach()


def make_case(name: str, n: int = 11, seed: int = 0) -> Case:
    """Build the case ``name`` (one of :data:`CASES`) with ``n`` examples."""
    kind, loss = name.split("-")
    if kind not in ("mlp", "cnn") or loss not in ("ce", "mse"):
        raise ValueError(f"unknown case {name!r}; choose one of {CASES}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = (_mlp() if kind == "mlp" else _cnn()).to(F64)
    shape = (5,) if kind == "mlp" else (2, 8, 8)
    x = torch.randn(n, *shape, dtype=F64, generator=g)
    if loss == "ce":
        loss_fn: nn.Module = nn.CrossEntropyLoss()
        y = torch.randint(0, NUM_OUTPUTS, (n,), generator=g)
    else:
        loss_fn = nn.MSELoss()
        y = torch.randn(n, NUM_OUTPUTS, dtype=F64, generator=g)
    cuts = [0, min(4, n), min(8, n), n]
    batches = [(x[a:b], y[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]
    return Case(name, model, loss_fn, x, y, batches)


@pytest.fixture(params=CASES)
def case(request) -> Case:
    """Every small network/loss combination of :data:`CASES`, 11 examples each."""
    return make_case(request.param)


@pytest.fixture(params=[c for c in CASES if c.endswith("-ce")])
def ce_case(request) -> Case:
    """The cross-entropy cases only (``train`` reports accuracy, so it needs classes)."""
    return make_case(request.param)


@pytest.fixture
def case_factory():
    """:func:`make_case`, for a test that needs one particular case or another size."""
    return make_case


@pytest.fixture
def tiny_classification():
    """A small, seeded classification problem: (inputs, targets) with 40 samples, 5 features."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return x, y


def pytest_collection_modifyitems(config, items):
    """Skip GPU tests when CUDA is missing."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def kill_in_second_epoch(monkeypatch):
    """Run a callable that trains, killed during its second epoch (after the first checkpoint).

    ``kill_in_second_epoch(experiment.run, config, results_root=root)`` raises the
    ``KeyboardInterrupt`` a killed run would, checks that it did, and restores the training loop.
    """
    from pnlib import train

    def run_killed(function, *args, **kwargs):
        original_epoch = train.run_epoch
        calls = {"n": 0}

        def interrupted_epoch(*a, **k):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            return original_epoch(*a, **k)

        monkeypatch.setattr(train, "run_epoch", interrupted_epoch)
        try:
            with pytest.raises(KeyboardInterrupt):
                function(*args, **kwargs)
        finally:
            monkeypatch.setattr(train, "run_epoch", original_epoch)

    return run_killed
