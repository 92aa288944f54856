"""The l1 penalty through ``train``/``run_epoch``, and ``batch_losses`` against direct values.

These replace two tests of tests/test_train.py that could not fail for the reason they name:
the l1 test there differentiated the penalty by hand without calling ``train`` or ``run_epoch``,
and the ``batch_losses`` test checked only the shape and dtype of the result.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from pnlib import models, train

F64 = torch.float64
LR, LAM = 0.1, 0.01


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def penalised_mask(model, scope):
    """1 on the entries the l1 penalty acts on, 0 elsewhere (flat, in parameter order)."""
    ids = {id(p) for p in train.l1_parameters(model, scope)}
    return torch.cat(
        [torch.full((p.numel(),), float(id(p) in ids), dtype=F64) for p in model.parameters()]
    )


def one_full_batch_step(case, l1, scope="weights", momentum=0.9):
    model = copy.deepcopy(case.model)
    config = train.TrainConfig(
        epochs=1, batch_size=len(case.y), lr=LR, momentum=momentum, l1=l1, l1_scope=scope
    )
    result = train.train(model, case.dataset(), config, loss_fn=case.loss_fn)
    return model, result.history[0]


@pytest.mark.parametrize("scope", ["weights", "all"])
def test_train_step_with_l1_moves_by_lr_lambda_sign(ce_case, scope):
    # one SGD step on the whole data (the first step of momentum SGD is a plain step):
    # w1 = w0 - lr (g + lam sign(w0)) on the penalised entries, so the two runs differ by
    # exactly -lr lam sign(w0) there and by nothing on the others
    case = ce_case
    w0 = flat(case.model)
    plain, _ = one_full_batch_step(case, 0.0)
    penalised, stats = one_full_batch_step(case, LAM, scope)
    mask = penalised_mask(case.model, scope)
    expected = -LR * LAM * torch.sign(w0) * mask
    torch.testing.assert_close(flat(penalised) - flat(plain), expected, rtol=0, atol=1e-13)
    if scope == "weights":  # biases are left alone: the mask is not all ones
        assert 0 < int(mask.sum()) < case.dim
        assert int(mask.sum()) == sum(
            p.numel() for p in models.prunable_parameters(case.model).values()
        )
    else:
        assert int(mask.sum()) == case.dim
    # what the epoch reports: the loss before the step, the penalty after it
    assert stats["loss"] == pytest.approx(float(case.loss_of(w0)), rel=1e-12)
    assert stats["penalty"] == pytest.approx(float((flat(penalised).abs() * mask).sum()), rel=1e-12)
    assert stats["lr"] == LR


def test_run_epoch_adds_lambda_sign_to_the_gradient_it_steps_with(ce_case):
    case = ce_case
    # the gradient run_epoch hands to the optimiser (seen in before_step) is the data gradient
    # plus lam sign(w) on the weights
    seen = {}
    for l1 in (0.0, LAM):
        model = copy.deepcopy(case.model)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        config = train.TrainConfig(epochs=1, batch_size=len(case.y), lr=LR, l1=l1)
        penalised = train.l1_parameters(model, "weights") if l1 else []
        loader = train.make_loader(case.dataset(), len(case.y), shuffle=False)

        def grab(m, opt, l1=l1):
            seen[l1] = torch.cat([p.grad.reshape(-1).clone() for p in m.parameters()])

        train.run_epoch(
            model, loader, optimizer, config, 0, penalised, case.loss_fn, "cpu", before_step=grab
        )
    mask = penalised_mask(case.model, "weights")
    expected = LAM * torch.sign(flat(case.model)) * mask
    torch.testing.assert_close(seen[LAM] - seen[0.0], expected, rtol=0, atol=1e-14)
    # and the data gradient itself is the gradient of the mean loss
    w0 = flat(case.model).requires_grad_(True)
    (g,) = torch.autograd.grad(case.loss_of(w0), w0)
    torch.testing.assert_close(seen[0.0], g, rtol=1e-10, atol=1e-12)


def test_l1_training_shrinks_the_weights(case_factory):
    # the same run with and without the penalty: a strong l1 ends with a smaller l1 norm of the
    # weights and many more of them near zero
    case = case_factory("mlp-ce", n=40)
    ends = {}
    for l1 in (0.0, 0.05):
        model = copy.deepcopy(case.model)
        config = train.TrainConfig(epochs=40, batch_size=10, lr=0.05, momentum=0.0, l1=l1)
        train.train(model, case.dataset(), config, generator=torch.Generator().manual_seed(3))
        ends[l1] = torch.cat([p.detach().reshape(-1) for p in train.l1_parameters(model)])
    assert ends[0.05].abs().sum() < 0.7 * ends[0.0].abs().sum()
    assert int((ends[0.05].abs() < 0.01).sum()) > int((ends[0.0].abs() < 0.01).sum()) + 5


def test_batch_losses_are_the_losses_of_consecutive_batches_in_eval_mode(case):
    # a dropout head: in train mode it would randomise the losses, in eval mode it is the identity
    model = nn.Sequential(copy.deepcopy(case.model), nn.Dropout(0.5)).train()
    values = train.batch_losses(model, case.dataset(), batch_size=4, loss_fn=case.loss_fn)
    sizes = [4, 4, 3]
    starts = [0, 4, 8]
    w0 = flat(case.model)
    direct = [
        float(case.loss_of(w0, case.x[a : a + n], case.y[a : a + n])) for a, n in zip(starts, sizes)
    ]
    assert values.dtype == F64 and values.shape == (3,)
    torch.testing.assert_close(values, torch.tensor(direct, dtype=F64), rtol=1e-12, atol=0)
    assert model.training  # the mode is restored
    # the size-weighted mean of the batch losses is the loss over the whole data
    weighted = float((values * torch.tensor(sizes, dtype=F64)).sum() / sum(sizes))
    assert weighted == pytest.approx(float(case.loss_of(w0)), rel=1e-12)
    if case.classification:
        assert weighted == pytest.approx(train.evaluate(model, case.dataset())["loss"], rel=1e-12)


def test_batch_losses_default_loss_is_cross_entropy(case_factory):
    case = case_factory("cnn-ce", n=9)
    values = train.batch_losses(case.model, case.dataset(), batch_size=5)
    w0 = flat(case.model)
    direct = [
        float(case.loss_of(w0, case.x[:5], case.y[:5])),
        float(case.loss_of(w0, case.x[5:], case.y[5:])),
    ]
    torch.testing.assert_close(values, torch.tensor(direct, dtype=F64), rtol=1e-12, atol=0)
