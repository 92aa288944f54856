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
# (ch-experiments)=
# # The paper's experiment: predicted against actual limits
#
# :::{admonition} Learning goals
# :class: tip
# - Run the whole experiment of the paper on one task: LOMP training, a one-shot pruning sweep, the Hessian spectrum, the predicted limit and the measured one.
# - Read the two figures of the paper: accuracy and loss against sparsity with the predicted limit marked, and the theory curve $s(R)$ against the measured curve $(R(s), s)$.
# - Explain a gap between prediction and measurement with numbers: $\epsilon$, the negative and zero curvature mass, and how far the removed weights are from a random direction.
# - Predict the limit of your own network with one call, `pnlib.predict.predict_pruning_limit`.
# :::
#
# **Prerequisites:** {ref}`ch-how-sparse`; the notation is in {ref}`notation`.

# %% tags=["parameters"]
TASK = "digits-mlp"
RUN = "default"
MODEL = "mlp"
DATASET = "digits"
MODEL_OPTIONS = {}  # the model's own defaults (pnlib.models.build); the MLP: hidden [32, 32]
SEED = 0
EPOCHS = 100
BATCH_SIZE = 32
LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 0.0
L1 = 1e-4
L1_SCOPE = "weights"
SCHEDULE = "constant"
MILESTONES = []
GAMMA = 0.1
WARMUP_EPOCHS = 0
STEP_PER_ITERATION = False
DATA_ROOT = None
TRAIN_SUBSET = None
HESSIAN_SUBSET = None
SWEEP_TRAIN_SUBSET = None
TEST_SUBSET = None
GRID_POINTS = 1000
TOLERANCE = 0.01  # accuracy drop of the tolerance criterion (one point)
EPS = None  # None: std of the mini-batch training losses (the authors' rule)
EPS_BATCH_SIZE = 128
NEGATIVE = "abs"
EXACT = "auto"  # "auto": exact eigenvalues up to EXACT_MAX_DIM weights, SLQ above
EXACT_MAX_DIM = 5000
NUM_STEPS = 128
NUM_PROBES = 4
ZERO_ROWS = 100
ZERO_TOL = 1e-7
ZERO_MASS = "auto"
HESSIAN_DTYPE = "float32"  # the book build's choice for speed; experiments/digits-mlp.yaml uses float64
HESSIAN_BATCH_SIZE = None
PREDICTORS = ["paper", "free", "taylor", "refit", "authors"]
MEASURE_REFIT = True  # measure the refit limits (pnlib.refit)
REFIT_MAX_ITER = 500
EVAL_BATCH_SIZE = 1024
DEVICE = "cpu"
PROGRESS = False  # True: a line per stage and per epoch, with the time spent and left
SMOKE = False  # True for a smoke run (make experiment with SMOKE 1): every size shrunk
DEMO_EXAMPLES = 2000  # training examples for the one-call demonstration and the exercises
DEMO_STEPS = 64  # Lanczos steps of the demonstration (the exercise also tries 1/4 and 1/2 of it)
DEMO_PROBES = 4
DEMO_ZERO_ROWS = 20
DEMO_MAX_GB = 2.0  # the demonstration shrinks (then is skipped) above this Lanczos memory
SAVE_RESULTS = False  # True: write results/<TASK>/<RUN>/; False: a scratch folder under _build
RESUME = True
SAVE_FIGS = False

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from myst_nb import glue
from torch.utils.data import Subset

from pnlib import bounds, experiment, plotting, predict, prune, repro

plotting.use_book_style()
repro.seed_everything(SEED)
parameters = {k: v for k, v in globals().items() if k.isupper() and not k.startswith("_")}
config = experiment.config_from_parameters(parameters)
results_root = experiment.results_root_for(SAVE_RESULTS)

# %% [markdown]
# This chapter uses `pnlib.experiment.run`, `pnlib.predict.predict_pruning_limit`, `pnlib.bounds.predicted_sparsity` and `pnlib.prune.actual_limit`.
#
# ## One call runs the experiment
#
# The paper's experiment has five stages, and `pnlib.experiment.run` performs them in order:
#
# 1. **train** the network with the $\ell_1$ penalty (LOMP's first half), or load the checkpoint of an identical earlier run;
# 2. **sweep**: prune it one-shot by global weight magnitude at the sparsities $s = i/1000$ and measure the training and test loss and accuracy at each;
# 3. **$\epsilon$**: the allowed loss increase, by default the standard deviation of the mini-batch training losses, as in the authors' code;
# 4. **spectrum**: the eigenvalues of the training-loss Hessian over the prunable weights, exact when there are few of them and by stochastic Lanczos quadrature otherwise, and the fraction of numerically zero Hessian rows;
# 5. **predict and measure**: the fixed point $s^* = s(R(s^*))$ with its bounds, and the actual limit by three criteria.
#
# Every stage saves its output, so an interrupted run started again continues where it stopped and gives the same numbers.
#
# The same notebook runs every task of the paper: `make experiment NAME=resnet18-cifar100` executes it with the parameters of `experiments/resnet18-cifar100.yaml`.
# By default it runs the small MLP on the digits of {ref}`ch-how-sparse`, trained exactly as there.

# %%
result = experiment.run(config, results_root=results_root, resume=RESUME)
metrics = result.metrics
print(f"task {metrics['task']} on {metrics['device']}; D = {metrics['dims']['num_prunable']}")
print("seconds per stage:", {k: round(v, 1) for k, v in metrics["times"].items()})

# %% [markdown]
# ## Accuracy and loss against sparsity
#
# {numref}`fig-experiments-curves` is the paper's Figure 3 for this task: the test accuracy and the (normalised) loss of the pruned network along the grid, with the predicted limit as a dashed line and the measured limits as dotted ones.

# %% mystnb={"figure": {"caption": "Accuracy and loss against sparsity", "name": "fig-experiments-curves"}}
sweep, pred, actual = result.sweep, metrics["prediction"], metrics["actual"]
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
for split in ("train", "test"):
    color = plotting.PALETTE[split]
    ax_acc.plot(sweep.sparsity, sweep.metrics[f"{split}_accuracy"], color=color, label=split)
    loss = sweep.metrics[f"{split}_loss"]
    ax_loss.plot(sweep.sparsity, loss / loss[0], color=color, label=split)
for ax in (ax_acc, ax_loss):
    plotting.mark_limit(ax, pred["sparsity"], "predicted $s^*$")
    ax.axvline(actual["accuracy"], color=plotting.PALETTE["actual"], ls=":", label="actual (accuracy)")
    ax.axvline(actual["loss"], color=plotting.PALETTE["bound"], ls=":", label="actual (loss)")
    ax.set_xlabel("sparsity $s$ (fraction removed)")
ax_acc.set_ylabel("accuracy")
ax_loss.set_ylabel("loss / dense loss")
ax_loss.set_yscale("log")
ax_acc.legend(fontsize=8)
plotting.maybe_save(fig, "fig-experiments-curves", notebook="09_experiments", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# ## The theory curve against the measured curve
#
# The theory says how much can be removed when the removed weights have norm $R$:
#
# $$
# s(R) = \frac{1}{D}\sum_{i=1}^{D} \frac{2\epsilon}{2\epsilon + |\lambda_i| R^2}.
# $$ (eq-experiments-theory)
#
# The network says which norm a given sparsity costs: $R(s) = \lVert w^* - w^k \rVert_2$ with $k = (1-s)D$.
#
# {numref}`fig-experiments-theory` draws both in the plane $(R, s)$, as the paper's Figure 2(c) does; the predicted limit is where they cross.

# %% mystnb={"figure": {"caption": "Theory curve against measured curve", "name": "fig-experiments-theory"}}
radius = np.linspace(0.0, 1.05 * sweep.radius[-1], 400)
fig, ax = plt.subplots()
ax.plot(sweep.radius, sweep.sparsity, color=plotting.PALETTE["actual"], label="network: $(R(s), s)$")
ax.plot(radius, result.prediction.theory(radius), color=plotting.PALETTE["theory"],
        label="theory: $s(R)$")
ax.plot([pred["radius"]], [pred["sparsity"]], "o", color=plotting.PALETTE["prediction"],
        label="predicted limit")
ax.set_xscale("symlog", linthresh=0.1)
ax.set_xlabel("norm of the removed weights $R$")
ax.set_ylabel("sparsity $s$ (fraction removed)")
ax.legend()
plotting.maybe_save(fig, "fig-experiments-theory", notebook="09_experiments", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# ## The prediction table
#
# The table has the columns of the paper's main table, with the three criteria of {ref}`ch-how-sparse` for the actual limit; $\Delta$ is the distance between prediction and actual limit in percentage points, and the bound gap is the width of the interval between the lower and the upper bound.

# %%
rows = [
    "| quantity | value |",
    "|---|---|",
    f"| predicted sparsity $s^*$ | {pred['sparsity']:.3f} |",
    f"| lower / upper bound | {pred['lower']:.3f} / {pred['upper']:.3f} |",
    f"| bound gap | {pred['gap_pp']:.2f} points |",
    f"| interval on $s^*$ covering the quadrature bias | [{pred['interval_lower']:.3f}, "
    f"{pred['interval_upper']:.3f}] |",
]
for criterion, value in actual.items():
    delta = metrics["delta_pp"][criterion]["paper"]
    rows.append(f"| actual, {criterion} criterion ($\\Delta$) | {value:.3f} ({delta:.1f} points) |")
rows.append(f"| $\\epsilon$ ({metrics['eps']['source']}) | {metrics['eps']['value']:.3g} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Every predictor against every limit
#
# The run also records the other predictors of `pnlib.predict` (the free variant, the Taylor and refit predictors of {ref}`ch-which-prediction`, and the paper's fixed point as the authors' code computes it) and two limits that re-fit the kept weights (`pnlib.refit`): `refit`, any re-fit by L-BFGS, and `refit_local`, a re-fit that moves the kept weights by at most $R(s)$. The table gives $|\text{estimate} - \text{actual}|$ in points; the recommended predictor is marked.

# %%
names = list(metrics["estimates"])
header = "| actual limit | value | " + " | ".join(
    n + (" (recommended)" if n == metrics["recommended"] else "") for n in names) + " |"
table = [header, "|" + "---|" * (len(names) + 2)]
table.append("| estimate | | " + " | ".join(f"{metrics['estimates'][n]:.3f}" for n in names) + " |")
for criterion, value in actual.items():
    table.append(f"| {criterion} | {value:.3f} | "
                 + " | ".join(f"{metrics['delta_pp'][criterion][n]:.1f}" for n in names) + " |")
display(Markdown("\n".join(table)))

# %% tags=["remove-input"]
gap = {n: metrics["delta_pp"]["loss"].get(n, np.nan) for n in ("paper", "taylor")}
if TASK == "digits-mlp" and not SMOKE:  # the chapter's own task: the claim below is checked
    assert metrics["recommended"] == "taylor" and gap["taylor"] < gap["paper"], gap
elif not (metrics["recommended"] == "taylor" and gap["taylor"] < gap["paper"]):
    print(f"on {TASK} the paragraph below does not hold: recommended {metrics['recommended']}, "
          f"distances to the loss-criterion limit {gap}")
glue("taylor_gap", gap["taylor"], display=False)
glue("paper_loss_gap", gap["paper"], display=False)
print(f"checked: the Taylor estimate is {gap['taylor']:.1f} points from the loss-criterion limit, "
      f"the paper's fixed point {gap['paper']:.1f} points")

# %% [markdown]
# The engine recommends the Taylor predictor, and this run shows why: it lands {glue:text}`taylor_gap:.1f` points from the loss-criterion limit, the event all these predictors are about, where the paper's fixed point lands {glue:text}`paper_loss_gap:.1f` points away. The Taylor predictor follows the step magnitude pruning actually takes, with the gradient that $\ell_1$ training leaves and the curvature along that step; the paper's fixed point replaces the step by a random direction of the same length and drops the gradient. The reproduction page, {ref}`ch-reproduction`, repeats the comparison on every curated task.


# %% [markdown]
# ### Which refit limit the theory speaks about
#
# The theory asks whether *some* weight vector with the kept support lies in the sublevel set $\{w : L(w) \le L(w^*) + \epsilon\}$, and it answers with a model of that set: the ellipsoid $\tfrac12 (w - w^*)^\top H (w - w^*) \le \epsilon$ around the trained weights. The global refit limit asks the question of the true sublevel set, with no bound on how far the re-fit may go. On data that the network separates, that set is unbounded, because scaling the last layer up drives the cross-entropy towards zero; a re-fit can then wander arbitrarily far from $w^*$, into a region that no quadratic model around $w^*$ describes. The local refit limit keeps the re-fit within a distance $R(s)$ of the pruned point, so the re-fitted network stays within $\sqrt2\,R(s)$ of $w^*$: the scale of the pruning step itself, at which the Taylor predictor's second-order model was just seen to track the real loss. That is the question the ellipsoid model can be held to, and it is the limit the trust-region refit predictor estimates. On this run the global refit limit is {glue:text}`refit_global:.3f`, the local one {glue:text}`refit_local:.3f`, the trust-region refit predictor {glue:text}`refit_estimate:.3f` and the paper's fixed point {glue:text}`paper_estimate:.3f`.

# %% tags=["remove-input"]
refits = {k: metrics["actual"].get(k, np.nan) for k in ("refit", "refit_local")}
glue("refit_global", refits["refit"], display=False)
glue("refit_local", refits["refit_local"], display=False)
glue("refit_estimate", metrics["estimates"].get("refit", np.nan), display=False)
glue("paper_estimate", metrics["estimates"]["paper"], display=False)
if "refit" in metrics["actual"]:
    assert refits["refit"] >= refits["refit_local"], refits
    print(f"checked: the global refit limit {refits['refit']:.3f} is at least the local one "
          f"{refits['refit_local']:.3f}")
# %% tags=["nbval-check-output"]
print(f"dense test accuracy {metrics['dense']['test_accuracy']:.4f}  eps {metrics['eps']['value']:.3e}")
print(f"predicted {pred['sparsity']:.3f}  lower {pred['lower']:.3f}  upper {pred['upper']:.3f}")
print("actual " + "  ".join(f"{k} {v:.3f}" for k, v in actual.items()))

# %% [markdown]
# ## Where the prediction misses, and why
#
# The prediction and the accuracy criterion need not agree, and here they do not: the prediction rests on four modelling choices, and each can be measured.
#
# **$\epsilon$.** The theory predicts the sparsity at which the *training loss* rises by $\epsilon$; the accuracy criterion is a different event, and $\epsilon$ is a convention (the spread of the batch losses).
#
# **Negative curvature.** The trained weights are not an exact minimum: part of the spectrum is negative, and the paper's $|\lambda|$ counts it as positive curvature; clipping it to zero counts it as flat.
#
# **Zero curvature.** Weights attached to inputs that are always zero (the digits' border pixels) or to dead units have Hessian rows that are exactly zero; these directions are free to prune.
#
# **The random-subspace model.** The kinematic formula treats the kept coordinates as a randomly oriented subspace, so the removed step $\Delta = w^k - w^*$ is treated as a random direction of length $R$, whose curvature is $\Delta^\top H \Delta \approx R^2 \operatorname{tr}(H)/D$.
# Magnitude pruning removes specific weights, and the run measures the real curvature along that step at the predicted limit (`pnlib.predict.path_terms`, stored under `path` in `metrics.json`), together with the first-order term $g^\top \Delta$ that $\ell_1$ training leaves (the gradient of the data loss is not zero at an $\ell_1$-regularised optimum).

# %%
spec, terms, eps = metrics["spectrum"], metrics["path"], metrics["eps"]["value"]
measured = [
    ("$\\epsilon$", eps),
    ("negative spectral mass", spec["negative_mass"]),
    ("mass with $|\\lambda| \\le 10^{-6}\\max|\\lambda|$", spec["near_zero_mass"]),
    (f"zero Hessian rows (of {spec['zero_rows']} sampled)", spec["zero_row_fraction"]),
    ("$s^*$ with $|\\lambda|$ / with negatives clipped",
     f"{metrics['variants']['negative_abs']:.3f} / {metrics['variants']['negative_clip']:.3f}"),
    ("$s^*$ from the first half of the Lanczos steps",
     "exact spectrum" if metrics["variants"].get("half_steps") is None
     else f"{metrics['variants']['half_steps']:.3f} (all steps: {metrics['prediction']['sparsity']:.3f})"),
    ("$\\tfrac12 \\Delta^\\top H \\Delta$ at $s^*$ (measured)", terms["quadratic"]),
    ("$\\tfrac12 R^2 \\operatorname{tr}(H)/D$ (random direction)", terms["random_quadratic"]),
    ("alignment: measured / random", terms["alignment"]),
    ("first-order term $g^\\top \\Delta$ at $s^*$", terms["linear"]),
    ("second-order model $g^\\top \\Delta + \\tfrac12 \\Delta^\\top H \\Delta$",
     terms["linear"] + terms["quadratic"]),
    ("training-loss increase at $s^*$ (sweep)", terms["loss_increase"]),
]
table = ["| measurement | value |", "|---|---|"]
table += [f"| {name} | {v if isinstance(v, str) else f'{v:.4g}'} |" for name, v in measured]
display(Markdown("\n".join(table)))

# %% [markdown]
# The table answers the question of the section with measurements.
#
# At the predicted limit the quadratic model with a *random* removed direction gives a loss increase of {glue:text}`random_quad:.2e`, against the budget $\epsilon$ = {glue:text}`eps_value:.2e`; the curvature measured along the actual step is {glue:text}`alignment:.2f` times that.
#
# The first-order term, which the theory sets to zero, is {glue:text}`linear_term:.2e` at the same point: with $\ell_1$ training the data-loss gradient pulls each weight away from zero, so removing small weights *raises* the loss linearly, not only quadratically.
#
# The training loss measured by the sweep at $s^*$ rose by {glue:text}`loss_rise:.2e`, while the second-order model with both terms accounts for {glue:text}`second_order:.2e` of it: the rest is higher-order, the loss of a ReLU network is not quadratic over a step this long.
#
# When the measured increase is larger than $\epsilon$, the loss criterion is met only at a lower sparsity, which is what the table of the previous section shows.
#
# The negative mass ({glue:text}`neg_mass:.1%`) matters too: clipping it instead of taking $|\lambda|$ moves the prediction from {glue:text}`pred_abs:.3f` to {glue:text}`pred_clip:.3f`.
#
# Finally, $\epsilon$ itself: {numref}`fig-experiments-eps` recomputes the prediction and the loss-criterion limit for $\epsilon$ scaled by factors from 1/8 to 8.

# %%
factors = 2.0 ** np.arange(-3, 4) if not SMOKE else np.array([1.0])  # smoke: one point
scaled_pred = [bounds.predicted_sparsity(result.prediction.weights, result.prediction.spectrum,
                                         f * eps, zero_mass=result.prediction.zero_mass,
                                         negative=NEGATIVE).estimate for f in factors]
scaled_loss = [prune.actual_limit(sweep, "loss", eps=f * eps) for f in factors]
glue("random_quad", terms["random_quadratic"], display=False)
glue("alignment", terms["alignment"], display=False)
glue("linear_term", terms["linear"], display=False)
glue("loss_rise", terms["loss_increase"], display=False)
glue("second_order", terms["linear"] + terms["quadratic"], display=False)
glue("eps_value", eps, display=False)
glue("neg_mass", spec["negative_mass"], display=False)
glue("pred_abs", metrics["variants"]["negative_abs"], display=False)
glue("pred_clip", metrics["variants"]["negative_clip"], display=False)

# %% mystnb={"figure": {"caption": "Predicted and actual limit against epsilon", "name": "fig-experiments-eps"}}
fig, ax = plt.subplots()
ax.plot(factors * eps, scaled_pred, "o-", color=plotting.PALETTE["prediction"], label="predicted $s^*$")
ax.plot(factors * eps, scaled_loss, "s-", color=plotting.PALETTE["actual"],
        label="actual, loss criterion")
ax.axhline(actual["accuracy"], color=plotting.PALETTE["bound"], ls=":", label="actual, accuracy criterion")
ax.axvline(eps, color="k", lw=1, alpha=0.4)
ax.set_xscale("log")
ax.set_xlabel("allowed loss increase $\\epsilon$")
ax.set_ylabel("sparsity $s$")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# Both curves rise with $\epsilon$, and the prediction tracks the loss criterion it is a prediction of only as well as the quadratic, random-direction model of the loss holds; the accuracy criterion is a horizontal line that the theory does not know about.
#
# ## The three embedded tasks
#
# The curated runs of the embedded tasks (`make experiment NAME=digits-mlp`, `mnist1d-mlp`, `mnist1d-cnn`, stored under `results/`) give the same table for three networks; the book's target was a prediction within 2 points of the actual limit.

# %%
curated = {task: m for task, m in experiment.task_runs()[0].items()
           if task in ("digits-mlp", "mnist1d-mlp", "mnist1d-cnn") and "path" in m}
lines = ["| task | $s^*$ | $\\Delta$ accuracy / tolerance / loss (points) | loss rise at $s^*$ / $\\epsilon$ "
         "| $g^\\top\\Delta$ / $\\epsilon$ | alignment | negative mass |", "|---|---|---|---|---|---|---|"]
for task, m in curated.items():
    d = {c: v["paper"] for c, v in m["delta_pp"].items()}
    e, p = m["eps"]["value"], m["path"]
    lines.append(f"| {task} | {m['prediction']['sparsity']:.3f} | {d['accuracy']:.1f} / "
                 f"{d['tolerance']:.1f} / {d['loss']:.1f} | {p['loss_increase'] / e:.1f} "
                 f"| {p['linear'] / e:.1f} | {p['alignment']:.2f} | {m['spectrum']['negative_mass']:.2f} |")
display(Markdown("\n".join(lines) if curated else "No curated results of the embedded tasks found."))
def spread(values):
    """Smallest and largest of a list of measurements (NaN when there are none)."""
    return (min(values), max(values)) if values else (np.nan, np.nan)


ratios = {
    "rise": [m["path"]["loss_increase"] / m["eps"]["value"] for m in curated.values()],
    "lin": [m["path"]["linear"] / m["eps"]["value"] for m in curated.values()],
    "align": [m["path"]["alignment"] for m in curated.values()],
    "frac": [(m["path"]["linear"] + m["path"]["quadratic"]) / m["path"]["loss_increase"]
             for m in curated.values()],
}
for name, values in ratios.items():
    low, high = spread(values)
    glue(f"{name}_min", low, display=False)
    glue(f"{name}_max", high, display=False)
glue("num_curated", len(curated), display=False)
glue("num_above", int(sum(m["prediction"]["sparsity"] > m["actual"]["loss"] for m in curated.values())),
     display=False)
glue("num_within", int(sum(m["delta_pp"]["accuracy"]["paper"] <= 2 for m in curated.values())), display=False)

# %% [markdown]
# By the paper's accuracy criterion the prediction is within 2 points on {glue:text}`num_within` of the {glue:text}`num_curated` tasks, and it lies above the loss-criterion limit, the event it predicts, on {glue:text}`num_above` of them.
#
# The measurements say why, the same way on every task.
# At the predicted sparsity the training loss has already risen by {glue:text}`rise_min:.1f` to {glue:text}`rise_max:.1f` times $\epsilon$.
# The theory models that rise as $\tfrac12 \Delta^\top H \Delta$ with a zero gradient and a randomly oriented step; instead:
#
# - the first-order term $g^\top\Delta$, which the theory sets to zero, is {glue:text}`lin_min:.1f` to {glue:text}`lin_max:.1f` times $\epsilon$ ($\ell_1$ training leaves the data loss with a nonzero gradient);
# - the curvature along the actual step is {glue:text}`align_min:.2f` to {glue:text}`align_max:.2f` times that of a random direction of the same length, so the random-subspace model is off by that factor in either direction;
# - first- and second-order terms together account for only {glue:text}`frac_min:.0%` to {glue:text}`frac_max:.0%` of the measured rise: over a step this long the loss of a ReLU network is far from quadratic.
#
# Where these effects raise the loss faster than the model does, the real loss-criterion limit falls below the prediction; the accuracy criterion then lands wherever the finite test set puts it, which is why the tolerance criterion can happen to sit close to the prediction.
#
# The same measurements for every task run so far are collected on the reproduction page, {ref}`ch-reproduction`.
#
# ## Your own network
#
# `pnlib.predict.predict_pruning_limit` is the same computation for any trained model: give it the model and its training data (a `Dataset`, a `DataLoader`, an `(X, y)` pair or a list of batches), and a loss if it is not cross-entropy.
#
# Here it runs stochastic Lanczos quadrature with `DEMO_PROBES` probes of `DEMO_STEPS` steps on at most `DEMO_EXAMPLES` training examples. SLQ keeps every Lanczos vector, probes × steps × $D$ numbers; above `DEMO_MAX_GB` the cell uses one probe and fewer steps, and skips the demonstration when even two steps do not fit, so that it stays affordable for the paper's networks too.

# %%
demo = Subset(result.hessian_data, range(min(DEMO_EXAMPLES, len(result.hessian_data))))
# the products' dtype: float64 up to the engine's exact_max_dim, the model's float32 above
itemsize = 8 if metrics["dims"]["num_prunable"] <= predict.Settings().exact_max_dim else 4
plan = experiment.demo_plan(metrics["dims"]["num_prunable"], len(demo), DEMO_STEPS, DEMO_PROBES,
                            DEMO_MAX_GB, itemsize)
print(f"demonstration on {len(demo)} examples: {plan['why']}"
      + ("" if plan["run"] else "; skipped"))
own = None
if plan["run"]:
    own = predict.predict_pruning_limit(
        result.model, demo, exact=False, num_steps=plan["steps"], num_probes=plan["probes"],
        zero_rows=DEMO_ZERO_ROWS, eps_batch_size=plan["eps_batch_size"],
        grid_points=GRID_POINTS, predictors=("paper", "taylor"))
    print(own)

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-experiments-ex1
# The exact spectrum is affordable here, but not for the paper's networks.
# Predict the limit of the same network from stochastic Lanczos quadrature with 4 probes and 16, 32 and 64 steps, with and without the zero-curvature mass, and compare with the exact prediction.
# ```
#
# ```{solution-start} ch-experiments-ex1
# :class: dropdown
# ```
#
# SLQ is chosen with `exact=False`; `zero_mass="always"` adds the sampled zero-row fraction, `"never"` does not.

# %%
step_counts = sorted({s for s in (plan["steps"] // 4, plan["steps"] // 2, plan["steps"]) if s >= 2})
for steps in step_counts if plan["run"] else []:
    for mode in ("never", "always"):
        p = predict.predict_pruning_limit(result.model, demo, exact=False, num_steps=steps,
                                          num_probes=plan["probes"], zero_mass=mode,
                                          zero_rows=DEMO_ZERO_ROWS,
                                          eps_batch_size=plan["eps_batch_size"],
                                          grid_points=GRID_POINTS, predictors=("paper",))
        print(f"{steps:3d} steps, zero mass {mode:6s}: {p.sparsity:.3f} "
              f"(exact {pred['sparsity']:.3f})")

# %% [markdown]
# A few dozen steps resolve the part of the spectrum that matters for $s(R)$ at the relevant $R$; the zero-row mass then moves the prediction up, because SLQ blurs the exact zeros into small nonzero nodes.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-experiments-ex2
# The paper's "actual" limit is the largest sparsity whose test accuracy is not below the dense one, a single noisy event on a finite test set.
# How much does it move if the tolerance criterion allows a drop of 0.5, 1 and 2 points, and how does each compare with the prediction?
# ```
#
# ```{solution-start} ch-experiments-ex2
# :class: dropdown
# ```

# %%
for tol in (0.005, 0.01, 0.02):
    limit = prune.actual_limit(sweep, "tolerance", tolerance=tol)
    print(f"tolerance {tol:.3f}: actual {limit:.3f}, |predicted - actual| = "
          f"{100 * abs(pred['sparsity'] - limit):.1f} points")

# %% [markdown]
# A fraction of a point of test accuracy is a handful of test images; the limit moves by several points of sparsity with it, which is as large as the gaps the theory is judged by.
#
# ```{solution-end}
# ```
#
# ## Takeaways

# %%
glue("pred_s", pred["sparsity"], display=False)
glue("gap_pp", pred["gap_pp"], display=False)
glue("act_acc", actual["accuracy"], display=False)
glue("act_loss", actual["loss"], display=False)
glue("delta_acc", metrics["delta_pp"]["accuracy"]["paper"], display=False)
glue("delta_loss", metrics["delta_pp"]["loss"]["paper"], display=False)

# %% [markdown]
# :::{admonition} Takeaways
# :class: important
# - On this task the theory predicts a removable fraction of {glue:text}`pred_s:.3f`, with bounds {glue:text}`gap_pp:.2f` points apart.
# - One-shot magnitude pruning keeps the dense test accuracy up to {glue:text}`act_acc:.3f` ($\Delta$ = {glue:text}`delta_acc:.1f` points) and keeps the training loss within $\epsilon$ up to {glue:text}`act_loss:.3f` ($\Delta$ = {glue:text}`delta_loss:.1f` points).
# - The gap is measurable: the removed step is {glue:text}`alignment:.2f` times as curved as a random direction, $\ell_1$ training leaves a first-order term of {glue:text}`linear_term:.2e`, and {glue:text}`neg_mass:.1%` of the spectrum is negative.
# - The prediction moves with $\epsilon$, which is a convention, not a property of the network.
# :::
