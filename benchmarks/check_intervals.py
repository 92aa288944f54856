"""Does the interval of the SLQ-based prediction contain the exact-spectrum prediction?

For each curated embedded task, the trained network is re-read from its stage checkpoints
(``experiment.run`` reuses every finished stage), and the paper's fixed point is predicted twice
on the same data and the same epsilon: from the exact spectrum (dense float64 Hessian and
``eigvalsh``; D = 15,000 for mnist1d-mlp) and from SLQ with the paper's 128 steps and 4 probes,
with the interval of ``pnlib.bounds.limit_interval``. It writes
``benchmarks/results/intervals.json``: both predictions, the interval, its width and whether it
contains the exact one.

Run: ``python benchmarks/check_intervals.py [task ...]`` (default digits-mlp and mnist1d-mlp);
it takes minutes on a CPU, most of them in the exact Hessian of mnist1d-mlp.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pnlib import experiment, predict, repro
from pnlib.paths import write_json

RESULTS = Path(__file__).resolve().parent / "results"


def check(task: str) -> dict:
    """Exact and SLQ predictions of one curated task, with the interval of the SLQ one.

    Args:
        task: Name of an ``experiments/<task>.yaml``.

    Returns:
        The record written for the task.
    """
    config = experiment.load_config(Path("experiments") / f"{task}.yaml")
    result = experiment.run(config)
    model, data, eps = result.model, result.hessian_data, result.prediction.eps
    common = dict(eps=eps, predictors=("paper",), dtype="float64", zero_mass="never")
    start = time.perf_counter()
    exact = predict.predict_pruning_limit(model, data, exact=True, **common)
    exact_seconds = time.perf_counter() - start
    start = time.perf_counter()
    slq = predict.predict_pruning_limit(
        model, data, exact=False, num_steps=128, num_probes=4, seed=config.seed + 4, **common
    )
    slq_seconds = time.perf_counter() - start
    lo, hi = slq.limit.interval_lower, slq.limit.interval_upper
    return {
        "task": task,
        "dim": exact.spectrum.dim,
        "eps": eps,
        "exact": exact.sparsity,
        "slq": slq.sparsity,
        "slq_stderr": slq.limit.stderr,
        "interval": [lo, hi],
        "width": hi - lo,
        "contains_exact": bool(lo <= exact.sparsity <= hi),
        "seconds": {"exact": exact_seconds, "slq": slq_seconds},
    }


def main() -> None:
    """Check the tasks named on the command line and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=["digits-mlp", "mnist1d-mlp"])
    args = parser.parse_args()
    records = []
    for task in args.tasks:
        record = check(task)
        print(json.dumps(record), flush=True)
        records.append(record)
    out = {"environment": repro.environment("cpu"), "checks": records}
    write_json(RESULTS / "intervals.json", out)


if __name__ == "__main__":
    main()
