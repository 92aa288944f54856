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
# (ch-structure)=
# # The structure of trained weights and Hessians
#
# :::{admonition} Learning goals
# :class: tip
# - Compute rows of the Hessian exactly with Hessian-vector products, and read their $\ell_1$ norms along the magnitude order of the weights.
# - Explain where exactly-zero Hessian rows come from and why they count as perfectly flat directions in the pruning limit.
# - Compare the weight distributions of independent training runs with the total-variation distance, and judge it against its sampling noise.
# :::
#
# **Prerequisites:** {ref}`ch-how-sparse`, {ref}`ch-heuristics`.

# %% tags=["parameters"]
SEED = 0
NUM_RUNS = 5  # independent training runs (seeds SEED .. SEED + NUM_RUNS - 1)
DATASET = "digits"
MODEL = "mlp"
HIDDEN = [32, 32]  # widths of the MLP (ignored by the paper's named models)
EPOCHS = 30
BATCH_SIZE = 64
LR = 0.1
MOMENTUM = 0.9
L1 = 1e-4  # lambda of the l1 penalty (LOMP's training)
NUM_ROWS = 100  # Hessian rows sampled at magnitude quantiles (as the paper's code)
ZERO_TOL = 1e-7  # a row with l1 norm below this counts as zero (as the paper's code)
BINS = 50  # histogram bins of the total-variation distance
DEVICE = "cpu"  # "cuda" or "auto" for the paper's tasks
SAVE_FIGS = False

# %%
import dataclasses
import itertools

import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue

from pnlib import claims, data, experiment, hessian, models, plotting, prune, repro, train

plotting.use_book_style()
device = experiment.resolve_device(DEVICE)
repro.seed_everything(SEED)
train_set, test_set = data.load(DATASET, train=True), data.load(DATASET, train=False)
facts = data.info(DATASET)
options = {"hidden": HIDDEN} if MODEL == "mlp" else {}
config = train.TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, momentum=MOMENTUM, l1=L1)
seeds = [SEED + i for i in range(NUM_RUNS)]


def trained(seed, cfg=config):
    net = models.build(MODEL, num_classes=facts.num_classes, in_shape=facts.in_shape,
                       generator=torch.Generator().manual_seed(seed), **options).to(device)
    train.train(net, train_set, cfg, generator=torch.Generator().manual_seed(seed))
    return net


def row_norms(model):
    """Exact l1 norms of the Hessian rows of the boundary weights at NUM_ROWS magnitude quantiles."""
    op = hessian.HessianOperator(model, torch.nn.functional.cross_entropy, train_set,
                                 params="prunable", dtype=torch.float64)
    weights = prune.flat_prunable(model).double().cpu().numpy()
    z, norms = experiment.zero_curvature_mass(op, weights, num_rows=NUM_ROWS, tol=ZERO_TOL)
    return z, norms


# %% [markdown]
# This chapter uses `pnlib.hessian.HessianOperator`, `pnlib.experiment.zero_curvature_mass` and `pnlib.train`.
# It looks at two inputs of the pruning limit that the earlier chapters took as given: the Hessian rows that are exactly zero, and the distribution of the trained weight magnitudes.
#
# ## Rows of the Hessian along the magnitude order
#
# Row $j$ of the Hessian is $H e_j$, one Hessian-vector product with a unit vector, so it is computed exactly, with no estimation, at the cost of about two gradients.
# The paper's code (its Figure 6) takes the boundary weight at each magnitude quantile $0\,\%, 1\,\%, \dots, 99\,\%$, the largest weight removed at that sparsity, and records the $\ell_1$ norm of its row.
# A row that is exactly zero is a direction in which the loss is flat to second order: an eigenvector with eigenvalue 0, which the pruning limit counts as an infinitely long axis of the sublevel set.
# Two networks from the same initialisation are compared, one trained with the $\ell_1$ penalty of LOMP and one without.

# %%
nets = {"l1": trained(SEED), "plain": trained(SEED, dataclasses.replace(config, l1=0.0))}
rows = {name: row_norms(net) for name, net in nets.items()}


def blank_input_fraction(model):
    """Fraction of prunable weights reading an input feature that is 0 in every training example."""
    first = next(iter(models.prunable_parameters(model).values()))
    if first.dim() != 2 or first.shape[1] != int(np.prod(facts.in_shape)):
        return float("nan")  # only for a first linear layer on flat inputs
    inputs = data.tensors(train_set)[0].reshape(len(train_set), -1)
    blank = int((inputs.abs().max(dim=0).values == 0).sum())
    return blank * first.shape[0] / prune.flat_prunable(model).numel()


z_blank = blank_input_fraction(nets["l1"])

# %% tags=["nbval-check-output", "hide-input"]
print(f"weights reading a blank input: {z_blank:.4f} of all prunable weights")
for name, (z, norms) in rows.items():
    print(f"{name:5s} zero rows {z:.2f} at quantiles {np.flatnonzero(norms < ZERO_TOL).tolist()} "
          f" median row norm {np.median(norms):.2e}  "
          f"test accuracy {train.evaluate(nets[name], test_set)['accuracy']:.3f}")

# %% mystnb={"figure": {"caption": "The l1 norm of the Hessian row of the boundary weight at each magnitude quantile, with and without the l1 penalty. Most rows are far above the zero threshold (dashed); the few exactly zero rows, drawn at the bottom, are scattered over the magnitude order rather than gathered among the smallest weights.", "name": "fig-structure-rows"}}
fig, ax = plt.subplots()
quantile = 100 * np.arange(NUM_ROWS) / NUM_ROWS
for name, (z, norms) in rows.items():
    ax.semilogy(quantile, np.maximum(norms, 1e-18), "o", markersize=4, label=name)
ax.axhline(ZERO_TOL, color="grey", linestyle="--", linewidth=1.5, label="zero threshold")
ax.set_xlabel("magnitude quantile of the weight (%)")
ax.set_ylabel("$\\ell_1$ norm of its Hessian row")
ax.legend()
plotting.maybe_save(fig, "fig-structure-rows", notebook="13_structure", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The figure {numref}`fig-structure-rows` shows the rows, with the zero rows drawn at $10^{-18}$.
# A row is exactly zero when the loss does not depend on that weight at all, whatever the other weights are.
# Here this happens for the first-layer weights that read a **blank input**: a few pixels of the digits (corners and edges) are 0 in every training image, so the weights attached to them never change the output.
# Both networks have the same blank pixels, and so the same exact share of such weights, which the printout above gives.
#
# The 100 sampled rows estimate that share in steps of 1 %, and a sample can miss them.
# The sample of the $\ell_1$ network finds {glue:text}`z_l1:.0%`, close to the exact {glue:text}`z_blank:.1%`, while the sample of the network trained without the penalty finds {glue:text}`z_plain:.0%`.
# In larger networks the same happens to the weights into and out of a **dead unit**, a ReLU inactive on every training example, which the $\ell_1$ penalty makes more likely by pushing whole units to zero.

# %% tags=["claim", "hide-input"]
claims.check(abs(rows["l1"][0] - z_blank) <= 0.02,
             "the l1 network's sample is within two points of the exact share",
             sampled=rows["l1"][0], exact=z_blank)
claims.check(rows["plain"][0] < z_blank, "the plain network's sample finds less than the exact share",
             sampled=rows["plain"][0], exact=z_blank);

# %% [markdown]
# The fraction of zero rows is the paper's "important eigenvalues" correction: mass placed at $\lambda = 0$ in the spectrum, which stochastic Lanczos quadrature with a hundred steps cannot resolve by itself.
# How well the correction is estimated therefore depends on how well a hundred rows sample a share of a few per cent, a question the second exercise takes up.
#
# ## Weight-magnitude distributions of independent runs
#
# The pruning limit depends on the trained weights only through their magnitudes (via $R(s)$) and on the Hessian.
# If the distribution of magnitudes were very different from run to run, so would be the limit; the paper checks that it is not, with the total-variation distance between runs.
# Here {glue:text}`num_runs` networks are trained with the $\ell_1$ penalty from different seeds (initialisation and data order).

# %%
glue("num_runs", NUM_RUNS, display=False)
runs = {seed: (nets["l1"] if seed == SEED else trained(seed)) for seed in seeds}
weights = {seed: prune.flat_prunable(net).double().cpu().numpy() for seed, net in runs.items()}
init = models.build(MODEL, num_classes=facts.num_classes, in_shape=facts.in_shape,
                    generator=torch.Generator().manual_seed(SEED), **options)
init_weights = prune.flat_prunable(init).double().cpu().numpy()

# %% mystnb={"figure": {"caption": "Histograms of the weight magnitudes of independent runs on a log scale, with the initialisation dashed. The trained runs lie almost on top of one another, and all of them differ visibly from the initialisation: the l1 penalty creates a second cluster of tiny weights, several orders of magnitude below the bulk.", "name": "fig-structure-magnitudes"}}
fig, ax = plt.subplots()
log_bins = np.logspace(-10, 1, 56)
for seed, w in weights.items():
    ax.hist(np.abs(w), bins=log_bins, histtype="step", linewidth=1.5, label=f"seed {seed}")
ax.hist(np.abs(init_weights), bins=log_bins, histtype="step", color="black", linestyle="--",
        linewidth=1.5, label="initialisation")
ax.set_xscale("log")
ax.set_xlabel("weight magnitude $|w_i|$")
ax.set_ylabel("count")
ax.legend(fontsize=8)
plotting.maybe_save(fig, "fig-structure-magnitudes", notebook="13_structure", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# ## The total-variation distance
#
# For two histograms $p$ and $q$ over the same bins, the **total-variation distance** is
#
# $$
# \mathrm{TV}(p, q) = \frac{1}{2} \sum_{b} \lvert p_b - q_b \rvert \in [0, 1] ,
# $$ (eq-structure-tv)
#
# the largest difference in probability the two distributions give to any set of bins.
# The bins here are {glue:text}`bins` equal bins of $\log_{10}|w|$ spanning all the runs.
#
# A distance between two finite samples is never exactly zero, since two halves of the *same* run differ too.
# That **noise floor** is the scale against which the distance between runs is judged.

# %%
glue("bins", BINS, display=False)


def log_edges(samples, bins):
    values = np.log10(np.maximum(np.abs(np.concatenate(samples)), 1e-12))
    return np.linspace(values.min(), values.max(), bins + 1)


def tv(a, b, edges):
    """Total-variation distance between the histograms of log10|a| and log10|b|."""
    p, _ = np.histogram(np.log10(np.maximum(np.abs(a), 1e-12)), bins=edges)
    q, _ = np.histogram(np.log10(np.maximum(np.abs(b), 1e-12)), bins=edges)
    return 0.5 * np.abs(p / p.sum() - q / q.sum()).sum()


edges = log_edges(list(weights.values()) + [init_weights], BINS)
pairs = list(itertools.combinations(seeds, 2))
between = np.array([tv(weights[a], weights[b], edges) for a, b in pairs])
rng = repro.numpy_rng(SEED)
within = []
for w in weights.values():
    perm = rng.permutation(w.size)
    within.append(tv(w[perm[: w.size // 2]], w[perm[w.size // 2 :]], edges))
within = np.array(within)
to_init = np.array([tv(w, init_weights, edges) for w in weights.values()])

# %% tags=["nbval-check-output", "hide-input"]
print(f"between runs   mean {between.mean():.3f}  max {between.max():.3f}  ({len(pairs)} pairs)")
print(f"halves of a run mean {within.mean():.3f}  (noise floor)")
print(f"run vs its init mean {to_init.mean():.3f}")

# %%
matrix = np.zeros((NUM_RUNS, NUM_RUNS))
for (a, b), d in zip(pairs, between):
    i, j = seeds.index(a), seeds.index(b)
    matrix[i, j] = matrix[j, i] = d
glue("tv_between", float(between.mean()), display=False)
glue("tv_between_max", float(between.max()), display=False)
glue("tv_within", float(within.mean()), display=False)
glue("tv_floor_full", float(within.mean() / np.sqrt(2)), display=False)
glue("tv_init", float(to_init.mean()), display=False)
glue("z_l1", rows["l1"][0], display=False)
glue("z_plain", rows["plain"][0], display=False)
glue("z_blank", z_blank, display=False)
glue("init_ratio", float(to_init.mean() / between.mean()), display=False)

# %% mystnb={"figure": {"caption": "Total-variation distances between the weight-magnitude histograms of every pair of runs. The off-diagonal entries, pairs of different runs, are all of similar size, a few hundredths, far below the distance of a run to its initialisation.", "name": "fig-structure-tv"}}
fig, ax = plt.subplots(figsize=(4.6, 3.8))
image = ax.imshow(matrix, cmap="viridis", vmin=0)
ax.set_xticks(range(NUM_RUNS), [str(s) for s in seeds])
ax.set_yticks(range(NUM_RUNS), [str(s) for s in seeds])
ax.set_xlabel("seed")
ax.set_ylabel("seed")
fig.colorbar(image, ax=ax, label="TV distance")
plotting.maybe_save(fig, "fig-structure-tv", notebook="13_structure", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The figure {numref}`fig-structure-tv` shows all pairs.
# The distance between runs is compared with two references: the noise floor of two random halves of one run, and the distance from a trained run to its own initial weights, which says how far training moves the distribution.
#
# Each half holds half as many weights as a run, so its floor is about $\sqrt{2}$ times that of two full-size samples of one distribution, {glue:text}`tv_floor_full:.3f`.
# The mean distance between runs, {glue:text}`tv_between:.3f`, lies within a fifth of that floor, which is what sampling alone would give.
# Training, by contrast, moves the distribution about {glue:text}`init_ratio:.0f` times as far from the initialisation as the runs lie from one another.

# %% tags=["claim", "hide-input"]
floor_full = within.mean() / np.sqrt(2)
claims.check(abs(between.mean() - floor_full) < 0.2 * floor_full,
             "the distance between runs lies within a fifth of the full-size noise floor",
             between=between.mean(), floor=floor_full)
claims.check(to_init.mean() > 3 * between.mean(),
             "a run lies several times farther from its initialisation than from the other runs",
             to_init=to_init.mean(), between=between.mean());

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-structure-ex1
# The total-variation distance between histograms depends on the binning.
# Recompute the mean distance between runs and the noise floor for 10, 25, 50, 100 and 200 bins.
# Which one grows faster with the number of bins, and why?
# ```
#
# ```{solution-start} ch-structure-ex1
# :class: dropdown
# ```

# %%
halves = [repro.numpy_rng(SEED).permutation(w.size) for w in weights.values()]
bin_counts = (10, 25, 50, 100, 200)
by_bins = {"between": [], "floor": []}
for bins in bin_counts:
    e = log_edges(list(weights.values()), bins)
    b = np.mean([tv(weights[x], weights[y], e) for x, y in pairs])
    floor = np.mean([tv(w[h[: w.size // 2]], w[h[w.size // 2 :]], e) / np.sqrt(2)
                     for w, h in zip(weights.values(), halves)])
    by_bins["between"].append(b)
    by_bins["floor"].append(floor)
    print(f"{bins:4d} bins: between runs {b:.3f}, noise floor {floor:.3f}")
# growth from the coarsest to the finest binning, and that of pure counting noise (sqrt of bins)
growth = {k: v[-1] / v[0] for k, v in by_bins.items()}
sqrt_growth = np.sqrt(bin_counts[-1] / bin_counts[0])
print(f"growth from {bin_counts[0]} to {bin_counts[-1]} bins: between runs x{growth['between']:.1f}, "
      f"noise floor x{growth['floor']:.1f}, square root of the bin ratio x{sqrt_growth:.1f}")

# %% [markdown]
# The noise floor grows faster, roughly as the square root of the number of bins.
# With $B$ bins and $N$ weights each bin holds about $N/B$ of them, its count fluctuates by about $\sqrt{N/B}$, and the fluctuations of the $B$ bins add up to a distance of order $B \sqrt{N/B} / N = \sqrt{B/N}$.
# The distance between runs is that same noise plus the true difference between the runs' distributions, and the true part grows only slowly with finer bins, since binning can only hide differences, never create them.
# So at coarse binning the runs stand out above the floor, and at fine binning the noise swamps the true difference and the two distances meet.
# A distance between runs therefore means something only next to the noise floor at the same binning; a fixed number such as "TV = 0.05" says nothing by itself.

# %% tags=["claim", "hide-input"]
claims.check(growth["floor"] > growth["between"], "the noise floor grows faster with the bins",
             floor=growth["floor"], between=growth["between"])
claims.check(2 / 3 * sqrt_growth < growth["floor"] < 1.5 * sqrt_growth,
             "the floor grows roughly as the square root of the number of bins",
             floor=growth["floor"], sqrt=sqrt_growth)
claims.check(by_bins["between"][0] > by_bins["floor"][0]
             and abs(by_bins["between"][-1] - by_bins["floor"][-1]) < 0.1 * by_bins["floor"][-1],
             "at coarse binning the runs stand out above the floor, at fine binning the two meet",
             coarse_between=float(by_bins["between"][0]), coarse_floor=float(by_bins["floor"][0]),
             fine_between=float(by_bins["between"][-1]), fine_floor=float(by_bins["floor"][-1]));

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-structure-ex2
# Is the fraction of zero Hessian rows as stable across runs as the weight distribution?
# Compute it for every run.
# ```
#
# ```{solution-start} ch-structure-ex2
# :class: dropdown
# ```

# %%
zs = [row_norms(net)[0] if seed != SEED else rows["l1"][0] for seed, net in runs.items()]
exact = [blank_input_fraction(net) for net in runs.values()]
print("zero-row fraction per run:", [round(z, 2) for z in zs])
print("exact share of blank-input weights per run:", [round(z, 4) for z in exact])

# %% [markdown]
# Every run has the same blank pixels, so the exact share of weights with a zero row is the same, while the sampled fraction varies from run to run and scatters around it.
# It varies because 100 stratified rows hit a share of a few per cent only a few times, and which of those weights they hit depends on where they sit in the magnitude order of each run.
# The zero-curvature correction is thus less stable across runs than the weight distribution, through its estimate rather than through the networks.

# %% tags=["claim", "hide-input"]
claims.check(max(exact) - min(exact) == 0, "the exact share is the same in every run", exact=exact[0])
claims.check(min(zs) < max(zs) and min(zs) <= exact[0] <= max(zs),
             "the sampled fraction varies across runs and scatters around the exact share",
             sampled=[round(z, 2) for z in zs], exact=exact[0]);

# %% [markdown]
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - Exactly zero Hessian rows are flat directions, which the paper adds to the spectrum at $\lambda = 0$; here they are the weights reading blank pixels, {glue:text}`z_blank:.1%` of all weights, and the 100 sampled rows found {glue:text}`z_l1:.0%` (with $\ell_1$) and {glue:text}`z_plain:.0%` (without).
# - The weight-magnitude distributions of independent runs are at a mean total-variation distance of {glue:text}`tv_between:.3f` (at most {glue:text}`tv_between_max:.3f`), against a sampling-noise floor of about {glue:text}`tv_floor_full:.3f` and a distance of {glue:text}`tv_init:.3f` between a trained run and its initialisation.
# - The magnitude distribution, the input of $R(s)$, is therefore a property of the training recipe more than of the seed.
# :::
