"""Cost of a Hessian-vector product over a dataset, relative to a gradient over the same data.

Usage: python benchmarks/bench_hvp.py [--device cuda] [--scale small|resnet18] [--quick]

For each model it times, over the same batches (min over repeats, after a warm-up):

- ``grad``: the baseline, plain autograd ``loss.backward()`` over the data, batch-size weighted;
- ``hvp``: ``pnlib.hessian.HessianOperator(..., cache=False) @ v`` (forward-over-reverse,
  one vector, primal and tangent computed on every call);
- ``hvp_block8``: the same operator on a block of 8 vectors (one data pass), per vector;
- ``hvp_cached``, ``hvp_cached_block8``: the operator with its primal cache (``cache=True``):
  each product runs only the traced tangent pass; the one-off trace is timed separately as
  ``cache_build``;
- ``hvp_reverse``, ``hvp_reverse_block8``: the operator with ``method="reverse-over-reverse"``;
- ``double_backward``: a PyHessian-style reverse-over-reverse product (one vector);
- ``curvlinops``: curvlinops' ``HessianLinearOperator @ v`` (one vector);

and prints each as a ratio to ``grad``. Peak memory of one call is measured too, beyond what was
allocated before it (CUDA: the allocator's peak; CPU: the running sum of the profiler's
allocation events), relative to a gradient's; so is the memory the cache keeps, next to the
operator's own estimate of it. Inputs are random tensors of each model's shape (timings do not
depend on the values). Results go to ``benchmarks/results/hvp-<scale>-<device>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import double_backward_product, sync  # noqa: E402
from curvlinops import HessianLinearOperator  # noqa: E402

from pnlib import models  # noqa: E402
from pnlib.hessian import HessianOperator  # noqa: E402
from pnlib.paths import write_json  # noqa: E402
from pnlib.repro import device_name, environment  # noqa: E402


def make_problem(name: str, n: int, batch: int, device: torch.device, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    specs = {
        "mlp": dict(num_classes=10, in_shape=(64,), hidden=[32, 32]),
        "cnn": dict(num_classes=10, in_shape=(1, 40)),
        "resnet18": dict(num_classes=10, in_shape=(3, 32, 32)),
    }
    spec = specs[name]
    model = models.build(name, generator=gen, **spec).to(device).eval()
    x = torch.randn(n, *spec["in_shape"], generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    batches = [(a.to(device), b.to(device)) for a, b in zip(x.split(batch), y.split(batch))]
    return model, nn.CrossEntropyLoss(), batches


def timeit(fn, device: torch.device, repeats: int) -> float:
    """Best of ``repeats`` calls after a warm-up."""
    return time_all({"fn": fn}, device, repeats)["fn"]


def time_all(runs: dict, device: torch.device, repeats: int) -> dict[str, float]:
    """Best time of each run over ``repeats`` rounds, the runs taking turns in every round.

    Taking turns puts every method in the same stretch of machine time, so a slow spell of a
    shared CPU slows all of them instead of skewing one ratio.
    """
    for fn in runs.values():
        fn()  # warm-up
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for key, fn in runs.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            best[key] = min(best[key], time.perf_counter() - t0)
    return best


@contextlib.contextmanager
def quiet_stderr():
    """Silence the profiler's C++ start/stop lines (they bypass Python's stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def cpu_allocations(fn) -> tuple[float, float]:
    """Peak and net bytes allocated during one call on the CPU, from the profiler's events."""
    from torch.profiler import ProfilerActivity, profile

    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]"
    )
    current = peak = 0
    for _, nbytes in events:
        current += nbytes
        peak = max(peak, current)
    return float(peak), float(current)


def peak_memory(fn, device: torch.device) -> float:
    """Extra bytes at the peak of one call (beyond what was allocated before it)."""
    sync(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        sync(device)
        return float(torch.cuda.max_memory_allocated(device) - before)
    return cpu_allocations(fn)[0]


def kept_memory(fn, device: torch.device) -> float:
    """Bytes a call leaves allocated (what a cache it builds holds)."""
    sync(device)
    if device.type == "cuda":
        before = torch.cuda.memory_allocated(device)
        fn()
        sync(device)
        return float(torch.cuda.memory_allocated(device) - before)
    return cpu_allocations(fn)[1]


def gradient_baseline(model, loss_fn, batches):
    n = sum(int(x.shape[0]) for x, _ in batches)
    params = [p for p in model.parameters() if p.requires_grad]

    def run():
        for p in params:
            p.grad = None
        for x, y in batches:
            (loss_fn(model(x), y) * (x.shape[0] / n)).backward()
        return [p.grad for p in params]

    return run


def double_backward_hvp(model, loss_fn, batches, v):
    """PyHessian's product of the Hessian with the flat vector ``v``, as a timed callable."""
    params = [p for p in model.parameters() if p.requires_grad]
    vs = [t.view_as(p) for t, p in zip(v.split([p.numel() for p in params]), params)]
    return lambda: double_backward_product(model, loss_fn, batches, vs, params)


def bench_model(name, n, batch, device, repeats, block):
    model, loss_fn, batches = make_problem(name, n, batch, device)
    op = HessianOperator(model, loss_fn, batches, check_deterministic=False, cache=False)
    opc = HessianOperator(model, loss_fn, batches, check_deterministic=False, cache=True)
    opr = HessianOperator(
        model, loss_fn, batches, check_deterministic=False, method="reverse-over-reverse"
    )
    d = op.shape[0]
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(d, generator=gen).to(device)
    V = torch.randn(d, block, generator=gen).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    curv = HessianLinearOperator(
        model, loss_fn, params, batches, check_deterministic=False, num_data=n
    )
    # the cache: its one-off build (a trace per chunk of data) and the memory it keeps
    cache_estimate = opc.estimate_cache_bytes()
    cache_bytes = kept_memory(lambda: opc @ v, device)
    t0 = time.perf_counter()
    opc._cache = None  # rebuild: time the build alone
    opc @ v
    sync(device)
    cache_build = time.perf_counter() - t0
    assert opc.cached
    runs = {
        "grad": gradient_baseline(model, loss_fn, batches),
        "hvp": lambda: op @ v,
        f"hvp_block{block}": lambda: op @ V,
        "hvp_cached": lambda: opc @ v,
        f"hvp_cached_block{block}": lambda: opc @ V,
        "hvp_reverse": lambda: opr @ v,
        f"hvp_reverse_block{block}": lambda: opr @ V,
        "double_backward": double_backward_hvp(model, loss_fn, batches, v),
        "curvlinops": lambda: curv @ v,
    }
    # correctness first: all products agree
    ref = op @ v
    tol = dict(rtol=1e-3, atol=1e-5 * float(ref.abs().max()))
    assert torch.allclose(opc @ v, ref, **tol)
    assert torch.allclose(opc @ V, op @ V, rtol=1e-3, atol=1e-5 * float((op @ V).abs().max()))
    other = torch.cat([t.reshape(-1) for t in runs["double_backward"]()])
    assert torch.allclose(other, ref, **tol)
    assert torch.allclose(curv @ v, ref, **tol)
    seconds = time_all(runs, device, repeats)
    for key in seconds:
        if key.endswith(f"block{block}"):
            seconds[key] /= block  # per vector
    memory = {
        k: peak_memory(runs[k], device)
        for k in (
            "grad",
            "hvp",
            f"hvp_block{block}",
            "hvp_cached",
            "hvp_reverse",
            "double_backward",
        )
    }
    ratios = {k: seconds[k] / seconds["grad"] for k in seconds}
    mem_ratio = {k: memory[k] / memory["grad"] for k in memory}
    return {
        "model": name,
        "num_params": d,
        "num_data": n,
        "batch_size": batch,
        "seconds": seconds,
        "ratio_to_grad": ratios,
        "cache_build_seconds": cache_build,
        "cache_build_in_products": cache_build / seconds["hvp_cached"],
        "cache_bytes": cache_bytes,
        "cache_bytes_estimate": cache_estimate,
        "peak_bytes": memory,
        "peak_ratio_to_grad": mem_ratio,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale", choices=["small", "resnet18"], default="small")
    parser.add_argument(
        "--out", type=Path, default=None, help="result file (default: benchmarks/results/)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer data and repeats")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if args.scale == "small":
        cases = [("mlp", 4096, 512), ("cnn", 4096, 512)]
        if args.quick:
            cases = [("mlp", 1024, 256), ("cnn", 1024, 256)]
    else:
        cases = [("resnet18", 2048, 256)] if not args.quick else [("resnet18", 512, 128)]
    repeats = 3 if args.quick else 7
    rows = []
    for name, n, batch in cases:
        row = bench_model(name, n, batch, device, repeats, block=8)
        rows.append(row)
        r = row["ratio_to_grad"]
        m = row["peak_ratio_to_grad"]
        print(
            f"{name:9s} D={row['num_params']:>9,d} N={n} batch {batch}: time / gradient: "
            + ", ".join(f"{k} {v:.2f}x" for k, v in r.items() if k != "grad")
            + f" (gradient {row['seconds']['grad'] * 1e3:.1f} ms)\n"
            + "          peak memory / gradient: "
            + ", ".join(f"{k} {v:.2f}x" for k, v in m.items() if k != "grad")
            + f"\n          cache: built in {row['cache_build_seconds']:.2f} s "
            + f"(= {row['cache_build_in_products']:.0f} cached products), keeps "
            + f"{row['cache_bytes'] / 2**20:.1f} MiB (estimated "
            + f"{row['cache_bytes_estimate'] / 2**20:.1f} MiB)"
        )
    out = args.out or ROOT / "benchmarks" / "results" / f"hvp-{args.scale}-{device.type}.json"
    write_json(
        out,
        {
            "benchmark": "hvp",
            "device": device_name(device),
            "scale": args.scale,
            "quick": args.quick,
            "target": "hvp / grad <= 2.5 on CPU",
            "memory": "peak bytes beyond those allocated before the call",
            "results": rows,
            "environment": environment(device),
        },
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
