"""Checked claims: the book's prose states a comparison, the cell beside it asserts it.

A chapter that writes "the prediction sits above both cases" puts, right after that paragraph, a
cell tagged ``claim`` (and ``hide-input``, so the code is one click away) that calls
:func:`check` with the same numbers the prose is about::

    claims.check(pred > max(aligned, anti), "the prediction sits above both cases",
                 pred=pred, aligned=aligned, anti=anti)

A passed check prints one line (``✓ the prediction sits above both cases (pred=0.392, ...)``).
A failed one raises :class:`ClaimError`, so a changed number that makes the prose false stops
the chapter, and with it ``make book`` and ``make test``.

A researcher who runs a chapter on other data through papermill (``python -m pnlib.runner
experiment``) is not stopped by the book's sentences about the book's data: the runner sets
``PNLIB_CLAIMS=warn``, under which a failed check prints a ``✗`` line and warns instead.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

__all__ = ["ClaimError", "ClaimWarning", "check", "mode"]

MODES = ("raise", "warn")


class ClaimError(AssertionError):
    """A claim of the prose that the chapter's own numbers contradict."""


class ClaimWarning(UserWarning):
    """A failed claim under ``PNLIB_CLAIMS=warn`` (a run on data the prose is not about)."""


def mode() -> str:
    """What a failed check does: ``"raise"`` (default) or ``"warn"`` (``PNLIB_CLAIMS=warn``).

    Returns:
        The mode.

    Raises:
        ValueError: If ``PNLIB_CLAIMS`` is set to anything else.
    """
    value = os.environ.get("PNLIB_CLAIMS", "raise").strip().lower() or "raise"
    if value not in MODES:
        raise ValueError(f"PNLIB_CLAIMS must be one of {MODES}, got {value!r}")
    return value


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _format(value.item())
    return str(value)


def check(condition: Any, claim: str, **values: Any) -> bool:
    """Assert one claim of the prose and print it as one line.

    Args:
        condition: The comparison, already evaluated (a bool, a numpy or 0-d torch bool).
        claim: The claim in the prose's own words.
        **values: The numbers it is about, printed beside it (floats to 4 significant digits).

    Returns:
        Whether the claim holds (only ever False under ``PNLIB_CLAIMS=warn``).

    Raises:
        ClaimError: If the claim is false (and the mode is ``"raise"``).
        TypeError: If ``claim`` is not a non-empty string.

    Examples:
        >>> check(0.392 > 0.387, "the prediction sits above the aligned case", pred=0.392)
        ✓ the prediction sits above the aligned case (pred=0.392)
        True
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"claim must be a non-empty string, got {claim!r}")
    shown = ", ".join(f"{name}={_format(value)}" for name, value in values.items())
    line = f"{claim} ({shown})" if shown else claim
    if bool(condition):
        print(f"✓ {line}")
        return True
    if mode() == "warn":
        print(f"✗ {line}")
        message = f"the chapter claims: {line}; its numbers say otherwise"
        warnings.warn(message, ClaimWarning, stacklevel=2)
        return False
    raise ClaimError(f"the chapter claims: {line}; its numbers say otherwise")
