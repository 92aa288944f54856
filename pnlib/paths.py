"""Project paths and atomic file writes.

Every tool runs notebooks in a different working directory (Jupyter Book in the notebook's
folder, papermill in the caller's, nbval in the notebook's), so nothing in the project uses a
bare relative path: everything is resolved from :func:`project_root`.

Writes that must survive an interruption go through :func:`atomic_write_bytes` and friends: the
content is written to a temporary file in the same folder and moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows, so a reader sees the old file or the
new one, never half of one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
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
    """Return ``<root>/results``, where runs write ``<task>/<run>/metrics.json``.

    Returns:
        The results folder (it may not exist yet).
    """
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


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that the file is either complete or untouched.

    Args:
        path: Destination file; its folder is created if missing.
        data: Content.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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
