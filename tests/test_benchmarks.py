"""The benchmarks' reference computations against exact values, and their reports end to end.

The fast tests import the benchmark scripts and check the baselines they time against
independent truths on the shared small cases (``tests/conftest.py``): the PyHessian-style
product and Lanczos loop, the gradient baseline, and curvlinops' Lanczos rules. The slow tests
run the scripts with ``--quick`` and check what they write: every method has a finite ratio that
is its time over the baseline's, and the SLQ estimates agree with the exact spectrum.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
F64 = torch.float64
HVP_METHODS = {
    "grad",
    "hvp",
    "hvp_block8",
    "hvp_cached",
    "hvp_cached_block8",
    "hvp_reverse",
    "hvp_reverse_block8",
    "double_backward",
    "curvlinops",
}


@pytest.fixture
def bench(monkeypatch):
    """Import a script of benchmarks/ by name (they import their ``common`` module as a sibling)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module


def split(vector, model):
    params = list(model.parameters())
    return [t.view_as(p) for t, p in zip(vector.split([p.numel() for p in params]), params)]


# ------------------------------------------------------------------ the baselines, exactly


def test_double_backward_product_is_the_hessian_product(case, bench):
    common = bench("common")
    H = case.hessian()
    v = torch.randn(case.dim, dtype=F64, generator=torch.Generator().manual_seed(0))
    params = list(case.model.parameters())
    out = common.double_backward_product(
        case.model, case.loss_fn, case.batches, split(v, case.model), params
    )
    hv = torch.cat([t.reshape(-1) for t in out])
    torch.testing.assert_close(hv, H @ v, rtol=1e-10, atol=1e-12)
    # the timed callable of bench_hvp multiplies the same vector
    timed = bench("bench_hvp").double_backward_hvp(case.model, case.loss_fn, case.batches, v)
    torch.testing.assert_close(torch.cat([t.reshape(-1) for t in timed()]), H @ v)


def test_gradient_baseline_is_the_gradient_of_the_mean_loss(case, bench):
    grads = bench("bench_hvp").gradient_baseline(case.model, case.loss_fn, case.batches)()
    w = case.flat_params().requires_grad_(True)
    (expected,) = torch.autograd.grad(case.loss_of(w), w)
    torch.testing.assert_close(torch.cat([g.reshape(-1) for g in grads]), expected)


def test_pyhessian_loop_rules_match_the_dense_hessian(ce_case, bench):
    # Gauss rules from k Lanczos steps integrate polynomials of degree < 2k exactly: with its
    # probe v, each rule's first moments are v'H v and v'H^2 v (|v| = 1)
    case = ce_case
    slq_bench = bench("bench_slq")
    H = case.hessian()
    k, p = 5, 3
    rule = slq_bench.pyhessian_loop(
        case.model, case.loss_fn, case.batches, k, p, torch.Generator().manual_seed(7)
    )
    assert rule.nodes.shape == (p, k) and rule.dim == case.dim
    g = torch.Generator().manual_seed(7)  # the probes the loop drew, in its order
    for i in range(p):
        v = torch.cat(
            [
                (torch.randint(0, 2, q.shape, generator=g).to(q) * 2 - 1).reshape(-1)
                for q in case.model.parameters()
            ]
        )
        v = v / v.norm()
        for power in (1, 2, 3):
            exact = float(v @ torch.linalg.matrix_power(H, power) @ v)
            quad = float(rule.weights[i] @ rule.nodes[i] ** power)
            assert quad == pytest.approx(exact, rel=1e-8, abs=1e-12)
    # and the Ritz values lie inside the spectrum
    lam = torch.linalg.eigvalsh((H + H.T) / 2)
    assert rule.nodes.min() >= float(lam[0]) - 1e-10 and rule.nodes.max() <= float(lam[-1]) + 1e-10


def test_curvlinops_rules_are_probability_measures_inside_the_spectrum(case_factory, bench):
    from curvlinops import HessianLinearOperator

    case = case_factory("cnn-ce")
    H = case.hessian()
    op = HessianLinearOperator(
        case.model,
        case.loss_fn,
        list(case.model.parameters()),
        case.batches,
        check_deterministic=False,
        num_data=len(case.y),
    )
    rule = bench("bench_slq").curvlinops_nodes(op, 6, 3, seed=0)
    lam = torch.linalg.eigvalsh((H + H.T) / 2)
    np.testing.assert_allclose(rule.weights.sum(axis=1), 1.0, rtol=1e-10)
    assert rule.nodes.min() >= float(lam[0]) - 1e-8 and rule.nodes.max() <= float(lam[-1]) + 1e-8
    # one probe's first moment is v'H v for a unit v: within the extreme eigenvalues
    first = (rule.weights * rule.nodes).sum(axis=1)
    assert np.all(first >= float(lam[0]) - 1e-10) and np.all(first <= float(lam[-1]) + 1e-10)


# ------------------------------------------------------------------ the reports, end to end


def run_quick(script: str, out: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=600)
    return json.loads(out.read_text())


def finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_bench_hvp_quick(tmp_path):
    # the script asserts, before timing, that every method's product agrees with the plain
    # operator's (rtol 1e-3): a run that returns has products that agree
    res = run_quick("bench_hvp.py", tmp_path / "hvp.json")
    assert res["benchmark"] == "hvp" and res["quick"] and res["device"].startswith("cpu")
    assert [r["model"] for r in res["results"]] == ["mlp", "cnn"]
    for row in res["results"]:
        seconds, ratios = row["seconds"], row["ratio_to_grad"]
        # a row for every method, each a finite time and the ratio of that time to the gradient's
        assert set(seconds) == set(ratios) == HVP_METHODS
        assert all(finite_positive(seconds[k]) and finite_positive(ratios[k]) for k in seconds)
        for k in HVP_METHODS:
            assert ratios[k] == pytest.approx(seconds[k] / seconds["grad"], rel=1e-12)
        assert set(row["peak_ratio_to_grad"]) <= HVP_METHODS
        for k, b in row["peak_bytes"].items():
            assert row["peak_ratio_to_grad"][k] == pytest.approx(b / row["peak_bytes"]["grad"])
        assert finite_positive(row["cache_bytes"]) and finite_positive(row["cache_bytes_estimate"])
        assert row["cache_build_in_products"] == pytest.approx(
            row["cache_build_seconds"] / seconds["hvp_cached"]
        )
        assert row["num_data"] == 1024 and row["num_params"] > 0


@pytest.mark.slow
def test_bench_slq_quick(tmp_path):
    res = run_quick("bench_slq.py", tmp_path / "slq.json")
    assert set(res["methods"]) == {"pnlib", "curvlinops", "pyhessian_loop"}
    exact = res["exact"]
    assert set(exact) == {"trace", "f_R"}
    for row in res["methods"].values():
        assert finite_positive(row["seconds"])
        for fn, est in row["estimates"].items():
            # the recorded error is the estimate's distance to the exact value
            assert row["abs_error"][fn] == pytest.approx(abs(est["value"] - exact[fn]))
            assert math.isfinite(est["value"]) and est["stderr"] >= 0
    # the same Lanczos rule from our operator and from the double-backward loop: the trace
    # estimates agree with the exact one within a few standard errors
    for name in ("pnlib", "pyhessian_loop"):
        est = res["methods"][name]["estimates"]["trace"]
        assert abs(est["value"] - exact["trace"]) < 5 * est["stderr"]
    for name, ratio in res["time_relative_to_pnlib"].items():
        seconds = res["methods"][name]["seconds"] / res["methods"]["pnlib"]["seconds"]
        assert ratio == pytest.approx(seconds)
