"""Tests of pnlib.experiment: the pipeline, resumption, the results schema, config checks."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from pnlib import data, experiment, models, predict, prune, runner, train
from pnlib.paths import project_root, read_json

TINY = {
    "task": "tiny",
    "model": "mlp",
    "dataset": "digits",
    "model_options": {"hidden": [6]},
    "train": {"epochs": 3, "batch_size": 64, "lr": 0.05, "l1": 1e-4},
    "train_subset": 400,
    "hessian_subset": 300,
    "sweep_train_subset": 300,
    "grid_points": 40,
    "exact": True,
    "zero_rows": 8,
}


def _comparable(metrics):
    """The metrics without what legitimately differs between attempts (times, reuse flags)."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k != "seconds"}
        return obj

    out = strip(copy.deepcopy(metrics))
    out.pop("times")
    out.pop("reused")
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return root, experiment.run(TINY, results_root=root)


@pytest.mark.slow  # an end-to-end run of the pipeline (the tiny_run fixture)
def test_pipeline_writes_valid_results(tiny_run):
    root, result = tiny_run
    folder = root / "tiny" / "default"
    metrics = read_json(folder / "metrics.json")
    experiment.validate_metrics(metrics)
    assert metrics == result.metrics
    env = read_json(folder / "env.json")
    assert {"torch", "device", "git_revision", "train_key"} <= set(env)
    assert metrics["dims"]["num_prunable"] == 64 * 6 + 6 * 10
    assert metrics["spectrum"]["source"] == "exact"
    assert metrics["spectrum"]["dim"] == metrics["dims"]["num_prunable"]
    assert len(metrics["curves"]["sparsity"]) == TINY["grid_points"]
    assert not any(metrics["reused"].values())
    # the step measured by path_terms is the one the prediction's R(s*) describes
    assert metrics["path"]["radius"] == pytest.approx(metrics["prediction"]["radius"], rel=1e-6)
    # the checkpoint of the training stage is named after the training hash
    config = experiment.ExperimentConfig.from_dict(TINY)
    assert experiment.train_checkpoint(config, root).is_file()


@pytest.mark.slow  # an end-to-end run of the pipeline (the tiny_run fixture)
def test_prediction_matches_independent_computation(tiny_run):
    """Fixed point and actual limits recomputed from the model with numpy and the sweep."""
    _, result = tiny_run
    model, metrics = copy.deepcopy(result.model).cpu(), result.metrics
    train_set = data.load("digits", train=True)
    hess_set = experiment._subset(train_set, TINY["hessian_subset"], 0 + 2)
    x = torch.stack([hess_set[i][0] for i in range(len(hess_set))])
    y = torch.tensor([int(hess_set[i][1]) for i in range(len(hess_set))])
    params = models.prunable_parameters(model)
    model64 = copy.deepcopy(model).double()
    flat = torch.cat([p.detach().double().reshape(-1) for p in params.values()])

    def loss(vector):  # the mean cross-entropy as a function of the prunable weights only
        parts = torch.split(vector, [p.numel() for p in params.values()])
        weights = {n: part.reshape(p.shape) for (n, p), part in zip(params.items(), parts)}
        out = torch.func.functional_call(model64, weights, (x.double(),))
        return nn.functional.cross_entropy(out, y)

    lam = np.linalg.eigvalsh(torch.func.hessian(loss)(flat).detach().numpy())
    with torch.no_grad():
        eps = float(
            np.std(
                [
                    float(nn.functional.cross_entropy(model(x[i : i + 128]), y[i : i + 128]))
                    for i in range(0, len(y), 128)
                ]
            )
        )
    assert metrics["eps"]["value"] == pytest.approx(eps, rel=1e-5)
    w = np.sort(np.abs(prune.flat_prunable(model).double().numpy()))
    cum = np.concatenate([[0.0], np.cumsum(w**2)])

    def g(s):  # s(R(s)) - s on the exact removed norm
        radius2 = cum[int(np.floor(s * w.size + 0.5))]
        return np.mean(2 * eps / (2 * eps + np.abs(lam) * radius2)) - s

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    assert metrics["prediction"]["sparsity"] == pytest.approx(lo, abs=2.0 / w.size)
    acc = np.array(result.sweep.metrics["test_accuracy"])
    assert (
        metrics["actual"]["accuracy"] == result.sweep.sparsity[np.flatnonzero(acc >= acc[0]).max()]
    )


@pytest.mark.slow  # an end-to-end run of the pipeline (the tiny_run fixture)
def test_resume_after_interruptions_gives_identical_metrics(
    tiny_run, tmp_path, monkeypatch, kill_in_second_epoch
):
    _, reference = tiny_run
    kill_in_second_epoch(experiment.run, TINY, results_root=tmp_path)
    checkpoint = torch.load(
        experiment.train_checkpoint(experiment.ExperimentConfig.from_dict(TINY), tmp_path),
        weights_only=False,
    )
    assert len(checkpoint["history"]) == 1

    def broken_spectrum(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "_exact_affordable", broken_spectrum)
    with pytest.raises(KeyboardInterrupt):  # training finishes, the sweep is saved, then it stops
        experiment.run(TINY, results_root=tmp_path)
    assert not (tmp_path / "tiny" / "default" / "metrics.json").exists()
    monkeypatch.undo()
    resumed = experiment.run(TINY, results_root=tmp_path)
    assert resumed.metrics["reused"]["train"] and resumed.metrics["reused"]["sweep"]
    assert not resumed.metrics["reused"]["spectrum"]
    assert _comparable(resumed.metrics) == _comparable(reference.metrics)
    again = experiment.run(TINY, results_root=tmp_path)
    assert all(again.metrics["reused"][s] for s in ("train", "sweep", "eps", "spectrum"))
    assert _comparable(again.metrics) == _comparable(reference.metrics)


@pytest.mark.slow  # an end-to-end run of the pipeline (the tiny_run fixture)
def test_validate_metrics_names_what_is_wrong(tiny_run):
    _, result = tiny_run
    broken = copy.deepcopy(result.metrics)
    del broken["spectrum"]["negative_mass"]
    del broken["actual"]
    with pytest.raises(ValueError, match="negative_mass.*|missing 'actual'"):
        experiment.validate_metrics(broken)
    wrong = copy.deepcopy(result.metrics)
    wrong["delta_pp"]["loss"]["paper"] += 1.0
    with pytest.raises(ValueError, match="delta_pp"):
        experiment.validate_metrics(wrong)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown experiment settings.*allowed: task, model"),
        ({"model": "resnet9"}, "unknown model 'resnet9'"),
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"train": {"epochs": 3, "momentun": 0.9}}, "unknown training settings"),
        ({"train": {"epochs": 0}}, "invalid training settings"),
        ({"negative": "flip"}, "negative must be one of"),
        ({"eps": -1.0}, "eps must be a positive"),
        ({"grid_points": 0}, "integers >= 1"),
        ({"task": "../up"}, "task must be"),
        ({"exact": "yes"}, "exact must be"),
    ],
)
def test_bad_configs_are_rejected_before_training(change, message, monkeypatch, tmp_path):
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError, match=message):
        experiment.run({**TINY, **change}, results_root=tmp_path)


def test_missing_cifar_without_network_gives_the_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("training started"))
    config = {
        "task": "fc5-cifar10",
        "model": "fc5",
        "dataset": "cifar10",
        "data_root": str(tmp_path / "nothing-here"),
    }
    with pytest.raises(data.DatasetNotFoundError, match="cifar"):
        experiment.run(config, results_root=tmp_path)


def test_notebook_parameters_map_onto_the_config():
    config = experiment.config_from_parameters(
        {
            "TASK": "x",
            "MODEL": "mlp",
            "DATASET": "digits",
            "EPOCHS": 7,
            "L1": 1e-5,
            "MODEL_OPTIONS": {"hidden": [4]},
            "NUM_PROBES": 3,
            "SAVE_RESULTS": True,
        }
    )
    assert (config.train.epochs, config.train.l1, config.num_probes) == (7, 1e-5, 3)
    assert config.model_options == {"hidden": [4]}
    with pytest.raises(ValueError, match="unknown parameters \\['WIDTH'\\]; allowed:.*EPOCHS"):
        experiment.config_from_parameters(
            {"TASK": "x", "MODEL": "mlp", "DATASET": "digits", "WIDTH": 3}
        )


def test_train_key_depends_only_on_training():
    base = experiment.ExperimentConfig.from_dict(TINY)
    same = experiment.ExperimentConfig.from_dict({**TINY, "num_probes": 9, "run": "other"})
    other = experiment.ExperimentConfig.from_dict({**TINY, "seed": 1})
    assert base.train_key() == same.train_key() != other.train_key()


def _experiment_files():
    return sorted((project_root() / "experiments").glob("*.yaml"))


def test_every_experiment_file_is_a_valid_config():
    files = _experiment_files()
    names = {p.stem for p in files}
    paper = {
        "fc5-cifar10",
        "fc12-cifar10",
        "alexnet-cifar10",
        "vgg16-cifar10",
        "resnet18-cifar100",
        "resnet50-cifar100",
        "resnet18-tinyimagenet",
        "resnet50-tinyimagenet",
    }
    assert paper | {"digits-mlp", "mnist1d-mlp", "mnist1d-cnn"} <= names
    for path in files:
        spec = yaml.safe_load(path.read_text())
        notebook = project_root() / spec["notebook"]
        runner.check_parameters(notebook, spec["parameters"])
        config = experiment.load_config(path)
        assert config.task == path.stem


@pytest.mark.slow  # an end-to-end run of the pipeline (the tiny_run fixture)
def test_read_results_finds_runs(tiny_run):
    root, _ = tiny_run
    found = experiment.read_results(root)
    assert [(m["task"], m["run"]) for m in found] == [("tiny", "default")]
    assert Path(root / "tiny" / "default" / "metrics.json").is_file()


def test_metrics_schema_and_its_documentation_are_one_source():
    # every required section and key is documented, and the module docstring shows the table
    assert set(experiment.METRICS_SCHEMA) <= set(experiment.METRICS_DOC)
    assert set(experiment.METRICS_DOC) - set(experiment.METRICS_SCHEMA) == {"refit"}
    for section, keys in experiment.METRICS_SCHEMA.items():
        text = experiment.METRICS_DOC[section]
        listed = [k for k in keys if k not in experiment.STAGES]  # times/reused cite STAGES
        missing = [k for k in listed if f"``{k}``" not in text]
        assert not missing, (section, missing)
        assert f"``{section}``" in experiment.__doc__
    assert "{metrics_table}" not in experiment.__doc__
