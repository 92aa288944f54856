"""Checked claims: a true claim prints one line, a false one stops the chapter or warns."""

import numpy as np
import pytest
import torch

from pnlib import claims


def test_a_true_claim_prints_one_line_with_its_numbers(capsys, monkeypatch):
    monkeypatch.delenv("PNLIB_CLAIMS", raising=False)
    assert claims.check(np.float64(0.392) > 0.387, "above", pred=np.float64(0.39213), n=3)
    assert capsys.readouterr().out == "✓ above (pred=0.3921, n=3)\n"
    assert claims.check(torch.tensor(True), "a 0-d tensor", x=torch.tensor(0.5))
    assert capsys.readouterr().out == "✓ a 0-d tensor (x=0.5)\n"


def test_a_false_claim_raises_naming_the_claim_and_its_numbers(monkeypatch):
    monkeypatch.delenv("PNLIB_CLAIMS", raising=False)
    with pytest.raises(claims.ClaimError, match=r"sits between \(pred=0.392, lo=0.241\)"):
        claims.check(0.392 < 0.387, "sits between", pred=0.392, lo=0.241)
    assert issubclass(claims.ClaimError, AssertionError)


def test_warn_mode_reports_a_false_claim_without_stopping(capsys, monkeypatch):
    monkeypatch.setenv("PNLIB_CLAIMS", "warn")
    with pytest.warns(claims.ClaimWarning, match="below"):
        assert claims.check(False, "below", a=1.0) is False
    assert capsys.readouterr().out == "✗ below (a=1)\n"


def test_bad_mode_and_empty_claim_are_named(monkeypatch):
    monkeypatch.setenv("PNLIB_CLAIMS", "sometimes")
    with pytest.raises(ValueError, match="raise.*warn"):
        claims.check(False, "x")
    monkeypatch.delenv("PNLIB_CLAIMS")
    with pytest.raises(TypeError, match="non-empty string"):
        claims.check(True, "  ")
