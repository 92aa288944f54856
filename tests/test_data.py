"""Tests of pnlib.data: embedded datasets, the paper's on-disk formats, clear offline errors."""

import dataclasses
import hashlib
import pickle
import socket
import tarfile
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from pnlib import data

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torchvision

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture
def offline(monkeypatch):
    """No network: any download attempt would be a bug, so the probe answers False."""
    calls = []

    def fake(*args, **kwargs):
        calls.append(args)
        return False

    monkeypatch.setattr(data, "network_available", fake)
    return calls


# ---------------------------------------------------------------------------- names, info


def test_unknown_dataset_lists_choices():
    for call in (lambda: data.load("imagenet"), lambda: data.info("imagenet")):
        with pytest.raises(ValueError, match="digits, mnist1d, cifar10, cifar100, tinyimagenet"):
            call()


def test_info_is_frozen_and_complete():
    assert set(data.DATASETS) >= set(data.EMBEDDED)
    for name in data.DATASETS:
        meta = data.info(name)
        assert meta.name == name and meta.embedded == (name in data.EMBEDDED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.info("digits").num_classes = 3
    assert data.info("CIFAR100").num_classes == 100
    assert data.info("tinyimagenet").in_shape == (3, 64, 64)


# ---------------------------------------------------------------------------- digits


def test_digits_split_sizes_types_and_info():
    train, test = data.load("digits", train=True), data.load("digits", train=False)
    assert isinstance(train, TensorDataset)
    meta = data.info("digits")
    for split, n in ((train, meta.num_train), (test, meta.num_test)):
        x, y = split.tensors
        assert x.shape == (n, *meta.in_shape) and x.dtype == torch.float32
        assert y.dtype == torch.int64 and set(y.tolist()) == set(range(meta.num_classes))
    assert meta.num_train + meta.num_test == 1797


def test_digits_stratified_and_standardised():
    from sklearn.datasets import load_digits

    _, y_all = load_digits(return_X_y=True)
    full = np.bincount(y_all, minlength=10)
    x_tr, y_tr = data.load("digits").tensors
    _, y_te = data.load("digits", train=False).tensors
    test_counts = np.bincount(y_te.numpy(), minlength=10)
    np.testing.assert_array_equal(np.bincount(y_tr.numpy(), minlength=10) + test_counts, full)
    # stratified: every class is held out in proportion 0.2, up to rounding
    assert np.all(np.abs(test_counts - data.DIGITS_TEST_FRACTION * full) <= 1)
    # standardised with training statistics: each training column has mean 0 and std 1, or is
    # constant 0 (pixels blank in every training image)
    x = x_tr.double()
    mean, std = x.mean(0), x.std(0, unbiased=False)
    assert torch.allclose(mean, torch.zeros(64, dtype=torch.float64), atol=1e-6)
    blank = std < 1e-12
    assert torch.allclose(std[~blank], torch.ones_like(std[~blank]), atol=1e-6)
    assert torch.all(x[:, blank] == 0) and 0 < blank.sum() < 10


def test_digits_split_is_deterministic_and_copied():
    first = data.load("digits", train=False).tensors[0].clone()
    data._digits_arrays.cache_clear()
    again = data.load("digits", train=False)
    torch.testing.assert_close(again.tensors[0], first, rtol=0, atol=0)
    again.tensors[0].zero_()  # a caller's change does not leak into the next load
    torch.testing.assert_close(data.load("digits", train=False).tensors[0], first, rtol=0, atol=0)


# ---------------------------------------------------------------------------- mnist1d


@pytest.mark.slow
def test_mnist1d_matches_the_package_caches_and_keeps_global_rng(tmp_path, monkeypatch):
    from mnist1d.data import get_dataset_args, make_dataset

    monkeypatch.setenv("PNLIB_DATA", str(tmp_path))
    cache = data.mnist1d_cache_path()
    assert cache.parent == tmp_path / "mnist1d" and not cache.exists()
    np.random.seed(7)
    expected_next = np.random.rand()
    np.random.seed(7)
    train, test = data.load("mnist1d"), data.load("mnist1d", train=False)  # generates
    assert np.random.rand() == expected_next  # the generator's global seeding was undone
    assert cache.is_file() and not list(cache.parent.glob(".*.tmp"))
    reference = make_dataset(get_dataset_args())  # default args, seed 42
    meta = data.info("mnist1d")
    for split, xs, ys, n in (
        (train, reference["x"], reference["y"], meta.num_train),
        (test, reference["x_test"], reference["y_test"], meta.num_test),
    ):
        x, y = split.tensors
        assert x.shape == (n, 1, 40) and x.dtype == torch.float32 and y.dtype == torch.int64
        np.testing.assert_array_equal(x[:, 0].numpy(), xs.astype(np.float32))
        np.testing.assert_array_equal(y.numpy(), ys)

    data._mnist1d_arrays.cache_clear()
    np.testing.assert_array_equal(data.load("mnist1d").tensors[0], train.tensors[0])  # from disk
    cache.write_bytes(b"damaged")  # a damaged cache is regenerated and rewritten
    data._mnist1d_arrays.cache_clear()
    np.testing.assert_array_equal(data.load("mnist1d").tensors[0], train.tensors[0])
    with np.load(cache) as stored:
        np.testing.assert_array_equal(stored["y_test"], reference["y_test"])


# ---------------------------------------------------------------------------- helpers


def test_tensors_and_loader_are_deterministic():
    train = data.load("digits")
    x, y = data.tensors(train)
    assert x is train.tensors[0] and y is train.tensors[1]
    orders = []
    for seed in (3, 3, 4):
        batches = list(data.loader(train, 100, shuffle=True, seed=seed))
        assert sum(len(b[1]) for b in batches) == len(train)
        orders.append(torch.cat([b[1] for b in batches]))
    assert torch.equal(orders[0], orders[1]) and not torch.equal(orders[0], orders[2])
    plain = torch.cat([b[1] for b in data.loader(train, 100, shuffle=False)])
    assert torch.equal(plain, y)
    for bad in ({"batch_size": 0}, {"batch_size": 4, "num_workers": -1}):
        with pytest.raises(ValueError):
            data.loader(train, shuffle=False, **bad)


def test_seed_worker_follows_torch_seed():
    torch.manual_seed(123)
    data.seed_worker(0)
    got = np.random.rand()
    np.random.seed(123)
    assert got == np.random.rand()


def test_network_probe_local_socket():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert data.network_available(("127.0.0.1", port), timeout=1.0)
    finally:
        server.close()
    assert not data.network_available(("127.0.0.1", port), timeout=1.0)


# ---------------------------------------------------------------------------- CIFAR


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _write_cifar(root, key, rng, *, train_per_file=2, test_per_file=3):
    """Write tiny CIFAR files in torchvision's layout; return (class, per-file images, labels)."""
    cls = torchvision.datasets.CIFAR10 if key == "cifar10" else torchvision.datasets.CIFAR100
    folder = root / cls.base_folder
    folder.mkdir(parents=True)
    label_key = "labels" if key == "cifar10" else "fine_labels"
    num_classes = data.info(key).num_classes
    written, test_names = {}, {name for name, _ in cls.test_list}
    for i, (name, _) in enumerate([*cls.train_list, *cls.test_list]):
        n = test_per_file if name in test_names else train_per_file
        images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, num_classes, size=n)]
        entry = {"data": images, label_key: labels, "filenames": [f"{i}_{j}.png" for j in range(n)]}
        if key == "cifar100":
            entry["coarse_labels"] = [v // 5 for v in labels]
        (folder / name).write_bytes(pickle.dumps(entry))
        written[name] = (images, labels)
    names = [f"class{c}" for c in range(num_classes)]
    (folder / cls.meta["filename"]).write_bytes(pickle.dumps({cls.meta["key"]: names}))
    return cls, folder, written


def _trust_written_files(monkeypatch, cls, folder):
    """Expect the tiny files' checksums, so that torchvision's real check runs and passes."""
    monkeypatch.setattr(cls, "train_list", [[f, _md5(folder / f)] for f, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[f, _md5(folder / f)] for f, _ in cls.test_list])
    meta = dict(cls.meta, md5=_md5(folder / cls.meta["filename"]))
    monkeypatch.setattr(cls, "meta", meta)


@pytest.mark.parametrize("key", ["cifar10", "cifar100"])
def test_cifar_loads_tiny_files_with_authors_transforms(tmp_path, monkeypatch, offline, key):
    rng = np.random.default_rng(0)
    cls, folder, written = _write_cifar(tmp_path, key, rng)
    _trust_written_files(monkeypatch, cls, folder)
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in data.NORMALISATION[key])

    test = data.load(key, root=tmp_path, train=False)
    images, labels = written[cls.test_list[0][0]]
    assert len(test) == 3 and len(test.classes) == data.info(key).num_classes
    for i in range(3):
        x, y = test[i]
        raw = torch.tensor(images[i].reshape(3, 32, 32), dtype=torch.float32) / 255
        assert y == labels[i] and x.shape == (3, 32, 32) and x.dtype == torch.float32
        torch.testing.assert_close(x, (raw - mean) / std, rtol=0, atol=1e-5)

    train = data.load(key, root=tmp_path, train=True)
    assert len(train) == sum(len(written[f][1]) for f, _ in cls.train_list)
    first_images, first_labels = written[cls.train_list[0][0]]
    raw = torch.tensor(first_images[0].reshape(3, 32, 32), dtype=torch.float32) / 255
    padded = torch.nn.functional.pad(raw, (4, 4, 4, 4))
    candidates = [
        view[:, r : r + 32, c : c + 32]
        for view in (padded, padded.flip(-1))
        for r in range(9)
        for c in range(9)
    ]
    torch.manual_seed(0)
    draws = []
    for _ in range(6):  # every augmented copy is a crop of the padded image, maybe mirrored
        x, y = train[0]
        assert y == first_labels[0]
        seen = x * std + mean
        errors = [(seen - cand).abs().max().item() for cand in candidates]
        assert min(errors) < 1e-5
        draws.append(int(np.argmin(errors)))
    # the augmentation is random: 6 draws from 162 crops/flips all equal with chance 162**-5
    assert len(set(draws)) > 1
    assert not offline  # the files were complete: no download was considered


def test_cifar_archive_is_extracted_offline(tmp_path, monkeypatch, offline):
    rng = np.random.default_rng(1)
    built = tmp_path / "built"
    cls, folder, written = _write_cifar(built, "cifar10", rng)
    _trust_written_files(monkeypatch, cls, folder)
    root = tmp_path / "root"
    root.mkdir()
    archive = root / cls.filename
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=cls.base_folder)
    monkeypatch.setattr(cls, "tgz_md5", _md5(archive))
    test = data.load("cifar10", root=root, train=False)
    assert len(test) == 3 and test.targets == written["test_batch"][1]
    assert not offline  # a verified archive needs no network probe


def test_cifar_wrong_checksums_are_reported(tmp_path, offline):
    _write_cifar(tmp_path, "cifar10", np.random.default_rng(2))  # real MD5s expected: mismatch
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load("cifar10", root=tmp_path)
    message = str(info.value)
    assert "missing: data_batch_3" in message
    assert "wrong MD5 checksum" in message and "test_batch" in message
    with pytest.raises(data.DatasetNotFoundError):  # download=False never probes the network
        data.load("cifar10", root=tmp_path, download=False)
    assert len(offline) == 1


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cifar10", ["cifar-10-batches-py", "data_batch_5", "cifar-10-python.tar.gz"]),
        ("cifar100", ["cifar-100-python", "train", "meta", "cifar-100-python.tar.gz"]),
        ("tinyimagenet", ["tiny-imagenet-200", "wnids.txt", "val_annotations.txt"]),
    ],
)
def test_missing_root_raises_clear_error_quickly(tmp_path, offline, key, expected):
    root = tmp_path / "nothing-here"
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load(key, root=root)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(root) in message and "PNLIB_DATA" in message
    for piece in expected:
        assert piece in message
    # the network was probed once for CIFAR (and found missing), never for TinyImageNet, and
    # nothing was downloaded or written
    assert len(offline) == (1 if key.startswith("cifar") else 0)
    assert not root.exists()


def test_missing_root_reads_pnlib_data(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("PNLIB_DATA", str(tmp_path / "env-root"))
    with pytest.raises(data.DatasetNotFoundError, match="env-root"):
        data.load("cifar10")


# ---------------------------------------------------------------------------- TinyImageNet

WNIDS = ["n09999999", "n01443537"]  # unsorted on purpose: classes are the sorted ids
COLOURS = {"n01443537": (200, 30, 40), "n09999999": (20, 180, 90)}


def _write_tiny(root, *, per_class=3):
    base = root / "tiny-imagenet-200"
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    for wnid in WNIDS:
        images = base / "train" / wnid / "images"
        images.mkdir(parents=True)
        for j in range(per_class):
            PIL.new("RGB", (64, 64), COLOURS[wnid]).save(images / f"{wnid}_{j}.JPEG", quality=95)
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    # one grey PNG training image among the JPEGs: converted to RGB
    PIL.new("L", (64, 64), 128).save(base / "train" / WNIDS[0] / "images" / "grey.png")
    lines = []
    for j, wnid in enumerate(["n01443537", "n09999999", "n09999999", "n01443537"]):
        PIL.new("RGB", (64, 64), COLOURS[wnid]).save(base / "val" / "images" / f"val_{j}.JPEG")
        lines.append(f"val_{j}.JPEG\t{wnid}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return base


def test_tinyimagenet_reads_the_standard_layout(tmp_path, offline):
    base = _write_tiny(tmp_path)
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in data.NORMALISATION["tinyimagenet"])
    val = data.load("tinyimagenet", root=tmp_path, train=False)
    assert val.classes == sorted(WNIDS)
    assert val.targets == [0, 1, 1, 0]  # from val_annotations.txt, not from the file order
    for x, y in (val[i] for i in range(len(val))):
        assert x.shape == (3, 64, 64) and x.dtype == torch.float32
        colour = torch.tensor(COLOURS[val.classes[y]], dtype=torch.float32).view(3, 1, 1) / 255
        assert ((x * std + mean) - colour).abs().max() < 3 / 255  # JPEG of a flat colour
    stacked, targets = data.tensors(val)
    assert stacked.shape == (4, 3, 64, 64) and targets.tolist() == [0, 1, 1, 0]

    train = data.load("tinyimagenet", root=tmp_path, train=True)
    assert len(train) == 7 and sorted(train.targets) == [0, 0, 0, 1, 1, 1, 1]
    grey = [i for i, (p, _) in enumerate(train.samples) if p.name == "grey.png"]
    x, y = train[grey[0]]
    assert y == 1 and x.shape == (3, 64, 64)
    # the same folder given directly works too, without transforms
    raw = data.TinyImageNet(base, train=False)
    image, label = raw[0]
    assert image.mode == "RGB" and image.size == (64, 64) and label == 0


def test_tinyimagenet_missing_pieces_are_named(tmp_path, offline):
    base = _write_tiny(tmp_path)
    (base / "val" / "val_annotations.txt").unlink()
    with pytest.raises(data.DatasetNotFoundError, match="val_annotations.txt"):
        data.load("tinyimagenet", root=tmp_path, train=False)
    data.load("tinyimagenet", root=tmp_path, train=True)  # the training split is still complete
    for image in (base / "train" / WNIDS[1] / "images").iterdir():
        image.unlink()
    with pytest.raises(data.DatasetNotFoundError, match=f"train/{WNIDS[1]}/images"):
        data.load("tinyimagenet", root=tmp_path, train=True)


def test_image_transform_rejects_embedded():
    with pytest.raises(ValueError, match="cifar10, cifar100, tinyimagenet"):
        data.image_transform("digits", train=True)


def test_random_crop_flip_draws_from_its_own_generator():
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).reshape(3, 8, 8)
    first = data.RandomCropFlip(8, 2, torch.Generator().manual_seed(1))
    second = data.RandomCropFlip(8, 2, torch.Generator().manual_seed(1))
    state = torch.get_rng_state()
    a = [first(image) for _ in range(40)]
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is left alone
    torch.manual_seed(99)
    b = [second(image) for _ in range(40)]
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
    views = [
        view[:, r : r + 8, c : c + 8]
        for view in (padded, padded.flip(-1))
        for r in range(5)
        for c in range(5)
    ]
    found = [next(i for i, v in enumerate(views) if torch.equal(u, v)) for u in a]
    assert len(set(found)) > 5 and min(found) < 25 <= max(found)  # crops, with and without flip
