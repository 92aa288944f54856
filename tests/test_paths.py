import os
import threading

import pytest

from pnlib import paths


def test_project_root_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = paths.project_root()
    assert (root / "pyproject.toml").is_file()
    assert (root / "pnlib" / "paths.py").is_file()


def test_project_root_override(tmp_path, monkeypatch):
    monkeypatch.setenv("PNLIB_ROOT", str(tmp_path))
    assert paths.project_root() == tmp_path.resolve()


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("PNLIB_DATA", raising=False)
    assert paths.data_root() == paths.project_root() / "data"
    monkeypatch.setenv("PNLIB_DATA", str(tmp_path / "env"))
    assert paths.data_root() == (tmp_path / "env").resolve()
    assert paths.data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()


def test_write_json_roundtrip_and_refuses_nan(tmp_path):
    target = tmp_path / "sub" / "m.json"
    paths.write_json(target, {"a": [1, 2.5], "b": None})
    assert paths.read_json(target) == {"a": [1, 2.5], "b": None}
    with pytest.raises(ValueError):
        paths.write_json(target, {"a": float("nan")})
    # the failed write left the previous content intact and no temporary file behind
    assert paths.read_json(target) == {"a": [1, 2.5], "b": None}
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.json"]


def test_atomic_write_is_never_partial(tmp_path):
    target = tmp_path / "big.bin"
    old, new = b"a" * 2_000_000, b"b" * 2_000_000
    paths.atomic_write_bytes(target, old)
    seen = []

    def reader():
        for _ in range(200):
            seen.append(target.read_bytes() in (old, new))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(20):
        paths.atomic_write_bytes(target, new)
        paths.atomic_write_bytes(target, old)
    thread.join()
    assert all(seen)


def test_interrupted_write_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    paths.atomic_write_bytes(target, b"old")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        paths.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_torch_save_atomic_roundtrip(tmp_path):
    import torch

    state = {"w": torch.arange(5.0)}
    path = paths.torch_save(state, tmp_path / "c.pt")
    assert torch.equal(torch.load(path)["w"], state["w"])
