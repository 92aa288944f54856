"""``benchmarks/gpu_check.py`` (``make gpu-check``) works without a GPU: its refusal, its plan,
its CIFAR files, its figures, and a CPU dry run of every step but the benchmarks end to end."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pnlib import data, runner
from pnlib.paths import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("gpu_check")


def test_without_cuda_it_stops_at_once_with_a_clear_message(
    gpu_check, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    start = time.monotonic()
    assert gpu_check.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA device" in err and "--cpu-dry-run" in err
    assert time.monotonic() - start < 5
    assert not any(tmp_path.iterdir())  # nothing was run or written


def test_plan_runs_every_step_at_resnet18_scale_on_cuda(gpu_check, tmp_path):
    steps = gpu_check.plan("cuda", False, tmp_path, tmp_path / "bench", tmp_path / "data")
    assert list(steps) == ["tests", "bench-hvp", "bench-slq", "experiment"]
    tests = steps["tests"]["command"]
    assert tests[1:5] == ["-m", "pytest", "-m", "gpu"] and "tests" in tests
    for key in ("bench-hvp", "bench-slq"):
        cmd = steps[key]["command"]
        assert cmd[1] == f"benchmarks/bench_{key[6:]}.py"
        assert cmd[cmd.index("--device") + 1] == "cuda"
        assert cmd[cmd.index("--scale") + 1] == "resnet18" and "--quick" not in cmd
        assert steps[key]["result"] == str(tmp_path / "bench" / f"{key[6:]}-resnet18-cuda.json")
    cmd = steps["experiment"]["command"]
    args = cmd[cmd.index("experiment") :]
    assert args[1] == "resnet18-cifar100"
    # every -p names a parameter of the task's notebook, with a value the runner reads as YAML
    notebook = ROOT / read_yaml(ROOT / "experiments" / "resnet18-cifar100.yaml")["notebook"]
    declared = set(runner.parameter_names(notebook))
    given = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "-p"}
    assert set(given) <= declared
    assert json.loads(given["DEVICE"]) == "cuda"
    assert json.loads(given["DATA_ROOT"]) == str(tmp_path / "data")
    assert "MODEL" not in given  # ResNet18, the task's own model
    assert sum(s["limit_s"] for s in steps.values()) <= 600
    assert gpu_check.TIME_LIMIT_S < 480  # the 8 minutes


def test_slug_names_a_folder(gpu_check):
    assert gpu_check.slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert gpu_check.slug("cuda: NVIDIA H200") == "cuda-nvidia-h200"


@pytest.mark.parametrize("key", ["cifar10", "cifar100"])
def test_random_cifar_files_load_once_their_checksums_are_trusted(
    gpu_check, tmp_path, monkeypatch, key
):
    import torchvision

    cls = torchvision.datasets.CIFAR10 if key == "cifar10" else torchvision.datasets.CIFAR100
    for name in ("train_list", "test_list", "meta"):  # restored after the test
        monkeypatch.setattr(cls, name, getattr(cls, name))
    monkeypatch.setattr(data, "network_available", lambda *a, **k: False)
    monkeypatch.delenv("PNLIB_GPU_CHECK_CIFAR", raising=False)
    spec = gpu_check.write_random_cifar(tmp_path, key, 12, 5)
    # torchvision's published checksums reject random files
    with pytest.raises(data.DatasetNotFoundError, match="MD5"):
        data.load(key, root=tmp_path, train=False)
    monkeypatch.setenv("PNLIB_GPU_CHECK_CIFAR", "")  # trust_written_cifar sets it
    gpu_check.trust_written_cifar(spec)
    test = data.load(key, root=tmp_path, train=False)
    train = data.load(key, root=tmp_path, train=True)
    assert len(test) == 5 and len(train) == 12
    x, y = test[0]
    assert x.shape == (3, 32, 32) and 0 <= y < data.info(key).num_classes


def test_figures_from_recorded_benchmarks(gpu_check):
    hvp = gpu_check.hvp_figures(ROOT / "benchmarks" / "results" / "hvp-small-cpu.json")
    assert set(hvp) == {"mlp", "cnn"}
    assert hvp["mlp"]["ratio_to_grad"]["grad"] == 1.0
    slq = gpu_check.slq_figures(ROOT / "benchmarks" / "results" / "slq-small-cpu.json")
    assert set(slq["time_relative_to_pnlib"]) == {"curvlinops", "pyhessian_loop"}
    summary = {
        "device": "NVIDIA H100",
        "dry_run": False,
        "when": "now",
        "seconds": 1.0,
        "environment": {"git_revision": "abc", "torch": "2"},
        "steps": {
            "tests": {"status": "ok", "seconds": 1.0, "figures": "3 passed in 1s"},
            "bench-hvp": {"status": "ok", "seconds": 2.0, "figures": hvp},
            "bench-slq": {"status": "ok", "seconds": 3.0, "figures": slq},
            "experiment": {"status": "timeout", "seconds": 4.0, "figures": {"metrics": None}},
        },
    }
    text = gpu_check.markdown(summary)
    assert text.startswith("# GPU check on NVIDIA H100")
    assert "| bench-slq | ok | 3.0 | curvlinops" in text and "| experiment | timeout |" in text


@pytest.mark.slow
def test_cpu_dry_run_end_to_end(tmp_path):
    # every step but the benchmarks (tests/test_benchmarks.py runs them with the same --quick
    # flags): pytest -m gpu, the random CIFAR-100 files, the task through papermill
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--cpu-dry-run",
            "--skip",
            "bench-hvp",
            "bench-slq",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "cpu-dry-run"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["device"] == "cpu-dry-run" and summary["dry_run"]
    steps = summary["steps"]
    assert steps["bench-hvp"]["status"] == steps["bench-slq"]["status"] == "skipped"
    counts = steps["tests"]["figures"]
    assert steps["tests"]["status"] == "ok"
    assert ("passed" if torch.cuda.is_available() else "skipped") in counts
    exp = steps["experiment"]
    assert exp["status"] == "ok"
    metrics = json.loads(Path(exp["figures"]["metrics"]).read_text())
    assert metrics["task"] == "resnet18-cifar100" and metrics["device"].startswith("cpu")
    assert Path(exp["figures"]["metrics"]).is_relative_to(out)
    assert set(exp["figures"]["estimates"]) >= {"paper"}
    assert (out / "summary.md").read_text().startswith("# GPU check on cpu-dry-run")
    assert (out / "logs" / "experiment.log").is_file()
