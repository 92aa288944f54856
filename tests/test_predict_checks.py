"""``predict.batch_loss_eps`` (values and error paths) and ``predict.summarize_spectrum`` values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from pnlib import predict, spectrum

F64 = torch.float64


# ---------------------------------------------------------------------------- batch_loss_eps


def test_batch_loss_eps_is_the_population_spread_of_consecutive_batch_losses(ce_case):
    case = ce_case
    data = case.dataset()
    eps, count = predict.batch_loss_eps(case.model, data, batch_size=4)
    flat = torch.cat([p.detach().reshape(-1) for p in case.model.parameters()])
    losses = [float(case.loss_of(flat, case.x[a : a + 4], case.y[a : a + 4])) for a in (0, 4, 8)]
    assert count == 3
    assert eps == pytest.approx(float(np.std(losses)), rel=1e-12)  # ddof = 0, as np.std
    # shuffled batches: the same count, another partition of the same examples
    eps_shuffled, count_shuffled = predict.batch_loss_eps(
        case.model, data, batch_size=4, shuffle_seed=1
    )
    assert count_shuffled == 3 and eps_shuffled > 0 and eps_shuffled != pytest.approx(eps)
    # an (x, y) pair is accepted as the data
    assert predict.batch_loss_eps(case.model, (case.x, case.y), batch_size=4)[0] == eps


def test_batch_loss_eps_uses_the_given_loss(case_factory):
    case = case_factory("mlp-mse")
    eps, count = predict.batch_loss_eps(
        case.model, case.dataset(), batch_size=4, loss_fn=case.loss_fn
    )
    flat = torch.cat([p.detach().reshape(-1) for p in case.model.parameters()])
    losses = [float(case.loss_of(flat, case.x[a : a + 4], case.y[a : a + 4])) for a in (0, 4, 8)]
    assert count == 3 and eps == pytest.approx(float(np.std(losses)), rel=1e-12)


@pytest.mark.parametrize("batch_size", [11, 128])
def test_batch_loss_eps_refuses_a_single_batch(ce_case, batch_size):
    # 11 examples in batches of >= 11: one batch, no spread to measure
    with pytest.raises(ValueError, match="at least two batches; got 1") as info:
        predict.batch_loss_eps(ce_case.model, ce_case.dataset(), batch_size=batch_size)
    assert f"eps_batch_size {batch_size}" in str(info.value) and "11 examples" in str(info.value)


def test_batch_loss_eps_refuses_zero_spread():
    # a network with constant outputs: every batch has the loss log(3), exactly
    net = nn.Linear(4, 3).to(F64)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
    x = torch.randn(12, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (12,), generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="do not vary"):
        predict.batch_loss_eps(net, TensorDataset(x, y), batch_size=4)
    # outputs that depend on the inputs: the batch losses spread again
    with torch.no_grad():
        net.weight[0, 0] = 1.0
    assert predict.batch_loss_eps(net, TensorDataset(x, y), batch_size=4)[0] > 0


# ---------------------------------------------------------------------------- summarize_spectrum


def test_summarize_spectrum_values_on_an_exact_spectrum():
    # an indefinite spectrum with exact zeros, rounding-size negatives, a near-zero cluster and
    # clearly negative eigenvalues
    top = 4.0
    lam = np.array([-2.0, -0.5, -1e-3, -1e-9, -1e-12, 0.0, 0.0, 1e-7, 3e-6, 1e-4, 0.3, 1.0, top])
    d = lam.size
    s = predict.summarize_spectrum(spectrum.from_eigenvalues(lam), "exact")
    assert s["source"] == "exact" and s["dim"] == d
    assert s["num_steps"] == d and s["num_probes"] == 1 and s["num_matvecs"] == 0
    assert s["ritz_min"] == -2.0 and s["ritz_max"] == top
    assert s["trace"] == pytest.approx(lam.sum(), rel=1e-14) and s["trace_stderr"] == 0.0
    assert s["abs_trace"] == pytest.approx(np.abs(lam).sum(), rel=1e-14)
    # negative: below -1e-9 max|lambda| = -4e-9; -1e-9 and -1e-12 are rounding, not curvature
    assert s["negative_tol"] == pytest.approx(1e-9 * top)
    assert s["negative_mass"] == pytest.approx(3 / d)
    # near zero: |lambda| <= 1e-6 max|lambda| = 4e-6: -1e-9, -1e-12, 0, 0, 1e-7, 3e-6
    assert s["near_zero_mass"] == pytest.approx(6 / d)


def test_summarize_spectrum_negative_mass_follows_its_tolerance():
    # the same small negative eigenvalue counts or not as the largest |lambda| moves the
    # threshold past it
    small = -1e-6
    counted = predict.summarize_spectrum(spectrum.from_eigenvalues(np.array([small, 1.0])), "x")
    hidden = predict.summarize_spectrum(spectrum.from_eigenvalues(np.array([small, 1e4])), "x")
    assert counted["negative_mass"] == 0.5 and counted["negative_tol"] == 1e-9
    assert hidden["negative_mass"] == 0.0 and hidden["negative_tol"] == pytest.approx(1e-5)
    # a negative top eigenvalue sets the scale too
    neg = predict.summarize_spectrum(spectrum.from_eigenvalues(np.array([-8.0, 1e-9, 2.0])), "x")
    assert neg["negative_tol"] == pytest.approx(8e-9) and neg["negative_mass"] == pytest.approx(
        1 / 3
    )


def test_summarize_spectrum_of_an_slq_rule_that_broke_down():
    # four distinct eigenvalues: Lanczos breaks down after 4 steps (an invariant subspace) and
    # pads the rule with zero-weight copies of its last node; every probe's rule is then exact
    levels = np.array([-1.0, 0.5, 2.0, 7.0])
    lam = np.repeat(levels, 10)
    A = np.diag(lam)
    rule = spectrum.slq(A, lam.size, 12, num_probes=3, generator=0)
    assert all(b == 4 for b in rule.breakdowns)
    s = predict.summarize_spectrum(rule, "slq")
    assert s["source"] == "slq" and s["num_steps"] == 12 and s["num_probes"] == 3
    assert s["ritz_min"] == pytest.approx(-1.0, abs=1e-12)
    assert s["ritz_max"] == pytest.approx(7.0, abs=1e-12)
    assert s["num_matvecs"] == rule.num_matvecs > 0
    # Rademacher probes of a diagonal matrix have no noise: trace and masses are exact
    assert s["trace"] == pytest.approx(lam.sum(), rel=1e-10)
    assert s["trace_stderr"] == pytest.approx(0.0, abs=1e-9)
    assert s["abs_trace"] == pytest.approx(np.abs(lam).sum(), rel=1e-10)
    assert s["negative_mass"] == pytest.approx(0.25, rel=1e-10)
    assert s["near_zero_mass"] == pytest.approx(0.0, abs=1e-12)
