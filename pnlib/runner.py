"""Run the book's Jupytext notebooks: papermill execution, the book build, experiments.

The chapters are Jupytext percent-format ``.py`` files. papermill reads only ``.ipynb``, so
:func:`execute` converts in memory, executes with papermill (parameters injected after the cell
tagged ``parameters``) and writes the executed copy atomically under ``_build/``; nothing is
written next to the sources.

Command line (``python -m pnlib.runner --help``)::

    python -m pnlib.runner execute notebooks/01_how_sparse.py -p EPOCHS 50 --out x.ipynb
    python -m pnlib.runner execute-toc --out _build/nbval --jobs 2
    python -m pnlib.runner experiment digits-mlp
    python -m pnlib.runner book

The book build (:func:`build_book`) runs Jupyter Book with its execution cache. jupyter-cache
keys a notebook on its code cells only, so it cannot see a change in ``pnlib``; the cache is
therefore wiped whenever the hash of the library's sources (and of the requirements) changes.
:func:`seed_cache` lets the book reuse the outputs of an identical papermill run instead of
executing every chapter a second time.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pnlib.paths import atomic_write_bytes, project_root, write_json

KERNEL = "python3"
DEFAULT_TIMEOUT = 1800
"""Seconds allowed per cell (papermill and the book); a chapter that needs more says so."""


def _jupytext():
    import jupytext

    return jupytext


def read_source(source: str | os.PathLike) -> Any:
    """Read a Jupytext percent-format ``.py`` file as a notebook, exactly as the book reads it.

    Args:
        source: Path of the ``.py`` notebook.

    Returns:
        The notebook (``nbformat.NotebookNode``) with a ``python3`` kernelspec.

    Raises:
        ValueError: If the file is not a ``.py`` file.
    """
    source = Path(source)
    if source.suffix != ".py":
        raise ValueError(f"notebook sources are Jupytext .py files, got {source}")
    nb = _jupytext().reads(source.read_text(), fmt="py:percent")
    nb.metadata.setdefault(
        "kernelspec", {"display_name": "Python 3", "language": "python", "name": KERNEL}
    )
    return nb


def toc_notebooks(root: Path | None = None) -> list[Path]:
    """List the notebook sources that ``_toc.yml`` puts in the book, in reading order.

    Args:
        root: Project root (default: found automatically).

    Returns:
        Paths of the ``.py`` chapters.
    """
    import yaml

    root = root or project_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node and (root / f"{node['file']}.py").is_file():
                found.append(root / f"{node['file']}.py")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def parameter_names(source: str | os.PathLike) -> list[str]:
    """Names assigned in a notebook's ``parameters`` cell.

    Args:
        source: Path of the ``.py`` notebook.

    Returns:
        The parameter names, in order.
    """
    nb = read_source(source)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return [
                target.id
                for stmt in tree.body
                if isinstance(stmt, (ast.Assign, ast.AnnAssign))
                for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                if isinstance(target, ast.Name)
            ]
    return []


def check_parameters(source: str | os.PathLike, parameters: dict[str, Any]) -> None:
    """Refuse parameters the notebook does not declare, before any execution starts.

    Args:
        source: Path of the ``.py`` notebook.
        parameters: The parameters to inject.

    Raises:
        ValueError: If a name is not in the notebook's ``parameters`` cell.
    """
    allowed = parameter_names(source)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ValueError(
            f"{Path(source).name} has no parameter(s) {unknown}; allowed: {', '.join(allowed)}"
        )


def execute(
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    parameters: dict[str, Any] | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    log_output: bool = False,
    progress_bar: bool = False,
) -> Path:
    """Execute a ``.py`` notebook with papermill and write the executed ``.ipynb`` atomically.

    The kernel runs in the notebook's own folder, as in the book build.

    Args:
        source: Path of the Jupytext ``.py`` notebook.
        output: Executed copy; default ``_build/papermill/<stem>.ipynb``.
        parameters: Values injected after the ``parameters`` cell (names must exist there).
        timeout: Seconds allowed per cell.
        log_output: Stream the notebook's output to the log (useful for long runs).
        progress_bar: Show papermill's cell progress bar.

    Returns:
        The path of the executed notebook.

    Raises:
        papermill.PapermillExecutionError: If a cell raises; the partial notebook, with the
            traceback, is still written to ``output`` for inspection.
    """
    import nbformat
    import papermill

    source = Path(source).resolve()
    parameters = dict(parameters or {})
    check_parameters(source, parameters)
    root = project_root()
    output = Path(output) if output else root / "_build" / "papermill" / f"{source.stem}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    start = time.perf_counter()
    # the kernel must draw figures inline as in the book, whatever backend the caller uses
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        nb = papermill.execute_notebook(
            read_source(source),
            str(partial),
            parameters=parameters or None,
            kernel_name=KERNEL,
            language="python",
            cwd=str(source.parent),
            execution_timeout=timeout,
            log_output=log_output,
            progress_bar=progress_bar,
        )
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
        if partial.exists():
            os.replace(partial, output)
    nb.metadata.setdefault("pnlib", {})["execution_seconds"] = time.perf_counter() - start
    atomic_write_bytes(output, nbformat.writes(nb).encode())
    return output


def _execute_in_subprocess(source: Path, out_dir: Path, timeout: int) -> tuple[Path, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pnlib.runner", "execute", str(source), "--out"]
        + [str(out_dir / f"{source.stem}.ipynb"), "--timeout", str(timeout)],
        capture_output=True,
        text=True,
    )
    tail = (proc.stdout + proc.stderr)[-6000:] if proc.returncode else ""
    return source, time.perf_counter() - start, tail


def execute_many(
    sources: Sequence[Path], out_dir: str | os.PathLike, *, jobs: int = 1, timeout: int = 1800
) -> dict[str, float]:
    """Execute several notebooks (default parameters) in parallel worker processes.

    Args:
        sources: The ``.py`` notebooks.
        out_dir: Folder for the executed copies (``<stem>.ipynb``).
        jobs: Number of notebooks executed at once.
        timeout: Seconds allowed per cell.

    Returns:
        Wall-clock seconds per notebook stem (also written to ``<out_dir>/timings.json``).

    Raises:
        RuntimeError: If any notebook failed; the message holds the end of each failure's log.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings, failures = {}, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_execute_in_subprocess, s, out_dir, timeout) for s in sources]
        for future in concurrent.futures.as_completed(futures):
            source, seconds, failure = future.result()
            timings[source.stem] = round(seconds, 1)
            status = "FAILED" if failure else "ok"
            print(f"  {status:6s} {seconds:7.1f} s  {source.name}", flush=True)
            if failure:
                failures.append(f"--- {source.name} ---\n{failure}")
    write_json(out_dir / "timings.json", dict(sorted(timings.items())))
    if failures:
        raise RuntimeError("notebook execution failed:\n" + "\n".join(failures))
    return timings


def library_hash(root: Path | None = None) -> str:
    """Hash of everything a chapter's outputs depend on besides its own code cells.

    Args:
        root: Project root.

    Returns:
        A hex digest over ``pnlib/**/*.py``, ``requirements.txt`` and ``pyproject.toml``.
    """
    root = root or project_root()
    digest = hashlib.sha256()
    files = sorted((root / "pnlib").rglob("*.py")) + [
        root / "requirements.txt",
        root / "pyproject.toml",
    ]
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_path(root: Path | None = None) -> Path:
    """The Jupyter Book execution cache folder.

    Args:
        root: Project root.

    Returns:
        ``<root>/_build/.jupyter_cache``.
    """
    return (root or project_root()) / "_build" / ".jupyter_cache"


def invalidate_stale_cache(root: Path | None = None) -> bool:
    """Wipe the execution cache if ``pnlib`` changed since it was filled.

    Args:
        root: Project root.

    Returns:
        True if the cache was wiped.
    """
    cache = cache_path(root)
    stamp = cache / "pnlib.sha256"
    current = library_hash(root)
    stale = cache.exists() and (not stamp.exists() or stamp.read_text().strip() != current)
    if stale:
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return stale


def seed_cache(executed_dir: str | os.PathLike, root: Path | None = None) -> list[str]:
    """Put the outputs of papermill runs with default parameters into the book's cache.

    An executed copy is used only if it ran with no injected parameters and its code cells are
    identical to the current source; its outputs are merged into the source notebook so that the
    cache key (code cells and their metadata) is exactly the one the book build computes.

    Args:
        executed_dir: Folder of executed copies named ``<stem>.ipynb``.
        root: Project root.

    Returns:
        Stems of the notebooks that were cached.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    root = root or project_root()
    invalidate_stale_cache(root)
    cache = get_cache(str(cache_path(root)))
    seeded = []
    for source in toc_notebooks(root):
        executed_path = Path(executed_dir) / f"{source.stem}.ipynb"
        if not executed_path.exists():
            continue
        executed = nbformat.read(executed_path, as_version=4)
        merged = _merge_outputs(read_source(source), executed)
        if merged is None:
            continue
        seconds = executed.metadata.get("pnlib", {}).get("execution_seconds")
        bundle = CacheBundleIn(merged, str(source), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
        seeded.append(source.stem)
    return seeded


def _merge_outputs(nb: Any, executed: Any) -> Any | None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    done = [c for c in executed.cells if c.cell_type == "code"]
    injected = any("injected-parameters" in c.metadata.get("tags", []) for c in done)
    if injected or len(code) != len(done) or any(a.source != b.source for a, b in zip(code, done)):
        return None
    for cell, result in zip(code, done):
        cell.outputs = result.outputs
        cell.execution_count = result.execution_count
    return nb


def build_book(root: Path | None = None, *, builder: str = "html") -> None:
    """Build the book with Jupyter Book: cached execution, nitpicky, warnings are errors.

    Args:
        root: Project root.
        builder: Sphinx builder name passed to ``jupyter-book build --builder``.

    Raises:
        subprocess.CalledProcessError: If the build fails (a notebook error, a broken
            cross-reference or any Sphinx warning).
    """
    root = root or project_root()
    if invalidate_stale_cache(root):
        print("pnlib changed since the last build: execution cache cleared", flush=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(root), "-n", "-W", "--keep-going", "--builder", builder]
    subprocess.run(cmd, check=True, cwd=root)


def _parse_value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _read_parameters_file(path: str | None) -> dict[str, Any]:
    """Read parameters from a YAML (or JSON) file: a mapping, or an experiment file.

    Args:
        path: The file, or None.

    Returns:
        Parameter names and values.

    Raises:
        ValueError: If the file does not hold a mapping.
    """
    import yaml

    if path is None:
        return {}
    spec = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must hold a mapping of parameter names to values")
    return dict(spec.get("parameters", spec)) if "notebook" in spec else dict(spec)


def run_experiment(name: str, *, overrides: dict[str, Any] | None = None) -> Path:
    """Run ``experiments/<name>.yaml`` through papermill.

    The YAML file names the notebook (``notebook:``) and its ``parameters:``. The executed copy
    goes to ``_build/papermill/<name>.ipynb``; the notebook itself writes its results under
    ``results/``.

    Args:
        name: Task name (file stem in ``experiments/``).
        overrides: Parameters that replace the file's.

    Returns:
        The path of the executed notebook.

    Raises:
        ValueError: If the task does not exist or its file is malformed.
    """
    import yaml

    root = project_root()
    tasks = sorted(p.stem for p in (root / "experiments").glob("*.yaml"))
    if name not in tasks:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(tasks)}")
    spec = yaml.safe_load((root / "experiments" / f"{name}.yaml").read_text())
    if not isinstance(spec, dict) or "notebook" not in spec:
        raise ValueError(f"experiments/{name}.yaml must have a 'notebook:' entry")
    parameters = {**(spec.get("parameters") or {}), **(overrides or {})}
    output = root / "_build" / "papermill" / f"{name}.ipynb"
    return execute(root / spec["notebook"], output, parameters=parameters, log_output=True)


def check_sources(root: Path | None = None) -> list[str]:
    """Check the source layout rules; return the problems found (empty when all is well).

    ``notebooks/`` holds only Jupytext ``.py`` files; each generated exercise notebook matches
    its solution notebook; the chapters and the book's pages hold no tab or other control
    character.

    Args:
        root: Project root.

    Returns:
        Human-readable problems.
    """
    root = root or project_root()
    problems = [
        f"{p.relative_to(root)}: only Jupytext .py files belong in notebooks/"
        for p in sorted((root / "notebooks").rglob("*"))
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    ]
    from pnlib.exercises import stale_exercises

    problems += [f"{p}: out of date, run `make exercises`" for p in stale_exercises(root)]
    problems += _control_characters(root)
    return problems


def _control_characters(root: Path) -> list[str]:
    # a tab or other control character in the book's text is almost always a Python escape
    # that slipped into LaTeX ("\top" written through a string becomes a tab and "op")
    found = []
    sources = [*sorted((root / "notebooks").rglob("*.py")), *sorted((root / "book").glob("*.md"))]
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            bad = sorted({f"{ord(c):#04x}" for c in line if ord(c) < 32 or ord(c) == 127})
            if bad:
                found.append(
                    f"{path.relative_to(root)}:{number}: control character {', '.join(bad)} "
                    "(a Python escape such as \\t in \\top?)"
                )
    return found


def _run_benchmarks(extra: Iterable[str]) -> None:
    root = project_root()
    for script in sorted((root / "benchmarks").glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        subprocess.run([sys.executable, str(script), *extra], check=True, cwd=root)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m pnlib.runner``).

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m pnlib.runner", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("execute", help="execute one .py notebook with papermill")
    one.add_argument("source")
    one.add_argument("--out", default=None)
    one.add_argument("-p", "--parameter", nargs=2, action="append", default=[])
    one.add_argument("-f", "--parameters-file", default=None)
    one.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT)
    one.add_argument("--log-output", action="store_true")
    toc = sub.add_parser("execute-toc", help="execute every chapter of the TOC")
    toc.add_argument("--out", default="_build/nbval")
    toc.add_argument("--jobs", type=int, default=1)
    toc.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT)
    seed = sub.add_parser("seed-cache", help="reuse executed copies in the book's cache")
    seed.add_argument("executed_dir")
    exp = sub.add_parser("experiment", help="run experiments/<name>.yaml")
    exp.add_argument("name")
    exp.add_argument("-p", "--parameter", nargs=2, action="append", default=[])
    sub.add_parser("book", help="build the HTML book")
    sub.add_parser("check-sources", help="check the layout rules of notebooks/")
    sub.add_parser("exercises", help="regenerate exercise notebooks from solutions")
    bench = sub.add_parser("bench", help="run every benchmarks/bench_*.py")
    bench.add_argument("extra", nargs="*")
    args = parser.parse_args(argv)

    if args.command == "execute":
        params = _read_parameters_file(args.parameters_file)
        params.update({k: _parse_value(v) for k, v in args.parameter})
        print(
            execute(
                args.source,
                args.out,
                parameters=params,
                timeout=args.timeout,
                log_output=args.log_output,
            )
        )
    elif args.command == "execute-toc":
        sources = toc_notebooks()
        print(f"executing {len(sources)} notebooks with {args.jobs} worker(s)", flush=True)
        timings = execute_many(sources, args.out, jobs=args.jobs, timeout=args.timeout)
        print(f"total notebook time {sum(timings.values()):.0f} s")
    elif args.command == "seed-cache":
        print("cached:", ", ".join(seed_cache(args.executed_dir)) or "nothing")
    elif args.command == "experiment":
        overrides = {k: _parse_value(v) for k, v in args.parameter}
        print(run_experiment(args.name, overrides=overrides))
    elif args.command == "book":
        build_book()
    elif args.command == "check-sources":
        problems = check_sources()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    elif args.command == "exercises":
        from pnlib.exercises import write_exercises

        for path in write_exercises(project_root()):
            print("wrote", path)
    elif args.command == "bench":
        _run_benchmarks(args.extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
