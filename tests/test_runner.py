"""The notebook pipeline: papermill execution from .py sources, cache seeding, nbval, exercises."""

import subprocess
import sys
import textwrap

import nbformat
import pytest

from pnlib import exercises, runner

NOTEBOOK = textwrap.dedent(
    """\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

    # %% [markdown]
    # # A tiny notebook

    # %% tags=["parameters"]
    VALUE = 2
    FAIL = False

    # %% tags=["nbval-check-output"]
    print(f"{VALUE ** 2:.3f}")

    # %%
    if FAIL:
        raise RuntimeError("asked to fail")
    """
)


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(NOTEBOOK)
    return path


def stdout_of_checked_cell(path):
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", []))
    return "".join(o.get("text", "") for o in cell.outputs)


def test_parameter_names_and_unknown_parameters(source):
    assert runner.parameter_names(source) == ["VALUE", "FAIL"]
    with pytest.raises(ValueError, match="allowed: VALUE, FAIL"):
        runner.execute(source, source.with_suffix(".ipynb"), parameters={"VALU": 3})


def test_read_source_refuses_ipynb(tmp_path):
    with pytest.raises(ValueError, match=".py"):
        runner.read_source(tmp_path / "x.ipynb")


@pytest.mark.notebooks
def test_execute_injects_parameters(source, tmp_path):
    out = runner.execute(source, tmp_path / "out" / "tiny.ipynb", parameters={"VALUE": 3})
    assert stdout_of_checked_cell(out).strip() == "9.000"
    assert not (source.parent / "tiny.ipynb").exists()  # nothing written next to the source


@pytest.mark.notebooks
def test_failing_notebook_raises_and_keeps_the_traceback(source, tmp_path):
    import papermill

    out = tmp_path / "failed.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match="asked to fail"):
        runner.execute(source, out, parameters={"FAIL": True})
    # the partial notebook goes beside the output, which only a complete execution writes
    assert "asked to fail" in runner.failed_path(out).read_text()
    assert not out.exists()


def run_nbval(path):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "-c",
            "/dev/null",
            "--rootdir",
            str(path.parent),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=path.parent,
    )


@pytest.mark.notebooks
def test_nbval_fails_on_a_changed_checked_output(source, tmp_path):
    out = runner.execute(source, tmp_path / "ref.ipynb")
    assert run_nbval(out).returncode == 0
    nb = nbformat.read(out, as_version=4)
    cell = next(c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", []))
    cell.outputs[0]["text"] = "5.000\n"  # what a changed result would look like
    nbformat.write(nb, out)
    proc = run_nbval(out)
    assert proc.returncode != 0 and "mismatch" in proc.stdout


@pytest.mark.notebooks
def test_nbval_fails_on_a_notebook_that_raises(source, tmp_path):
    out = runner.execute(source, tmp_path / "ref.ipynb")
    nb = nbformat.read(out, as_version=4)
    nb.cells[-1].source = "raise RuntimeError('broken chapter')"
    nbformat.write(nb, out)
    assert run_nbval(out).returncode != 0


@pytest.mark.notebooks
def test_seeded_cache_matches_what_the_book_reads(source, tmp_path, monkeypatch):
    from jupyter_cache import get_cache

    out = runner.execute(source, tmp_path / "exec" / "tiny.ipynb")
    merged = runner._merge_outputs(runner.read_source(source), nbformat.read(out, as_version=4))
    assert merged is not None
    cache = get_cache(str(tmp_path / "cache"))
    from jupyter_cache.base import CacheBundleIn

    cache.cache_notebook_bundle(CacheBundleIn(merged, str(source)), check_validity=False)
    # the book build reads the .py afresh and must find the cached outputs by hash
    record = cache.match_cache_notebook(runner.read_source(source))
    _, nb = cache.merge_match_into_notebook(runner.read_source(source))
    assert record is not None and "4.000" in stdout_of_checked_cell_nb(nb)
    # a run with injected parameters is never used for the book
    injected = runner.execute(source, tmp_path / "inj.ipynb", parameters={"VALUE": 5})
    assert (
        runner._merge_outputs(runner.read_source(source), nbformat.read(injected, as_version=4))
        is None
    )


def stdout_of_checked_cell_nb(nb):
    cell = next(c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", []))
    return "".join(o.get("text", "") for o in cell.outputs)


def make_root(tmp_path):
    (tmp_path / "pnlib").mkdir()
    (tmp_path / "pnlib" / "a.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "notebooks" / "ex").mkdir(parents=True)
    return tmp_path


def test_library_hash_tracks_pnlib_and_cache_is_wiped(tmp_path):
    root = make_root(tmp_path)
    first = runner.library_hash(root)
    assert runner.invalidate_stale_cache(root) is False
    (runner.cache_path(root) / "marker").write_text("cached")
    assert runner.invalidate_stale_cache(root) is False
    (root / "pnlib" / "a.py").write_text("x = 2\n")
    assert runner.library_hash(root) != first
    assert runner.invalidate_stale_cache(root) is True
    assert not (runner.cache_path(root) / "marker").exists()


def test_check_sources_flags_non_py_files_and_stale_exercises(tmp_path):
    root = make_root(tmp_path)
    assert runner.check_sources(root) == []
    (root / "notebooks" / "01_x.ipynb").write_text("{}")
    sol = root / "notebooks" / "ex" / "01_x_sol_01.py"
    sol.write_text('# %%\na = 1\n\n# %% tags=["solution"]\nb = 2\n')
    problems = runner.check_sources(root)
    assert any("01_x.ipynb" in p for p in problems)
    assert any("01_x_ex_01.py" in p for p in problems)
    exercises.write_exercises(root)
    ex = (root / "notebooks" / "ex" / "01_x_ex_01.py").read_text()
    assert "b = 2" not in ex and exercises.PLACEHOLDER in ex and "a = 1" in ex
    assert len(runner.check_sources(root)) == 1  # only the .ipynb remains
    (root / "notebooks" / "01_x.ipynb").unlink()
    (root / "notebooks" / "02_y.py").write_text("# $x^\\top y$ is fine\n# $x^\top y$ is not\n")
    assert runner.check_sources(root) == [
        "notebooks/02_y.py:2: control character 0x09 (a Python escape such as \\t in \\top?)"
    ]


def test_toc_notebooks_are_the_chapters_in_order():
    chapters = runner.toc_notebooks()
    assert chapters, "the TOC lists no notebook"
    assert all(p.suffix == ".py" and p.parent.name == "notebooks" for p in chapters)
    assert [p.name for p in chapters] == sorted(p.name for p in chapters)


def test_experiment_names_are_checked():
    with pytest.raises(ValueError, match="unknown experiment"):
        runner.run_experiment("no-such-task")
