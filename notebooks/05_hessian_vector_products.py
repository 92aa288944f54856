# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-hvp)=
# # Hessian-vector products
#
# :::{admonition} Learning goals
# :class: tip
# - Compute a product $Hv$ with the Hessian of a network's loss without ever forming $H$ (Pearlmutter's trick).
# - Tell forward-over-reverse from reverse-over-reverse differentiation, and check both against the exact Hessian.
# - Weight uneven batches correctly, so that the operator is the Hessian of the mean loss over the whole dataset.
# - Measure what one product costs against one gradient, why a block of vectors should share a pass over the data, and what keeping the primal pass saves.
# :::
#
# **Prerequisites:** {ref}`ch-how-sparse`; the notation is in {ref}`notation`.
#
# The pruning limit of {cite:t}`zhang2024pruning` depends on the eigenvalues of the Hessian $H = \nabla^2 L(w^*)$ of the training loss at the trained weights. This chapter shows how to multiply a vector by that Hessian without ever forming it, which is all that the spectral methods of the next chapter need. It uses `pnlib.hessian.HessianOperator`, `pnlib.hessian.exact_hessian` and `pnlib.hessian.gradient`, and checks each of them against the exact Hessian of a network small enough to form it.

# %% tags=["parameters", "hide-input"]
SEED = 0
HIDDEN = [32, 32]  # widths of the digits MLP's hidden layers
BATCH_SIZE = 256  # batch size of the passes over the training set
BLOCK_SIZES = [1, 2, 4, 8, 16]  # vectors multiplied together in the cost study
REPEATS = 3  # timings keep the fastest of this many runs
SAVE_FIGS = False

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from myst_nb import glue
from torch import nn
from torch.func import functional_call, grad, jvp

from pnlib import claims, data, hessian, models, plotting, repro

plotting.use_book_style()
gen = repro.seed_everything(SEED)
train_set = data.load("digits", train=True)
x_all, y_all = train_set.tensors
batches = list(zip(x_all.split(BATCH_SIZE), y_all.split(BATCH_SIZE)))
loss_fn = nn.CrossEntropyLoss()

# %% tags=["hide-input"]
# ResNet18 on CIFAR-10 inputs, only to count its weights (D) and the entries of its Hessian.
resnet_params = sum(p.numel() for p in models.build("resnet18", num_classes=10, in_shape=(3, 32, 32)).parameters())
glue("resnet_D", float(resnet_params), display=False)
glue("resnet_tb", float(resnet_params) ** 2 * 4 / 1e12, display=False)

# %% [markdown]
# ## Why products, not matrices
#
# A network with $D$ weights has a $D \times D$ Hessian. For ResNet18 on CIFAR-10, $D =$ {glue:text}`resnet_D:,.0f`, so its Hessian has $D^2$ entries, about {glue:text}`resnet_tb:.0f` TB in float32, far beyond any memory. Fortunately, every method of the next chapter, {ref}`ch-lanczos`, only ever needs the **Hessian-vector product** $v \mapsto Hv$. {cite:t}`pearlmutter1994` observed that this product is a directional derivative of the gradient,
#
# $$
# H v = \frac{d}{dt} \nabla L(w + t v) \Big|_{t = 0},
# $$ (eq-hvp-directional)
#
# so it costs a small constant times one gradient, whatever $D$ is.
#
# The network of this chapter is the digits MLP of {ref}`ch-how-sparse`. Its $D$ is small enough that its full Hessian can be formed, and that matrix serves as the reference against which every product below is checked.

# %%
net = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN, generator=gen).double()
x64 = x_all.double()
op = hessian.HessianOperator(net, loss_fn, [(x.double(), y) for x, y in batches])
D = op.shape[0]
print(f"D = {D} parameters, N = {op.num_data} training images in {len(batches)} batches")

# %% [markdown]
# ## Finite differences: the idea, and its limit
#
# Equation {eq}`eq-hvp-directional` suggests the central difference $\big(\nabla L(w + tv) - \nabla L(w - tv)\big) / 2t$. Its error has two parts: the truncation error, of order $t^2$, and the rounding error of the two gradients, of order $\epsilon_{\text{mach}}/t$. A small step reduces the first and inflates the second, so there is a best step, and a best error that no step can beat. {numref}`fig-hvp-finite-difference` shows the relative error against $t$, in float64 and float32, measured against the exact product.

# %%
H = hessian.exact_hessian(net, loss_fn, [(x.double(), y) for x, y in batches])
v = torch.randn(D, dtype=torch.float64, generator=gen)
exact_hv = H @ v
w0 = hessian.flat_params(net).double()


def grad_at(w, dtype):
    """Gradient of the mean loss at the flat weights `w`, computed in `dtype`."""
    model = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN).to(dtype)
    torch.nn.utils.vector_to_parameters(w.to(dtype), model.parameters())
    return hessian.gradient(model, loss_fn, (x_all.to(dtype), y_all)).double()


steps = np.logspace(-10, -1, 19)
fd_error = {}
for dtype in (torch.float64, torch.float32):
    fd_error[dtype] = [
        float(torch.linalg.norm((grad_at(w0 + t * v, dtype) - grad_at(w0 - t * v, dtype)) / (2 * t)
                                - exact_hv) / torch.linalg.norm(exact_hv))
        for t in steps
    ]

# %% mystnb={"figure": {"caption": "Relative error of the central-difference Hessian-vector product against the step $t$. Look for the V shape of each curve: rounding error on the left, truncation error on the right, with float32's best error orders of magnitude above float64's; and for the jump of both curves to order one beyond $t \\approx 10^{-5}$, where the step moves ReLU units across their kink.", "name": "fig-hvp-finite-difference"}}
fig, ax = plt.subplots(figsize=(6, 3.6))
for dtype, errors in fd_error.items():
    ax.loglog(steps, errors, marker="o", label=str(dtype).replace("torch.", ""))
ax.set_xlabel("step $t$")
ax.set_ylabel("relative error of $Hv$")
ax.legend()
plotting.maybe_save(fig, "fig-hvp-finite-difference", notebook="05_hessian_vector_products",
                    enabled=SAVE_FIGS)
plt.show()

# %%
best_fd = {str(k).replace("torch.", ""): float(np.min(e)) for k, e in fd_error.items()}
glue("fd_best64", best_fd["float64"], display=False)
glue("fd_best32", best_fd["float32"], display=False)
small_steps = steps <= 1e-5
large_steps = steps > 2e-5
fd_small_max = max(float(np.max(np.array(e)[small_steps & (steps >= 1e-6)])) for e in fd_error.values())
fd_large_min = min(float(np.min(np.array(e)[large_steps])) for e in fd_error.values())

# %% [markdown]
# The best float32 step leaves a relative error of {glue:text}`fd_best32:.1e`, and even float64 only reaches {glue:text}`fd_best64:.1e`. Beyond $t \approx 10^{-5}$ the error of both jumps to order one: the perturbation moves some ReLU units across their kink, and the difference quotient stops measuring the local Hessian at all. Automatic differentiation, by contrast, computes the derivative in {eq}`eq-hvp-directional` exactly (up to rounding), with no step to tune.

# %% tags=["claim", "hide-input"]
claims.check(best_fd["float32"] > 1e3 * best_fd["float64"] and best_fd["float64"] > 1e-12,
             "the best float32 finite difference is orders of magnitude worse than the best float64 one, "
             "and neither reaches 1e-12",
             float32=best_fd["float32"], float64=best_fd["float64"])
claims.check(fd_large_min > 0.1 > fd_small_max,
             "the error is below 0.1 for steps from 1e-6 to 1e-5 and above it for every step beyond 2e-5",
             largest_below=fd_small_max, smallest_beyond=fd_large_min);

# %% [markdown]
# ## Two ways to differentiate twice
#
# Automatic differentiation offers two ways to take the derivative of a gradient. **Reverse-over-reverse** (double backward) builds the graph of the gradient and differentiates $v^\top \nabla L$ by a second backward pass; this is what PyHessian {cite:p}`yao2020pyhessian` does. **Forward-over-reverse** instead pushes the tangent $v$ forward through the gradient computation with forward-mode differentiation (`torch.func.jvp` of `torch.func.grad`), so it needs no graph of the graph, which saves memory. Both fit in a few lines for one batch.

# %%
names = [n for n, _ in net.named_parameters()]
params = tuple(p.detach() for p in net.parameters())
tangent = tuple(t.view_as(p) for t, p in zip(v.split([p.numel() for p in params]), params))


def batch_loss(*ps):
    return loss_fn(functional_call(net, dict(zip(names, ps)), (x64,)), y_all)


argnums = tuple(range(len(params)))
fwd = jvp(grad(batch_loss, argnums=argnums), params, tangent)[1]
leaves = [p.clone().requires_grad_() for p in params]
g = torch.autograd.grad(batch_loss(*leaves), leaves, create_graph=True)
rev = torch.autograd.grad(g, leaves, grad_outputs=tangent)
flat = {"forward-over-reverse": torch.cat([t.reshape(-1) for t in fwd]),
        "reverse-over-reverse": torch.cat([t.reshape(-1) for t in rev])}

# %% [markdown]
# The whole training set is one batch here, so both products are exactly $Hv$, and the cell below compares them with the product by the exact Hessian: both agree with it to within $10^{-12}$, far below the best finite difference.

# %% tags=["nbval-check-output", "hide-input"]
for name, hv in flat.items():
    err = float(torch.linalg.norm(hv - exact_hv) / torch.linalg.norm(exact_hv))
    print(f"{name}: relative error {'below 1e-12' if err < 1e-12 else f'{err:.1e}'}")
print(f"asymmetry of the exact Hessian below 1e-12: {bool((H - H.T).abs().max() < 1e-12)}")

# %% tags=["claim", "hide-input"]
ad_error = {name: float(torch.linalg.norm(hv - exact_hv) / torch.linalg.norm(exact_hv))
            for name, hv in flat.items()}
claims.check(max(ad_error.values()) < 1e-12 < best_fd["float64"],
             "both automatic-differentiation products agree with the exact one to within 1e-12, "
             "better than the best finite difference", **ad_error, best_fd64=best_fd["float64"]);

# %% [markdown]
# ## One operator over the whole dataset
#
# The training loss is the mean over all $N$ examples, and a pass over the data visits it in batches $b$ of sizes $|b|$, the last one usually smaller. The Hessian of the mean is therefore a weighted sum of the batch Hessians,
#
# $$
# H = \sum_b \frac{|b|}{N} \nabla^2 \bar\ell_b(w),
# $$ (eq-hvp-weighted)
#
# where $\bar\ell_b$ is the mean loss of batch $b$. Averaging the batch Hessians with equal weights instead, as some libraries do, is wrong as soon as the batches are uneven. `pnlib.hessian.HessianOperator` implements {eq}`eq-hvp-weighted` with forward-over-reverse products, in eval mode, and with the same API for one vector or a block of them. The next cell splits the training set into one large and one small batch and compares both weightings with the exact product.

# %%
uneven = [(x64[:1300], y_all[:1300]), (x64[1300:], y_all[1300:])]
weighted = hessian.HessianOperator(net, loss_fn, uneven) @ v
ops = [hessian.HessianOperator(net, loss_fn, [b]) for b in uneven]
equal_average = sum(o @ v for o in ops) / len(ops)
bias = {name: float(torch.linalg.norm(hv - exact_hv) / torch.linalg.norm(exact_hv))
        for name, hv in {"weighted": weighted, "equal": equal_average}.items()}
glue("bias_equal", bias["equal"], display=False)

# %% tags=["nbval-check-output", "hide-input"]
print(f"batches of {[len(b[1]) for b in uneven]}")
print(f"weighted by |b|/N: relative error below 1e-12: {bias['weighted'] < 1e-12}")
print(f"equal weights:     relative error {bias['equal']:.3f}")

# %% [markdown]
# The weighted sum reproduces the exact product, while with one small batch the equal-weight average is off by {glue:text}`bias_equal:.1%`. It is a different matrix, not a noisy version of the right one, and no number of passes over the data would correct it.

# %% tags=["claim", "hide-input"]
claims.check(bias["weighted"] < 1e-12 and bias["equal"] > 0.01,
             "the |b|/N weighting is exact and the equal weighting is off by more than 1 %", **bias);

# %% [markdown]
# ## What a product costs
#
# Theory says one Hessian-vector product costs a few gradients in floating-point operations {cite:p}`pearlmutter1994`. In practice, for small networks on a CPU, the fixed cost of each operation dominates, and what matters is how many passes over the data we make. A block of $k$ vectors can go through the data once: the forward and backward passes of the weights are shared, and only the tangents are batched (with `torch.func.vmap`). The next cell times, for the float32 digits MLP, one gradient over the training set and products with blocks of $k$ vectors, and reports the cost per vector in units of one gradient.

# %%
net32 = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN,
                     generator=torch.Generator().manual_seed(SEED))


def fastest(fn):
    """Fastest of REPEATS timed runs, after a warm-up run."""
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_gradient():
    net32.zero_grad()
    for x, y in batches:
        (loss_fn(net32(x), y) * len(y) / len(y_all)).backward()


t_grad = fastest(plain_gradient)
per_vector = {}
for method in ("forward-over-reverse", "reverse-over-reverse"):
    op32 = hessian.HessianOperator(net32, loss_fn, batches, method=method, cache=False)
    per_vector[method] = [fastest(lambda k=k: op32 @ torch.randn(D, k)) / k / t_grad
                          for k in BLOCK_SIZES]

# %% tags=["hide-input"]
# The operation count of the next paragraph, for this network's number of dense layers.
n_layers = sum(isinstance(m, nn.Linear) for m in net.modules())
count = {"grad": 3 * n_layers - 1, "hvp": 9 * n_layers - 5, "tangent": 6 * n_layers - 4}
glue("n_layers", n_layers, display=False)
glue("count_grad", count["grad"], display=False)
glue("count_hvp", count["hvp"], display=False)
glue("count_tangent", count["tangent"], display=False)
glue("ratio_hvp", count["hvp"] / count["grad"], display=False)
glue("ratio_tangent", count["tangent"] / count["grad"], display=False)

# %% [markdown]
# Counting matrix products explains the floor under these numbers. A dense layer costs one matrix product forward and two backward (the weight gradient and the input gradient, which the first layer does not need), so a gradient through $L$ layers costs $3L - 1$ products. Forward-over-reverse adds the tangent of each: $\dot W x + W \dot x$ forward ($2L - 1$, since the input has no tangent), $\dot\delta x^\top + \delta \dot x^\top$ for the weight gradient ($2L - 1$) and $\dot W^\top \delta + W^\top \dot\delta$ for the input gradient ($2L - 2$). That is $9L - 5$ products for one Hessian-vector product. For the $L =$ {glue:text}`n_layers` layers of this MLP it is {glue:text}`count_hvp` products against {glue:text}`count_grad`, or {glue:text}`ratio_hvp:.2f` gradients, of which $6L - 4 =$ {glue:text}`count_tangent`, or {glue:text}`ratio_tangent:.2f` gradients, are the tangent's.
#
# ## Reusing the primal pass
#
# Every product of a Lanczos run is taken at the same weights, so the $3L - 1$ primal products, and all the activations they produce, are the same every time. `torch.func.linearize` traces the forward-over-reverse computation once and keeps its primal values; each later product then runs only the tangent part, with none of the per-operation overhead of the function transforms.
#
# The price is memory: the kept values are the network's activations and back-propagated errors over the whole dataset. `HessianOperator` therefore keeps them only when `estimate_cache_bytes()` fits in a quarter of the free memory (the default `cache="auto"`, which also waits until more than 8 vectors have been multiplied at the same weights, so that a handful of products does not pay for a trace). The next cell times the cached operator in the same way, and the trace itself.

# %%
op_cached = hessian.HessianOperator(net32, loss_fn, batches, cache=True)
start = time.perf_counter()
op_cached @ torch.randn(D)  # the first product traces
t_trace = time.perf_counter() - start
per_vector["forward-over-reverse, primal kept"] = [
    fastest(lambda k=k: op_cached @ torch.randn(D, k)) / k / t_grad for k in BLOCK_SIZES
]
cache_mib = op_cached.estimate_cache_bytes() / 2**20
print(f"products ran from the cache: {op_cached.cached}")

# %% mystnb={"figure": {"caption": "Cost of a Hessian-vector product per vector, in units of one gradient, against the number of vectors that share a pass over the data. Look at how the cost per vector falls as the block grows, since the fixed cost of each operation is shared, and at how far below the plain products the operator with the primal pass kept sits.", "name": "fig-hvp-cost"}}
fig, ax = plt.subplots(figsize=(6, 3.6))
for method, ratios in per_vector.items():
    ax.plot(BLOCK_SIZES, ratios, marker="o", label=method)
ax.axhline(1.0, color="0.5", linestyle=":", label="one gradient")
ax.set_xscale("log", base=2)
ax.set_xlabel("vectors per pass over the data $k$")
ax.set_ylabel("time per vector / gradient time")
ax.legend()
plotting.maybe_save(fig, "fig-hvp-cost", notebook="05_hessian_vector_products", enabled=SAVE_FIGS)
plt.show()

# %% tags=["hide-input"]
glue("cost_single", per_vector["forward-over-reverse"][0], display=False)
glue("cost_block", per_vector["forward-over-reverse"][-1], display=False)
glue("cost_reverse_single", per_vector["reverse-over-reverse"][0], display=False)
glue("cost_cached_single", per_vector["forward-over-reverse, primal kept"][0], display=False)
glue("cost_cached_block", per_vector["forward-over-reverse, primal kept"][-1], display=False)
glue("trace_in_grads", t_trace / t_grad, display=False)
saving = per_vector["forward-over-reverse"][0] - per_vector["forward-over-reverse, primal kept"][0]
break_even = t_trace / t_grad / saving if saving > 0 else float("inf")
glue("break_even", break_even, display=False)
glue("cache_mib", cache_mib, display=False)
glue("block_max", BLOCK_SIZES[-1], display=False)
# Timings depend on the machine that builds the page, so the comparisons that the prose makes
# about them are worded from the measured numbers rather than asserted.
reverse_faster = per_vector["reverse-over-reverse"][0] < per_vector["forward-over-reverse"][0]
glue("reverse_vs_forward", Markdown("faster" if reverse_faster else "slower"), display=False)
glue("break_even_vs_run", Markdown("a small part of a" if break_even < 64 else
                                   "a large part of a" if break_even < 128 else "more than a"),
     display=False)
rows = [f"| {method} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |"
        for method, ratios in per_vector.items()]
display(Markdown("| method | " + " | ".join(f"$k = {k}$" for k in BLOCK_SIZES) + " |\n|---|"
                 + "---|" * len(BLOCK_SIZES) + "\n" + "\n".join(rows)))

# %% [markdown]
# {numref}`fig-hvp-cost` and the table were measured when this page was built, so their numbers depend on the machine. Here one plain forward-over-reverse product costs {glue:text}`cost_single:.1f` gradients, and {glue:text}`cost_block:.2f` gradients per vector in blocks of {glue:text}`block_max`. For layers this small the time goes into the fixed cost of each operation, not into arithmetic, and forward mode pays more of it (PyTorch evaluates the forward-mode rules of some operations through Python decompositions). The fixed cost is shared by all vectors of a block, so the cost per vector falls as the block grows. For one plain vector at a time, the double backward ({glue:text}`cost_reverse_single:.1f` gradients) was {glue:md}`reverse_vs_forward` than forward-over-reverse on this machine; which one wins depends on the machine and the network, which is why `HessianOperator` offers both (`method=`).
#
# With the primal pass kept, a product costs {glue:text}`cost_cached_single:.2f` gradients alone and {glue:text}`cost_cached_block:.2f` per vector in blocks of {glue:text}`block_max`, to compare with the count of {glue:text}`ratio_tangent:.2f` for the tangent: the traced graph runs without the transforms' overhead, while the gradient it is measured against goes through `nn.Module` and autograd. The trace cost {glue:text}`trace_in_grads:.0f` gradients, repaid after {glue:text}`break_even:.0f` single-vector products, {glue:md}`break_even_vs_run` Lanczos run of the 128 steps the authors use; the cache was estimated at {glue:text}`cache_mib:.1f` MiB.
#
# The repository's benchmark `benchmarks/bench_hvp.py` makes the same measurement for the book's MLP and CNN and for ResNet18, and compares with curvlinops {cite:p}`dangel2025curvlinops` and a PyHessian-style double backward. The next chapter advances all its random probe vectors together, and runs a hundred or more products at the same weights, so it profits from both the block and the cache.

# %% tags=["claim", "hide-input"]
claims.check(per_vector["forward-over-reverse"][-1] < per_vector["forward-over-reverse"][0],
             "the cost per vector of forward-over-reverse falls from a single vector to the largest block",
             single=per_vector["forward-over-reverse"][0], block=per_vector["forward-over-reverse"][-1])
claims.check(per_vector["forward-over-reverse, primal kept"][0] < per_vector["forward-over-reverse"][0],
             "a single product with the primal pass kept is cheaper than a plain one",
             kept=per_vector["forward-over-reverse, primal kept"][0],
             plain=per_vector["forward-over-reverse"][0]);

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-hvp-ex1
# For a quadratic loss $L(w) = \tfrac12 w^\top A w$ with a symmetric $A$, the Hessian is $A$ everywhere.
# Build a one-layer linear network without bias and an MSE loss, with $m$ outputs and inputs $X \in \mathbb{R}^{N \times d}$, whose Hessian is $A = \tfrac{2}{N m} I_m \otimes X^\top X$ when the weight matrix $W \in \mathbb{R}^{m \times d}$ is flattened row by row, as PyTorch flattens it (in the column-stacking convention $\operatorname{vec}(W)$ the same matrix reads $\tfrac{2}{Nm} X^\top X \otimes I_m$). Check `HessianOperator` against this closed form.
# ```
#
# ```{solution-start} ch-hvp-ex1
# :class: dropdown
# ```
#
# For `nn.Linear(d, m, bias=False)` the weight is $W \in \mathbb{R}^{m \times d}$, and `HessianOperator`, like `torch.nn.utils.parameters_to_vector`, flattens it row by row: entry $W_{ij}$ sits at position $i d + j$, so the flat vector is $\operatorname{vec}(W^\top)$, the rows of $W$ one after the other. The MSE loss is $L(W) = \frac{1}{Nm}\lVert X W^\top - Y \rVert_F^2$, and its second derivative is
#
# $$
# \frac{\partial^2 L}{\partial W_{ij}\, \partial W_{kl}} = \frac{2}{Nm}\, \delta_{ik}\, (X^\top X)_{jl}.
# $$
#
# In the row-by-row flattening the pair $(i, k)$ of output rows selects the block and $(j, l)$ the entry inside it, so the Hessian is block diagonal with $m$ copies of $X^\top X$: it is $\frac{2}{Nm} I_m \otimes X^\top X$. The code below builds exactly this matrix and compares it with both the exact Hessian and the products of `HessianOperator`.

# %%
lin = nn.Linear(5, 3, bias=False).double()
xq = torch.randn(40, 5, dtype=torch.float64, generator=gen)
yq = torch.randn(40, 3, dtype=torch.float64, generator=gen)
# I_m ⊗ XᵀX: block diagonal, one block per row of W, matching the row-by-row flattening.
closed_form = torch.kron(torch.eye(3, dtype=torch.float64), xq.T @ xq) * 2 / (40 * 3)
hq = hessian.exact_hessian(lin, nn.MSELoss(), (xq, yq))
op_q = hessian.HessianOperator(lin, nn.MSELoss(), (xq, yq))
probe_q = torch.randn(15, 4, dtype=torch.float64, generator=gen)
print(f"closed form matches the exact Hessian: {bool(torch.allclose(hq, closed_form, atol=1e-12))}")
print(f"closed form matches HessianOperator:   {bool(torch.allclose(op_q @ probe_q, closed_form @ probe_q, atol=1e-12))}")
other_order = torch.kron(xq.T @ xq, torch.eye(3, dtype=torch.float64)) * 2 / (40 * 3)
print(f"X'X ⊗ I matches in this flattening:     {bool(torch.allclose(hq, other_order, atol=1e-12))}")

# %% [markdown]
# The last line shows that the order of the Kronecker factors is not a matter of taste: $X^\top X \otimes I_m$ is the same Hessian written in the column-stacking flattening, and it does not match the row-by-row one that PyTorch uses.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-hvp-ex2
# Dropout makes the loss random, so "the Hessian" is only defined once dropout is switched off.
# Add a dropout layer to a small network, compute two products with the same vector in training mode (by hand, with `torch.autograd`), and compare them; then do the same with `HessianOperator`, which works in eval mode.
# ```
#
# ```{solution-start} ch-hvp-ex2
# :class: dropdown
# ```

# %%
drop_net = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 10)).double()
dparams = list(drop_net.parameters())
u = [torch.randn_like(p) for p in dparams]


def train_mode_product():
    drop_net.train()
    g = torch.autograd.grad(loss_fn(drop_net(x64), y_all), dparams, create_graph=True)
    return torch.cat([h.reshape(-1) for h in torch.autograd.grad(g, dparams, grad_outputs=u)])


a, b = train_mode_product(), train_mode_product()
dop = hessian.HessianOperator(drop_net, loss_fn, (x64, y_all))
u_flat = torch.cat([t.reshape(-1) for t in u])
print(f"train mode, two products differ: {bool((a - b).abs().max() > 1e-6)}")
print(f"HessianOperator, two products equal: {bool(torch.equal(dop @ u_flat, dop @ u_flat))}")

# %% [markdown]
# In training mode every product draws a new dropout mask, so two products with the same vector differ; in eval mode they are identical. Lanczos assumes one fixed symmetric matrix, and a random one breaks it, which is why the operator always switches to eval mode (and restores the previous mode afterwards).
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - A Hessian-vector product is a directional derivative of the gradient; automatic differentiation computes it exactly, where the best finite difference in float32 is off by {glue:text}`fd_best32:.1e`.
# - Forward-over-reverse and reverse-over-reverse give the same product; the first needs no graph of the graph.
# - Over a dataset, batches must be weighted by their size: equal weights gave a matrix {glue:text}`bias_equal:.1%` away from the Hessian here.
# - On this machine one plain product cost {glue:text}`cost_single:.1f` gradients, and {glue:text}`cost_block:.2f` gradients per vector when {glue:text}`block_max` vectors share a pass over the data.
# - At fixed weights the primal pass can be traced once and kept: a product then cost {glue:text}`cost_cached_single:.2f` gradients, for memory that grows with the dataset.
# :::
