"""Seeding and the environment record that goes with every result.

Randomness in ``pnlib`` always arrives through an explicit generator argument. This module
seeds the global generators too, for the code we do not control (weight initialisation in
``torch.nn`` layers, for instance), and records what ran: versions, device, threads, git
revision.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import warnings
from typing import Any

import numpy as np
import torch

# torchvision prints a FutureWarning with the venv's path on import; silence it once here so
# that it never reaches a notebook output (it would differ from machine to machine).
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)


def seed_everything(seed: int, *, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch, optionally force deterministic kernels.

    Args:
        seed: Non-negative integer seed.
        deterministic: Ask torch for deterministic algorithms (and cuDNN without autotuning).
            Operations without a deterministic implementation then raise instead of silently
            giving run-to-run differences.

    Returns:
        A CPU ``torch.Generator`` seeded with ``seed``, to pass to ``pnlib`` functions.

    Raises:
        ValueError: If ``seed`` is negative or not an integer.

    Example:
        >>> g = seed_everything(0)
        >>> a = torch.randn(3, generator=g)
        >>> bool(torch.equal(a, torch.randn(3, generator=seed_everything(0))))
        True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # must be set before the first cuBLAS call; harmless on CPU
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


def numpy_rng(generator: torch.Generator | int | None = None) -> np.random.Generator:
    """Derive a NumPy generator from a torch generator (or a seed), reproducibly.

    Args:
        generator: A torch generator (one 63-bit draw is consumed), an integer seed, or
            ``None`` for seed 0.

    Returns:
        A ``numpy.random.Generator``.

    Example:
        >>> bool(numpy_rng(3).integers(0, 10**6) == numpy_rng(3).integers(0, 10**6))
        True
    """
    if generator is None:
        return np.random.default_rng(0)
    if isinstance(generator, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        return np.random.default_rng(seed)
    return np.random.default_rng(int(generator))


def git_revision() -> str | None:
    """Return the current git commit of the project (with ``+dirty`` if modified), or None.

    Returns:
        The revision string, or ``None`` outside a git checkout.
    """
    from pnlib.paths import project_root

    try:
        root = project_root()
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError, FileNotFoundError):
        return None


def device_name(device: torch.device | str | None = None) -> str:
    """Describe a device in words, e.g. ``"cpu (2 threads)"`` or ``"cuda: NVIDIA H100"``.

    Args:
        device: Device to describe; default CUDA if available, else CPU.

    Returns:
        A short human-readable name.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"


def environment(device: torch.device | str | None = None, **extra: Any) -> dict[str, Any]:
    """Record what a result was computed with, for ``env.json``.

    Args:
        device: The device the computation ran on.
        **extra: Further entries (for example ``dtype="float32"``).

    Returns:
        A JSON-serialisable dictionary of versions, device, threads and git revision.

    Example:
        >>> env = environment(dtype="float64")
        >>> sorted(k for k in ("torch", "python", "device", "dtype") if k in env)
        ['device', 'dtype', 'python', 'torch']
    """
    import scipy

    record = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "device": device_name(device),
        "num_threads": torch.get_num_threads(),
        "git_revision": git_revision(),
    }
    try:
        import torchvision

        record["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover - torchvision is a dependency
        record["torchvision"] = None
    record.update(extra)
    return record
