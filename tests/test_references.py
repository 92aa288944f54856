"""The repository stands alone: every file path its sources, docs and configs name exists in it.

Paths are found as ``dir/…/name.ext`` (looked up from the root and from the naming file's folder)
and as bare ``name.md`` (looked up anywhere in the tree). Generated outputs (``_build/``,
``results/``, datasets) and paths in other projects' layouts are listed with the reason.
"""

import re
import subprocess
from pathlib import Path

from pnlib.paths import project_root

ROOT = project_root().resolve()
SUFFIXES = r"py|md|yaml|yml|json|toml|ipynb|txt|cfg|bib|csv|npz|pt|html|sh"
PATH = re.compile(rf"(?<![\w/.$<{{*-])((?:\.\./|\./)?(?:[\w.-]+/)+[\w.-]+\.(?:{SUFFIXES}))\b")
BARE_MD = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")
GENERATED = ("_build/", "results/", "data/", "tmp", "site-packages", "://")
ELSEWHERE = {
    "configs/FC_l1.yml": "a file of the authors' repository, named as theirs",
    "val/val_annotations.txt": "TinyImageNet's own layout, read by pnlib.data",
    "notebooks/ex/NN_topic_sol_KK.py": "the naming pattern of coursework notebooks",
    "notebooks/02_y.py": "a notebook a test writes into a temporary project",
    "summary.md": "written by make gpu-check under results/gpu-check/<device>/",
}
SCANNED = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".bib", ""}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in out.stdout.split() if (ROOT / name).is_file()]


def test_every_named_file_exists():
    files = tracked_files()
    names = {p.name for p in files}
    missing = {}
    for path in files:
        if path.suffix not in SCANNED or path == Path(__file__):
            continue
        text = path.read_text(errors="replace")
        for ref in PATH.findall(text):
            if any(g in ref for g in GENERATED) or ref in ELSEWHERE:
                continue
            inside = [p.resolve() for p in (ROOT / ref, path.parent / ref)]
            if not any(p.is_relative_to(ROOT) and p.exists() for p in inside):
                missing.setdefault(ref, path.relative_to(ROOT).as_posix())
        for ref in BARE_MD.findall(text):
            if ref not in names and ref not in ELSEWHERE:
                missing.setdefault(ref, path.relative_to(ROOT).as_posix())
    assert not missing, f"files named but not in the repository (name: where): {missing}"
