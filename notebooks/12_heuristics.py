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
# - Follow the threshold through the rounds of iterative magnitude pruning, and tell the part of its rise that is built into the formula from the part that is a prediction.
# - Separate the two levers of the theory, the norm of the removed weights and the sharpness of the loss, in an $\ell_2$ experiment, and see where the quadratic model behind the threshold fails.
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
from IPython.display import Markdown, display
from myst_nb import glue

from pnlib import baselines, bounds, claims, data, experiment, models, plotting, predict, prune, repro, train

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
# This chapter uses `pnlib.predict.predict_pruning_limit`, `pnlib.bounds.scaled_prediction`, `pnlib.baselines.imp` (the iterative pruning of {ref}`ch-baselines`) and `pnlib.prune.sweep`.
# The predicted threshold of {cite:t}`zhang2024pruning` is the fixed point $s^* = s(R(s^*))$ of
#
# $$
# s(R) = \frac{1}{D} \sum_{i=1}^{D} \frac{2\epsilon}{2\epsilon + |\lambda_i| R^2} ,
# \qquad R(s) = \lVert w^* - w^{k} \rVert_2 , \; k = (1 - s) D ,
# $$ (eq-heuristics-threshold)
#
# the largest fraction of weights that can be removed while the loss stays within $\epsilon$ of its value, according to the theory.
# Two things move it: the norm $R$ of the weights removed, and the curvatures $\lambda_i$ of the loss measured against $\epsilon$.
# The paper uses this to explain heuristics of the pruning literature, and this chapter redoes three of them on a small network.
# The spectrum is estimated by stochastic Lanczos quadrature with {glue:text}`num_steps` steps, the cheaper estimate when many predictions are needed.
#
# ## Iterative pruning and the threshold
#
# Iterative magnitude pruning {cite:p}`frankle2019,frankle2020linear` removes weights in rounds and retrains between them.
# The paper's Figure 4 (top row) shows the predicted threshold rising from round to round, above the sparsity the last round reached.
# Here the rounds are those of `pnlib.baselines.imp`, and every training (the dense one and each retraining) uses LOMP's $\ell_1$ penalty.
# After the training of each round the threshold is predicted, and the actual one-shot limit of that round's network is measured with the book's `accuracy` criterion: the largest sparsity at which its test accuracy is not below that of the unpruned round network.

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
round_test = np.array([r["trained"]["test_accuracy"] for r in rounds])
# how far beyond the sparsity already reached each limit lies
margin_predicted = round_predicted - round_sparsity
margin_actual = round_actual - round_sparsity
# the dense network pruned in one shot to the last round's sparsity, for comparison
one_shot = copy.deepcopy(records["dense"])
prune.prune_(one_shot, TARGET_SPARSITY)
one_shot_accuracy = train.evaluate(one_shot, test_set)["accuracy"]

# %% tags=["nbval-check-output", "hide-input"]
print("round  sparsity  test acc  predicted  actual (accuracy)  margin predicted  margin actual")
for r, s, a, p, q, mp, ma in zip(range(len(rounds)), round_sparsity, round_test, round_predicted,
                                 round_actual, margin_predicted, margin_actual):
    print(f"{r:5d}  {s:8.3f}  {a:8.3f}  {p:9.3f}  {q:17.3f}  {mp:16.3f}  {ma:13.3f}")
print(f"dense network pruned in one shot to {TARGET_SPARSITY}: test acc {one_shot_accuracy:.3f}")

# %% [markdown]
# {numref}`fig-heuristics-rounds` shows the predicted threshold and the actual one-shot limit of each round's network, with the sparsity of the round and the target of the last round.

# %% mystnb={"figure": {"caption": "Predicted threshold (circles) and actual one-shot limit (squares) of each round's network. Both always sit on or above the sparsity the round reached (triangles), the predicted threshold's distance above the triangles shrinks from round to round, and only after the last round do the limits reach the dotted target.", "name": "fig-heuristics-rounds"}}
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

# %%
glue("round0_pred", float(round_predicted[0]), display=False)
glue("round0_actual", float(round_actual[0]), display=False)
glue("last_pred", float(round_predicted[-1]), display=False)
glue("last_actual", float(round_actual[-1]), display=False)
glue("target", TARGET_SPARSITY, display=False)
glue("one_shot_acc", float(one_shot_accuracy), display=False)
glue("last_test_acc", float(round_test[-1]), display=False)
glue("margin_pred_first", float(margin_predicted[1]), display=False)
glue("margin_pred_last", float(margin_predicted[-1]), display=False)
glue("margin_actual_last", float(margin_actual[-1]), display=False)

# %% [markdown]
# The dense network's predicted threshold, {glue:text}`round0_pred:.3f`, lies below the last round's sparsity {glue:text}`target:.3f`: by the theory, one-shot pruning to that sparsity is beyond the dense network's limit.
# The network agrees, since its actual one-shot limit is {glue:text}`round0_actual:.3f`, and pruned to {glue:text}`target:.3f` in one shot it keeps only {glue:text}`one_shot_acc:.1%` test accuracy, where the rounds reach the same sparsity with {glue:text}`last_test_acc:.1%`.

# %% tags=["claim", "hide-input"]
claims.check(round_predicted[0] < TARGET_SPARSITY and round_actual[0] < TARGET_SPARSITY,
             "the dense network's predicted and actual limits lie below the last round's sparsity",
             predicted=round_predicted[0], actual=round_actual[0], target=TARGET_SPARSITY)
claims.check(one_shot_accuracy < round_test[-1],
             "one-shot pruning to the target keeps less accuracy than the rounds",
             one_shot=one_shot_accuracy, rounds=round_test[-1])
claims.check(bool(np.all(np.maximum(round_predicted, round_actual)[:-1] < TARGET_SPARSITY)
                  and min(round_predicted[-1], round_actual[-1]) >= TARGET_SPARSITY),
             "only after the last round do the predicted and actual limits reach the target",
             predicted=np.round(round_predicted, 3).tolist(), actual=np.round(round_actual, 3).tolist());

# %% [markdown]
# That the threshold then rises with the rounds is, however, no evidence for the theory, because it is built into the formula.
# After a round at sparsity $s_r$ the retrained network has its pruned weights at exactly zero, so $R(s) = 0$ for every $s \le s_r$, and there $s(R(s)) = s(0) = 1 > s$.
# The fixed point can therefore only lie at or above $s_r$, whatever the network and whatever its curvature.
# The same holds for the actual limit, since removing weights that are already zero changes nothing.
# What the theory does say is how far beyond the sparsity already reached the next one-shot step can go: the **margin** $s^* - s_r$, which the table above compares with the measured margin.

# %% tags=["claim", "hide-input"]
claims.check(bool(np.all(round_predicted >= round_sparsity) and np.all(round_actual >= round_sparsity)),
             "in every round the predicted and the actual limit lie at or above the round's sparsity",
             predicted=np.round(round_predicted, 3).tolist(), actual=np.round(round_actual, 3).tolist(),
             sparsity=np.round(round_sparsity, 3).tolist());

# %% [markdown]
# The predicted margin shrinks at every round, from {glue:text}`margin_pred_first:.3f` after the first pruning to {glue:text}`margin_pred_last:.3f` after the last: each retraining makes the next step affordable, but less and less of it.
# The prediction overestimates the dense network's limit, {glue:text}`round0_pred:.3f` against {glue:text}`round0_actual:.3f`, as the next section examines.
# In the last round predicted and actual limits lie close together, {glue:text}`last_pred:.3f` against {glue:text}`last_actual:.3f`, but that agreement says little, since both margins are then under two points and both limits are held from below by the same $s_r$.
# Rounds thus reach, step by step, a sparsity that no single step from the dense network could; the threshold records this, but since its rise is built in, it does not explain it.

# %% tags=["claim", "hide-input"]
claims.check(bool(np.all(np.diff(margin_predicted) < 0)),
             "the predicted margin shrinks at every round", margin=np.round(margin_predicted, 3).tolist())
claims.check(round_predicted[0] > round_actual[0],
             "the prediction overestimates the dense network's limit",
             predicted=round_predicted[0], actual=round_actual[0])
claims.check(max(margin_predicted[-1], margin_actual[-1]) < 0.02,
             "in the last round both margins are under two points",
             predicted=margin_predicted[-1], actual=margin_actual[-1]);

# %% [markdown]
# ## $\ell_2$ regularisation: smaller weights, different curvature
#
# The paper's Figure 4 (bottom row) compares the threshold with and without $\ell_2$ regularisation.
# In {eq}`eq-heuristics-threshold` the regulariser acts twice: it shrinks the weights, hence $R$ at every sparsity, and it changes the minimum the training finds, hence the $\lambda_i$ and $\epsilon$.
# Two networks from the same initialisation are trained, one without any penalty and one with weight decay {glue:text}`weight_decay`.

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

# %% tags=["nbval-check-output", "hide-input"]
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

# %% mystnb={"figure": {"caption": "Magnitude-pruning curves (solid) and theory curves (dashed) with and without l2; the dots mark where they cross, the predicted threshold. The regularised network's magnitude curve lies to the left (its removed weights are smaller), so it crosses its theory curve at a higher sparsity, while the two theory curves nearly coincide up to the crossings.", "name": "fig-heuristics-l2"}}
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

# %%
norm = {name: float(prune.flat_prunable(net).norm()) for name, net in nets.items()}


def crossed(weights_of, landscape_of):
    """The paper's fixed point with one network's weights and another's spectrum, eps, zero mass."""
    p, q = preds[weights_of], preds[landscape_of]
    return float(bounds.predicted_sparsity(p.weights, q.spectrum, q.eps, negative=q.negative,
                                           zero_mass=q.zero_mass).estimate)


cross = {(a, b): crossed(a, b) for a in nets for b in nets}
# the shift from "none" to "l2" through the weights alone, at either landscape, and vice versa
shift_weights = [cross["l2", b] - cross["none", b] for b in nets]
shift_landscape = [cross[a, "l2"] - cross[a, "none"] for a in nets]
trace_ratio = preds["l2"].summary["trace"] / preds["none"].summary["trace"]
eps_ratio = preds["l2"].eps / preds["none"].eps
glue("shift_weights_min", min(shift_weights), display=False)
glue("shift_weights_max", max(shift_weights), display=False)
glue("shift_landscape_min", min(shift_landscape), display=False)
glue("shift_landscape_max", max(shift_landscape), display=False)
glue("trace_ratio", trace_ratio, display=False)
glue("eps_ratio", eps_ratio, display=False)

# %% tags=["hide-input"]
display(Markdown("\n".join(
    ["| weights ($R$) of | landscape ($\\lambda_i$, $\\epsilon$) of `none` | landscape of `l2` |",
     "|---|---|---|"]
    + [f"| `{a}` | {cross[a, 'none']:.3f} | {cross[a, 'l2']:.3f} |" for a in nets]
)))

# %% [markdown]
# The regularised network's magnitude curve lies to the left: its weights, and so the weights removed at any sparsity, are smaller.
# Its theory curve moves too, because the curvature and $\epsilon$ at its minimum differ, and the threshold moves by the net effect of both.
# The table above separates the two by crossing them: each entry is the fixed point computed with the weights of one network and the spectrum, $\epsilon$ and zero-curvature mass of the other, so that the diagonal holds the two networks' own predictions.
# Along a row only the landscape changes, and along a column only the weights.
#
# The weights account for most of the shift: exchanging them moves the threshold by {glue:text}`shift_weights_min:.3f` to {glue:text}`shift_weights_max:.3f`, exchanging the landscape by {glue:text}`shift_landscape_min:.3f` to {glue:text}`shift_landscape_max:.3f`.
# The landscape moves it so little because its two parts nearly cancel: weight decay raises the trace of the Hessian {glue:text}`trace_ratio:.1f`-fold, but it raises $\epsilon$ {glue:text}`eps_ratio:.1f`-fold too, and {eq}`eq-heuristics-threshold` depends on the curvatures only through $|\lambda_i| / \epsilon$.

# %% tags=["claim", "hide-input"]
claims.check(abs(cross["none", "none"] - preds["none"].sparsity) < 1e-9
             and abs(cross["l2", "l2"] - preds["l2"].sparsity) < 1e-9,
             "the diagonal of the crossed table holds the networks' own predictions",
             none=cross["none", "none"], l2=cross["l2", "l2"])
claims.check(min(shift_weights) > max(shift_landscape) > 0,
             "the weights move the threshold more than the landscape, and both raise it",
             weights=np.round(shift_weights, 3).tolist(), landscape=np.round(shift_landscape, 3).tolist())
claims.check(trace_ratio > 5 and eps_ratio > 5 and 0.5 < trace_ratio / eps_ratio < 2,
             "weight decay raises the trace and eps by similar large factors",
             trace_ratio=trace_ratio, eps_ratio=eps_ratio);

# %% [markdown]
# The actual limits move the same way, and further.
# With weight decay the prediction is {glue:text}`l2_pred:.3f` against an actual accuracy limit of {glue:text}`l2_acc:.3f`, close to it; without it, the prediction is {glue:text}`none_pred:.3f` against actual limits of {glue:text}`none_acc:.3f` (accuracy) and {glue:text}`none_loss:.3f` (loss), an overestimate by more than twenty points.
# The theory rests on a quadratic model of the loss around the trained weights, and the table below measures how well that model describes each network along its own pruning step at $s^*$.
# It gives the training-loss rise that the sweep measures there, and the two terms of the second-order model of the loss, $g^\top\Delta$ and $\tfrac12\Delta^\top H\Delta$ (with $\Delta$ the pruning step), all in units of the network's $\epsilon$.

# %%
def at_prediction(name):
    """Measured loss rise and second-order model terms at the network's own s*, in units of eps."""
    p, result = preds[name], sweeps[name]
    loss = result.metrics["train_loss"]
    rise = float(np.interp(p.sparsity, result.sparsity, loss) - loss[0])
    path = p.details["path"]
    model = path["linear"] + path["quadratic"]
    return {"rise": rise / p.eps, "linear": path["linear"] / p.eps,
            "quadratic": path["quadratic"] / p.eps, "model": model / p.eps,
            "alignment": path["alignment"]}


diagnosis = {name: at_prediction(name) for name in nets}
error = {name: preds[name].sparsity - limits[name]["accuracy"] for name in nets}
glue("none_pred", preds["none"].sparsity, display=False)
glue("l2_pred", preds["l2"].sparsity, display=False)
glue("none_acc", limits["none"]["accuracy"], display=False)
glue("none_loss", limits["none"]["loss"], display=False)
glue("l2_acc", limits["l2"]["accuracy"], display=False)
glue("none_rise", diagnosis["none"]["rise"], display=False)
glue("none_model", diagnosis["none"]["model"], display=False)
glue("l2_rise", diagnosis["l2"]["rise"], display=False)
glue("l2_model", diagnosis["l2"]["model"], display=False)
glue("none_alignment", diagnosis["none"]["alignment"], display=False)

# %% tags=["hide-input"]
display(Markdown("\n".join(
    ["| network | $s^*$ | actual (accuracy) | loss rise at $s^*$ / $\\epsilon$ "
     "| $g^\\top\\Delta$ / $\\epsilon$ | $\\frac12\\Delta^\\top H\\Delta$ / $\\epsilon$ "
     "| second-order model / $\\epsilon$ | alignment |", "|---|---|---|---|---|---|---|---|"]
    + [f"| `{n}` | {preds[n].sparsity:.3f} | {limits[n]['accuracy']:.3f} | {d['rise']:.1f} "
       f"| {d['linear']:.1f} | {d['quadratic']:.1f} | {d['model']:.1f} | {d['alignment']:.2f} |"
       for n, d in diagnosis.items()]
)))

# %% tags=["claim", "hide-input"]
claims.check(error["none"] > 0.2 and abs(error["l2"]) < 0.05,
             "the prediction overestimates the unregularised network's limit by more than twenty "
             "points and is close for the regularised one",
             none=error["none"], l2=error["l2"])
claims.check(preds["none"].sparsity > max(limits["none"].values()),
             "the unregularised network's prediction lies above both its actual limits",
             predicted=preds["none"].sparsity, **limits["none"])
claims.check(preds["l2"].sparsity > preds["none"].sparsity
             and limits["l2"]["accuracy"] - limits["none"]["accuracy"]
             > preds["l2"].sparsity - preds["none"].sparsity,
             "weight decay raises the prediction, and the actual accuracy limit further",
             predicted_shift=preds["l2"].sparsity - preds["none"].sparsity,
             actual_shift=limits["l2"]["accuracy"] - limits["none"]["accuracy"]);

# %% [markdown]
# At its predicted sparsity the unregularised network's training loss has risen by {glue:text}`none_rise:.0f` $\epsilon$, while the second-order model along the same step accounts for only {glue:text}`none_model:.1f` $\epsilon$; its curvature term is even smaller than that of a random direction of the same length (alignment {glue:text}`none_alignment:.2f`).
# The rise is therefore in the terms beyond second order: over a step of this length the loss of the unregularised network is far from quadratic, and a threshold read off a quadratic model lands too far out.
# The regularised network is described better, with a rise of {glue:text}`l2_rise:.0f` $\epsilon$ against a model value of {glue:text}`l2_model:.1f` $\epsilon$.
# Neither rise is near $\epsilon$, which is expected: the theory asks whether *some* point with the kept support stays within $\epsilon$, while one-shot pruning without retraining measures the pruned point itself.
# Weight decay thus helps pruning here in two ways, only one of which the threshold sees: it shortens the pruning step, and it keeps the loss closer to the quadratic model that the threshold assumes.

# %% tags=["claim", "hide-input"]
ratio = {n: d["rise"] / d["model"] for n, d in diagnosis.items()}
claims.check(ratio["none"] > 5 * ratio["l2"] and min(ratio.values()) > 1,
             "the measured rise exceeds the second-order model on both networks, by far more "
             "without weight decay", none=ratio["none"], l2=ratio["l2"])
claims.check(diagnosis["none"]["alignment"] < 1,
             "the unregularised step is flatter than a random direction of the same length",
             alignment=diagnosis["none"]["alignment"]);

# %% [markdown]
# ## Scaling the weights
#
# The paper's Figure 7 redraws the magnitude curve with the weights multiplied by $c = 2, \dots, 5$ against one theory curve, and reads off a smaller threshold for larger weights.
# "Multiplying the weights by $c$" can mean three different things, and `pnlib.bounds.scaled_prediction` computes all three:
#
# - **naive**: $R \to cR$ with the Hessian and $\epsilon$ fixed, the reading of the figure;
# - **reparametrised**: the same function in the coordinates $v = c\,w$, where the Hessian becomes $H / c^2$ and the prediction does not change at all;
# - **consistent**: the network whose weights really are $c\,w^*$, whose loss, Hessian and $\epsilon$ all change and are recomputed.
#
# For the consistent reading the network is rescaled so that it computes $c^{L}$ times the original output ($L$ layers; weights times $c$, biases of layer $l$ times $c^{l}$).
# Its predictions, and those of its pruned networks, are then the same classes, so the actual accuracy limit cannot change.
# The table also gives $\epsilon$ of the scaled network in single precision (the engine's) and with the loss recomputed in double precision.

# %%
base = records["dense"]  # the l1-trained dense network of round 0 above
prediction0 = paper_prediction(base)  # the same as round 0's prediction (same seed)
weights0 = prune.flat_prunable(base).double().cpu().numpy()
inputs, targets = data.tensors(train_set)


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


def eps_double(model, batch_size=128):
    """eps with every layer and the loss in float64: the spread of the batch losses, in dataset order."""
    net = copy.deepcopy(model).double().cpu().eval()
    with torch.no_grad():
        losses = torch.nn.functional.cross_entropy(net(inputs.double()), targets, reduction="none")
    batch = torch.stack([chunk.mean() for chunk in losses.split(batch_size)])
    return float(batch.std(unbiased=False))


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
                    "eps": 0.0 if own is None else own.eps, "eps64": eps_double(net),
                    "accuracy": acc_limit, "train_loss": result.metrics["train_loss"][0]})

# %% tags=["nbval-check-output", "hide-input"]
print("c  naive  reparam.  consistent  eps       eps (float64)  train loss  actual(acc)")
for row in scaling:
    print(f"{row['c']}  {row['naive']:.3f}  {row['rep']:.3f}     {row['consistent']:.3f}       "
          f"{row['eps']:.1e}  {row['eps64']:.1e}        {row['train_loss']:.1e}     "
          f"{row['accuracy']:.3f}")

# %% mystnb={"figure": {"caption": "The naive reading of weight scaling: the magnitude curve of the weights times c (solid) stretches to the right, so it crosses the one fixed theory curve (green) at a smaller sparsity (dots) for every larger c.", "name": "fig-heuristics-scaling"}}
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

# %%
naive = np.array([row["naive"] for row in scaling])
rep = np.array([row["rep"] for row in scaling])
scaled_acc = np.array([row["accuracy"] for row in scaling])
eps32 = np.array([row["eps"] for row in scaling])
eps64 = np.array([row["eps64"] for row in scaling])
scale_values = np.array(SCALES, dtype=float)
# the smallest scale at which eps is exactly zero (nan if none of SCALES gets there)
zero32 = scale_values[eps32 == 0].min() if np.any(eps32 == 0) else np.nan
zero64 = scale_values[eps64 == 0].min() if np.any(eps64 == 0) else np.nan
glue("naive_1", scaling[0]["naive"], display=False)
glue("naive_last", scaling[-1]["naive"], display=False)
glue("scale_last", SCALES[-1], display=False)
glue("acc_limit_scaled", scaling[-1]["accuracy"], display=False)
glue("c_zero32", float(zero32), display=False)
glue("c_zero64", float(zero64), display=False)
glue("eps64_at_zero32", float(eps64[scale_values == zero32][0]) if np.isfinite(zero32) else np.nan,
     display=False)

# %% [markdown]
# The figure {numref}`fig-heuristics-scaling` is the naive reading: the magnitude curves stretch to the right and cross the fixed theory curve at smaller sparsities, as in the paper's figure.
# The table shows why the reading matters, because the reparametrised prediction does not move at all and the scaled network's actual accuracy limit is the same for every $c$.

# %% tags=["claim", "hide-input"]
claims.check(bool(np.all(np.diff(naive) < 0)), "the naive prediction falls as c grows",
             naive=np.round(naive, 3).tolist())
claims.check(float(np.ptp(rep)) < 1e-9 and abs(rep[0] - prediction0.sparsity) < 1e-9,
             "the reparametrised prediction does not move", spread=float(np.ptp(rep)))
claims.check(float(np.ptp(scaled_acc)) == 0.0, "the actual accuracy limit is the same for every c",
             limits=scaled_acc.tolist());

# %% [markdown]
# The consistent reading also exposes a weakness of the $\epsilon$ rule.
# The outputs grow as $c^{L}$, so the training loss of a network that fits its data goes to zero, and once every mini-batch loss rounds to exactly zero ($\log(1 + e^{-m})$ is 0 for a large margin $m$), $\epsilon$, their standard deviation, is zero and the prediction is undefined (shown as `nan`).
# Here this happens from $c =$ {glue:text}`c_zero32:.0f` in single precision; in double precision $\epsilon$ is still {glue:text}`eps64_at_zero32:.1e` at that scale and becomes exactly zero from $c =$ {glue:text}`c_zero64:.0f`, so a prediction computed there in double precision would rest on an $\epsilon$ at the level of rounding noise.
# "Small weights benefit pruning" therefore holds at a fixed loss landscape; scaling a trained network changes the landscape with the weights.

# %% tags=["claim", "hide-input"]
claims.check(bool(np.isfinite(zero32) and zero32 > 1 and np.all(eps32[scale_values >= zero32] == 0)),
             "in single precision eps is exactly zero from the first scale above 1 on",
             c_zero32=zero32, eps=eps32.tolist())
claims.check(bool(np.isfinite(zero64) and zero64 > zero32
                  and 0 < eps64[scale_values == zero32][0] < 1e-10),
             "in double precision eps is tiny but not zero there, and zero at a larger scale",
             c_zero64=zero64, eps64=eps64.tolist());

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
# In $v = c\,w$ the loss is $\tilde L(v) = L(v / c)$, so $\tilde H = H / c^2$, and the removed norm is $cR$.
# Each term of {eq}`eq-heuristics-threshold` depends on $|\lambda_i| R^2$, which is unchanged, and so are every $s(R)$ and the fixed point.

# %%
spec, z = prediction0.spectrum, prediction0.zero_mass
s_1 = bounds.predicted_sparsity(weights0, spec, prediction0.eps, zero_mass=z).estimate
reparametrised = {}
for c in (2.0, 5.0):
    scaled_spec = dataclasses.replace(spec, nodes=spec.nodes / c**2)
    reparametrised[c] = bounds.predicted_sparsity(c * weights0, scaled_spec, prediction0.eps,
                                                  zero_mass=z).estimate
    print(f"c = {c}: {reparametrised[c]:.6f} against {s_1:.6f}")

# %% tags=["claim", "hide-input"]
claims.check(max(abs(v - s_1) for v in reparametrised.values()) < 1e-9,
             "the reparametrised prediction equals the unscaled one", unscaled=s_1,
             **{f"c{c:.0f}": v for c, v in reparametrised.items()});

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-heuristics-ex2
# Iterative pruning here rewinds to early weights between rounds.
# Replace the rewinding by fine-tuning: after each pruning step, keep the trained survivors and train them for a few epochs with `pnlib.baselines.train_masked`.
# Does the predicted threshold still sit above each round's sparsity, and by how much compared with rewinding?
# ```
#
# ```{solution-start} ch-heuristics-ex2
# :class: dropdown
# ```

# %%
net = copy.deepcopy(records["dense"])
masks = baselines.full_masks(net)
tune = dataclasses.replace(config, l1=L1, epochs=max(1, EPOCHS // 3))
tuned_predicted = []
for r, s in enumerate(baselines.geometric_schedule(TARGET_SPARSITY, ROUNDS), start=1):
    masks = baselines.prune_survivors(net, masks, float(s))
    baselines.train_masked(net, train_set, tune, masks,
                           generator=torch.Generator().manual_seed(SEED + r))
    tuned_predicted.append(paper_prediction(net).sparsity)
    print(f"round {r}: sparsity {s:.3f}  predicted {tuned_predicted[-1]:.3f} "
          f"(with rewinding {round_predicted[r]:.3f})")
tuned_predicted = np.array(tuned_predicted)

# %% [markdown]
# The threshold again sits above each round's sparsity, as it must, since the pruned weights are exactly zero whichever way the survivors were retrained.
# Its margins stay within a few points of those with rewinding, so for the threshold it matters little where the retraining starts.

# %% tags=["claim", "hide-input"]
claims.check(bool(np.all(tuned_predicted >= round_sparsity[1:])),
             "with fine-tuning the threshold sits above each round's sparsity",
             predicted=np.round(tuned_predicted, 3).tolist(), sparsity=round_sparsity[1:].tolist())
claims.check(float(np.max(np.abs(tuned_predicted - round_predicted[1:]))) < 0.05,
             "the thresholds with fine-tuning are within five points of those with rewinding",
             largest_difference=float(np.max(np.abs(tuned_predicted - round_predicted[1:]))));

# %% [markdown]
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - The dense network's predicted threshold is {glue:text}`round0_pred:.3f`, below the last round's sparsity {glue:text}`target:.3f`, and after the last round of iterative pruning it is {glue:text}`last_pred:.3f`. That it rises over the rounds is built into the formula, since weights already at zero cost nothing to remove; only the margin beyond the sparsity reached is a prediction.
# - Weight decay moves the predicted threshold from {glue:text}`none_pred:.3f` to {glue:text}`l2_pred:.3f`, mostly through the smaller removed norm: the curvature and $\epsilon$ grow by similar factors and nearly cancel. The actual accuracy limit moves further, from {glue:text}`none_acc:.3f` to {glue:text}`l2_acc:.3f`, because the unregularised loss is far from the quadratic model the theory assumes.
# - With the loss landscape held fixed, weights ×{glue:text}`scale_last` lower the predicted threshold from {glue:text}`naive_1:.3f` to {glue:text}`naive_last:.3f`; the rescaled network itself keeps its actual accuracy limit ({glue:text}`acc_limit_scaled:.3f`).
# - A heuristic "explained by the threshold" is a statement about $R$ and the spectrum together; changing one usually changes the other.
# :::
