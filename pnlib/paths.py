"""Project paths and atomic file writes.

Every tool runs notebooks in a different working directory (Jupyter Book in the notebook's
folder, papermill in the caller's, nbval in the notebook's), so nothing in the project uses a
bare relative path: everything is resolved from :func:`project_root`.

Writes that must survive an interruption go through :func:`atomic_write_bytes` and friends: the
content is written to a temporary file in the same folder and moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows, so a reader sees the old file or the
new one, never half of one. The temporary file's name holds the writer's process id, so that
:func:`clean_stale_temporaries` can remove what a killed writer left behind without touching the
temporaries of a writer that is still running; the final file gets the permissions of a normal
``open()`` (``0666`` less the umask, so ``0644`` under the usual umask ``022``), readable by the
group on a shared machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

MARKER = "pyproject.toml"
"""A file that marks the project root (checked together with the ``pnlib`` folder)."""


def project_root(start: str | os.PathLike | None = None) -> Path:
    """Return the root of the project checkout, whatever the working directory.

    The search walks up from ``start`` (default: the current directory) and then from this
    file's folder, looking for a folder that holds both ``pyproject.toml`` and ``pnlib/``.
    The environment variable ``PNLIB_ROOT`` overrides the search.

    Args:
        start: Folder to start from.

    Returns:
        The absolute path of the project root.

    Raises:
        FileNotFoundError: If no folder above ``start`` or above this file is a project root.

    Example:
        >>> (project_root() / "pnlib" / "paths.py").is_file()
        True
    """
    override = os.environ.get("PNLIB_ROOT")
    if override:
        return Path(override).resolve()
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / MARKER).is_file() and (folder / "pnlib").is_dir():
                return folder
    raise FileNotFoundError(
        f"no project root (a folder with {MARKER} and pnlib/) above {candidates[0]}; "
        "set PNLIB_ROOT to the checkout"
    )


def results_dir() -> Path:
    """Return the folder where runs write ``<task>/<run>/metrics.json``.

    ``PNLIB_RESULTS`` overrides the default ``<root>/results`` (the curated results).

    Returns:
        The results folder (it may not exist yet).
    """
    override = os.environ.get("PNLIB_RESULTS")
    if override:
        return Path(override).expanduser().resolve()
    return project_root() / "results"


def cache_dir() -> Path:
    """Return the folder for bulky, regenerable files (checkpoints, generated datasets).

    ``PNLIB_CACHE`` overrides the default ``<root>/_build/cache``.

    Returns:
        The cache folder, created if missing.
    """
    folder = Path(os.environ.get("PNLIB_CACHE") or project_root() / "_build" / "cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Return the folder that holds the paper's datasets (CIFAR, TinyImageNet).

    Precedence: the ``root`` argument, then ``PNLIB_DATA``, then ``<root>/data``.

    Args:
        root: Explicit folder, as given by a user or a papermill parameter.

    Returns:
        The data folder (it may not exist).
    """
    if root is not None:
        return Path(root).expanduser().resolve()
    if os.environ.get("PNLIB_DATA"):
        return Path(os.environ["PNLIB_DATA"]).expanduser().resolve()
    return project_root() / "data"


def figures_dir(notebook: str) -> Path:
    """Return ``<root>/figures/<notebook>``, where figures are saved when asked for.

    Args:
        notebook: Stem of the notebook the figure belongs to.

    Returns:
        The folder, created if missing.
    """
    folder = project_root() / "figures" / notebook
    folder.mkdir(parents=True, exist_ok=True)
    return folder


TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files of :func:`atomic_write_bytes`."""

_TEMP = re.compile(r"\.pnlib-(\d+)-[^/]*\.(tmp|partial\.ipynb)$")


def temporary_prefix(path: str | os.PathLike) -> str:
    """Prefix of the temporary files written for ``path`` by this process.

    Args:
        path: The destination file.

    Returns:
        ``.<name>.pnlib-<pid>-`` (the process id lets :func:`clean_stale_temporaries` tell a
        killed writer's leftovers from a running writer's files).
    """
    return f".{Path(path).name}.pnlib-{os.getpid()}-"


def _umask() -> int:
    # Linux: read it without changing it (os.umask would, for a moment, in every thread)
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions of a newly written result file: those of ``open()``, ``0666`` less the umask.

    Returns:
        The mode (``0o644`` under the usual umask ``022``).
    """
    return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that the file is either complete or untouched.

    The file gets the permissions of :func:`file_mode` (``tempfile.mkstemp`` alone would leave
    it ``0600``, unreadable by the group).

    Args:
        path: Destination file; its folder is created if missing.
        data: Content.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # POSIX; elsewhere the default is already readable
                os.fchmod(handle.fileno(), file_mode())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine.

    Args:
        pid: Process id.

    Returns:
        True if it exists (or exists under another user).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def clean_stale_temporaries(*folders: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folders``.

    A temporary of :func:`atomic_write_bytes` (or a partial notebook of :mod:`pnlib.runner`)
    carries its writer's process id; it is removed only when that process is gone, so a writer
    that is still running in the same folder keeps its file.

    Args:
        *folders: Folders to clean (missing ones are skipped).
        recursive: Also clean their subfolders.

    Returns:
        The files removed.
    """
    removed = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for candidate in folder.rglob(".*") if recursive else folder.glob(".*"):
            match = _TEMP.search(candidate.name)
            if match and candidate.is_file() and not pid_alive(int(match.group(1))):
                with contextlib.suppress(FileNotFoundError):  # another cleaner got there first
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def move_aside(path: str | os.PathLike, problem: str) -> Path:
    """Move a damaged file out of the way, with a warning that names it, so it can be rebuilt.

    Args:
        path: The damaged file.
        problem: What is wrong with it (for the warning).

    Returns:
        Where the file went: ``<name>.corrupt-<timestamp>`` beside it.
    """
    path = Path(path)
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    counter = 0
    while target.exists():
        counter += 1
        target = target.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{counter}")
    os.replace(path, target)
    warnings.warn(
        f"{path} is unreadable ({problem}); moved it to {target.name} and computing it again",
        RuntimeWarning,
        stacklevel=2,
    )
    return target


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically.

    Args:
        path: Destination file.
        obj: JSON-serialisable object (NaN and infinities are refused).

    Returns:
        The destination path.

    Example:
        >>> import tempfile, pathlib
        >>> p = write_json(pathlib.Path(tempfile.mkdtemp()) / "a.json", {"x": 1})
        >>> read_json(p)
        {'x': 1}
    """
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write_bytes(path, text.encode())


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file.

    Args:
        path: File to read.

    Returns:
        The decoded object.
    """
    return json.loads(Path(path).read_text())


_YAML12 = {
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    "tag:yaml.org,2002:int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    "tag:yaml.org,2002:float": (
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
}


def _yaml_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        """PyYAML's safe loader with the scalars of YAML 1.2's core schema.

        PyYAML implements YAML 1.1, where ``1e-4`` (no dot) is a string, ``on``/``no`` are
        booleans and ``1:30`` is the integer 90; here ``1e-4`` is a float, only ``true`` and
        ``false`` are booleans, and dates stay strings.
        """

    keep = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in rules if tag in keep]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for tag, (pattern, first) in _YAML12.items():
        Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))
    return Loader


def parse_yaml(text: str) -> Any:
    r"""Parse YAML text with the scalars of YAML 1.2 (``1e-4`` is a float, ``no`` a string).

    Args:
        text: The YAML document.

    Returns:
        The decoded object.

    Example:
        >>> parse_yaml("L1: 5e-5\nEPOCHS: 10\nEXACT: no\nEPS: null\nON: true")
        {'L1': 5e-05, 'EPOCHS': 10, 'EXACT': 'no', 'EPS': None, 'ON': True}
    """
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file with :func:`parse_yaml`.

    Args:
        path: File to read.

    Returns:
        The decoded object.
    """
    return parse_yaml(Path(path).read_text())


def torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` made atomic: an interrupted save never leaves a truncated checkpoint.

    Args:
        obj: Object to save (a state dict, usually).
        path: Destination file.

    Returns:
        The destination path.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())
