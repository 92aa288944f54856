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
# - Tell apart the ways of saying "the pruned network still works", and the limits they give.
# - State the question the rest of the book answers: what decides where the curve breaks?
# :::
#
# **Prerequisites:** none; the notation is in {ref}`notation`.
#
# A trained network usually has far more weights than it needs, and many of them can be set to zero without changing what it computes. This chapter trains a small network, removes its weights in order of magnitude without any retraining, and watches where it breaks. The place where it breaks moves a long way with how the network was trained and with what "still works" is taken to mean; explaining and predicting that place is the subject of the whole book.

# %% tags=["parameters", "hide-input"]
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

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue

from pnlib import claims, data, models, plotting, predict, prune, repro, train

plotting.use_book_style()
gen = repro.seed_everything(SEED)
train_set, test_set = data.load("digits", train=True), data.load("digits", train=False)
grid = prune.sparsity_grid(GRID_POINTS)
config = train.TrainConfig(
    epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, momentum=MOMENTUM, l1=L1
)

# %% [markdown]
# ## A network to prune
#
# The data are scikit-learn's handwritten digits: 8×8 grey images of the digits 0 to 9, split once into a training and a test set. The network is a **multilayer perceptron** with two hidden layers of ReLU units. Its **prunable weights** are the entries of its weight matrices; the biases are few and are never pruned. The code of this chapter uses `pnlib.data.load`, `pnlib.models.build`, `pnlib.train.train`, `pnlib.train.measure_on`, `pnlib.prune.sweep`, `pnlib.prune.actual_limit` and, at the end, `pnlib.predict.predict_pruning_limit`.

# %%
net = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN, generator=gen)
counts = models.count_parameters(net)
print(f"{len(train_set)} training and {len(test_set)} test images")
print(f"{counts['total']} parameters, {counts['prunable']} of them prunable weights")

# %% [markdown]
# ## Training with an $\ell_1$ penalty
#
# Training decides how much of a network can be removed afterwards. The paper's method, **LOMP** ($\ell_1$-regularised one-shot magnitude pruning), first trains the network on the loss plus an $\ell_1$ penalty,
#
# $$
# \min_w \; L(w) + \lambda \lVert w \rVert_1 ,
# $$ (eq-lomp-objective)
#
# with $L$ the mean cross-entropy over the training set. The penalty pulls every weight towards zero with the same force $\lambda$, so weights that do not earn their keep end up tiny. To see what the penalty does, a second copy of the same network, from the same initial weights, is trained with $\lambda = 0$.

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
# **Global magnitude pruning** at sparsity $s$ keeps the $k = (1 - s) D$ weights of largest absolute value, over all layers together, and sets the others to zero; the result is the vector $w^k$ of {ref}`notation`. Nothing is retrained afterwards: this is the "one-shot" in LOMP.
#
# A **pruning sweep** does this on a grid of sparsities $s = i/1000$ and measures the pruned network each time. Because the supports are nested, one sort of all magnitudes serves the whole grid, and each step only zeroes the weights removed since the previous one. The sweep also records the **projection distance** $R(s) = \lVert w^* - w^k \rVert_2$, the norm of the weights removed at sparsity $s$. The test accuracy and loss of both networks along the grid are drawn in {numref}`fig-how-sparse-curves`.

# %%
measure = train.measure_on({"train": train_set, "test": test_set})
sweeps = {name: prune.sweep(model, grid, measure) for name, model in nets.items()}

# %% mystnb={"figure": {"caption": "Test accuracy and loss against sparsity. Both networks keep their accuracy on a long plateau and then collapse; the plateau of the network trained with the l1 penalty reaches much further to the right.", "name": "fig-how-sparse-curves"}}
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
# Both curves have the same shape: a long plateau where removing weights costs nothing, then a collapse towards the accuracy of guessing. The $\ell_1$-trained network keeps its accuracy much further, by more than twenty points of sparsity.

# %% tags=["claim", "hide-input"]
plateau = {name: prune.actual_limit(r, "accuracy") for name, r in sweeps.items()}
last = {name: float(r.metrics["test_accuracy"][-1]) for name, r in sweeps.items()}
claims.check(min(plateau.values()) >= 0.2 and max(last.values()) < 0.3,
             "both networks keep their accuracy on a plateau, then collapse",
             plateau_l1=plateau["l1"], plateau_plain=plateau["plain"],
             last_l1=last["l1"], last_plain=last["plain"])
claims.check(plateau["l1"] - plateau["plain"] > 0.2,
             "the l1 network keeps its accuracy more than twenty points of sparsity further",
             l1=plateau["l1"], plain=plateau["plain"]);

# %% [markdown]
# ## Ways to say "it still works"
#
# Where exactly the plateau ends depends on what "still works" means. Most definitions look at the test accuracy, one at the training loss. `pnlib.prune.actual_limit` reads the limit off a sweep by one of several criteria, of which this chapter uses four:
#
# - the **accuracy criterion** `accuracy`, this book's default: the largest sparsity whose test accuracy is not below the dense network's;
# - the **strict accuracy criterion** `accuracy_above`, the one of the authors' code: the largest sparsity whose test accuracy is strictly above the dense network's;
# - a **tolerance criterion** `tolerance`: the largest sparsity whose test accuracy is within a fixed tolerance (here one point) of the dense network's;
# - the **loss criterion** `loss`, the one the theory of this book speaks about: the largest sparsity whose *training* loss exceeds the dense training loss by at most $\epsilon$.
#
# The strict criterion asks a pruned network to beat the dense one. On a test set of a few hundred images that is decided by one or two images, which is why this book does not make it its default; when no pruned network happens to do better it gives a limit of 0. For $\epsilon$ we follow the rule of the paper's code and take the standard deviation of the mini-batch losses of the trained network over the training set (here in batches of 128, in dataset order): an increase of the loss smaller than its own batch-to-batch noise. The prediction engine of this book, `pnlib.predict.predict_pruning_limit`, computes this $\epsilon$ together with its predictions of the limit, so the loss criterion below and the predictions at the end of the chapter share one $\epsilon$. For networks as small as these it works from the exact spectrum of the Hessian.

# %%
predictions = {
    name: predict.predict_pruning_limit(model, train_set, predictors=("paper", "taylor"), seed=SEED)
    for name, model in nets.items()
}
eps = {name: p.eps for name, p in predictions.items()}
criteria = {
    "accuracy": {},
    "accuracy_above": {},
    "tolerance": {"tolerance": TOLERANCE},
    "loss": {},
}
limits = {
    name: {c: prune.actual_limit(r, c, eps=eps[name], **kw) for c, kw in criteria.items()}
    for name, r in sweeps.items()
}

# %% tags=["claim", "hide-input"]
claims.check(all(p.spectrum_source == "exact" for p in predictions.values()),
             "for both networks the engine works from the exact Hessian spectrum",
             **{name: p.spectrum_source for name, p in predictions.items()});

# %% tags=["nbval-check-output", "hide-input"]
for name, result in sweeps.items():
    dense = result.metrics["test_accuracy"][0]
    found = "  ".join(f"{c} {s:.3f}" for c, s in limits[name].items())
    print(f"{name:5s} dense test accuracy {dense:.4f}  eps {eps[name]:.1e}  limits: {found}")

# %% [markdown]
# The criteria do not agree, and the gap between them is not small: on each network no two criteria give the same limit, and the highest and the lowest lie more than ten points of sparsity apart. Even the two accuracy criteria, which differ only in whether a tie with the dense network counts, give different limits. A prediction of "the" pruning limit must therefore say which one it predicts. The theory in this book predicts the loss criterion, while the paper compares its predictions with limits measured by accuracy.

# %% tags=["claim", "hide-input"]
for name, found in limits.items():
    values = list(found.values())
    claims.check(len(set(values)) == len(values) and max(values) - min(values) > 0.1,
                 f"{name}: no two criteria agree, and they spread over more than ten points",
                 **found)

# %% [markdown]
# ## What the removed weights weigh
#
# Why does the $\ell_1$ penalty help so much? {numref}`fig-how-sparse-radius` shows the magnitudes of the trained weights and the norm $R(s)$ of the weights removed at each sparsity.

# %% mystnb={"figure": {"caption": "Weight magnitudes (left) and the removed norm R(s) (right). The l1 penalty piles a large group of weights up at tiny magnitudes, so its removed norm stays near zero over a long stretch of the grid; yet the plain network reaches its accuracy limit (dashed) at a larger removed norm.", "name": "fig-how-sparse-radius"}}
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

# %%
SMALL = 1e-3  # a weight below this magnitude counts as "near zero"
PROBE = 0.4  # the sparsity at which the removed norms are compared
small = {name: float((prune.flat_prunable(model).abs() < SMALL).float().mean())
         for name, model in nets.items()}
r_probe = {name: float(np.interp(PROBE, grid, sweeps[name].radius)) for name in nets}
r_at_limit = {name: float(np.interp(limits[name]["accuracy"], grid, sweeps[name].radius))
              for name in nets}
glue("small_l1", small["l1"], display=False)
glue("small_plain", small["plain"], display=False)
glue("probe", PROBE, display=False)
glue("r_probe_l1", r_probe["l1"], display=False)
glue("r_probe_plain", r_probe["plain"], display=False)

# %% [markdown]
# The penalty splits the weights into a small group that carries the function and a large group of magnitudes near zero: {glue:text}`small_l1:.0%` of the $\ell_1$ network's weights are below $10^{-3}$ in magnitude, against {glue:text}`small_plain:.1%` of the plain network's. Removing that second group changes the weight vector very little, so $R(s)$ stays small up to a high sparsity; at $s =$ {glue:text}`probe:.1f` the $\ell_1$ network has lost a removed norm of {glue:text}`r_probe_l1:.3f`, the plain network {glue:text}`r_probe_plain:.2f`.
#
# Yet the two networks do not break at the same $R$: the plain network tolerates a larger removed norm than the $\ell_1$ network before its accuracy drops. So the size of the removed weights is not the whole story.

# %% tags=["claim", "hide-input"]
claims.check(small["l1"] > 0.25 and small["l1"] > 20 * small["plain"],
             "a large group of the l1 network's weights is near zero, and far fewer of the plain one's",
             l1=small["l1"], plain=small["plain"])
claims.check(r_probe["l1"] < r_probe["plain"] / 10,
             "at the probe sparsity the l1 network has removed a far smaller norm",
             l1=r_probe["l1"], plain=r_probe["plain"])
claims.check(r_at_limit["plain"] > r_at_limit["l1"],
             "the plain network tolerates a larger removed norm before its accuracy drops",
             plain=r_at_limit["plain"], l1=r_at_limit["l1"]);

# %%
estimate = {name: p.estimates for name, p in predictions.items()}
glue("dense_acc", float(sweeps["l1"].metrics["test_accuracy"][0]), display=False)
glue("limit_l1", limits["l1"]["accuracy"], display=False)
glue("limit_plain", limits["plain"]["accuracy"], display=False)
glue("loss_limit_l1", limits["l1"]["loss"], display=False)
glue("loss_limit_plain", limits["plain"]["loss"], display=False)
glue("r_l1", r_at_limit["l1"], display=False)
glue("r_plain", r_at_limit["plain"], display=False)
for name in nets:
    for predictor in ("paper", "taylor"):
        glue(f"{predictor}_{name}", estimate[name][predictor], display=False)

# %% [markdown]
# ## The question
#
# A network trained with the $\ell_1$ penalty loses {glue:text}`limit_l1:.1%` of its weights before its test accuracy falls below the dense value, against {glue:text}`limit_plain:.1%` without the penalty. At those limits, the removed weights have norm {glue:text}`r_l1:.2f` and {glue:text}`r_plain:.2f`. What decides the limit?
#
# The answer of {cite:t}`zhang2024pruning` is the norm $R$ of the removed weights *and* the sharpness of the loss around the trained weights, through the eigenvalues of the Hessian. From these two ingredients and $\epsilon$ alone, without measuring a single pruned network, their prediction of the loss-criterion limit, computed above by `predict_pruning_limit`, is {glue:text}`paper_l1:.3f` for the $\ell_1$ network and {glue:text}`paper_plain:.3f` for the plain one. It ranks the two networks as the measurement does, but it lies above the measured loss-criterion limits, {glue:text}`loss_limit_l1:.3f` and {glue:text}`loss_limit_plain:.3f`. A second predictor of the engine, which follows the actual pruning path with a second-order Taylor model of the loss, gives {glue:text}`taylor_l1:.3f` and {glue:text}`taylor_plain:.3f`, closer to the measurements on both networks.

# %% tags=["claim", "hide-input"]
claims.check(estimate["l1"]["paper"] > estimate["plain"]["paper"] and limits["l1"]["loss"] > limits["plain"]["loss"],
             "the paper's prediction ranks the two networks as the loss criterion does",
             paper_l1=estimate["l1"]["paper"], paper_plain=estimate["plain"]["paper"],
             loss_l1=limits["l1"]["loss"], loss_plain=limits["plain"]["loss"])
for name in nets:
    actual = limits[name]["loss"]
    claims.check(estimate[name]["paper"] > actual,
                 f"{name}: the paper's prediction lies above the loss-criterion limit",
                 paper=estimate[name]["paper"], loss=actual)
    claims.check(abs(estimate[name]["taylor"] - actual) < abs(estimate[name]["paper"] - actual),
                 f"{name}: the Taylor prediction is closer to the loss-criterion limit",
                 taylor=estimate[name]["taylor"], paper=estimate[name]["paper"], loss=actual)

# %% [markdown]
# The paper's argument needs two tools, which the next parts build: the geometry of random subspaces and convex cones, and the spectrum of a large Hessian. The theory itself comes after them in {ref}`ch-pruning-limit`, and {ref}`ch-which-prediction` takes up why a predictor that follows the pruning path can do better than one that treats the pruned weights as a random subspace.
#
# ## Exercises
#
# ```{exercise}
# :label: ch-how-sparse-ex1
# Magnitude pruning is one choice of which weights to remove.
# Prune the $\ell_1$-trained network at random instead: at each sparsity remove a uniformly random subset of the prunable weights, and plot its test accuracy against the magnitude-pruned curve.
# Where does random pruning break, and what is $\lVert w^* - w^k \rVert_2$ there?
# How does that norm grow with the number of weights removed?
# ```
#
# ```{solution-start} ch-how-sparse-ex1
# :class: dropdown
# ```
#
# A random order replaces the magnitude order. The code draws one random permutation of the prunable weights and, at each sparsity, removes as many of its first entries as the sparsity asks for; the removed sets are then nested, as in a magnitude sweep, and one pass over the grid suffices.

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

# %% mystnb={"figure": {"caption": "Random against magnitude pruning of the l1 network. Random pruning loses accuracy almost from the first weights removed, while magnitude pruning keeps it over most of the grid.", "name": "fig-how-sparse-random"}}
fig, ax = plt.subplots()
ax.plot(grid, sweeps["l1"].metrics["test_accuracy"], label="magnitude")
ax.plot(coarse, random_acc, "o-", label="random")
ax.set_xlabel("sparsity $s$")
ax.set_ylabel("test accuracy")
ax.legend()
plt.show()

# %%
breaks = float(coarse[np.argmax(random_acc < random_acc[0] - TOLERANCE)])
w_norm = float(prune.flat_prunable(nets["l1"]).norm())
num_weights = counts["prunable"]
expected_r = np.array([w_norm * np.sqrt(prune.num_removed(s, num_weights) / num_weights) for s in coarse])
later = coarse >= 0.1  # past the first few points, where a handful of weights dominates
worst_ratio = float(np.abs(random_r[later] / expected_r[later] - 1).max())
print(f"random pruning loses a point of accuracy at s = {breaks:.2f}, "
      f"where the removed norm is {np.interp(breaks, coarse, random_r):.2f} "
      f"(magnitude pruning: {np.interp(breaks, grid, sweeps['l1'].radius):.2g})")
print(f"removed norm against ||w*|| sqrt(m/D) for s >= 0.1: largest relative deviation {worst_ratio:.2f}")

# %% [markdown]
# Random pruning removes large weights as readily as small ones. If $m$ of the $D$ weights are removed at random, each weight is removed with probability $m/D$, so $\mathbb E\lVert w^* - w^k\rVert_2^2 = (m/D)\lVert w^*\rVert_2^2$: the removed norm grows like the square root of the number of weights removed, $R \approx \lVert w^*\rVert_2\sqrt{m/D}$. The printout confirms it to within a fifth from $s = 0.1$ on; below that, a handful of large weights decides whether the few removed ones weigh much. Magnitude pruning instead removes the near-zero weights first, so at the sparsity where random pruning has lost a point of accuracy it has removed a far smaller norm. The random curve therefore falls almost at once, long before the magnitude-pruned one reaches the end of its plateau.

# %% tags=["claim", "hide-input"]
claims.check(worst_ratio < 0.2, "the random removed norm follows ||w*|| sqrt(m/D) to within 20 %",
             worst_deviation=worst_ratio)
claims.check(breaks < 0.1 and breaks < limits["l1"]["tolerance"],
             "random pruning loses a point almost at once, long before magnitude pruning does",
             random=breaks, magnitude=limits["l1"]["tolerance"])
claims.check(np.interp(breaks, grid, sweeps["l1"].radius) < np.interp(breaks, coarse, random_r) / 10,
             "at that sparsity magnitude pruning has removed a far smaller norm",
             magnitude=float(np.interp(breaks, grid, sweeps["l1"].radius)),
             random=float(np.interp(breaks, coarse, random_r)));

# %% [markdown]
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
layerwise_limit = float(coarse[layerwise >= dense].max())
# which fraction of each layer the global threshold removes at the global limit
weights = models.prunable_parameters(nets["l1"])
flat = prune.flat_prunable(nets["l1"])
removed = torch.zeros(flat.numel(), dtype=torch.bool)
removed[prune.magnitude_order(flat)[: prune.num_removed(limits["l1"]["accuracy"], flat.numel())]] = True
layer_size = {name: p.numel() for name, p in weights.items()}
layer_share = {name: float(part.float().mean())
               for name, part in zip(weights, torch.split(removed, list(layer_size.values())))}
print(f"layer-wise accuracy limit {layerwise_limit:.2f}, global {limits['l1']['accuracy']:.3f}")
for name in weights:
    print(f"{name}: {layer_size[name]} weights, {layer_share[name]:.2f} of them removed at the global limit")

# %% [markdown]
# The first layer holds most of the weights, and the global threshold removes a larger fraction of it than of the small last layer, whose weights the network needs. Forcing every layer to lose the same fraction therefore removes weights of the last layer that global pruning keeps, and the layer-wise limit is lower.

# %% tags=["claim", "hide-input"]
names = list(weights)
first, final = names[0], names[-1]
claims.check(layer_size[first] > sum(layer_size.values()) / 2, "the first layer holds most of the weights",
             first=layer_size[first], total=sum(layer_size.values()))
claims.check(layer_share[first] > limits["l1"]["accuracy"] > layer_share[final],
             "the global threshold removes more of the first layer, less of the last, than the overall fraction",
             first=layer_share[first], overall=limits["l1"]["accuracy"], last=layer_share[final])
claims.check(layerwise_limit < limits["l1"]["accuracy"], "the layer-wise limit is lower than the global one",
             layerwise=layerwise_limit, global_limit=limits["l1"]["accuracy"]);

# %% [markdown]
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - One-shot global magnitude pruning of an $\ell_1$-trained network keeps the dense test accuracy ({glue:text}`dense_acc:.1%`) up to a sparsity of {glue:text}`limit_l1:.1%`, with no retraining.
# - Without the penalty the same network breaks at {glue:text}`limit_plain:.1%`.
# - "Still works" needs a definition: by the loss criterion, the $\ell_1$ network's limit is {glue:text}`loss_limit_l1:.1%`, and the strict accuracy criterion of the authors' code gives yet another value.
# - The norm of the removed weights alone does not decide the limit; the curvature of the loss does too, and the paper's prediction from both ({glue:text}`paper_l1:.3f` here) is where the rest of the book goes.
# :::
