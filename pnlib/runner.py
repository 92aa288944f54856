"""Run the book's Jupytext notebooks: papermill execution, the book build, experiments.

The chapters are Jupytext percent-format ``.py`` files. papermill reads only ``.ipynb``, so
:func:`execute` converts in memory, executes with papermill (parameters injected after the cell
tagged ``parameters``) and writes the executed copy atomically under ``_build/``; nothing is
written next to the sources.

Command line (``python -m pnlib.runner --help``)::

    python -m pnlib.runner execute notebooks/01_how_sparse.py -p EPOCHS 50 --out x.ipynb
    python -m pnlib.runner execute-toc --out _build/nbval --jobs 2
    python -m pnlib.runner experiment digits-mlp
    python -m pnlib.runner experiment fc5-cifar10 --smoke
    python -m pnlib.runner book

``experiment`` composes the parameters of a task file (``experiments/<task>.yaml``) over the
notebook's defaults, checks every one of them (names, types, ranges; :mod:`pnlib.experiment`)
before a kernel starts, streams the notebook's output to the terminal while it runs, and ends
with a summary of the run: predictions, actual limits, times, and where ``metrics.json`` and the
executed notebook are. ``--smoke`` (``make experiment NAME=<task> SMOKE=1``) shrinks every size
(:data:`pnlib.experiment.SMOKE_PARAMETERS`) so that any task finishes in minutes on a CPU; it is
recorded as the run ``smoke``. Values given with ``-p`` and in task files are read as YAML 1.2
(:func:`pnlib.paths.parse_yaml`: ``1e-4`` is a number).

A failed execution leaves the last good executed notebook in place and writes the partial one,
with its traceback, beside it as ``<name>.failed.ipynb``; partial notebooks of killed runs are
removed by the next run.

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
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pnlib.paths import (
    atomic_write_bytes,
    clean_stale_temporaries,
    parse_yaml,
    project_root,
    read_json,
    read_yaml,
    write_json,
)

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


def _parameter_assignments(source: str | os.PathLike) -> list[tuple[str, ast.expr | None]]:
    nb = read_source(source)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return [
                (target.id, stmt.value)
                for stmt in tree.body
                if isinstance(stmt, (ast.Assign, ast.AnnAssign))
                for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                if isinstance(target, ast.Name)
            ]
    return []


def parameter_names(source: str | os.PathLike) -> list[str]:
    """Names assigned in a notebook's ``parameters`` cell.

    Args:
        source: Path of the ``.py`` notebook.

    Returns:
        The parameter names, in order.
    """
    return [name for name, _ in _parameter_assignments(source)]


def parameter_defaults(source: str | os.PathLike) -> dict[str, Any]:
    """The values a notebook's ``parameters`` cell assigns, as papermill's defaults.

    Args:
        source: Path of the ``.py`` notebook.

    Returns:
        Parameter names and their default values.

    Raises:
        ValueError: If a default is not a Python literal (it could not be checked before the
            kernel runs it).
    """
    out = {}
    for name, value in _parameter_assignments(source):
        try:
            out[name] = ast.literal_eval(value) if value is not None else None
        except ValueError as error:
            raise ValueError(
                f"{Path(source).name}: the default of {name} is not a literal ({error})"
            ) from None
    return out


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
    stream: bool = False,
) -> Path:
    """Execute a ``.py`` notebook with papermill and write the executed ``.ipynb`` atomically.

    The kernel runs in the notebook's own folder, as in the book build. The output file is
    replaced only by a complete execution: a failed one goes to ``<stem>.failed.ipynb`` beside
    it, with its traceback, and the last good output stays.

    Args:
        source: Path of the Jupytext ``.py`` notebook.
        output: Executed copy; default ``_build/papermill/<stem>.ipynb``.
        parameters: Values injected after the ``parameters`` cell (names must exist there).
        timeout: Seconds allowed per cell.
        log_output: Send the notebook's output to papermill's logger (at INFO).
        progress_bar: Show papermill's cell progress bar.
        stream: Write the notebook's output to this process's stdout and stderr as it comes.

    Returns:
        The path of the executed notebook.

    Raises:
        papermill.PapermillExecutionError: If a cell raises; the partial notebook, with the
            traceback, is written to ``<stem>.failed.ipynb`` beside ``output`` for inspection.
    """
    import nbformat
    import papermill

    source = Path(source).resolve()
    parameters = dict(parameters or {})
    check_parameters(source, parameters)
    root = project_root()
    output = Path(output) if output else root / "_build" / "papermill" / f"{source.stem}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(output.parent)  # partial notebooks of killed runs
    partial = output.with_name(f".{output.name}.pnlib-{os.getpid()}-run.partial.ipynb")
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
            stdout_file=sys.stdout if stream else None,
            stderr_file=sys.stderr if stream else None,
        )
    except BaseException:
        if partial.exists():
            os.replace(partial, failed_path(output))
        raise
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    nb.metadata.setdefault("pnlib", {})["execution_seconds"] = time.perf_counter() - start
    atomic_write_bytes(output, nbformat.writes(nb).encode())
    partial.unlink(missing_ok=True)
    failed_path(output).unlink(missing_ok=True)
    return output


def failed_path(output: str | os.PathLike) -> Path:
    """Where :func:`execute` puts the partial notebook of a failed execution.

    Args:
        output: The executed notebook's path.

    Returns:
        ``<stem>.failed.ipynb`` beside it.
    """
    output = Path(output)
    return output.with_name(f"{output.stem}.failed.ipynb")


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
    return parse_yaml(text)


def _read_parameters_file(path: str | None) -> dict[str, Any]:
    """Read parameters from a YAML (or JSON) file: a mapping, or an experiment file.

    Args:
        path: The file, or None.

    Returns:
        Parameter names and values.

    Raises:
        ValueError: If the file does not hold a mapping.
    """
    if path is None:
        return {}
    spec = read_yaml(path) or {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must hold a mapping of parameter names to values")
    if "notebook" in spec:
        return read_task(path)[1]
    return dict(spec)


TASK_KEYS = ("notebook", "parameters")
"""The top-level keys of a task file in ``experiments/``; any other is an error."""


def read_task(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Read a task file: the notebook it runs and its parameters.

    Args:
        path: ``experiments/<task>.yaml``.

    Returns:
        The notebook's path (from the project root) and the parameters.

    Raises:
        ValueError: If the file is not a mapping, has a key other than :data:`TASK_KEYS` (a
            misspelled ``parameters:`` is caught here), or lacks either.
    """
    path = Path(path)
    spec = read_yaml(path)
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must hold a mapping with 'notebook:' and 'parameters:'")
    unknown = sorted(set(spec) - set(TASK_KEYS))
    if unknown:
        raise ValueError(
            f"{path.name}: unknown top-level key(s) {unknown}; a task file holds only "
            f"{' and '.join(repr(k + ':') for k in TASK_KEYS)}"
        )
    if not isinstance(spec.get("notebook"), str):
        raise ValueError(f"{path.name} must have a 'notebook:' entry")
    if not isinstance(spec.get("parameters"), dict):
        raise ValueError(f"{path.name} must have a 'parameters:' mapping")
    return project_root() / spec["notebook"], dict(spec["parameters"])


def task_parameters(
    task: str | os.PathLike,
    *,
    smoke: bool = False,
    overrides: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The parameters a task runs with, composed as ``make experiment`` composes them.

    The notebook's defaults, then the task file's parameters, then
    :func:`pnlib.experiment.smoke_parameters` if ``smoke``, then ``overrides``.

    Args:
        task: A task name (``experiments/<task>.yaml``) or the path of a task file.
        smoke: Shrink every size for a smoke run.
        overrides: Parameters given on the command line.

    Returns:
        The notebook, the parameters papermill injects (all but the defaults) and the full set
        the notebook runs with.

    Raises:
        ValueError: If the task does not exist, its file is malformed, or a parameter is not one
            of the notebook's.
    """
    path = Path(task)
    if path.suffix != ".yaml":
        folder = project_root() / "experiments"
        names = sorted(p.stem for p in folder.glob("*.yaml"))
        if str(task) not in names:
            raise ValueError(f"unknown experiment {str(task)!r}; choose one of: {', '.join(names)}")
        path = folder / f"{task}.yaml"
    notebook, injected = read_task(path)
    check_parameters(notebook, injected)
    defaults = parameter_defaults(notebook)
    if smoke:
        from pnlib.experiment import smoke_parameters

        injected.update(smoke_parameters({**defaults, **injected}))
    injected.update(overrides or {})
    check_parameters(notebook, injected)
    return notebook, injected, {**defaults, **injected}


def run_experiment(
    name: str,
    *,
    overrides: dict[str, Any] | None = None,
    smoke: bool = False,
    output: str | os.PathLike | None = None,
    stream: bool = True,
) -> Path:
    """Run ``experiments/<name>.yaml`` through papermill and print what it found.

    The YAML file names the notebook (``notebook:``) and its ``parameters:``. Every parameter
    (the notebook's defaults, the file's, the smoke sizes, the overrides) is checked before the
    kernel starts. The executed copy goes to ``_build/papermill/<name>.ipynb``
    (``<name>-smoke.ipynb`` for a smoke run); the notebook itself writes its results under
    ``results/<task>/<run>/`` (or ``PNLIB_RESULTS``). The notebook's output is streamed to the
    terminal, and a summary of the run is printed at the end.

    Args:
        name: Task name (file stem in ``experiments/``).
        overrides: Parameters that replace the file's.
        smoke: Shrink every size (:data:`pnlib.experiment.SMOKE_PARAMETERS`).
        output: Where the executed notebook goes instead.
        stream: Stream the notebook's output to this process's stdout and stderr.

    Returns:
        The path of the executed notebook.

    Raises:
        ValueError: If the task does not exist, its file is malformed, or a parameter is
            unknown or invalid.
        pnlib.data.DatasetNotFoundError: If the task's dataset is not where it should be (the
            message says which files to put where).
        papermill.PapermillExecutionError: If a cell fails (the partial notebook is written to
            :func:`failed_path`).
    """
    from pnlib import experiment

    root = project_root()
    notebook, injected, full = task_parameters(name, smoke=smoke, overrides=overrides)
    config = experiment.config_from_parameters(full)  # every parameter, before any work
    from pnlib import data

    # a missing dataset is said here, in one line, before a kernel starts
    data.load(config.dataset, root=config.data_root, train=False)
    folder = experiment.results_root_for(bool(full.get("SAVE_RESULTS"))) / config.task / config.run
    stem = f"{name}-smoke" if smoke else name
    output = Path(output) if output else root / "_build" / "papermill" / f"{stem}.ipynb"
    what = " (smoke run)" if smoke else ""
    print(f"== {name}{what}: {notebook.name} -> {output}; results in {folder}", flush=True)
    started = time.time()
    # the chapter's checked claims are about the book's data: on a task they warn (pnlib.claims)
    claims_mode = os.environ.get("PNLIB_CLAIMS")
    os.environ["PNLIB_CLAIMS"] = "warn"
    try:
        path = execute(notebook, output, parameters=injected, stream=stream)
    except Exception:
        print(f"== {name} failed; the partial notebook is {failed_path(output)}", flush=True)
        raise
    finally:
        if claims_mode is None:
            os.environ.pop("PNLIB_CLAIMS", None)
        else:
            os.environ["PNLIB_CLAIMS"] = claims_mode
    found = folder / "metrics.json"
    if found.is_file() and found.stat().st_mtime >= started - 1:
        print(experiment.summary(read_json(found), folder, path), flush=True)
    else:
        print(f"== {name}: executed notebook {path} (no new metrics.json in {folder})")
    return path


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
    exp.add_argument(
        "--smoke", action="store_true", help="shrink every size: any task runs in minutes on a CPU"
    )
    exp.add_argument("--out", default=None, help="the executed notebook (default under _build)")
    sub.add_parser("book", help="build the HTML book")
    sub.add_parser("check-sources", help="check the layout rules of notebooks/")
    sub.add_parser("exercises", help="regenerate exercise notebooks from solutions")
    bench = sub.add_parser("bench", help="run every benchmarks/bench_*.py")
    bench.add_argument("extra", nargs="*")
    args = parser.parse_args(argv)

    if getattr(args, "log_output", False):
        logging.basicConfig(level=logging.INFO, format="%(message)s")
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
        try:
            run_experiment(args.name, overrides=overrides, smoke=args.smoke, output=args.out)
        except (ValueError, FileNotFoundError) as error:  # the message says what and where
            print(f"error: {error}", file=sys.stderr)
            return 2
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
