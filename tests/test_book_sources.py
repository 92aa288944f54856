"""The chapters as a reader gets them: prose in paragraphs, checked claims, captioned figures.

The source checks read the Jupytext files and need no execution. The checks marked
``notebooks`` read the executed copies that ``make notebooks`` writes to ``_build/nbval``.
"""

import re

import jupytext
import nbformat
import pytest

from pnlib import runner
from pnlib.paths import project_root

CHAPTERS = runner.toc_notebooks()
MAX_SINGLE_SENTENCE = 1 / 3
# a line that starts like this is a heading, list item, table row, quote, label or directive
NOT_PROSE = re.compile(r"^(#|[-*+] |\d+\. |\||\(|>|\{|<|\*\*Prerequisites)")
ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|cf|vs|et al|Fig|Eq|approx|resp|etc)\.")


def markdown_cells(path):
    return [c for c in jupytext.read(path).cells if c.cell_type == "markdown"]


def prose_paragraphs(text: str) -> list[str]:
    """Blocks of running text (four words or more), outside fences and display math."""
    paragraphs, block, fence = [], [], None
    for line in text.splitlines() + [""]:
        stripped = line.strip()
        opener = re.match(r"^(`{3,}|:{3,}|\$\$)", stripped)
        if fence is not None:
            fence = None if stripped.startswith(fence) else fence
            continue
        if opener or not stripped or NOT_PROSE.match(stripped):
            paragraphs.append(" ".join(block))
            block = []
            one_line_math = opener and opener.group(1) == "$$" and len(stripped) > 2
            if opener and not one_line_math and not stripped.endswith("```"):
                fence = opener.group(1)
            elif opener and stripped.startswith("```") and stripped != opener.group(1):
                fence = opener.group(1)  # ```{directive}
            continue
        block.append(stripped)
    return [p for p in paragraphs if len(p.split()) >= 4]


def sentences(paragraph: str) -> int:
    text = re.sub(r"\$[^$]*\$", "X", paragraph)
    text = ABBREVIATIONS.sub("X", text)
    return len(re.findall(r"[.!?](?:\s|$)", text))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prose_is_written_in_paragraphs(path):
    found = [p for cell in markdown_cells(path) for p in prose_paragraphs(cell.source)]
    single = [p for p in found if sentences(p) <= 1]
    share = len(single) / max(1, len(found))
    assert share <= MAX_SINGLE_SENTENCE, (
        f"{path.name}: {len(single)} of {len(found)} prose paragraphs are one sentence "
        f"({share:.0%} > {MAX_SINGLE_SENTENCE:.0%}), e.g. {single[:3]}"
    )


def test_paragraph_counting_on_a_known_text():
    text = (
        "One sentence alone here.\n\nTwo sentences here. And a second one.\n\n"
        "- a list item is not prose at all.\n\n$$\nx = 1. y = 2.\n$$\n\n"
        "Ratio $a.b$ is e.g. small, which is fine.\n"
    )
    found = prose_paragraphs(text)
    assert found == [
        "One sentence alone here.",
        "Two sentences here. And a second one.",
        "Ratio $a.b$ is e.g. small, which is fine.",
    ]
    assert [sentences(p) for p in found] == [1, 2, 1]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_markdown_cells_are_whole(path):
    for cell in markdown_cells(path):
        assert cell.source.strip(), f"{path.name}: an empty markdown cell"
    # markdown swallowed by the code cell above it (a missing `# %% [markdown]`) shows as comments
    swallowed = re.compile(r"^# (#{1,3} |```\{|:::\{)", re.M)
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code":
            found = swallowed.search(cell.source)
            assert not found, f"{path.name}: markdown inside a code cell: {found.group(0)!r}"
    raw = path.read_text()
    # every line of a markdown cell carries its comment marker
    for block in re.split(r"^# %%", raw, flags=re.M):
        if block.startswith(" [markdown]"):
            body = block.splitlines()[1:]
            bad = [line for line in body if line.strip() and not line.startswith("#")]
            assert not bad, f"{path.name}: markdown lines without '# ': {bad[:2]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_claim_cells_check_and_stay_quiet(path):
    for cell in jupytext.read(path).cells:
        tags = cell.metadata.get("tags", [])
        if "claim" in tags:
            assert "claims.check(" in cell.source, f"{path.name}: a claim cell checks nothing"
            assert "hide-input" in tags, f"{path.name}: claim cells are tagged hide-input"
        elif cell.cell_type == "code":
            assert "claims.check(" not in cell.source, (
                f"{path.name}: claims.check outside a cell tagged 'claim': {cell.source[:80]!r}"
            )


def executed():
    folder = project_root() / "_build" / "nbval"
    paths = [folder / f"{p.stem}.ipynb" for p in CHAPTERS]
    missing = [p.name for p in paths if not p.is_file()]
    # this test runs inside `make notebooks`, after the chapters were executed: a missing copy
    # means that stage did not run, which must not pass for a check of the executed chapters
    assert not missing, f"run `make notebooks` (executed chapters missing: {missing[:3]})"
    return [(p, nbformat.read(p, as_version=4)) for p in paths]


@pytest.mark.notebooks
def test_every_figure_has_a_caption_and_every_claim_held():
    for path, nb in executed():
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            outputs = cell.get("outputs", [])
            if any("image/png" in o.get("data", {}) for o in outputs):
                caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
                assert len(caption.split()) >= 5, (
                    f"{path.name}: a figure without a caption that says what to see: "
                    f"{cell.source[:80]!r}"
                )
            if "claim" in cell.metadata.get("tags", []):
                text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
                lines = [line for line in text.splitlines() if line.strip()]
                assert lines and all(line.startswith("✓ ") for line in lines), (path.name, text)
