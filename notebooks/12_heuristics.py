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
# (ch-heuristics)=
# # Pruning heuristics through the threshold
#
# :::{admonition} Learning goals
# :class: tip
# - Use the predicted pruning threshold to explain three heuristics: pruning in rounds, $\ell_2$ regularisation, and small weights.
# - Follow the threshold through the rounds of iterative magnitude pruning and see why rounds reach sparsities one shot cannot.
# - Separate the two levers of the theory, the norm of the removed weights and the sharpness of the loss, in an $\ell_2$ experiment.
# - Tell apart three meanings of "scaling the weights" and what the theory says about each.
# :::
#
# **Prerequisites:** {ref}`ch-how-sparse`, {ref}`ch-baselines`.

# %% tags=["parameters"]
SEED = 0
DATASET = "digits"
MODEL = "mlp"
HIDDEN = [32, 32]  # widths of the MLP (ignored by the paper's named models)
EPOCHS = 30
BATCH_SIZE = 64
LR = 0.1
MOMENTUM = 0.9
L1 = 1e-4  # lambda of the l1 penalty (LOMP's training)
TARGET_SPARSITY = 0.875  # sparsity of the last round of iterative pruning
ROUNDS = 3  # prune-rewind-retrain rounds
REWIND_EPOCH = 1
WEIGHT_DECAY = 1e-3  # l2 coefficient of the regularised network
SCALES = [1, 2, 3, 4, 5]  # weight scaling factors (the paper's Figure 7)
NUM_STEPS = 64  # Lanczos steps of the spectrum estimate
NUM_PROBES = 1  # SLQ probes
GRID_POINTS = 200  # sparsity grid of the actual limits
DEVICE = "cpu"  # "cuda" or "auto" for the paper's tasks
SAVE_FIGS = False

# %%
import copy
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue

from pnlib import baselines, bounds, data, experiment, models, plotting, predict, prune, repro, train

plotting.use_book_style()
device = experiment.resolve_device(DEVICE)
repro.seed_everything(SEED)
train_set, test_set = data.load(DATASET, train=True), data.load(DATASET, train=False)
facts = data.info(DATASET)
options = {"hidden": HIDDEN} if MODEL == "mlp" else {}
config = train.TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, momentum=MOMENTUM)
grid = prune.sparsity_grid(GRID_POINTS)
measure = train.measure_on({"train": train_set, "test": test_set})


def build():
    gen = torch.Generator().manual_seed(SEED)
    return models.build(MODEL, num_classes=facts.num_classes, in_shape=facts.in_shape,
                        generator=gen, **options).to(device)


def paper_prediction(model):
    """The paper's predicted limit (SLQ spectrum, eps = std of the batch losses)."""
    return predict.predict_pruning_limit(
        model, train_set, exact=False, num_steps=NUM_STEPS, num_probes=NUM_PROBES, seed=SEED,
        predictors=("paper",),
    )


def actual(model, eps):
    """Actual one-shot limits: test accuracy not below dense, and training-loss increase <= eps."""
    result = prune.sweep(model, grid, measure)
    return result, prune.actual_limit(result), prune.actual_limit(result, "loss", eps=eps)


# %% [markdown]
# This chapter uses `pnlib.predict.predict_pruning_limit`, `pnlib.bounds.scaled_prediction`, `pnlib.baselines.imp` and `pnlib.prune.sweep`.
#
# The predicted threshold of {cite:t}`zhang2024pruning` is the fixed point $s^* = s(R(s^*))$ of
#
# $$
# s(R) = \frac{1}{D} \sum_{i=1}^{D} \frac{2\epsilon}{2\epsilon + |\lambda_i| R^2} ,
# \qquad R(s) = \lVert w^* - w^{k} \rVert_2 , \; k = (1 - s) D ,
# $$ (eq-heuristics-threshold)
#
# the largest fraction of weights that can be removed while the loss stays within $\epsilon$ of its value, according to the theory.
# Two things move it: the norm $R$ of the weights removed, and the curvatures $\lambda_i$ of the loss.
# The paper uses this to explain heuristics of the pruning literature; this chapter redoes three of them on a small network.
# The spectrum is estimated by stochastic Lanczos quadrature with {glue:text}`num_steps` steps, the cheaper estimate for repeated predictions.
#
# ## Iterative pruning raises the threshold
#
# Iterative magnitude pruning {cite:p}`frankle2019,frankle2020linear` removes weights in rounds and retrains between them.
# The paper's Figure 4 (top row) shows the predicted threshold rising from round to round, above the sparsity the last round reached.
#
# Here the rounds are those of `pnlib.baselines.imp`, every training (the dense one and each retraining) uses LOMP's $\ell_1$ penalty, and the threshold is predicted after the training of each round.

# %%
glue("num_steps", NUM_STEPS, display=False)
records = {}


def after_training(event, index, model, masks):
    if event != "trained":
        return None
    prediction = paper_prediction(model)
    _, acc_limit, loss_limit = actual(model, prediction.eps)
    if index == 0:
        records["dense"] = copy.deepcopy(model)
    return {"predicted": prediction.sparsity, "accuracy_limit": acc_limit,
            "loss_limit": loss_limit, "test_accuracy": train.evaluate(model, test_set)["accuracy"]}


imp_result = baselines.imp(
    build(), train_set, dataclasses.replace(config, l1=L1), target_sparsity=TARGET_SPARSITY,
    rounds=ROUNDS, rewind_epoch=REWIND_EPOCH, generator=torch.Generator().manual_seed(SEED),
    callback=after_training,
)
rounds = imp_result.rounds
round_sparsity = np.array([r["sparsity"] for r in rounds])
round_predicted = np.array([r["trained"]["predicted"] for r in rounds])
round_actual = np.array([r["trained"]["accuracy_limit"] for r in rounds])

# %% tags=["nbval-check-output"]
for r in rounds:
    t = r["trained"]
    print(f"round {r['round']}: sparsity {r['sparsity']:.3f}  test acc {t['test_accuracy']:.3f}  "
          f"predicted {t['predicted']:.3f}  actual (accuracy) {t['accuracy_limit']:.3f}")

# %% [markdown]
# {numref}`fig-heuristics-rounds` shows the predicted threshold and the actual one-shot limit of each round's network, with the sparsity of the round and the target of the last round.

# %% mystnb={"figure": {"caption": "Predicted threshold over the pruning rounds", "name": "fig-heuristics-rounds"}}
fig, ax = plt.subplots()
idx = np.arange(len(rounds))
ax.plot(idx, round_predicted, "o-", label="predicted threshold $s^*$")
ax.plot(idx, round_actual, "s--", label="actual limit (test accuracy)")
ax.plot(idx, round_sparsity, "k^", label="sparsity of the round")
ax.axhline(TARGET_SPARSITY, color="grey", linestyle=":", label="last round's sparsity")
ax.set_xticks(idx)
ax.set_xlabel("round of iterative pruning")
ax.set_ylabel("sparsity $s$ (fraction removed)")
ax.legend(fontsize=9)
plotting.maybe_save(fig, "fig-heuristics-rounds", notebook="12_heuristics", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The dense network's predicted threshold lies below the last round's sparsity: by the theory, one-shot pruning to that sparsity is beyond its limit.
#
# Over the rounds the threshold rises with the sparsity reached, though not necessarily at every round. After each round the retrained network has its pruned weights at exactly zero, so removing them costs nothing ($R = 0$) and the curve $s(R)$ starts at 1; the threshold can only sit at or above the sparsity already reached, and retraining lets the surviving weights take over the work, so the next step is again affordable.
#
# Rounds thus reach, step by step, a sparsity that no single step from the dense network could.
#
# ## $\ell_2$ regularisation: smaller weights, different curvature
#
# The paper's Figure 4 (bottom row) compares the threshold with and without $\ell_2$ regularisation.
# In {eq}`eq-heuristics-threshold` the regulariser acts twice: it shrinks the weights, hence $R$ at every sparsity, and it changes the minimum the training finds, hence the $\lambda_i$.
#
# Two networks from the same initialisation are trained without any penalty and with weight decay {glue:text}`weight_decay`.

# %%
glue("weight_decay", WEIGHT_DECAY, display=False)
nets, preds, sweeps, limits = {}, {}, {}, {}
for name, wd in [("none", 0.0), ("l2", WEIGHT_DECAY)]:
    net = build()
    train.train(net, train_set, dataclasses.replace(config, weight_decay=wd),
                generator=torch.Generator().manual_seed(SEED))
    nets[name], preds[name] = net, paper_prediction(net)
    sweeps[name], acc_limit, loss_limit = actual(net, preds[name].eps)
    limits[name] = {"accuracy": acc_limit, "loss": loss_limit}

# %% tags=["nbval-check-output"]
print("net   |w|    R(0.5)  trace(H)  lam_max  eps       predicted  actual(acc)  actual(loss)")
for name in nets:
    w = prune.flat_prunable(nets[name])
    summary = preds[name].summary
    print(f"{name:5s} {float(w.norm()):.3f}  {bounds.removed_norm(w.cpu().numpy(), 0.5):.3f}   "
          f"{summary['trace']:8.3f}  {summary['ritz_max']:.3f}   {preds[name].eps:.2e}  "
          f"{preds[name].sparsity:.3f}      {limits[name]['accuracy']:.3f}        "
          f"{limits[name]['loss']:.3f}")

# %% [markdown]
# {numref}`fig-heuristics-l2` draws, for each network, the actual curve $(R(s), s)$ of magnitude pruning and the theory curve $(R, s(R))$; the threshold is where they cross.

# %% mystnb={"figure": {"caption": "Theory and magnitude curves with and without l2", "name": "fig-heuristics-l2"}}
fig, ax = plt.subplots()
for name in nets:
    result = sweeps[name]
    line, = ax.plot(result.radius, result.sparsity, label=f"{name}: magnitude pruning")
    radius = np.linspace(0.0, result.radius.max(), 200)
    ax.plot(radius, preds[name].theory(radius), "--", color=line.get_color(),
            label=f"{name}: theory $s(R)$")
    ax.plot([bounds.removed_norm(prune.flat_prunable(nets[name]).cpu().numpy(), preds[name].sparsity)],
            [preds[name].sparsity], "o", color=line.get_color())
ax.set_xlabel("removed norm $R$")
ax.set_ylabel("sparsity $s$ (fraction removed)")
ax.set_ylim(0, 1)
ax.legend(fontsize=9)
plotting.maybe_save(fig, "fig-heuristics-l2", notebook="12_heuristics", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The regularised network's magnitude curve lies to the left: its weights, and so the weights removed at any sparsity, are smaller.
# Its theory curve moves too, because the curvature and $\epsilon$ at its minimum differ; the threshold moves by the net effect of both, which the table above separates into its parts.
#
# ## Scaling the weights
#
# The paper's Figure 7 redraws the magnitude curve with the weights multiplied by $c = 2, \dots, 5$ against one theory curve, and reads off a smaller threshold for larger weights.
# "Multiplying the weights by $c$" can mean three different things, and `pnlib.bounds.scaled_prediction` computes all three:
#
# - **naive**: $R \to cR$ with the Hessian and $\epsilon$ fixed, the reading of the figure;
# - **reparametrised**: the same function in the coordinates $v = c\,w$, where the Hessian becomes $H / c^2$ and the prediction does not change at all;
# - **consistent**: the network whose weights really are $c\,w^*$, whose loss, Hessian and $\epsilon$ all change and are recomputed.
#
# For the consistent reading the network is rescaled so that it computes $c^{L}$ times the original output ($L$ layers; weights times $c$, biases of layer $l$ times $c^{l}$), so its predictions, and its pruned networks' predictions, are the same classes: the actual accuracy limit cannot change.

# %%
base = records["dense"]  # the l1-trained dense network of round 0 above
base_pred = rounds[0]["trained"]["predicted"]
prediction0 = paper_prediction(base)  # the same as round 0's prediction (same seed)
weights0 = prune.flat_prunable(base).double().cpu().numpy()


def scaled_network(model, c):
    """The network computing c**L times the output: weights * c, layer-l biases * c**l."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        layers = [m for m in net.modules() if isinstance(m, models.PRUNABLE_TYPES)]
        for depth, layer in enumerate(layers, start=1):
            layer.weight.mul_(c)
            if layer.bias is not None:
                layer.bias.mul_(c**depth)
    return net


scaling = []
for c in SCALES:
    net = scaled_network(base, float(c))
    try:
        own = paper_prediction(net)
    except ValueError:  # every batch loss is 0 in float32: eps = 0, no consistent prediction
        own = None
    both = bounds.scaled_prediction(
        weights0, prediction0.spectrum, prediction0.eps, float(c),
        scaled_spectrum=None if own is None else own.spectrum,
        scaled_eps=None if own is None else own.eps, zero_mass=prediction0.zero_mass,
    )
    result, acc_limit, _ = actual(net, 1.0)
    scaling.append({"c": c, "naive": both.naive.estimate, "rep": both.reparametrized.estimate,
                    "consistent": np.nan if own is None else both.consistent.estimate,
                    "eps": 0.0 if own is None else own.eps, "accuracy": acc_limit,
                    "train_loss": result.metrics["train_loss"][0]})

# %% tags=["nbval-check-output"]
print("c  naive  reparam.  consistent  eps       train loss  actual(acc)")
for row in scaling:
    print(f"{row['c']}  {row['naive']:.3f}  {row['rep']:.3f}     {row['consistent']:.3f}       "
          f"{row['eps']:.1e}  {row['train_loss']:.1e}     {row['accuracy']:.3f}")

# %% mystnb={"figure": {"caption": "Magnitude curves of scaled weights against one theory curve", "name": "fig-heuristics-scaling"}}
fig, ax = plt.subplots()
base_sweep = prune.sweep(base, grid, lambda model: {})
radius = np.linspace(0.0, max(SCALES) * base_sweep.radius.max(), 300)
ax.plot(radius, prediction0.theory(radius), "g-", label="theory $s(R)$ (fixed)")
for row in scaling:
    line, = ax.plot(row["c"] * base_sweep.radius, base_sweep.sparsity, label=f"×{row['c']}")
    ax.plot([bounds.removed_norm(row["c"] * weights0, row["naive"])], [row["naive"]], "o",
            color=line.get_color())
ax.set_xlabel("removed norm $R$")
ax.set_ylabel("sparsity $s$ (fraction removed)")
ax.set_ylim(0, 1)
ax.legend(fontsize=9)
plotting.maybe_save(fig, "fig-heuristics-scaling", notebook="12_heuristics", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# {numref}`fig-heuristics-scaling` is the naive reading: the magnitude curves stretch to the right and cross the fixed theory curve at smaller sparsities, as in the paper's figure.
#
# The table shows why the reading matters: the reparametrised prediction does not move, the scaled network's own prediction moves by a different amount, and the scaled network's actual accuracy limit is the same for every $c$.
#
# The consistent reading also exposes a weakness of the $\epsilon$ rule: the outputs grow as $c^{L}$, the training loss of a network that fits its data goes to zero, and once every mini-batch loss rounds to exactly zero (already at $c = 2$ here, in single and in double precision, since $\log(1 + e^{-m})$ is 0 for a large margin $m$), $\epsilon$ (their standard deviation) is zero and the prediction is undefined (shown as `nan`).
#
# "Small weights benefit pruning" therefore holds at a fixed loss landscape; scaling a trained network changes the landscape with the weights.

# %%
glue("round0_pred", float(round_predicted[0]), display=False)
glue("last_pred", float(round_predicted[-1]), display=False)
glue("target", TARGET_SPARSITY, display=False)
glue("none_pred", preds["none"].sparsity, display=False)
glue("l2_pred", preds["l2"].sparsity, display=False)
glue("none_norm", float(prune.flat_prunable(nets["none"]).norm()), display=False)
glue("l2_norm", float(prune.flat_prunable(nets["l2"]).norm()), display=False)
glue("naive_1", scaling[0]["naive"], display=False)
glue("naive_last", scaling[-1]["naive"], display=False)
glue("scale_last", SCALES[-1], display=False)
glue("acc_limit_scaled", scaling[-1]["accuracy"], display=False)

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-heuristics-ex1
# The reparametrised prediction equals the unscaled one for every $c$.
# Show it from {eq}`eq-heuristics-threshold`, then check it numerically with `pnlib.bounds.predicted_sparsity` on the weights and spectrum of the base network, scaling the eigenvalues yourself.
# ```
#
# ```{solution-start} ch-heuristics-ex1
# :class: dropdown
# ```
#
# In $v = c\,w$ the loss is $\tilde L(v) = L(v / c)$, so $\tilde H = H / c^2$, and the removed norm is $cR$; each term of {eq}`eq-heuristics-threshold` depends on $|\lambda_i| R^2$, which is unchanged, and so is every $s(R)$ and the fixed point.

# %%
spec, z = prediction0.spectrum, prediction0.zero_mass
for c in (2.0, 5.0):
    scaled_spec = dataclasses.replace(spec, nodes=spec.nodes / c**2)
    s_c = bounds.predicted_sparsity(c * weights0, scaled_spec, prediction0.eps, zero_mass=z)
    s_1 = bounds.predicted_sparsity(weights0, spec, prediction0.eps, zero_mass=z)
    s_c, s_1 = s_c.estimate, s_1.estimate
    print(f"c = {c}: {s_c:.6f} against {s_1:.6f}")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-heuristics-ex2
# Iterative pruning here rewinds to early weights between rounds.
# Replace the rewinding by fine-tuning: after each pruning step, keep the trained survivors and train them for a few epochs with `pnlib.baselines.train_masked`.
# Does the predicted threshold still rise from round to round?
# ```
#
# ```{solution-start} ch-heuristics-ex2
# :class: dropdown
# ```

# %%
net = copy.deepcopy(records["dense"])
masks = baselines.full_masks(net)
tune = dataclasses.replace(config, l1=L1, epochs=max(1, EPOCHS // 3))
for r, s in enumerate(baselines.geometric_schedule(TARGET_SPARSITY, ROUNDS), start=1):
    masks = baselines.prune_survivors(net, masks, float(s))
    baselines.train_masked(net, train_set, tune, masks,
                           generator=torch.Generator().manual_seed(SEED + r))
    print(f"round {r}: sparsity {s:.3f}  predicted {paper_prediction(net).sparsity:.3f}")

# %% [markdown]
# The threshold rises in the same way: what matters is that the pruned weights are exactly zero and the survivors are retrained, not where the retraining starts.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - The dense network's predicted threshold is {glue:text}`round0_pred:.3f`, below the last round's sparsity {glue:text}`target:.3f`; after the last round of iterative pruning it is {glue:text}`last_pred:.3f`.
# - Weight decay shrinks the weight norm from {glue:text}`none_norm:.2f` to {glue:text}`l2_norm:.2f` and moves the predicted threshold from {glue:text}`none_pred:.3f` to {glue:text}`l2_pred:.3f`, through both the removed norm and the curvature.
# - With the loss landscape held fixed, weights ×{glue:text}`scale_last` lower the predicted threshold from {glue:text}`naive_1:.3f` to {glue:text}`naive_last:.3f`; the rescaled network itself keeps its actual accuracy limit ({glue:text}`acc_limit_scaled:.3f`).
# - A heuristic "explained by the threshold" is a statement about $R$ and the spectrum together; changing one usually changes the other.
# :::
