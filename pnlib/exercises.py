"""Coursework notebooks: exercise versions generated from solution notebooks.

A graded notebook is written once, with its solutions, as ``notebooks/ex/NN_topic_sol_KK.py``.
Cells whose metadata carries the tag ``solution`` hold the answers. The exercise version
``NN_topic_ex_KK.py`` is generated from it by replacing each solution cell with an empty cell
that asks for the student's code, and committed beside it; ``make test`` fails when a generated
file is out of date. Only solution notebooks are executed in the book.
"""

from __future__ import annotations

import re
from pathlib import Path

SOLUTION_TAG = "solution"
PLACEHOLDER = "# Write your code here."
_CELL = re.compile(r"^# %%.*$", re.MULTILINE)


def exercise_text(solution_source: str) -> str:
    r"""Turn the text of a solution notebook into the text of its exercise notebook.

    Args:
        solution_source: Content of a Jupytext percent-format solution notebook.

    Returns:
        The same notebook with every cell tagged ``solution`` replaced by a placeholder cell.

    Example:
        >>> src = '# %%\nx = 1\n\n# %% tags=["solution"]\ny = x + 1\n'
        >>> print(exercise_text(src))
        # %%
        x = 1
        <BLANKLINE>
        # %%
        # Write your code here.
        <BLANKLINE>
    """
    starts = [m.start() for m in _CELL.finditer(solution_source)]
    bounds = zip([0, *starts], [*starts, len(solution_source)])
    pieces = []
    for begin, end in bounds:
        chunk = solution_source[begin:end]
        header = chunk.split("\n", 1)[0]
        if chunk.startswith("# %%") and f'"{SOLUTION_TAG}"' in header:
            chunk = (
                f"# %%\n{PLACEHOLDER}\n\n"
                if end < len(solution_source)
                else f"# %%\n{PLACEHOLDER}\n"
            )
        pieces.append(chunk)
    return "".join(pieces)


def exercise_pairs(root: Path) -> list[tuple[Path, Path]]:
    """List (solution, exercise) file pairs under ``notebooks/ex``.

    Args:
        root: Project root.

    Returns:
        Pairs of paths; the exercise file may not exist yet.
    """
    folder = root / "notebooks" / "ex"
    return [
        (sol, sol.with_name(sol.name.replace("_sol_", "_ex_")))
        for sol in sorted(folder.glob("*_sol_*.py"))
    ]


def stale_exercises(root: Path) -> list[Path]:
    """Exercise files that are missing or differ from what their solution generates.

    Args:
        root: Project root.

    Returns:
        Paths (relative to ``root``) that ``write_exercises`` would change.
    """
    return [
        ex.relative_to(root)
        for sol, ex in exercise_pairs(root)
        if not ex.exists() or ex.read_text() != exercise_text(sol.read_text())
    ]


def write_exercises(root: Path) -> list[Path]:
    """Regenerate every stale exercise notebook.

    Args:
        root: Project root.

    Returns:
        The files written.
    """
    written = []
    for sol, ex in exercise_pairs(root):
        text = exercise_text(sol.read_text())
        if not ex.exists() or ex.read_text() != text:
            ex.write_text(text)
            written.append(ex)
    return written
