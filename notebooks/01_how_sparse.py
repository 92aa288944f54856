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
# (ch-how-sparse)=
# # How sparse can a network be?
#
# :::{admonition} Learning goals
# :class: tip
# - Train a small network with an $\ell_1$ penalty and prune it one-shot by global weight magnitude.
# - Read a pruning curve: accuracy and loss against the fraction of weights removed.
# - Tell apart three ways of saying "the pruned network still works", and the limits they give.
# - State the question the rest of the book answers: what decides where the curve breaks?
# :::
#
# **Prerequisites:** none; the notation is in {ref}`notation`.

# %% tags=["parameters"]
SEED = 0
HIDDEN = [32, 32]  # widths of the two hidden layers
EPOCHS = 100
BATCH_SIZE = 32
LR = 0.05
MOMENTUM = 0.9
L1 = 1e-4  # lambda of the l1 penalty of the first network (the second has none)
GRID_POINTS = 1000  # sparsities i / GRID_POINTS, as in the paper's code
TOLERANCE = 0.01  # accuracy drop allowed by the tolerance criterion (one point)
SAVE_FIGS = False

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue

from pnlib import data, models, plotting, predict, prune, repro, train

plotting.use_book_style()
gen = repro.seed_everything(SEED)
train_set, test_set = data.load("digits", train=True), data.load("digits", train=False)
grid = prune.sparsity_grid(GRID_POINTS)
config = train.TrainConfig(
    epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, momentum=MOMENTUM, l1=L1
)

# %% [markdown]
# This chapter uses `pnlib.data.load`, `pnlib.models.build`, `pnlib.train.train`, `pnlib.train.measure_on`, `pnlib.prune.sweep` and `pnlib.prune.actual_limit`.
#
# ## A network to prune
#
# The data are scikit-learn's handwritten digits: 8×8 grey images of the digits 0 to 9, split once into a training and a test set.
#
# The network is a **multilayer perceptron** with two hidden layers of ReLU units.
#
# Its **prunable weights** are the entries of its weight matrices; the biases are few and are never pruned.

# %%
net = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN, generator=gen)
counts = models.count_parameters(net)
print(f"{len(train_set)} training and {len(test_set)} test images")
print(f"{counts['total']} parameters, {counts['prunable']} of them prunable weights")

# %% [markdown]
# ## Training with an $\ell_1$ penalty
#
# The paper's method, **LOMP** ($\ell_1$-regularised one-shot magnitude pruning), first trains the network on the loss plus an $\ell_1$ penalty,
#
# $$
# \min_w \; L(w) + \lambda \lVert w \rVert_1 ,
# $$ (eq-lomp-objective)
#
# with $L$ the mean cross-entropy over the training set.
#
# The penalty pulls every weight towards zero with the same force $\lambda$, so weights that do not earn their keep end up tiny.
#
# To see what the penalty does, a second copy of the same network, from the same initial weights, is trained with $\lambda = 0$.

# %%
nets = {"l1": net, "plain": models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN)}
nets["plain"].load_state_dict(net.state_dict())
for name, model in nets.items():
    cfg = config if name == "l1" else dataclasses.replace(config, l1=0.0)
    train.train(model, train_set, cfg, generator=torch.Generator().manual_seed(SEED))
    print(f"{name:5s}: test accuracy {train.evaluate(model, test_set)['accuracy']:.4f}")

# %% [markdown]
# ## Pruning one-shot
#
# **Global magnitude pruning** at sparsity $s$ keeps the $k = (1 - s) D$ weights of largest absolute value, over all layers together, and sets the others to zero; the result is the vector $w^k$ of {ref}`notation`.
#
# Nothing is retrained afterwards: this is the "one-shot" in LOMP.
#
# A **pruning sweep** does this on a grid of sparsities $s = i/1000$ and measures the pruned network each time.
#
# Because the supports are nested, one sort of all magnitudes serves the whole grid, and each step only zeroes the weights removed since the previous one.

# %%
measure = train.measure_on({"train": train_set, "test": test_set})
sweeps = {name: prune.sweep(model, grid, measure) for name, model in nets.items()}
eps = {name: predict.batch_loss_eps(model, train_set)[0] for name, model in nets.items()}

# %% [markdown]
# The sweep also records the **projection distance** $R(s) = \lVert w^* - w^k \rVert_2$, the norm of the weights removed at sparsity $s$.
#
# {numref}`fig-how-sparse-curves` shows the test accuracy and loss of both networks along the grid.

# %% mystnb={"figure": {"caption": "Test accuracy and loss against sparsity", "name": "fig-how-sparse-curves"}}
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
for name, result in sweeps.items():
    label = f"$\\lambda = {L1:g}$" if name == "l1" else "$\\lambda = 0$"
    ax_acc.plot(result.sparsity, result.metrics["test_accuracy"], label=label)
    ax_loss.semilogy(result.sparsity, result.metrics["test_loss"], label=label)
for ax in (ax_acc, ax_loss):
    ax.set_xlabel("sparsity $s$ (fraction of weights removed)")
ax_acc.set_ylabel("test accuracy")
ax_loss.set_ylabel("test loss")
ax_acc.legend()
plotting.maybe_save(fig, "fig-how-sparse-curves", notebook="01_how_sparse", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# Both curves have the same shape: a long plateau where removing weights costs nothing, then a collapse.
#
# The $\ell_1$-trained network keeps its accuracy much further.
#
# ## Three ways to say "it still works"
#
# Where exactly the plateau ends depends on what "still works" means.
#
# - The **accuracy criterion** of the paper's code: the largest sparsity whose test accuracy is not below the dense network's.
# - A **tolerance criterion**: the largest sparsity whose test accuracy is within a fixed tolerance of the dense network's.
# - The **loss criterion**, the one the theory of this book speaks about: the largest sparsity whose *training* loss exceeds the dense training loss by at most $\epsilon$.
#
# For $\epsilon$ we follow the paper's code and take the standard deviation of the mini-batch losses of the trained network over the training set: an increase of the loss smaller than its own batch-to-batch noise.

# %%
criteria = {
    "accuracy": {},
    "tolerance": {"tolerance": TOLERANCE},
    "loss": {},
}
limits = {
    name: {c: prune.actual_limit(r, c, eps=eps[name], **kw) for c, kw in criteria.items()}
    for name, r in sweeps.items()
}

# %% tags=["nbval-check-output"]
for name, result in sweeps.items():
    dense = result.metrics["test_accuracy"][0]
    found = "  ".join(f"{c} {s:.3f}" for c, s in limits[name].items())
    print(f"{name:5s} dense test accuracy {dense:.4f}  eps {eps[name]:.1e}  limits: {found}")

# %% [markdown]
# The three criteria do not agree, and the gap between them is not small.
#
# A prediction of "the" pruning limit must therefore say which one it predicts; the theory in this book predicts the loss criterion, and the paper compares it with the accuracy criterion.
#
# ## What the removed weights weigh
#
# Why does the $\ell_1$ penalty help so much?
#
# {numref}`fig-how-sparse-radius` shows the magnitudes of the trained weights and the norm $R(s)$ of the weights removed at each sparsity.

# %% mystnb={"figure": {"caption": "Weight magnitudes and the removed norm", "name": "fig-how-sparse-radius"}}
fig, (ax_hist, ax_r) = plt.subplots(1, 2, figsize=(9, 3.6))
bins = np.logspace(-8, 1, 60)
for name, model in nets.items():
    magnitudes = prune.flat_prunable(model).abs().numpy()
    ax_hist.hist(magnitudes, bins=bins, histtype="step", linewidth=2, label=name)
    ax_r.plot(sweeps[name].sparsity, sweeps[name].radius, label=name)
    plotting.mark_limit(ax_r, limits[name]["accuracy"], label=f"{name}: accuracy limit",
                        color=ax_r.lines[-1].get_color())
ax_hist.set_xscale("log")
ax_hist.set_xlabel("weight magnitude $|w_i|$")
ax_hist.set_ylabel("count")
ax_r.set_xlabel("sparsity $s$")
ax_r.set_ylabel("removed norm $R(s)$")
ax_r.legend(fontsize=9)
plt.show()

# %% [markdown]
# The penalty splits the weights into a small group that carries the function and a large group of magnitudes near zero.
#
# Removing the second group changes the weight vector very little, so $R(s)$ stays small up to a high sparsity.
#
# Yet the two networks do not break at the same $R$: the plain network tolerates a larger removed norm than the $\ell_1$ network before its accuracy drops.
#
# So the size of the removed weights is not the whole story.

# %%
r_at_limit = {name: float(np.interp(limits[name]["accuracy"], grid, sweeps[name].radius))
              for name in nets}
glue("dense_acc", float(sweeps["l1"].metrics["test_accuracy"][0]), display=False)
glue("limit_l1", limits["l1"]["accuracy"], display=False)
glue("limit_plain", limits["plain"]["accuracy"], display=False)
glue("loss_limit_l1", limits["l1"]["loss"], display=False)
glue("r_l1", r_at_limit["l1"], display=False)
glue("r_plain", r_at_limit["plain"], display=False)

# %% [markdown]
# ## The question
#
# A network trained with the $\ell_1$ penalty loses {glue:text}`limit_l1:.1%` of its weights before its test accuracy falls below the dense value, against {glue:text}`limit_plain:.1%` without the penalty.
#
# At those limits, the removed weights have norm {glue:text}`r_l1:.2f` and {glue:text}`r_plain:.2f`.
#
# What decides the limit?
#
# {cite:t}`zhang2024pruning` answer: the norm $R$ of the removed weights *and* the sharpness of the loss around the trained weights, through the eigenvalues of the Hessian.
#
# Their argument needs two tools, which the next parts build: the geometry of random subspaces and convex cones, and the spectrum of a large Hessian.
#
# The theory itself, and how well it predicts the limits measured here, come after them.
#
# ## Exercises
#
# ```{exercise}
# :label: ch-how-sparse-ex1
# Magnitude pruning is one choice of which weights to remove.
# Prune the $\ell_1$-trained network at random instead: at each sparsity remove a uniformly random subset of the prunable weights, and plot its test accuracy against the magnitude-pruned curve.
# Where does random pruning break, and what is $\lVert w^* - w^k \rVert_2$ there?
# ```
#
# ```{solution-start} ch-how-sparse-ex1
# :class: dropdown
# ```
#
# A random order replaces the magnitude order; nested random supports keep the sweep cheap.

# %%
def random_sweep(model, grid, measure, generator):
    """Prune along a random order of the prunable weights (a random nested support)."""
    params = list(models.prunable_parameters(model).values())
    saved = [p.detach().clone() for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    order = torch.randperm(flat.numel(), generator=generator)
    accuracy, radius = [], []
    for s in grid:
        removed = order[: prune.num_removed(s, flat.numel())]
        pruned = flat.clone()
        pruned[removed] = 0.0
        torch.nn.utils.vector_to_parameters(pruned, params)
        accuracy.append(measure(model)["test_accuracy"])
        radius.append(float(flat[removed].norm()))
    torch.nn.utils.vector_to_parameters(torch.cat([p.reshape(-1) for p in saved]), params)
    return np.array(accuracy), np.array(radius)


coarse = grid[::20]
random_acc, random_r = random_sweep(nets["l1"], coarse, measure, torch.Generator().manual_seed(1))
fig, ax = plt.subplots()
ax.plot(grid, sweeps["l1"].metrics["test_accuracy"], label="magnitude")
ax.plot(coarse, random_acc, "o-", label="random")
ax.set_xlabel("sparsity $s$")
ax.set_ylabel("test accuracy")
ax.legend()
plt.show()
breaks = coarse[np.argmax(random_acc < random_acc[0] - TOLERANCE)]
print(f"random pruning loses a point of accuracy at s = {breaks:.2f}, "
      f"where the removed norm is {np.interp(breaks, coarse, random_r):.2f}")

# %% [markdown]
# Random pruning removes large weights as readily as small ones, so its removed norm grows linearly in the number of weights removed and the accuracy falls almost at once.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-how-sparse-ex2
# The pruning here is *global*: one magnitude threshold for all layers.
# Prune each layer separately instead, removing the same fraction $s$ of each weight matrix, and compare the accuracy limit with the global one.
# ```
#
# ```{solution-start} ch-how-sparse-ex2
# :class: dropdown
# ```

# %%
def layerwise_accuracy(model, sparsity, measure):
    """Remove the fraction `sparsity` of each weight matrix separately, measure, restore."""
    params = list(models.prunable_parameters(model).values())
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p in params:
            order = prune.magnitude_order(p.reshape(-1))
            p.view(-1)[order[: prune.num_removed(sparsity, p.numel())]] = 0.0
    accuracy = measure(model)["test_accuracy"]
    with torch.no_grad():
        for p, original in zip(params, saved):
            p.copy_(original)
    return accuracy


layerwise = np.array([layerwise_accuracy(nets["l1"], s, measure) for s in coarse])
dense = sweeps["l1"].metrics["test_accuracy"][0]
print(f"layer-wise accuracy limit {coarse[layerwise >= dense].max():.2f}, "
      f"global {limits['l1']['accuracy']:.3f}")

# %% [markdown]
# The first layer holds most of the weights and most of the removable ones; forcing every layer to lose the same fraction removes weights the small last layer needs, so the layer-wise limit is lower.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - One-shot global magnitude pruning of an $\ell_1$-trained network keeps the dense test accuracy ({glue:text}`dense_acc:.1%`) up to a sparsity of {glue:text}`limit_l1:.1%`, with no retraining.
# - Without the penalty the same network breaks at {glue:text}`limit_plain:.1%`.
# - "Still works" needs a definition: by the loss criterion, the $\ell_1$ network's limit is {glue:text}`loss_limit_l1:.1%`.
# - The norm of the removed weights alone does not decide the limit; the curvature of the loss does too, which is where the rest of the book goes.
# :::
