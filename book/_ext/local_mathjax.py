"""Serve MathJax 3 from the built book itself, so formulas render with no network.

The MathJax files come from a registry package (``django-static-mathjax``, MathJax 3.2.2, installed
by ``requirements.txt``); the parts the CommonHTML output needs are copied to
``_static/mathjax/`` and ``mathjax_path`` points there instead of a CDN.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

COMPONENT = "tex-chtml-full.js"
# the single combined component we load, plus what it fetches on demand (fonts, menu, a11y)
PARTS = (COMPONENT, "output/chtml/fonts", "ui", "a11y", "sre", "input/tex/extensions")


def mathjax_source() -> Path:
    """Folder of the packaged MathJax ``es5`` build.

    Returns:
        The folder inside the installed ``django-static-mathjax`` package.
    """
    return Path(str(resources.files("mathjax"))) / "static" / "mathjax" / "es5"


def _use_local_path(app, config) -> None:
    config.mathjax_path = f"mathjax/{COMPONENT}"


def _copy_files(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def setup(app):
    """Register the extension with Sphinx.

    Args:
        app: The Sphinx application.

    Returns:
        Extension metadata (parallel-safe).

    Raises:
        RuntimeError: If the packaged MathJax build is missing.
    """
    if not (mathjax_source() / COMPONENT).is_file():
        raise RuntimeError(
            "MathJax is missing: `pip install django-static-mathjax` (see requirements.txt)"
        )
    app.connect("config-inited", _use_local_path, priority=900)
    app.connect("build-finished", _copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
