import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from pnlib import train


def make_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.fixture
def dataset(tiny_classification):
    return TensorDataset(*tiny_classification)


def one_step(x, y, l1):
    net = make_net()
    config = train.TrainConfig(epochs=1, batch_size=len(y), lr=0.1, l1=l1)
    train.train(net, TensorDataset(x, y), config)
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def test_one_step_is_bit_identical(tiny_classification):
    assert torch.equal(one_step(*tiny_classification, 1e-3), one_step(*tiny_classification, 1e-3))


def test_l1_scope_all_includes_biases():
    net = make_net()
    assert len(train.l1_parameters(net, "weights")) == 2
    assert len(train.l1_parameters(net, "all")) == 4
    with pytest.raises(ValueError, match="weights"):
        train.l1_parameters(net, "bn")


def test_learning_rate_schedules():
    warm = train.TrainConfig(epochs=10, lr=1.0, warmup_epochs=4, schedule="cosine")
    assert [train.learning_rate(warm, e, 0, 5) for e in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert train.learning_rate(warm, 4, 0, 5) == pytest.approx(1.0)
    assert train.learning_rate(warm, 7, 0, 5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
    step = train.TrainConfig(epochs=10, lr=1.0, schedule="multistep", milestones=(3, 6), gamma=0.5)
    assert [train.learning_rate(step, e, 0, 5) for e in (2, 3, 6)] == [1.0, 0.5, 0.25]
    # the per-iteration quirk counts milestones in iterations: epoch 1, iteration 1 is t = 6
    quirk = train.TrainConfig(
        epochs=10,
        lr=1.0,
        schedule="multistep",
        milestones=(3, 6),
        gamma=0.5,
        step_per_iteration=True,
    )
    assert train.learning_rate(quirk, 0, 2, 5) == 1.0
    assert train.learning_rate(quirk, 0, 3, 5) == 0.5
    assert train.learning_rate(quirk, 1, 1, 5) == 0.25


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=0),
        dict(lr=0),
        dict(momentum=1.0),
        dict(l1=-1),
        dict(schedule="step"),
        dict(l1_scope="bn"),
    ],
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        train.TrainConfig(**bad)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown training settings"):
        train.TrainConfig.from_dict({"epochs": 2, "learning_rate": 0.1})


def test_divergence_is_detected(dataset):
    net = make_net()
    config = train.TrainConfig(epochs=3, batch_size=8, lr=1e6, momentum=0.0)
    with pytest.raises(train.TrainingDiverged, match="learning rate"):
        train.train(net, dataset, config)


def test_resume_after_interruption_is_identical(dataset, tmp_path, monkeypatch):
    config = train.TrainConfig(epochs=4, batch_size=8, lr=0.05, l1=1e-3)
    straight = make_net()
    train.train(straight, dataset, config, generator=torch.Generator().manual_seed(1))

    calls = {"n": 0}
    original = train.run_epoch

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    ckpt = tmp_path / "run.pt"
    monkeypatch.setattr(train, "run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.train(
            make_net(), dataset, config, generator=torch.Generator().manual_seed(1), checkpoint=ckpt
        )
    monkeypatch.setattr(train, "run_epoch", original)
    resumed_net = make_net(seed=99)  # different init: everything must come from the checkpoint
    result = train.train(
        resumed_net, dataset, config, generator=torch.Generator().manual_seed(1), checkpoint=ckpt
    )
    assert result.resumed_from == 2 and len(result.history) == 4
    for a, b in zip(straight.parameters(), resumed_net.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_of_another_config_is_refused(dataset, tmp_path):
    ckpt = tmp_path / "run.pt"
    train.train(make_net(), dataset, train.TrainConfig(epochs=1, batch_size=8), checkpoint=ckpt)
    with pytest.raises(ValueError, match="another configuration"):
        train.train(make_net(), dataset, train.TrainConfig(epochs=2, batch_size=8), checkpoint=ckpt)


def test_training_learns_and_history_is_complete(dataset):
    net = make_net()
    config = train.TrainConfig(epochs=30, batch_size=8, lr=0.05)
    result = train.train(net, dataset, config, eval_data=dataset)
    assert len(result.history) == 30
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert {"lr", "loss", "penalty", "accuracy", "eval_loss", "eval_accuracy"} <= set(
        result.history[-1]
    )
    assert train.evaluate(net, dataset)["accuracy"] > 0.8


def test_evaluate_matches_a_direct_computation(dataset, tiny_classification):
    x, y = tiny_classification
    net = make_net()
    scores = train.evaluate(net, dataset, batch_size=7)
    with torch.no_grad():
        out = net(x)
    assert scores["loss"] == pytest.approx(float(nn.functional.cross_entropy(out, y)), rel=1e-6)
    assert scores["accuracy"] == pytest.approx(float((out.argmax(1) == y).float().mean()))
    with pytest.raises(ValueError, match="empty"):
        train.evaluate(net, TensorDataset(x[:0], y[:0]))


def test_measure_on_names_each_split(dataset):
    net = make_net()
    scores = train.measure_on({"a": dataset, "b": dataset})(net)
    assert scores["a_loss"] == scores["b_loss"] == train.evaluate(net, dataset)["loss"]
    assert set(scores) == {"a_loss", "a_accuracy", "b_loss", "b_accuracy"}


class NoisyData(torch.utils.data.Dataset):
    """Inputs jittered by noise from a generator of its own, as an augmentation would be."""

    def __init__(self, x, y, generator):
        self.x, self.y, self.generator = x, y, generator

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i] + 0.3 * torch.randn(self.x.shape[1:], generator=self.generator), self.y[i]


def _flat(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def test_the_augmentation_generator_resumes_with_the_checkpoint(tiny_classification, tmp_path):
    x, y = tiny_classification
    config = train.TrainConfig(epochs=3, batch_size=8, lr=0.05)

    def run(checkpoint, stop_after=None):
        g = torch.Generator().manual_seed(7)
        net = make_net()
        calls = {"n": 0}
        original = train.run_epoch

        def epoch(*args, **kwargs):
            calls["n"] += 1
            if stop_after is not None and calls["n"] > stop_after:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        train.run_epoch = epoch
        try:
            train.train(net, NoisyData(x, y, g), config, checkpoint=checkpoint, augment_generator=g)
        finally:
            train.run_epoch = original
        return net

    reference = _flat(run(tmp_path / "a.pt"))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b.pt", stop_after=1)
    assert "augment_state" in torch.load(tmp_path / "b.pt", weights_only=False)
    assert torch.equal(_flat(run(tmp_path / "b.pt")), reference)


def test_a_corrupt_checkpoint_is_named_moved_aside_and_training_starts_over(dataset, tmp_path):
    config = train.TrainConfig(epochs=2, batch_size=8)
    reference = make_net()
    train.train(reference, dataset, config)
    ckpt = tmp_path / "run.pt"
    train.train(make_net(), dataset, config, checkpoint=ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:64])  # truncated by a full disk or a kill
    net = make_net()
    with pytest.warns(RuntimeWarning, match="run.pt"):
        result = train.train(net, dataset, config, checkpoint=ckpt)
    assert result.resumed_from == 0 and len(result.history) == 2
    assert torch.equal(_flat(net), _flat(reference))
    assert len(list(tmp_path.glob("run.pt.corrupt-*"))) == 1 and ckpt.is_file()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", True, r"epochs must be an integer >= 1; got True \(bool\)"),
        ("epochs", 2.5, r"epochs must be an integer >= 1; got 2.5"),
        ("epochs", "ten", r"epochs must be an integer >= 1; got 'ten'"),
        ("lr", "fast", r"lr must be a number > 0; got 'fast'"),
        ("momentum", 1.0, r"momentum must be a number in \[0, 1\)"),
        ("milestones", [10, "x"], r"milestones must be a list of integers >= 0"),
        ("step_per_iteration", 1, r"step_per_iteration must be true or false"),
    ],
)
def test_settings_are_checked_by_name_type_and_range(field, value, message):
    with pytest.raises(ValueError, match="invalid training settings: " + message):
        train.TrainConfig(**{field: value})
    assert train.TrainConfig(l1="5e-5").l1 == 5e-5  # YAML 1.1 read this as a string
