"""The researcher's route: every paper task through the runner, on real file formats.

What is checked here, each against the issue's list:

- every paper task's parameters, composed as ``make experiment`` composes them (the notebook's
  defaults, the task file, ``SMOKE=1``), give a config whose model builds;
- the smoke route end to end through ``python -m pnlib.runner experiment <task> --smoke``, on
  CIFAR-10, CIFAR-100 and TinyImageNet files in their real on-disk formats written here (the
  helpers of ``test_data.py``). CI time does not allow all 8 paper tasks on a 2-core CPU (a
  ResNet50 Hessian-vector product on 64x64 TinyImageNet images takes tens of seconds there), so
  the runs cover every model and every dataset once: fc5, fc12, AlexNet and VGG16 on CIFAR-10,
  ResNet18 on TinyImageNet and ResNet50 on CIFAR-100; the other two tasks get the cheap check
  above;
- measurement on clean data and exact resumption on CIFAR-format files, killed during training
  and during the spectrum;
- parameters parsed (YAML 1.2) and checked once, before any work, with messages that name them;
- progress lines and the summary; the reproduction page's choice of runs;
- robust files: corrupt checkpoints moved aside and recomputed, stale temporaries removed,
  the last good notebook kept, results readable by the group;
- chapter 09's demonstration sized by a memory estimate.
"""

import copy
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pnlib import data, experiment, models, paths, predict, runner, train
from pnlib.paths import project_root, read_json

sys.path.insert(0, str(Path(__file__).parent))
from test_data import _md5, _trust_written_files, _write_cifar, _write_tiny  # noqa: E402

PAPER_TASKS = (
    "fc5-cifar10",
    "fc12-cifar10",
    "alexnet-cifar10",
    "vgg16-cifar10",
    "resnet18-cifar100",
    "resnet50-cifar100",
    "resnet18-tinyimagenet",
    "resnet50-tinyimagenet",
)
# every paper model and every paper dataset once (see the module docstring). fc5 runs the smoke
# size as ``make experiment NAME=fc5-cifar10 SMOKE=1`` does, every stage and chapter 09's
# demonstration included. For the others, whose Hessian-vector products (convolutions on a CPU)
# and fixed points over tens of millions of weights dominate, the test also leaves out the
# demonstration cells, the refit measurement, the zero rows and every predictor but the paper's
LEAN = ["-p", "DEMO_EXAMPLES", "0", "-p", "MEASURE_REFIT", "false", "-p", "PREDICTORS", "[paper]"]
LEAN += ["-p", "GRID_POINTS", "2", "-p", "ZERO_ROWS", "0", "-p", "TRAIN_SUBSET", "8"]
LEAN += ["-p", "SWEEP_TRAIN_SUBSET", "4", "-p", "TEST_SUBSET", "4"]
ROUTE_TASKS = {
    "fc5-cifar10": [],
    "fc12-cifar10": LEAN,
    "alexnet-cifar10": LEAN,
    "vgg16-cifar10": LEAN,
    "resnet18-tinyimagenet": LEAN,
    "resnet50-cifar100": LEAN,
}

SITECUSTOMIZE = """\
import json as _json
import os as _os

# the tiny CIFAR files written by tests/test_route.py have checksums of their own: torchvision
# checks them in the notebook's kernel, a separate process, so they are set at its start
_spec = _os.environ.get("PNLIB_TEST_CIFAR_MD5")
if _spec:
    import warnings as _warnings

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        import torchvision.datasets as _datasets
    for _name, _entry in _json.loads(_spec).items():
        _cls = getattr(_datasets, _name)
        _cls.train_list, _cls.test_list = _entry["train_list"], _entry["test_list"]
        _cls.meta = _entry["meta"]
"""


def _comparable(metrics):
    """The metrics without what differs between attempts: times, reuse flags, notes of timing."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k != "seconds"}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    out = strip(copy.deepcopy(metrics))
    out.pop("times")
    out.pop("reused")
    return out


def _write_paper_data(root):
    """CIFAR-10, CIFAR-100 and TinyImageNet files in their real formats; return the checksums."""
    spec = {}
    sizes = {"cifar10": 8, "cifar100": 40}  # 40 training images each (5 files / 1 file)
    for key, per_file in sizes.items():
        cls, folder, _ = _write_cifar(
            root, key, np.random.default_rng(0), train_per_file=per_file, test_per_file=8
        )
        spec[cls.__name__] = {
            "train_list": [[f, _md5(folder / f)] for f, _ in cls.train_list],
            "test_list": [[f, _md5(folder / f)] for f, _ in cls.test_list],
            "meta": dict(cls.meta, md5=_md5(folder / cls.meta["filename"])),
        }
    _write_tiny(root, per_class=8)
    return spec


@pytest.fixture(scope="module")
def paper_env(tmp_path_factory):
    """An environment for the runner: data in PNLIB_DATA, results and caches in tmp folders."""
    base = tmp_path_factory.mktemp("route")
    spec = _write_paper_data(base / "data")
    (base / "site").mkdir()
    (base / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(
        PNLIB_DATA=str(base / "data"),
        PNLIB_RESULTS=str(base / "results"),
        PNLIB_CACHE=str(base / "cache"),
        PNLIB_TEST_CIFAR_MD5=json.dumps(spec),
        PYTHONPATH=os.pathsep.join(
            [str(base / "site"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        OMP_NUM_THREADS="1",
    )
    return base, env


# ------------------------------------------------------------------------- every paper task


@pytest.mark.parametrize("task", PAPER_TASKS)
def test_paper_task_defaults_and_config_agree(task):
    """The notebook's defaults, the task file and SMOKE=1 compose into a config that builds."""
    for smoke in (False, True):
        notebook, injected, full = runner.task_parameters(task, smoke=smoke)
        assert notebook == project_root() / "notebooks" / "09_experiments.py"
        assert set(full) == set(runner.parameter_names(notebook))
        config = experiment.config_from_parameters(full)
        assert (config.task, config.smoke) == (task, smoke)
        assert config.run == ("smoke" if smoke else "default")
        assert experiment.load_config(project_root() / "experiments" / f"{task}.yaml", smoke=smoke)
    info = data.info(config.dataset)
    # the options the config records are the ones build takes
    models.build(
        config.model, num_classes=info.num_classes, in_shape=info.in_shape, **config.model_options
    )


def test_the_notebook_default_model_options_take_the_models_defaults():
    defaults = runner.parameter_defaults(project_root() / "notebooks" / "09_experiments.py")
    assert defaults["MODEL_OPTIONS"] == {}
    config = experiment.config_from_parameters(defaults)
    assert config.model_options == models._OPTIONS["mlp"]  # recorded as it runs
    fc5 = experiment.config_from_parameters({**defaults, "MODEL": "fc5", "DATASET": "cifar10"})
    assert fc5.model_options == {}
    with pytest.raises(ValueError, match="model 'fc5' takes no option 'hidden'.*MODEL_OPTIONS"):
        experiment.config_from_parameters(
            {**defaults, "MODEL": "fc5", "DATASET": "cifar10", "MODEL_OPTIONS": {"hidden": [4]}}
        )


def test_smoke_parameters_shrink_every_size():
    for task in PAPER_TASKS:
        config = experiment.load_config(project_root() / "experiments" / f"{task}.yaml", smoke=True)
        assert config.train.epochs == 1 and config.train_subset <= 16
        assert config.hessian_subset <= 4 and config.sweep_train_subset <= 8
        assert config.test_subset <= 8 and config.grid_points <= 4
        assert config.num_steps <= 3 and config.num_probes == 1 and config.zero_rows <= 2
        assert config.refit_max_iter <= 2 and "refit" not in config.predictors
        assert math.ceil(config.hessian_subset / config.eps_batch_size) >= 2


def test_makefile_passes_smoke_to_the_runner():
    out = subprocess.run(
        ["make", "-n", "experiment", "NAME=fc5-cifar10", "SMOKE=1"],
        capture_output=True,
        text=True,
        cwd=project_root(),
    ).stdout
    assert "pnlib.runner experiment fc5-cifar10 --smoke" in out
    plain = subprocess.run(
        ["make", "-n", "experiment", "NAME=fc5-cifar10"],
        capture_output=True,
        text=True,
        cwd=project_root(),
    ).stdout
    assert "pnlib.runner experiment fc5-cifar10" in plain and "--smoke" not in plain


@pytest.mark.route
@pytest.mark.parametrize("task", ROUTE_TASKS)
def test_smoke_route_through_the_runner(task, paper_env):
    """``python -m pnlib.runner experiment <task> --smoke`` on real file formats."""
    base, env = paper_env
    out = base / "notebooks" / f"{task}.ipynb"
    lean = ROUTE_TASKS[task]
    command = [sys.executable, "-m", "pnlib.runner", "experiment", task, "--smoke"]
    proc = subprocess.run(
        [*command, "--out", str(out), *lean],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_root(),
        timeout=1500,
        preexec_fn=lambda: os.umask(0o022),
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    folder = base / "results" / task / "smoke"
    metrics = read_json(folder / "metrics.json")
    experiment.validate_metrics(metrics)
    assert metrics["config"]["smoke"] is True and metrics["run"] == "smoke"
    assert metrics["task"] == task and metrics["dims"]["num_hessian"] == 2
    # the run reported itself: every long stage, and the summary at the end
    stages = ["train: epoch 1/1", "sweep: done in", "eps: done in", "spectrum: done in"]
    stages += ["path: done in"]
    if not lean:
        stages += ["taylor: done in", "authors: done in"]
        stages += ["measure_refit: done in", "measure_refit_local: done in"]
    for line in stages:
        assert line in proc.stdout, log[-6000:]
    assert f"== {task}/smoke (smoke run" in proc.stdout
    assert f"metrics: {folder / 'metrics.json'}" in proc.stdout
    assert f"notebook: {out}" in proc.stdout and "predicted sparsity" in proc.stdout
    # chapter 09's demonstration ran on the 2 examples there are (fewer than DEMO_EXAMPLES)
    shown = "demonstration on 0 examples" if lean else "demonstration on 2 examples"
    assert shown in out.read_text()
    # group-readable results, no temporaries left
    for path in (folder / "metrics.json", folder / "env.json", out):
        assert path.stat().st_mode & 0o777 == 0o644
    assert not [p for p in base.rglob("*.tmp")] and not list(out.parent.glob(".*partial*"))


# ------------------------------------------------------------------------- clean data, resume


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """Tiny CIFAR-10 files in torchvision's format, trusted in this process."""
    root = tmp_path / "data"
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    cls, folder, _ = _write_cifar(
        root, "cifar10", np.random.default_rng(3), train_per_file=12, test_per_file=16
    )
    _trust_written_files(monkeypatch, cls, folder)
    return root


def _cifar_config(root):
    config = experiment.load_config(project_root() / "experiments" / "fc5-cifar10.yaml", smoke=True)
    out = config.to_dict()
    out["train"].update(epochs=3, batch_size=16)
    out.update(
        data_root=str(root),
        train_subset=None,
        hessian_subset=24,
        eps_batch_size=8,
        hessian_batch_size=8,
        test_subset=None,
        num_steps=4,
        zero_rows=3,
        zero_mass="always",
        predictors=["paper", "taylor"],
        device="cpu",
        progress=False,
    )
    return out


def test_measurement_sees_clean_data_and_training_augments(cifar_root):
    clean = data.load("cifar10", root=cifar_root, train=True, augment=False)
    again = data.load("cifar10", root=cifar_root, train=True, augment=False)
    assert all(torch.equal(clean[i][0], again[i][0]) for i in range(len(clean)))
    test = data.load("cifar10", root=cifar_root, train=False)
    # the clean training images get exactly the test transform
    raw = clean.data[0].transpose(2, 0, 1).astype(np.float32) / 255
    mean, std = (np.array(v).reshape(3, 1, 1) for v in data.NORMALISATION["cifar10"])
    np.testing.assert_allclose(clean[0][0].numpy(), (raw - mean) / std, atol=1e-5)
    assert test.transform.transforms[-1].mean == clean.transform.transforms[-1].mean
    # the augmentation draws from its own generator, never from torch's global one
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    aug1 = data.load("cifar10", root=cifar_root, augment=True, generator=g1)
    aug2 = data.load("cifar10", root=cifar_root, augment=True, generator=g2)
    state = torch.get_rng_state()
    first = [aug1[i][0] for i in range(len(aug1))]
    torch.manual_seed(123)
    assert all(torch.equal(a, aug2[i][0]) for i, a in enumerate(first))
    torch.set_rng_state(state)
    assert any(not torch.equal(a, clean[i][0]) for i, a in enumerate(first))
    with pytest.raises(ValueError, match="never augmented"):
        data.load("cifar10", root=cifar_root, train=False, augment=True)


def test_clean_hessian_products_repeat_exactly(cifar_root):
    """The issue measured a 65 % difference between two products on augmented data."""
    info = data.info("cifar10")
    model = models.build("fc5", num_classes=10, in_shape=info.in_shape).eval()
    v = torch.randn(sum(p.numel() for p in model.parameters()), 1)
    loss = torch.nn.functional.cross_entropy

    def twice(data_set):
        curv = predict.Curvature(model, loss, data_set, torch.float32, 8)
        return curv.matmat(v), curv.matmat(v)

    clean = torch.utils.data.Subset(data.load("cifar10", root=cifar_root, augment=False), range(16))
    first, second = twice(clean)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    augmented = data.load("cifar10", root=cifar_root, augment=True)
    with pytest.raises(RuntimeError, match="augments"):  # what measurement must never see
        twice(torch.utils.data.Subset(augmented, range(16)))


@pytest.mark.slow
def test_cifar_run_killed_in_training_and_spectrum_resumes_exactly(
    cifar_root, tmp_path, monkeypatch, kill_in_second_epoch
):
    config = _cifar_config(cifar_root)
    reference = experiment.run(config, results_root=tmp_path / "reference")
    root = tmp_path / "resumed"
    kill_in_second_epoch(experiment.run, config, results_root=root)
    saved = torch.load(
        experiment.train_checkpoint(experiment.ExperimentConfig.from_dict(config), root),
        weights_only=False,
    )
    assert len(saved["history"]) == 1 and "augment_state" in saved

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    original_spectrum = predict._exact_affordable
    monkeypatch.setattr(predict, "_exact_affordable", killed)
    with pytest.raises(KeyboardInterrupt):  # training finishes, the sweep is saved, then it stops
        experiment.run(config, results_root=root)
    monkeypatch.setattr(predict, "_exact_affordable", original_spectrum)
    resumed = experiment.run(config, results_root=root)
    assert resumed.metrics["reused"]["sweep"] and not resumed.metrics["reused"]["spectrum"]
    assert _comparable(resumed.metrics) == _comparable(reference.metrics)
    assert read_json(root / "fc5-cifar10" / "smoke" / "metrics.json") == resumed.metrics


# ------------------------------------------------------------------------- parameters


def test_yaml_values_are_read_as_yaml_1_2():
    assert runner._parse_value("1e-4") == 1e-4 and isinstance(runner._parse_value("1e-4"), float)
    assert runner._parse_value("5e-5") == 5e-5
    assert runner._parse_value("true") is True and runner._parse_value("no") == "no"
    assert runner._parse_value("10") == 10 and runner._parse_value("[60, 120]") == [60, 120]
    assert paths.parse_yaml("L1: 5e-5")["L1"] == 5e-5


def _task_file(tmp_path, text):
    path = tmp_path / "my-task.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_task_file_float_and_unknown_keys(tmp_path):
    good = _task_file(
        tmp_path,
        """\
        notebook: notebooks/09_experiments.py
        parameters:
          TASK: my-task
          L1: 5e-5
          EPOCHS: 3
        """,
    )
    config = experiment.load_config(good)
    assert config.train.l1 == 5e-5 and isinstance(config.train.l1, float)
    misspelled = _task_file(
        tmp_path,
        """\
        notebook: notebooks/09_experiments.py
        parameter:
          TASK: my-task
        """,
    )
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['parameter'\]"):
        experiment.load_config(misspelled)
    with pytest.raises(ValueError, match="unknown top-level"):
        runner.task_parameters(misspelled)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("EPOCHS", "true", r"EPOCHS must be an integer >= 1; got True \(bool\)"),
        ("EPOCHS", "2.5", r"EPOCHS must be an integer >= 1; got 2.5 \(float\)"),
        ("EPOCHS", '"ten"', r"EPOCHS must be an integer >= 1; got 'ten' \(str\)"),
        ("EPS", "abc", r"EPS must be a positive number or null; got 'abc'"),
        ("L1", "-0.5", r"L1 must be a number >= 0; got -0.5"),
        ("MOMENTUM", "1", r"MOMENTUM must be a number in \[0, 1\)"),
        ("NEGATIVE", "flip", r"NEGATIVE must be one of 'abs', 'clip'"),
        ("EXACT", "1", r"EXACT must be one of True, False, 'auto'; got 1"),
        ("GRID_POINTS", "1", r"GRID_POINTS must be an integer >= 2"),
        ("HESSIAN_SUBSET", "0", r"HESSIAN_SUBSET must be an integer >= 1 or null"),
        ("DEMO_MAX_GB", "0", r"DEMO_MAX_GB must be a number > 0"),
        ("SAVE_RESULTS", "yes", r"SAVE_RESULTS must be true or false; got 'yes'"),
    ],
)
def test_bad_parameters_are_named_before_any_work(name, text, message, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("the notebook started"))
    status = runner.main(["experiment", "fc5-cifar10", "-p", name, text])
    assert status == 2
    assert re.search(message, capsys.readouterr().err)


def test_l1_from_the_command_line_is_a_float(monkeypatch, capsys):
    seen = {}

    def fake_execute(source, output, *, parameters, **kwargs):
        seen.update(parameters, claims=os.environ.get("PNLIB_CLAIMS"))
        return output

    monkeypatch.setattr(runner, "execute", fake_execute)
    monkeypatch.setattr(data, "load", lambda *a, **k: None)  # no CIFAR files needed here
    monkeypatch.delenv("PNLIB_CLAIMS", raising=False)
    assert runner.main(["experiment", "fc5-cifar10", "-p", "L1", "1e-4", "--smoke"]) == 0
    assert seen["L1"] == 1e-4 and seen["SMOKE"] is True and seen["RUN"] == "smoke"
    # the book's claims warn on a task's data instead of stopping the run, and only there
    assert seen["claims"] == "warn" and "PNLIB_CLAIMS" not in os.environ
    assert "fc5-cifar10 (smoke run)" in capsys.readouterr().out


def test_a_missing_dataset_is_named_before_the_kernel_starts(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("the notebook started"))
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    monkeypatch.setenv("PNLIB_DATA", str(tmp_path / "empty"))
    assert runner.main(["experiment", "resnet18-tinyimagenet", "--smoke"]) == 2
    err = capsys.readouterr().err
    assert "tinyimagenet is not available under" in err and "PNLIB_DATA" in err


def test_eps_batches_are_checked_before_training(monkeypatch, tmp_path):
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("training started"))
    base = {"task": "t", "model": "mlp", "dataset": "digits", "train": {"epochs": 1}}
    with pytest.raises(ValueError, match=r"HESSIAN_SUBSET.*= 100.*EPS_BATCH_SIZE.*= 128"):
        experiment.run({**base, "hessian_subset": 100}, results_root=tmp_path)
    # with no subset the data decide, still before training: 1437 digits in batches of 2000
    with pytest.raises(ValueError, match=r"1437 examples, 1 batch of EPS_BATCH_SIZE"):
        experiment.run({**base, "eps_batch_size": 2000}, results_root=tmp_path)
    experiment.ExperimentConfig.from_dict({**base, "hessian_subset": 100, "eps": 0.1})


def test_what_ran_is_recorded(tmp_path):
    config = {
        "task": "steps",
        "model": "mlp",
        "dataset": "digits",
        "model_options": {"hidden": [2]},
        "train": {"epochs": 1, "batch_size": 256},
        "hessian_subset": 300,
        "sweep_train_subset": 200,
        "grid_points": 10,
        "exact": False,
        "num_steps": 500,
        "num_probes": 1,
        "zero_rows": 2,
        "predictors": ["paper"],
        "measure_refit": False,
    }
    result = experiment.run(config, results_root=tmp_path)
    dim = 64 * 2 + 2 * 10
    assert result.metrics["dims"]["num_prunable"] == dim
    assert result.metrics["config"]["num_steps"] == dim
    assert result.metrics["spectrum"]["num_steps"] <= dim
    assert any("num_steps 500 was asked for but D = 148" in n for n in result.metrics["notes"])


# ------------------------------------------------------------------------- reporting


TINY = {
    "task": "tiny",
    "model": "mlp",
    "dataset": "digits",
    "model_options": {"hidden": [6]},
    "train": {"epochs": 2, "batch_size": 64, "lr": 0.05, "l1": 1e-4},
    "train_subset": 300,
    "hessian_subset": 200,
    "sweep_train_subset": 200,
    "grid_points": 20,
    "exact": True,
    "zero_rows": 4,
    "refit_max_iter": 20,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    lines = []
    return root, experiment.run(TINY, results_root=root, log=lines.append), lines


def test_the_run_reports_every_stage_and_sums_up(tiny):
    root, result, lines = tiny
    text = "\n".join(lines)
    assert "train: epoch 1/2" in text and "about" in text and "left" in text
    for stage in ("sweep", "eps", "spectrum", "zero_mass", "taylor", "refit", "path"):
        assert f"tiny/default {stage}: started" in text and f"{stage}: done in" in text
    assert "measure_refit: done in" in text and "measure_refit_local: done in" in text
    assert all(line.startswith("[0:") for line in lines)
    summary = experiment.summary(result.metrics, result.directory, "nb.ipynb")
    assert "taylor" in summary and "(recommended)" in summary
    assert "actual limits:" in summary and "loss" in summary and "wall" in summary
    assert f"metrics: {root / 'tiny' / 'default' / 'metrics.json'}" in summary
    assert "notebook: nb.ipynb" in summary
    # a second attempt reports what it reused
    again = []
    experiment.run(TINY, results_root=root, log=again.append)
    assert any("spectrum: reused" in line for line in again)
    assert any("train: reused the finished checkpoint" in line for line in again)


def test_runner_streams_the_notebook_output(monkeypatch):
    import papermill

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(
            project_root() / "notebooks" / "09_experiments.py",
            Path(os.environ.get("TMPDIR", "/tmp")) / "pnlib-stream-test.ipynb",
            stream=True,
        )
    assert seen["stdout_file"] is sys.stdout and seen["stderr_file"] is sys.stderr


# ------------------------------------------------------------------------- reproduction page


def _fake_run(template, folder, run, **changes):
    metrics = copy.deepcopy(template)
    metrics["run"] = run
    for key, value in changes.items():
        section, _, field = key.partition(".")
        if field == "":
            metrics["config"][section] = value
        else:
            metrics["config"][section][field] = value
    paths.write_json(folder / metrics["task"] / run / "metrics.json", metrics)
    return metrics


@pytest.mark.slow  # the runner's stages end to end
def test_reproduction_counts_only_runs_with_the_task_files_parameters(tmp_path):
    curated = read_json(project_root() / "results" / "digits-mlp" / "default" / "metrics.json")
    root = tmp_path / "results"
    _fake_run(curated, root, "default")
    _fake_run(curated, root, "smoke", smoke=True, grid_points=4)
    _fake_run(curated, root, "zzz", **{"train.epochs": 2})
    _fake_run(curated, root, "other-machine", device="cuda", progress=True)
    chosen, left_out = experiment.task_runs(root)
    assert list(chosen) == ["digits-mlp"] and chosen["digits-mlp"]["run"] == "default"
    why = {m["run"]: reason for m, reason in left_out}
    assert why == {"smoke": "smoke run", "zzz": "overridden: train.epochs"}
    # without a run named as the task file's RUN, the last of those that count wins
    (root / "digits-mlp" / "default" / "metrics.json").unlink()
    chosen, _ = experiment.task_runs(root)
    assert chosen["digits-mlp"]["run"] == "other-machine"


def test_the_curated_runs_count_as_their_task_files():
    chosen, left_out = experiment.task_runs()
    assert "digits-mlp" in chosen and chosen["digits-mlp"]["run"] == "default"
    assert not left_out, left_out


def test_reproduction_page_selects_with_task_runs():
    source = (project_root() / "notebooks" / "reproduction.py").read_text()
    assert "experiment.task_runs(RESULTS_DIR)" in source


# ------------------------------------------------------------------------- robust files


@pytest.mark.slow  # the runner's stages end to end
def test_corrupt_stage_and_training_checkpoints_are_named_moved_and_recomputed(tiny, tmp_path):
    _, reference, _ = tiny
    root = tmp_path / "results"
    experiment.run(TINY, results_root=root, log=lambda line: None)
    stage = root / "tiny" / "default" / "checkpoints" / "spectrum.pt"
    stage.write_bytes(stage.read_bytes()[:100])  # truncated
    checkpoint = experiment.train_checkpoint(experiment.ExperimentConfig.from_dict(TINY), root)
    checkpoint.write_bytes(b"")  # empty
    with pytest.warns(RuntimeWarning) as caught:
        again = experiment.run(TINY, results_root=root, log=lambda line: None)
    messages = " ".join(str(w.message) for w in caught)
    assert "spectrum.pt" in messages and checkpoint.name in messages
    assert list(stage.parent.glob("spectrum.pt.corrupt-*"))
    assert list(checkpoint.parent.glob(checkpoint.name + ".corrupt-*"))
    assert not again.metrics["reused"]["spectrum"] and not again.metrics["reused"]["train"]
    assert _comparable(again.metrics) == _comparable(reference.metrics)


@pytest.mark.slow  # the runner's stages end to end
def test_stale_temporaries_are_removed_on_start(tiny, tmp_path):
    root = tmp_path / "results"
    folder = root / "tiny" / "default" / "checkpoints"
    folder.mkdir(parents=True)
    dead = folder / ".spectrum.pt.pnlib-999999999-abc123.tmp"
    dead.write_bytes(b"half")
    alive = folder / f".sweep.pt.pnlib-{os.getpid()}-abc123.tmp"
    alive.write_bytes(b"being written")
    experiment.run(TINY, results_root=root, log=lambda line: None)
    assert not dead.exists() and alive.exists()


def test_temporaries_carry_the_pid_and_results_are_group_readable(tmp_path):
    old = os.umask(0o022)
    try:
        path = paths.write_json(tmp_path / "m.json", {"a": 1})
        assert path.stat().st_mode & 0o777 == 0o644
        paths.torch_save({"x": 1}, tmp_path / "c.pt")
        assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert paths.write_json(tmp_path / "p.json", {}).stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert paths.temporary_prefix(tmp_path / "m.json") == f".m.json.pnlib-{os.getpid()}-"
    stale = tmp_path / ".m.json.pnlib-999999999-x.tmp"
    stale.write_text("")
    partial = tmp_path / ".a.ipynb.pnlib-999999999-run.partial.ipynb"
    partial.write_text("")
    other = tmp_path / ".unrelated.tmp"
    other.write_text("")
    assert sorted(paths.clean_stale_temporaries(tmp_path)) == sorted([stale, partial])
    assert other.exists()


NOTEBOOK = textwrap.dedent(
    """\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

    # %% tags=["parameters"]
    FAIL = False

    # %%
    print("the cell ran")
    if FAIL:
        raise RuntimeError("asked to fail")
    """
)


@pytest.mark.notebooks
def test_a_failed_rerun_keeps_the_last_good_notebook(tmp_path):
    import papermill

    source = tmp_path / "tiny.py"
    source.write_text(NOTEBOOK)
    out = tmp_path / "out" / "tiny.ipynb"
    stale = out.parent / ".tiny.ipynb.pnlib-999999999-run.partial.ipynb"
    out.parent.mkdir()
    stale.write_text("{}")  # a killed earlier run's partial notebook
    runner.execute(source, out)
    good = out.read_text()
    assert not stale.exists() and out.stat().st_mode & 0o044 == 0o044
    with pytest.raises(papermill.PapermillExecutionError):
        runner.execute(source, out, parameters={"FAIL": True})
    assert out.read_text() == good
    failed = runner.failed_path(out)
    assert "asked to fail" in failed.read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny.failed.ipynb", "tiny.ipynb"]
    runner.execute(source, out)  # a good run again removes the failed one
    assert not failed.exists()


# ------------------------------------------------------------------------- chapter 09's demo


def test_demo_plan_scales_with_the_task():
    small = experiment.demo_plan(3392, 1437, 64, 4, 2.0)
    assert (small["run"], small["steps"], small["probes"]) == (True, 64, 4)
    assert small["eps_batch_size"] == 128 and "0.01 GiB" in small["why"]
    alexnet = experiment.demo_plan(46_778_400, 2000, 64, 4, 2.0, itemsize=4)
    assert alexnet["run"] and alexnet["probes"] == 1 and alexnet["steps"] == 11
    assert "44.61 GiB" in alexnet["why"] and "DEMO_MAX_GB = 2" in alexnet["why"]
    tight = experiment.demo_plan(46_778_400, 2000, 64, 4, 0.1, itemsize=4)
    assert not tight["run"] and "more than DEMO_MAX_GB" in tight["why"]
    few = experiment.demo_plan(3392, 100, 64, 4, 2.0)
    assert few["run"] and few["eps_batch_size"] == 50  # two batches from 100 examples
    assert not experiment.demo_plan(3392, 1, 64, 4, 2.0)["run"]


def test_chapter_08_demo_cells_use_the_plan():
    source = (project_root() / "notebooks" / "09_experiments.py").read_text()
    assert "experiment.demo_plan(" in source and "num_steps=64" not in source
    for name in ("DEMO_STEPS", "DEMO_PROBES", "DEMO_ZERO_ROWS", "DEMO_MAX_GB"):
        assert name in runner.parameter_names(project_root() / "notebooks" / "09_experiments.py")


@pytest.fixture(autouse=True)
def _quiet_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*")
        yield
