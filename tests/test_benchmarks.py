"""The benchmark scripts run end to end (quick settings) and write what they report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, out: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=600)
    return json.loads(out.read_text())


@pytest.mark.slow
def test_bench_hvp_quick(tmp_path):
    res = run_quick("bench_hvp.py", tmp_path / "hvp.json")
    assert [r["model"] for r in res["results"]] == ["mlp", "cnn"]
    for row in res["results"]:
        assert row["ratio_to_grad"]["grad"] == 1.0
        # every method timed, and the cache measured against its estimate
        assert all(t > 0 for t in row["seconds"].values())
        assert row["cache_bytes"] > 0 and row["cache_bytes_estimate"] > 0
        assert all(b > 0 for b in row["peak_bytes"].values())


@pytest.mark.slow
def test_bench_slq_quick(tmp_path):
    res = run_quick("bench_slq.py", tmp_path / "slq.json")
    assert set(res["methods"]) == {"pnlib", "curvlinops", "pyhessian_loop"}
    exact = res["exact"]
    # the same Lanczos rule from our operator and from the double-backward loop: the trace
    # estimates agree with the exact one within a few standard errors
    for name in ("pnlib", "pyhessian_loop"):
        est = res["methods"][name]["estimates"]["trace"]
        assert abs(est["value"] - exact["trace"]) < 5 * est["stderr"]
