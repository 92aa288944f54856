r"""Datasets: the embedded ones that always work offline, and the paper's.

Two datasets ship with the installed packages and need neither files nor network, so the book
and the tests always run:

- ``"digits"``: scikit-learn's handwritten digits (1,797 grey 8x8 images), split once into
  80 % training and 20 % test images, stratified by class with a fixed seed, every pixel
  standardised with the training set's mean and standard deviation;
- ``"mnist1d"``: MNIST-1D (Greydanus 2020), generated procedurally by the ``mnist1d`` package
  with its default arguments (5,000 sequences of length 40, seed 42, 4,000 for training), shaped
  ``(1, 40)`` so that both an MLP (which flattens) and a ``Conv1d`` network take it. The arrays
  are cached under the data folder (:func:`mnist1d_cache_path`) after the first generation.

The paper's datasets are read from disk (``root``, else ``PNLIB_DATA``, else ``<project>/data``;
see :func:`pnlib.paths.data_root`):

- ``"cifar10"``, ``"cifar100"``: torchvision's classes, with the authors' normalisation
  (CIFAR-10 mean (0.491, 0.482, 0.447), std (0.247, 0.243, 0.262); CIFAR-100 mean
  (0.507, 0.487, 0.441), std (0.267, 0.256, 0.276)) and their training augmentation (random
  32x32 crop of the image padded by 4, random horizontal flip). They are downloaded only when the
  download server answers within a second;
- ``"tinyimagenet"``: 200 classes of 64x64 colour images read from the standard
  ``tiny-imagenet-200`` folder (:class:`TinyImageNet`); never downloaded.

When the files are missing and cannot be downloaded, :func:`load` raises
:class:`DatasetNotFoundError` within seconds, saying which files to put where.

**Augmentation is for training only.** ``load(name, train=True)`` gives the training split with
the training augmentation; ``load(name, train=True, augment=False)`` gives the same images in
the same order without it, which is what every measurement of a trained network (losses, the
Hessian, $\epsilon$) must see. The augmentation draws from the ``generator`` passed to
:func:`load` (:class:`RandomCropFlip`), never from torch's global generator, so a training run
that saves the generator's state with its checkpoint resumes exactly.
"""

from __future__ import annotations

import functools
import io
import os
import random
import socket
import threading
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset

from pnlib.paths import atomic_write_bytes, data_root

DATASETS = ("digits", "mnist1d", "cifar10", "cifar100", "tinyimagenet")
"""Names accepted by :func:`load` and :func:`info`."""

EMBEDDED = ("digits", "mnist1d")
"""Datasets that need no files and no network."""

DIGITS_SEED = 0
"""Seed of the stratified 80/20 split of the digits."""

DIGITS_TEST_FRACTION = 0.2
"""Fraction of the digits held out for testing."""

MNIST1D_SEED = 42
"""Seed of the MNIST-1D generator (the package's default)."""

NORMALISATION = {
    "cifar10": ((0.491, 0.482, 0.447), (0.247, 0.243, 0.262)),
    "cifar100": ((0.507, 0.487, 0.441), (0.267, 0.256, 0.276)),
    "tinyimagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
"""Per-channel (mean, std) for the image datasets.

The CIFAR values are the authors' (their data loader). Their code has no TinyImageNet loader, so
TinyImageNet uses the usual ImageNet statistics, a choice of this project.
"""

DOWNLOAD_HOST = ("www.cs.toronto.edu", 443)
"""Server of the CIFAR archives, probed by :func:`network_available`."""

TINYIMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
"""Where TinyImageNet is published (it is never downloaded automatically)."""

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
"""File suffixes (lower case) read as images in the TinyImageNet folders."""


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are missing or corrupted and cannot be downloaded."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset, available without loading it.

    Attributes:
        name: The dataset's name in :data:`DATASETS`.
        num_classes: Number of classes.
        in_shape: Shape of one input, without the batch dimension.
        num_train: Number of training examples.
        num_test: Number of test examples.
        embedded: Whether it ships with the installed packages (no files, no network).
    """

    name: str
    num_classes: int
    in_shape: tuple[int, ...]
    num_train: int
    num_test: int
    embedded: bool


_INFO = {
    "digits": DatasetInfo("digits", 10, (64,), 1437, 360, True),
    "mnist1d": DatasetInfo("mnist1d", 10, (1, 40), 4000, 1000, True),
    "cifar10": DatasetInfo("cifar10", 10, (3, 32, 32), 50000, 10000, False),
    "cifar100": DatasetInfo("cifar100", 100, (3, 32, 32), 50000, 10000, False),
    "tinyimagenet": DatasetInfo("tinyimagenet", 200, (3, 64, 64), 100000, 10000, False),
}


def _check_name(name: str) -> str:
    """Return ``name`` in lower case if it is a known dataset.

    Args:
        name: A dataset name.

    Returns:
        The normalised name.

    Raises:
        ValueError: If the name is unknown.
    """
    key = str(name).lower()
    if key not in _INFO:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def info(name: str) -> DatasetInfo:
    """Return the facts about a dataset (classes, input shape, sizes) without loading it.

    Args:
        name: One of :data:`DATASETS`.

    Returns:
        The dataset's :class:`DatasetInfo`.

    Example:
        >>> info("digits").in_shape, info("digits").num_train
        ((64,), 1437)
    """
    return _INFO[_check_name(name)]


def network_available(host: tuple[str, int] = DOWNLOAD_HOST, timeout: float = 1.0) -> bool:
    """Return whether a TCP connection to ``host`` opens within ``timeout`` seconds.

    The name lookup has no timeout of its own, so the probe runs in a daemon thread and is
    abandoned after ``timeout`` seconds: the answer never takes much longer than that.

    Args:
        host: ``(hostname, port)`` to connect to.
        timeout: Seconds to wait.

    Returns:
        True if the connection opened.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(host, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def load(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool | None = None,
    augment: bool | None = None,
    generator: torch.Generator | None = None,
) -> Dataset:
    """Return the training or test split of a dataset as a torch ``Dataset``.

    Items are ``(input, label)`` pairs: a float32 tensor of shape ``info(name).in_shape`` and an
    integer class. The embedded datasets come as :class:`torch.utils.data.TensorDataset` (their
    ``.tensors`` hold all inputs and labels at once); the image datasets apply their transforms
    (normalisation, and the training augmentation when ``train``) on each access.

    Args:
        name: One of :data:`DATASETS`.
        root: Folder holding the paper's datasets (see :func:`pnlib.paths.data_root`); for
            MNIST-1D, where its generated arrays are cached; unused for the digits.
        train: The training split if True, else the test split (TinyImageNet: the validation
            split, whose labels are public).
        download: For CIFAR: ``None`` downloads only if the files are missing and the server
            answers (:func:`network_available`); ``False`` never downloads; ``True`` always tries.
        augment: Apply the training augmentation (image datasets); default: ``train``. Pass
            ``False`` for the training images as measurements must see them.
        generator: Source of the augmentation's randomness (default torch's global generator).

    Returns:
        The dataset.

    Raises:
        DatasetNotFoundError: If the files of a paper dataset are missing or corrupted and cannot
            be downloaded; the message says which files to put where.
        ValueError: If augmentation is asked for on the test split.

    Example:
        >>> test = load("digits", train=False)
        >>> len(test), test.tensors[0].shape, test.tensors[1].dtype
        (360, torch.Size([360, 64]), torch.int64)
    """
    key = _check_name(name)
    augment = train if augment is None else bool(augment)
    if augment and not train:
        raise ValueError("the test split is never augmented: pass augment=False or train=True")
    if key == "digits":
        return _digits(train)
    if key == "mnist1d":
        return _mnist1d(train, root)
    folder = data_root(root)
    transform = image_transform(key, train=augment, generator=generator)
    if key in ("cifar10", "cifar100"):
        return _cifar(key, folder, train, download, transform)
    return TinyImageNet(folder, train=train, transform=transform)


# ---------------------------------------------------------------------------- embedded


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split and standardise the digits once per process.

    Returns:
        ``(x_train, y_train, x_test, y_test)``; inputs float32, labels int64.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_SEED
    )
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std[std == 0] = 1.0  # pixels that are blank in every training image stay at 0
    x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    return (
        x_tr.astype(np.float32),
        y_tr.astype(np.int64),
        x_te.astype(np.float32),
        y_te.astype(np.int64),
    )


def _digits(train: bool) -> TensorDataset:
    """Return a split of the digits (fresh tensors, so callers may modify them).

    Args:
        train: Training split if True.

    Returns:
        The split.
    """
    x_tr, y_tr, x_te, y_te = _digits_arrays()
    x, y = (x_tr, y_tr) if train else (x_te, y_te)
    return TensorDataset(torch.tensor(x), torch.tensor(y))


MNIST1D_KEYS = ("x", "y", "x_test", "y_test")


def mnist1d_cache_path(root: str | os.PathLike | None = None) -> Path:
    """Return the file that caches the generated MNIST-1D arrays.

    It sits under :func:`pnlib.paths.data_root` and its name records the seed and the version of
    the ``mnist1d`` package, so a new version of the generator never reads stale arrays.

    Args:
        root: Data folder, as for :func:`load`.

    Returns:
        ``<data root>/mnist1d/mnist1d-seed<seed>-v<version>.npz`` (it may not exist).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("mnist1d")
    except PackageNotFoundError:  # pragma: no cover - imported from a source checkout
        package = "unknown"
    return data_root(root) / "mnist1d" / f"mnist1d-seed{MNIST1D_SEED}-v{package}.npz"


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read MNIST-1D from the cache file, or generate it (about a second) and cache it.

    Generation leaves numpy's and Python's global RNGs as they were. The cache is written
    atomically; a damaged cache is regenerated, and a read-only folder only skips the write.

    Args:
        path: The cache file (:func:`mnist1d_cache_path`).

    Returns:
        The arrays ``x``, ``y`` (training) and ``x_test``, ``y_test``.
    """
    try:
        with np.load(path) as stored:
            return {key: stored[key] for key in MNIST1D_KEYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        pass  # missing or damaged: generate
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = MNIST1D_SEED
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        generated = make_dataset(args)  # seeds numpy's and Python's global RNGs: restored below
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {key: np.asarray(generated[key]) for key in MNIST1D_KEYS}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # read-only data folder: keep the arrays in memory only
    return arrays


def _mnist1d(train: bool, root: str | os.PathLike | None) -> TensorDataset:
    """Return a split of MNIST-1D with inputs of shape ``(1, 40)``.

    Args:
        train: Training split if True.
        root: Data folder that holds the cache.

    Returns:
        The split.
    """
    arrays = _mnist1d_arrays(mnist1d_cache_path(root))
    x, y = (arrays["x"], arrays["y"]) if train else (arrays["x_test"], arrays["y_test"])
    inputs = torch.tensor(np.asarray(x, dtype=np.float32)).unsqueeze(1)
    return TensorDataset(inputs, torch.tensor(np.asarray(y, dtype=np.int64)))


# ---------------------------------------------------------------------------- images


def _torchvision():
    """Import torchvision without its ``torch.jit.script`` FutureWarning.

    Returns:
        The torchvision module.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
        import torchvision

    return torchvision


class RandomCropFlip:
    """The authors' augmentation on an image tensor, drawing from its own generator.

    A random ``size`` crop of the image zero-padded by ``padding`` pixels on every side (what
    ``RandomCrop(size, padding)`` does to a PIL image before ``ToTensor``), then a horizontal
    flip with probability 1/2. Apply it after ``ToTensor`` and before ``Normalize``, so that the
    padding is black as in torchvision.

    Args:
        size: Side of the square crop.
        padding: Zero padding on each side.
        generator: Source of the crop offsets and flips; ``None``: torch's global generator.
            Save ``generator.get_state()`` with a training checkpoint to resume exactly.
    """

    def __init__(self, size: int, padding: int, generator: torch.Generator | None = None):
        self.size, self.padding, self.generator = int(size), int(padding), generator

    def __call__(self, image: Tensor) -> Tensor:
        """Crop and maybe flip one image.

        Args:
            image: ``(C, H, W)``, before normalisation.

        Returns:
            The augmented image, ``(C, size, size)``.
        """
        pad = self.padding
        padded = torch.nn.functional.pad(image, (pad, pad, pad, pad))
        top, left = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=self.generator))
        flip = bool(torch.randint(0, 2, (1,), generator=self.generator))
        out = padded[..., top : top + self.size, left : left + self.size]
        return out.flip(-1) if flip else out

    def __repr__(self) -> str:
        return f"RandomCropFlip(size={self.size}, padding={self.padding})"


def image_transform(
    name: str, *, train: bool, generator: torch.Generator | None = None
) -> Callable:
    """Return the transform of an image dataset: augmentation (training only), then normalisation.

    Training: random crop of the image zero-padded by 4 pixels back to its size, random
    horizontal flip (the authors' CIFAR augmentation, used for TinyImageNet too; see
    :class:`RandomCropFlip`), then ``Normalize`` with :data:`NORMALISATION`. Without
    augmentation: ``ToTensor`` and ``Normalize``.

    Args:
        name: ``"cifar10"``, ``"cifar100"`` or ``"tinyimagenet"``.
        train: Whether to include the augmentation.
        generator: Source of the augmentation's randomness (default torch's global generator).

    Returns:
        A callable from a PIL image to a float32 tensor ``(3, H, W)``.

    Raises:
        ValueError: If ``name`` is not an image dataset.
    """
    key = _check_name(name)
    if key not in NORMALISATION:
        raise ValueError(
            f"{name!r} has no image transform; choose one of {', '.join(NORMALISATION)}"
        )
    transforms = _torchvision().transforms
    size = info(key).in_shape[-1]
    mean, std = NORMALISATION[key]
    steps = [transforms.ToTensor()]
    if train:
        steps.append(RandomCropFlip(size, 4, generator))
    steps.append(transforms.Normalize(mean, std))
    return transforms.Compose(steps)


def _cifar(
    key: str, root: Path, train: bool, download: bool | None, transform: Callable
) -> Dataset:
    """Load CIFAR-10/100 through torchvision, downloading only when possible.

    Args:
        key: ``"cifar10"`` or ``"cifar100"``.
        root: Folder that holds (or will hold) torchvision's extracted folder.
        train: Training split if True.
        download: See :func:`load`.
        transform: The transform of each image (:func:`image_transform`).

    Returns:
        The torchvision dataset with the transform of :func:`image_transform`.

    Raises:
        DatasetNotFoundError: If the files are missing or corrupted and no download is possible.
    """
    tv = _torchvision()
    from torchvision.datasets.utils import check_integrity

    cls = tv.datasets.CIFAR10 if key == "cifar10" else tv.datasets.CIFAR100
    folder = root / cls.base_folder
    expected = [*cls.train_list, *cls.test_list, (cls.meta["filename"], cls.meta["md5"])]
    bad = [f for f, md5 in expected if not check_integrity(str(folder / f), md5)]
    archive = root / cls.filename
    if bad and download is None:
        download = check_integrity(str(archive), cls.tgz_md5) or network_available()
    if bad and not download:
        missing = [f for f in bad if not (folder / f).is_file()]
        corrupt = [f for f in bad if f not in missing]
        problem = []
        if missing:
            problem.append(f"missing: {', '.join(missing)}")
        if corrupt:
            problem.append(f"wrong MD5 checksum (corrupted or truncated): {', '.join(corrupt)}")
        raise DatasetNotFoundError(
            f"{key} is not available under {root} ({'; '.join(problem)}) and cannot be "
            f"downloaded (no network). Put torchvision's extracted folder {folder} there, holding "
            f"{', '.join(f for f, _ in expected)}, or put the archive {archive} "
            f"(from {cls.url}) there; or pass root=... or set PNLIB_DATA to the folder that "
            "holds them."
        )
    try:
        return cls(
            str(root),
            train=train,
            transform=transform,
            download=bool(bad),
        )
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise DatasetNotFoundError(
            f"{key}: download to {root} failed ({error}); put the archive {archive} "
            f"(from {cls.url}) or the extracted folder {folder} there"
        ) from error


class TinyImageNet(Dataset):
    r"""TinyImageNet from its standard folder layout (200 classes of 64x64 colour images).

    The layout of the published ``tiny-imagenet-200.zip``, under ``root`` (or ``root`` itself)::

        tiny-imagenet-200/
            wnids.txt                       one WordNet id (class) per line
            train/<wnid>/images/*.JPEG      500 training images per class
            val/images/*.JPEG               10,000 validation images
            val/val_annotations.txt         "<file>\t<wnid>\t<x0>\t<y0>\t<x1>\t<y1>" per line

    Class ``i`` is the ``i``-th WordNet id in sorted order. The test split of the archive has no
    labels, so ``train=False`` reads the validation images. Grey images are converted to RGB.

    Args:
        root: The ``tiny-imagenet-200`` folder or the folder that holds it.
        train: Training images if True, else the validation images.
        transform: Applied to each PIL image (e.g. :func:`image_transform`); None keeps the image.

    Raises:
        DatasetNotFoundError: If a file of the layout is missing (the message lists them).
    """

    folder_name = "tiny-imagenet-200"

    def __init__(
        self, root: str | os.PathLike, *, train: bool = True, transform: Callable | None = None
    ) -> None:
        root = Path(root)
        base = root if (root / "wnids.txt").is_file() else root / self.folder_name
        self.root, self.train, self.transform = base, train, transform
        wnids_file = base / "wnids.txt"
        if not wnids_file.is_file():
            self._fail(root, f"missing {wnids_file}")
        self.classes = sorted({w.strip() for w in wnids_file.read_text().split() if w.strip()})
        self.class_to_idx = {w: i for i, w in enumerate(self.classes)}
        self.samples = self._train_samples(root) if train else self._val_samples(root)
        self.targets = [label for _, label in self.samples]

    def _fail(self, root: Path, problem: str):
        """Raise the error that says where the files go.

        Args:
            root: The folder that was searched.
            problem: What is missing.

        Raises:
            DatasetNotFoundError: Always.
        """
        raise DatasetNotFoundError(
            f"tinyimagenet is not available under {root} ({problem}). It is never downloaded "
            f"automatically: get {TINYIMAGENET_URL}, unzip it and put the folder "
            f"{root / self.folder_name} there, holding wnids.txt, train/<wnid>/images/*.JPEG for "
            "every id in wnids.txt, val/images/*.JPEG and val/val_annotations.txt; or pass "
            "root=... or set PNLIB_DATA to the folder that holds it."
        )

    @staticmethod
    def _images(folder: Path) -> list[Path]:
        """List the image files of a folder, sorted by name.

        Args:
            folder: A folder.

        Returns:
            The image paths.
        """
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    def _train_samples(self, root: Path) -> list[tuple[Path, int]]:
        """Collect the training images.

        Args:
            root: The folder searched (for the error message).

        Returns:
            ``(path, label)`` pairs.
        """
        samples, missing = [], []
        for wnid in self.classes:
            folder = self.root / "train" / wnid / "images"
            images = self._images(folder) if folder.is_dir() else []
            if not images:
                missing.append(str(folder))
            samples += [(p, self.class_to_idx[wnid]) for p in images]
        if missing:
            shown = ", ".join(missing[:3]) + (
                f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            )
            self._fail(root, f"no training images in {shown}")
        return samples

    def _val_samples(self, root: Path) -> list[tuple[Path, int]]:
        """Collect the validation images and their labels from ``val_annotations.txt``.

        Args:
            root: The folder searched (for the error message).

        Returns:
            ``(path, label)`` pairs in annotation-file order.
        """
        notes, images = self.root / "val" / "val_annotations.txt", self.root / "val" / "images"
        if not notes.is_file() or not images.is_dir():
            self._fail(root, f"missing {notes if not notes.is_file() else images}")
        samples, missing = [], []
        for line in notes.read_text().splitlines():
            fields = line.split("\t") if "\t" in line else line.split()
            if len(fields) < 2:
                continue
            path, wnid = images / fields[0], fields[1]
            if wnid not in self.class_to_idx:
                self._fail(root, f"{notes} names {wnid!r}, which is not in wnids.txt")
            if not path.is_file():
                missing.append(str(path))
            samples.append((path, self.class_to_idx[wnid]))
        if missing or not samples:
            self._fail(
                root, f"no images listed in {notes}" if not samples else f"missing {missing[0]}"
            )
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[object, int]:
        from PIL import Image

        path, label = self.samples[index]
        with Image.open(path) as image:
            image = image.convert("RGB")
        return (self.transform(image) if self.transform else image), label


# ---------------------------------------------------------------------------- helpers


def tensors(dataset: Dataset) -> tuple[Tensor, Tensor]:
    """Return all inputs and all labels of a dataset, stacked.

    For a ``TensorDataset`` (the embedded datasets) these are its tensors, without a copy;
    otherwise every item is read once (with its transform, so augmented for a training split
    loaded with augmentation).

    Args:
        dataset: A dataset of ``(input, label)`` pairs.

    Returns:
        ``(inputs, targets)``: inputs stacked along a new first dimension, targets as int64.

    Raises:
        ValueError: If the dataset is empty.

    Example:
        >>> x, y = tensors(load("digits", train=False))
        >>> x.shape, y.shape
        (torch.Size([360, 64]), torch.Size([360]))
    """
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        return dataset.tensors[0], dataset.tensors[1]
    if len(dataset) == 0:
        raise ValueError("the dataset is empty; nothing to stack")
    items = [dataset[i] for i in range(len(dataset))]
    inputs = torch.stack([torch.as_tensor(x) for x, _ in items])
    return inputs, torch.as_tensor([int(y) for _, y in items], dtype=torch.int64)


def seed_worker(worker_id: int) -> None:
    """Seed numpy and ``random`` in a data-loader worker from its torch seed.

    PyTorch seeds each worker's torch RNG from the loader's generator; this makes the other
    RNGs (used by some transforms) follow, as the PyTorch reproducibility notes recommend.

    Args:
        worker_id: Index of the worker (unused; the torch seed already differs per worker).
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """Return a data loader whose order (and worker seeds) depend on ``seed`` alone.

    Args:
        dataset: The dataset.
        batch_size: Examples per batch (positive).
        shuffle: Whether to draw a new permutation each epoch.
        seed: Seed of the loader's own generator.
        num_workers: Worker processes (0 loads in the main process).
        drop_last: Whether to drop the last, incomplete batch.

    Returns:
        The loader.

    Raises:
        ValueError: If ``batch_size`` is not positive or ``num_workers`` is negative.

    Example:
        >>> x, y = next(iter(loader(load("digits"), 8, shuffle=True, seed=1)))
        >>> x.shape
        torch.Size([8, 64])
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if int(num_workers) < 0:
        raise ValueError(f"num_workers must be 0 or more, got {num_workers}")
    return DataLoader(
        dataset,
        batch_size=int(batch_size),
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=int(num_workers),
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(int(seed)),
    )
