"""Cost of a Hessian-vector product over a dataset, relative to a gradient over the same data.

Usage: python benchmarks/bench_hvp.py [--device cuda] [--scale small|resnet18] [--quick]

For each model it times, over the same batches (min over repeats, after a warm-up):

- ``grad``: the baseline, plain autograd ``loss.backward()`` over the data, batch-size weighted;
- ``hvp``: ``pnlib.hessian.HessianOperator @ v`` (forward-over-reverse, one vector);
- ``hvp_block8``: the same operator on a block of 8 vectors (one data pass), per vector;
- ``hvp_reverse``, ``hvp_reverse_block8``: the operator with ``method="reverse-over-reverse"``;
- ``double_backward``: a PyHessian-style reverse-over-reverse product (one vector);
- ``curvlinops``: curvlinops' ``HessianLinearOperator @ v`` (one vector);

and prints each as a ratio to ``grad``. Peak memory of one product is measured too (CUDA: the
allocator's peak; CPU: the process's resident high-water mark, reset through
``/proc/self/clear_refs``, which is too coarse for small models: then n/a), relative to a
gradient's. Inputs are random tensors of each model's
shape (timings do not depend on the values). Results go to
``benchmarks/results/hvp-<device>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timeit(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise OSError(field)


def peak_memory(fn, device: torch.device) -> float | None:
    """Extra bytes at the peak of one call (beyond what was allocated before it)."""
    sync(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        sync(device)
        return float(torch.cuda.max_memory_allocated(device) - before)
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _rss_kib("VmRSS:")
        fn()
        extra = float((_rss_kib("VmHWM:") - before) * 1024)
    except OSError:
        return None
    # the allocator reuses freed pages, so a small product may not raise the high-water mark
    return extra if extra > 0 else None


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
    """PyHessian's product: per batch, backward with create_graph, then a second backward."""
    n = sum(int(x.shape[0]) for x, _ in batches)
    params = [p for p in model.parameters() if p.requires_grad]
    vs = [t.view_as(p) for t, p in zip(v.split([p.numel() for p in params]), params)]

    def run():
        out = [torch.zeros_like(p) for p in params]
        for x, y in batches:
            loss = loss_fn(model(x), y)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            hv = torch.autograd.grad(grads, params, grad_outputs=vs)
            for o, h in zip(out, hv):
                o.add_(h.detach(), alpha=x.shape[0] / n)
        return out

    return run


def bench_model(name, n, batch, device, repeats, block):
    model, loss_fn, batches = make_problem(name, n, batch, device)
    op = HessianOperator(model, loss_fn, batches)
    opr = HessianOperator(model, loss_fn, batches, method="reverse-over-reverse")
    d = op.shape[0]
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(d, generator=gen).to(device)
    V = torch.randn(d, block, generator=gen).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    curv = HessianLinearOperator(
        model, loss_fn, params, batches, check_deterministic=False, num_data=n
    )
    runs = {
        "grad": gradient_baseline(model, loss_fn, batches),
        "hvp": lambda: op @ v,
        f"hvp_block{block}": lambda: op @ V,
        "hvp_reverse": lambda: opr @ v,
        f"hvp_reverse_block{block}": lambda: opr @ V,
        "double_backward": double_backward_hvp(model, loss_fn, batches, v),
        "curvlinops": lambda: curv @ v,
    }
    # correctness first: all products agree
    ref = op @ v
    for key in ("double_backward",):
        other = torch.cat([t.reshape(-1) for t in runs[key]()])
        assert torch.allclose(other, ref, rtol=1e-3, atol=1e-5 * float(ref.abs().max())), key
    assert torch.allclose(curv @ v, ref, rtol=1e-3, atol=1e-5 * float(ref.abs().max()))
    seconds = {k: timeit(fn, device, repeats) for k, fn in runs.items()}
    seconds[f"hvp_block{block}"] /= block  # per vector
    seconds[f"hvp_reverse_block{block}"] /= block
    memory = {
        k: peak_memory(runs[k], device)
        for k in ("grad", "hvp", f"hvp_block{block}", "hvp_reverse", "double_backward")
    }
    ratios = {k: seconds[k] / seconds["grad"] for k in seconds}
    mem_ratio = {
        k: (memory[k] / memory["grad"] if memory[k] and memory["grad"] else None) for k in memory
    }
    return {
        "model": name,
        "num_params": d,
        "num_data": n,
        "batch_size": batch,
        "seconds": seconds,
        "ratio_to_grad": ratios,
        "peak_bytes": memory,
        "peak_ratio_to_grad": mem_ratio,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale", choices=["small", "resnet18"], default="small")
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
    repeats = 3 if args.quick else 5
    rows = []
    for name, n, batch in cases:
        row = bench_model(name, n, batch, device, repeats, block=8)
        rows.append(row)
        r = row["ratio_to_grad"]
        m = row["peak_ratio_to_grad"]
        print(
            f"{name:9s} D={row['num_params']:>9,d} N={n}: time / gradient: "
            + ", ".join(f"{k} {v:.2f}x" for k, v in r.items() if k != "grad")
            + f" (gradient {row['seconds']['grad'] * 1e3:.1f} ms); peak memory / gradient: "
            + ", ".join(f"{k} {v:.2f}x" if v else f"{k} n/a" for k, v in m.items() if k != "grad")
        )
    if device.type == "cpu":
        print("(n/a: on CPU the resident-set high-water mark does not resolve these allocations)")
    out = ROOT / "benchmarks" / "results" / f"hvp-{args.scale}-{device.type}.json"
    write_json(
        out,
        {
            "benchmark": "hvp",
            "device": device_name(device),
            "scale": args.scale,
            "quick": args.quick,
            "target": "hvp / grad <= 2.5 on CPU",
            "results": rows,
            "environment": environment(device),
        },
    )
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
