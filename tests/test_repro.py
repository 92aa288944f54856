import json

import numpy as np
import pytest
import torch

from pnlib import repro


def test_seed_everything_makes_global_and_returned_generators_repeatable():
    g1 = repro.seed_everything(3)
    a = (torch.randn(4), np.random.rand(2), torch.randn(2, generator=g1))
    g2 = repro.seed_everything(3)
    b = (torch.randn(4), np.random.rand(2), torch.randn(2, generator=g2))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and torch.equal(a[2], b[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        repro.seed_everything(bad)


def test_numpy_rng_from_torch_generator_is_deterministic():
    a = repro.numpy_rng(torch.Generator().manual_seed(5)).normal(size=3)
    b = repro.numpy_rng(torch.Generator().manual_seed(5)).normal(size=3)
    c = repro.numpy_rng(torch.Generator().manual_seed(6)).normal(size=3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_environment_is_json_and_names_the_device():
    env = repro.environment(dtype="float64")
    json.dumps(env)
    assert env["dtype"] == "float64"
    assert env["torch"] == torch.__version__
    assert env["device"].startswith("cpu") or env["device"].startswith("cuda")
