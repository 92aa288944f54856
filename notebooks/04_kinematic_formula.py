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
# (ch-kinematic-formula)=
# # The approximate kinematic formula and phase transitions
#
# :::{admonition} Learning goals
# :class: tip
# - State the approximate kinematic formula and read off where a random subspace starts to meet a cone.
# - Run phase-transition experiments and compare them with exact finite-dimensional answers (Wendel's formula, a Beta law).
# - Recover the Donoho-Tanner transition of basis pursuit from the statistical dimension of the $\ell_1$ descent cone.
# - Simulate the pruning question in miniature, and judge the approximation $\sum_i r_i^2/(R^2+r_i^2)$ that the pruning paper uses by the error it makes in $\delta/D$.
# - Prove that for two subspaces the transition is an exact step.
# :::
#
# **Prerequisites:** {ref}`ch-statistical-dimension`; the notation is in {ref}`notation`.
#
# The statistical dimension of the previous chapter measures the size of a cone. This chapter shows what the size is good for: it decides, up to a window of order $\sqrt D$, whether a random subspace meets the cone, and with it whether basis pursuit recovers a sparse vector and whether a subspace of sparse weights reaches the sublevel set of the loss. It uses `pnlib.geometry.phase_transition`, `crossing_point`, `kinematic_slack`, `wendel_probability`, the `subspace_meets_*` tests, `basis_pursuit` and `project_ellipsoid_cone`.

# %% tags=["parameters"]
SEED = 0
ETA = 0.1  # failure probability of the kinematic formula's guarantee
WENDEL_DIM = 20  # orthant against the null space of a Gaussian matrix
WENDEL_TRIALS = 150
CIRC_DIM = 60  # random subspace against a circular cone
CIRC_ANGLE = 0.6  # its half-aperture (radians)
CIRC_TRIALS = 1000
BP_DIM = 100  # basis pursuit: ambient dimension
BP_NNZ = 10  # nonzeros q of the signal
BP_TRIALS = 60  # trials per number of measurements
BP_MEASUREMENTS = [15, 20, 24, 27, 30, 33, 36, 39, 42, 46, 52]
PRUNE_DIM = 40  # the pruning setting in miniature
PRUNE_DISTANCES = [0.5, 1.0, 2.0, 4.0]  # distances R of the ellipsoid centre
PRUNE_SAMPLES = 1500  # Monte Carlo draws for the exact statistical dimension
PRUNE_TRIALS = 300  # random subspaces per dimension k
SAVE_FIGS = False

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from myst_nb import glue
from scipy import optimize, stats

from pnlib import claims, geometry, plotting

plotting.use_book_style()
rng = np.random.default_rng(SEED)
a_eta = geometry.kinematic_a_eta(ETA)

# %% [markdown]
# ## The statement
#
# Two cones in general position either meet outside the origin or do not, and which one happens is decided, with high probability, by their statistical dimensions. The precise statement is the **approximate kinematic formula** {cite:p}`amelunxen2014` (Theorem I). Let $C, K \subseteq \mathbb R^D$ be closed convex cones, not both subspaces, and $Q$ a uniformly random rotation. Then for $\eta \in (0, 1)$,
#
# ```{math}
# :label: eq-kinematic-formula
# \begin{aligned}
# \delta(C) + \delta(K) \le D - a_\eta\sqrt D &\implies \Pr\{C \cap QK \ne \{0\}\} \le \eta, \\
# \delta(C) + \delta(K) \ge D + a_\eta\sqrt D &\implies \Pr\{C \cap QK \ne \{0\}\} \ge 1 - \eta,
# \end{aligned}
# \qquad a_\eta = \sqrt{8\log(4/\eta)} .
# ```
#
# The only randomness is the rotation $Q$, which moves $K$ rigidly, and the statistical dimension does not change under rotations, $\delta(QK) = \delta(K)$. For a uniformly random $k$-dimensional subspace $L$ (so $\delta(L) = k$) the transition therefore sits at $k = D - \delta(C)$, and the guarantee covers a window of half-width $a_\eta\sqrt D$ around it. The window is a worst case over all cones, and the experiments below show transitions that are much sharper. Its constant $a_\eta$ grows only slowly as the failure probability $\eta$ shrinks:

# %% tags=["hide-input"]
display(Markdown("\n".join(["| $\\eta$ | $a_\\eta$ |", "|---:|---:|"] + [
    f"| {eta:g} | {geometry.kinematic_a_eta(eta):.4f} |" for eta in (0.5, 0.1, 0.01, 0.001)])))

# %% [markdown]
# ## The orthant against a Gaussian null space: Wendel's formula
#
# The first experiment has an exact answer to compare with. The null space of an $m \times D$ standard Gaussian matrix $A$ is a uniformly random subspace of dimension $k = D - m$. It meets the orthant outside 0 exactly when the linear program "find $x \ge 0$ with $Ax = 0$ and $\mathbf 1^\top x = 1$" is feasible, and {cite:t}`wendel1962` gives the exact probability
#
# ```{math}
# :label: eq-wendel
# \Pr\{\mathbb R^D_+ \cap \mathrm{null}(A) \ne \{0\}\} = \Pr\{\mathrm{Bin}(D-1, \tfrac12) \ge m\} .
# ```
#
# With $\delta(\mathbb R^D_+) = D/2$, the kinematic formula puts the transition at $k = D/2$. The next cell solves the linear program for {glue:text}`wendel_trials` null spaces at each even $k$ and measures the distance to Wendel's formula in binomial standard errors.

# %%
wendel_ks = np.arange(2, WENDEL_DIM - 1, 2)
wendel = geometry.phase_transition(geometry.subspace_meets_orthant, WENDEL_DIM, wendel_ks,
                                   num_trials=WENDEL_TRIALS, generator=rng)
wendel_exact = np.array([geometry.wendel_probability(WENDEL_DIM, int(k)) for k in wendel_ks])
wendel_z = np.abs(wendel.probability - wendel_exact) / np.sqrt(
    np.maximum(wendel_exact * (1 - wendel_exact), 1e-12) / WENDEL_TRIALS)

# %% [markdown]
# ## A random subspace against a circular cone
#
# For the circular cone the test is explicit. The subspace $L = \mathrm{span}(U)$ meets $\mathrm{Circ}_D(\alpha)$ iff the projection of the axis onto $L$ has length at least $\cos\alpha$, and that squared length follows a $\mathrm{Beta}(k/2, (D-k)/2)$ law, so here too the finite-$D$ answer is exact.

# %%
circ_ks = np.arange(0, CIRC_DIM + 1)
circ = geometry.phase_transition(lambda U: geometry.subspace_meets_circular_cone(U, CIRC_ANGLE),
                                 CIRC_DIM, circ_ks, num_trials=CIRC_TRIALS, generator=rng)
circ_exact = np.array([float(k == CIRC_DIM) if k in (0, CIRC_DIM) else
                       stats.beta.sf(math.cos(CIRC_ANGLE) ** 2, k / 2, (CIRC_DIM - k) / 2)
                       for k in circ_ks])
circ_delta = geometry.statistical_dimension_circular_cone(CIRC_DIM, CIRC_ANGLE)
circ_z = np.abs(circ.probability - circ_exact) / np.sqrt(
    np.maximum(circ_exact * (1 - circ_exact), 1e-12) / CIRC_TRIALS)

# %% [markdown]
# {numref}`fig-kinematic-formula-exact` draws both experiments with their exact curves, the predicted transition $k = D - \delta(C)$, and the window $\pm a_\eta\sqrt D$ for $\eta$ = {glue:text}`eta`.

# %% mystnb={"figure": {"caption": "A random subspace against the orthant in dimension 20 (left) and against a circular cone in dimension 60 (right). The simulated points follow the exact curves, each transition is centred on the predicted $k = D - \\delta(C)$ (vertical line), and both curves climb from 0 to 1 in a small part of the shaded window that the kinematic formula guarantees.", "name": "fig-kinematic-formula-exact"}}
def draw_window(ax, center, dim):
    """Shade the kinematic formula's window around the predicted transition."""
    half = geometry.kinematic_slack(dim, ETA)
    ax.axvspan(max(center - half, 0), min(center + half, dim), color=plotting.PALETTE["bound"],
               alpha=0.2, label=rf"$\pm a_\eta\sqrt{{D}}$, $\eta = {ETA:g}$")
    plotting.mark_limit(ax, center, r"$k = D - \delta(C)$")


fig, (ax_w, ax_c) = plt.subplots(1, 2, figsize=(9, 3.8))
ax_w.errorbar(wendel_ks, wendel.probability, yerr=2 * wendel.standard_error, fmt="o", label="LP feasibility")
ax_w.plot(np.arange(WENDEL_DIM + 1), [geometry.wendel_probability(WENDEL_DIM, k)
                                      for k in range(WENDEL_DIM + 1)], label="Wendel (exact)")
draw_window(ax_w, WENDEL_DIM - geometry.statistical_dimension_orthant(WENDEL_DIM), WENDEL_DIM)
ax_c.plot(circ_ks, circ.probability, "o", markersize=3, label="simulation")
ax_c.plot(circ_ks, circ_exact, label="Beta law (exact)")
draw_window(ax_c, CIRC_DIM - circ_delta, CIRC_DIM)
for ax, name in ((ax_w, "orthant"), (ax_c, "circular cone")):
    ax.set_xlabel("subspace dimension $k$")
    ax.set_ylabel(f"P(subspace meets {name})")
ax_w.legend(fontsize=8, loc="upper left")
plotting.maybe_save(fig, "fig-kinematic-formula-exact", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %%
wendel_curve = [geometry.wendel_probability(WENDEL_DIM, k) for k in range(WENDEL_DIM + 1)]
wendel_k50 = geometry.crossing_point(np.arange(WENDEL_DIM + 1), wendel_curve)
circ_k50 = geometry.crossing_point(circ_ks, circ.probability)
# 10-90% widths of the exact curves, to set against the guaranteed window of 2 a_eta sqrt(D)
wendel_width = (geometry.crossing_point(np.arange(WENDEL_DIM + 1), wendel_curve, 0.9)
                - geometry.crossing_point(np.arange(WENDEL_DIM + 1), wendel_curve, 0.1))
circ_width = (geometry.crossing_point(circ_ks, circ_exact, 0.9)
              - geometry.crossing_point(circ_ks, circ_exact, 0.1))
exact_rows = [("orthant", WENDEL_DIM, float(wendel_z.max()), wendel_k50, WENDEL_DIM / 2, wendel_width),
              ("circular cone", CIRC_DIM, float(circ_z.max()), circ_k50, CIRC_DIM - circ_delta, circ_width)]

# %% tags=["hide-input"]
lines = ["| cone | $D$ | largest error / s.e. | 50% point | $D - \\delta(C)$ | 10–90% width | window $2a_\\eta\\sqrt D$ |",
         "|---|---:|---:|---:|---:|---:|---:|"]
for name, dim, zmax, k50, pred, width in exact_rows:
    lines.append(f"| {name} | {dim} | {zmax:.2f} | {k50:.2f} | {pred:.2f} | {width:.2f} | "
                 f"{2 * geometry.kinematic_slack(dim, ETA):.1f} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# The simulations follow the exact curves within three binomial standard errors at every $k$, and both transitions are centred at $D - \delta(C)$, to within half a dimension (the orthant's 50% point is read off Wendel's formula, the circular cone's off the simulation). The curves rise from 10% to 90% over a few dimensions, a width of order $\sqrt D$ that is less than a fifth of the guaranteed window $2a_\eta\sqrt D$. The window is a guarantee for every cone at once, not a description of a typical transition.

# %% tags=["claim", "hide-input"]
claims.check(wendel_z.max() < 3 and circ_z.max() < 3,
             "the simulations follow the exact curves within three binomial standard errors",
             orthant=wendel_z.max(), circular=circ_z.max())
claims.check(all(abs(k50 - pred) < 0.5 for _, _, _, k50, pred, _ in exact_rows),
             "both transitions are centred at D - delta(C) within half a dimension",
             orthant=wendel_k50, circular=circ_k50, circular_predicted=CIRC_DIM - circ_delta)
claims.check(all(width < 0.2 * 2 * geometry.kinematic_slack(dim, ETA) for _, dim, _, _, _, width in exact_rows),
             "the 10-90% widths are less than a fifth of the guaranteed window",
             orthant=wendel_width, circular=circ_width);

# %% [markdown]
# ## Basis pursuit and the Donoho-Tanner transition
#
# Sparse recovery is where phase transitions of this kind were first observed, and the statistical dimension explains where they sit. To recover a vector $x_0 \in \mathbb R^D$ with $q$ nonzero entries from $m$ Gaussian measurements $y = Ax_0$, **basis pursuit** solves
#
# ```{math}
# :label: eq-basis-pursuit
# \min_x \lVert x\rVert_1 \quad\text{subject to}\quad Ax = y ,
# ```
#
# a linear program, solved here with HiGHS through `scipy.optimize.linprog`. It succeeds exactly when the null space of $A$, a random subspace of dimension $D - m$, meets the descent cone of $\lVert\cdot\rVert_1$ at $x_0$ only at the origin. By {eq}`eq-kinematic-formula` the transition is therefore at $m \approx \delta(\mathcal D(\lVert\cdot\rVert_1, x_0)) \approx D\psi(q/D)$ {cite:p}`amelunxen2014`, the curve that {cite:t}`donoho2009` found by counting faces of random polytopes.

# %%
def basis_pursuit_success(m, trials):
    """Fraction of trials in which basis pursuit recovers a random signal with q nonzeros from m measurements."""
    hits = 0
    for _ in range(trials):
        x0 = np.zeros(BP_DIM)
        support = rng.choice(BP_DIM, BP_NNZ, replace=False)
        x0[support] = rng.choice([-1.0, 1.0], BP_NNZ) * (1 + rng.random(BP_NNZ))
        A = rng.standard_normal((m, BP_DIM))
        hits += np.linalg.norm(geometry.basis_pursuit(A, A @ x0) - x0) <= 1e-6 * np.linalg.norm(x0)
    return hits / trials


bp_success = np.array([basis_pursuit_success(m, BP_TRIALS) for m in BP_MEASUREMENTS])
bp_delta = geometry.statistical_dimension_l1_descent_cone(BP_DIM, BP_NNZ)
bp_m50 = geometry.crossing_point(BP_MEASUREMENTS, bp_success)


def donoho_tanner(undersampling):
    """q/m on the weak threshold at m/D = undersampling, from psi(q/D) = m/D."""
    return optimize.brentq(lambda f: geometry.l1_phase_function(f * undersampling)[0] - undersampling,
                           1e-9, 1.0)


# %% [markdown]
# {numref}`fig-kinematic-formula-bp` shows the success rate against $m$, and the same transition in the coordinates of {cite:t}`donoho2009`: the undersampling ratio $m/D$ against the number of nonzeros per measurement, $q/m$.

# %% mystnb={"figure": {"caption": "Basis pursuit with $D = 100$ and $q = 10$ nonzeros. Left: recovery switches on as the number of measurements $m$ passes $D\\psi(q/D)$, far inside the shaded window of the kinematic formula. Right: in the Donoho-Tanner coordinates the simulated 50% point lies on the curve $\\psi(q/D) = m/D$.", "name": "fig-kinematic-formula-bp"}}
fig, (ax_m, ax_dt) = plt.subplots(1, 2, figsize=(9, 3.8))
bp_se = np.sqrt(bp_success * (1 - bp_success) / BP_TRIALS)
ax_m.errorbar(BP_MEASUREMENTS, bp_success, yerr=2 * bp_se, fmt="o-", label="basis pursuit")
ax_m.axvspan(bp_delta - geometry.kinematic_slack(BP_DIM, ETA), bp_delta + geometry.kinematic_slack(BP_DIM, ETA),
             color=plotting.PALETTE["bound"], alpha=0.2, label=r"$\pm a_\eta\sqrt{D}$")
plotting.mark_limit(ax_m, bp_delta, r"$m = D\psi(q/D)$")
ax_m.set_xlim(0, BP_DIM)
ax_m.set_xlabel("measurements $m$")
ax_m.set_ylabel("P(exact recovery)")
ax_m.legend(fontsize=8, loc="lower right")
undersampling = np.linspace(0.02, 0.98, 60)
ax_dt.plot(undersampling, [donoho_tanner(u) for u in undersampling], label=r"$\psi(q/D) = m/D$")
ax_dt.plot(bp_m50 / BP_DIM, BP_NNZ / bp_m50, "o", color=plotting.PALETTE["prediction"],
           label="simulated 50% point")
ax_dt.set_xlabel("undersampling $m/D$")
ax_dt.set_ylabel("nonzeros per measurement $q/m$")
ax_dt.legend(fontsize=8)
plotting.maybe_save(fig, "fig-kinematic-formula-bp", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The simulated 50% point lies at $m$ = {glue:text}`bp_m50:.1f` against $D\psi(q/D)$ = {glue:text}`bp_delta:.1f`, within two measurements of the prediction. The guaranteed window, by contrast, is $\pm$ {glue:text}`bp_window:.0f` measurements wide, more than half the range of $m$, so here too the kinematic formula locates the transition far more precisely than its guarantee promises.

# %% tags=["claim", "hide-input"]
bp_window = geometry.kinematic_slack(BP_DIM, ETA)
glue("bp_window", bp_window, display=False)
claims.check(abs(bp_m50 - bp_delta) < 2, "the simulated 50% point lies within two measurements of D psi(q/D)",
             simulated=bp_m50, predicted=bp_delta)
claims.check(bp_window > BP_DIM / 2, "the guaranteed half-window is more than half the range of m",
             half_window=bp_window, D=BP_DIM);

# %% [markdown]
# ## The pruning question in miniature
#
# {ref}`ch-convex-cones` reduced the pruning question to this one: does a random $k$-dimensional subspace meet the translated solid ellipsoid $c + E$ with semi-axes $r_i$, whose centre lies at distance $R$ from the origin? Because $0 \notin c + E$, a subspace meets $c + E$ iff it meets $\mathrm{cone}(c + E)$ outside the origin, and that is an exact weighted least-squares test, $\min_z \sum_i ((Uz - c)_i/r_i)^2 \le 1$. The kinematic formula then puts the transition at $k = D - \delta(\mathrm{cone}(c + E))$, and we can compute the statistical dimension in two ways:
#
# - **exactly**, by Monte Carlo with the projection onto the pruning cone of {ref}`ch-convex-cones`;
# - **approximately**, by the formula $\sum_i r_i^2/(R^2 + r_i^2)$ of {eq}`eq-pruning-cone-approx`, which the pruning paper {cite:p}`zhang2024pruning` uses.
#
# A second, projection-free estimate of the exact value comes from the transition curve itself. The conic Crofton formula writes $p_k = \Pr\{C \cap L_k \ne \{0\}\}$ through the intrinsic volumes of $C$ {cite:p}`amelunxen2014`, and summing it over all $k$ gives the exact identity
#
# ```{math}
# :label: eq-transition-area
# \sum_{k=0}^{D} \Pr\{C \cap L_k \ne \{0\}\} = \delta(C) + \tfrac12
# ```
#
# for every closed convex cone that is not a subspace (`statistical_dimension_from_transition`). The area under a simulated curve therefore checks the projection-based value independently. In the experiment the semi-axes spread over a decade and a half, as the semi-axes $\sqrt{2\epsilon/\lambda_i}$ of the quadratic model's sublevel set $\{x : \tfrac12 x^\top H x \le \epsilon\}$ do for a spread-out Hessian spectrum, and the direction of $c$ is random.

# %%
radii = np.geomspace(0.05, 2.0, PRUNE_DIM)
direction = rng.standard_normal(PRUNE_DIM)
direction /= np.linalg.norm(direction)
prune_ks = np.arange(PRUNE_DIM + 1)
prune_rows = []
for R in PRUNE_DISTANCES:
    center = R * direction
    delta, se = geometry.statistical_dimension_mc(
        lambda x, c=center: geometry.project_ellipsoid_cone(x, c, radii), PRUNE_DIM,
        num_samples=PRUNE_SAMPLES, generator=rng)
    approx = geometry.pruning_cone_statistical_dimension_approx(radii, R)
    curve = geometry.phase_transition(lambda U, c=center: geometry.subspace_meets_ellipsoid(U, c, radii),
                                      PRUNE_DIM, prune_ks, num_trials=PRUNE_TRIALS, generator=rng)
    k50 = geometry.crossing_point(prune_ks, curve.probability)
    area, area_se = geometry.statistical_dimension_from_transition(curve, PRUNE_DIM)
    prune_rows.append({"R": R, "delta": delta, "se": se, "approx": approx,
                       "curve": curve, "k50": k50, "area": area, "area_se": area_se})

# %% tags=["hide-input"]
lines = ["| $R$ | $\\delta$ (projection) | $\\delta$ (area under curve) | approximation | 50% point | $D - \\delta$ | $D -{}$approx. |",
         "|---:|---:|---:|---:|---:|---:|---:|"]
for row in prune_rows:
    lines.append(f"| {row['R']:g} | {row['delta']:.2f} ± {row['se']:.2f} | {row['area']:.2f} ± {row['area_se']:.2f} | "
                 f"{row['approx']:.2f} | {row['k50']:.2f} | {PRUNE_DIM - row['delta']:.2f} | "
                 f"{PRUNE_DIM - row['approx']:.2f} |")
display(Markdown("\n".join(lines)))

# %% mystnb={"figure": {"caption": "Probability that a random $k$-dimensional subspace meets the translated solid ellipsoid $c + E$ in dimension 40, for four distances $R$. The transition moves right as $R$ grows; each dashed line ($D$ minus the exact $\\delta$) passes through its curve's 50% point, while each dotted line ($D$ minus the approximation) lies to its right.", "name": "fig-kinematic-formula-pruning"}}
fig, ax = plt.subplots()
colours = ["#1d3557", "#2a9d8f", "#f4a261", "#e63946"]
for row, colour in zip(prune_rows, colours, strict=False):
    ax.plot(prune_ks, row["curve"].probability, "o-", markersize=3, color=colour, label=f"$R = {row['R']:g}$")
    ax.axvline(PRUNE_DIM - row["delta"], color=colour, linestyle="--", linewidth=1.2)
    ax.axvline(PRUNE_DIM - row["approx"], color=colour, linestyle=":", linewidth=1.2)
ax.set_xlabel("subspace dimension $k$")
ax.set_ylabel(r"P(subspace meets $c + E$)")
ax.legend(title="dashed: exact $\\delta$, dotted: approximation", fontsize=8, title_fontsize=8)
plotting.maybe_save(fig, "fig-kinematic-formula-pruning", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The farther the ellipsoid, the larger the subspace must be to reach it: the transition moves right as $R$ grows, which is the statement "removing more weight needs a flatter loss" in miniature. The area under each curve reproduces the projection-based $\delta$ within two combined standard errors, so the exact statistical dimension of the pruning cone is confirmed twice, by two unrelated computations. The approximation, on the other hand, is below the exact value at every distance. Its predicted transitions (dotted) therefore sit to the right of the simulated 50% points, and at every distance they are farther from them than the exact predictions (dashed) are.

# %% tags=["claim", "hide-input"]
k50s = [row["k50"] for row in prune_rows]
claims.check(all(np.diff(k50s) > 0), "the transition moves right as R grows", k50=np.round(k50s, 2).tolist())
claims.check(all(abs(r["area"] - r["delta"]) < 2 * math.hypot(r["se"], r["area_se"]) for r in prune_rows),
             "the area under each curve reproduces delta within two combined standard errors",
             largest_z=max(abs(r["area"] - r["delta"]) / math.hypot(r["se"], r["area_se"]) for r in prune_rows))
claims.check(all(r["approx"] < r["delta"] for r in prune_rows), "the approximation is below the exact delta at every R")
claims.check(all(abs(r["k50"] - (PRUNE_DIM - r["delta"])) < abs(r["k50"] - (PRUNE_DIM - r["approx"])) for r in prune_rows),
             "at every R the exact prediction is closer to the 50% point than the approximation");

# %% [markdown]
# ## Where the approximation is good, and where it is not
#
# How much does the approximation's deficit matter? The kinematic formula turns the statistical dimension into a dimension of the subspace, $k = D - \delta$, and in the pruning problem $k/D$ is the density $\rho$ of the kept weights. An error in $\delta/D$ is therefore an error of the same size in the predicted density, and so in the predicted sparsity, whatever $D$ is. {numref}`fig-kinematic-formula-approx` compares the exact and the approximate value over a range of distances, and shows both the relative error and the error in $\delta/D$.

# %% mystnb={"figure": {"caption": "Left: the exact statistical dimension of $\\mathrm{cone}(c+E)$ (Monte Carlo) and the approximation $\\sum_i r_i^2/(R^2+r_i^2)$ against the distance $R$. Right: the relative error of the approximation and its error in $\\delta/D$, with the transition width $1/\\sqrt D$ for the miniature and for $D = 10^6$. Where $R$ lies among the semi-axes the relative error is nearly constant; the error in $\\delta/D$ sits below the width at $D = 40$ but far above it at $D = 10^6$.", "name": "fig-kinematic-formula-approx"}}
distances = np.geomspace(0.3, 16, 9)
sweep = []
for R in distances:
    est, se = geometry.statistical_dimension_mc(
        lambda x, c=R * direction: geometry.project_ellipsoid_cone(x, c, radii), PRUNE_DIM,
        num_samples=PRUNE_SAMPLES // 2, generator=rng)
    sweep.append((est, se, geometry.pruning_cone_statistical_dimension_approx(radii, R)))
sweep = np.array(sweep)
relative_error = 1 - sweep[:, 2] / sweep[:, 0]
density_error = (sweep[:, 0] - sweep[:, 2]) / PRUNE_DIM  # error in delta/D, i.e. in the predicted density
BIG_DIM = 10**6  # a small network by the standards of the paper
fig, (ax_d, ax_e) = plt.subplots(1, 2, figsize=(9, 3.8))
ax_d.errorbar(distances, sweep[:, 0], yerr=2 * sweep[:, 1], fmt="o-", label="exact (Monte Carlo)")
ax_d.plot(distances, sweep[:, 2], "s--", label=r"$\sum_i r_i^2/(R^2+r_i^2)$")
ax_d.set_xscale("log")
ax_d.set_yscale("log")
ax_d.set_xlabel("distance $R$")
ax_d.set_ylabel(r"$\delta(\mathrm{cone}(c+E))$")
ax_d.legend(fontsize=8)
ax_e.plot(distances, relative_error, "s-", label="relative error, 1 − approx./exact")
ax_e.plot(distances, density_error, "o-", label=r"error in $\delta/D$")
ax_e.axhline(1 / math.sqrt(PRUNE_DIM), color="grey", linestyle="--", linewidth=1, label=rf"$1/\sqrt{{D}}$, $D = {PRUNE_DIM}$")
ax_e.axhline(1 / math.sqrt(BIG_DIM), color="grey", linestyle=":", linewidth=1, label=r"$1/\sqrt{D}$, $D = 10^6$")
ax_e.axvline(radii.max(), color="black", linewidth=0.8, alpha=0.5)
ax_e.set_xscale("log")
ax_e.set_yscale("log")
ax_e.set_xlabel("distance $R$ (vertical line: largest semi-axis)")
ax_e.legend(fontsize=7)
plotting.maybe_save(fig, "fig-kinematic-formula-approx", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# Two regimes show up, separated by the largest semi-axis (the vertical line in the right panel). In both the approximation is too small, but for different reasons and with different consequences.
#
# - **Near ellipsoid** ($R$ inside the range of the semi-axes, here $R < 2$): the approximation is low by a nearly constant fraction, with a ratio to the exact value between {glue:text}`ratio_near_min:.2f` and {glue:text}`ratio_near_max:.2f`, a relative error of about {glue:text}`relerr_near:.0%`. For a ball this is exact geometry, since the true cone has $\sin\alpha = r/R$ and the approximation $\tan\alpha = r/R$ ({ref}`ch-convex-cones`).
# - **Far ellipsoid** ($R$ above every $r_i$): the cone shrinks to a thin cone around the ray through $c$. Its statistical dimension falls towards the $1/2$ of a ray (it is still {glue:text}`far_exact_last:.2f` at $R$ = {glue:text}`far_R_last:.0f`), while the approximation tends to $0$. The absolute error stays of order one, at most {glue:text}`far_abs_max:.2f`, but the relative error grows with $R$, to {glue:text}`relerr_far_last:.0%` at the largest distance.
#
# Which of the two errors matters depends on the size of the network. In the far regime an absolute error of order one is at most about $1/D$ in $\delta/D$, negligible for any real network. In the near regime, by contrast, the error is a fixed fraction of $\delta$; as long as the semi-axes keep the same spread relative to $R$, $\delta/D$ and with it the error in $\delta/D$ stay put as $D$ grows. Here that error reaches {glue:text}`density_error_max:.3f`, that is {glue:text}`density_points_max:.1f` percentage points of predicted density, at the smallest distance.
#
# Against the transition's natural width $\sqrt D$ this looks harmless in the miniature, where the same error is {glue:text}`error_sqrt_small:.2f` $\sqrt D$. At $D = 10^6$, a small network by the standards of the paper, the same error in $\delta/D$ is {glue:text}`error_sqrt_big:.0f` $\sqrt D$. The $\sqrt D$ window is therefore the wrong yardstick for this approximation: its error does not shrink relative to $D$, so relative to the window it grows like $\sqrt D$. The approximation also ignores the direction of $c$ relative to the axes of $E$, which the exact statistical dimension depends on (second exercise); {ref}`ch-pruning-limit` returns to both points on real networks.

# %% tags=["claim", "hide-input"]
near = distances < radii.max()
far = ~near
ratio = sweep[:, 2] / sweep[:, 0]
abs_error = sweep[:, 0] - sweep[:, 2]
glue("ratio_near_min", float(ratio[near].min()), display=False)
glue("ratio_near_max", float(ratio[near].max()), display=False)
glue("relerr_near", float(relative_error[near].mean()), display=False)
glue("far_exact_last", float(sweep[-1, 0]), display=False)
glue("far_R_last", float(distances[-1]), display=False)
glue("far_abs_max", float(abs_error[far].max()), display=False)
glue("relerr_far_last", float(relative_error[-1]), display=False)
glue("density_error_max", float(density_error.max()), display=False)
glue("density_points_max", float(100 * density_error.max()), display=False)
glue("error_sqrt_small", float(density_error.max() * math.sqrt(PRUNE_DIM)), display=False)
glue("error_sqrt_big", float(density_error.max() * math.sqrt(BIG_DIM)), display=False)
claims.check(ratio[near].max() - ratio[near].min() < 0.02,
             "in the near regime the ratio approximation/exact is nearly constant",
             smallest=ratio[near].min(), largest=ratio[near].max())
claims.check(np.all(np.diff(sweep[far, 0]) < 0) and sweep[-1, 0] > 0.5 and np.all(np.diff(sweep[far, 2]) < 0),
             "far away the exact value falls towards 1/2 and the approximation towards 0",
             exact_last=sweep[-1, 0], approx_last=sweep[-1, 2])
claims.check(abs_error[far].max() < 1.5 and np.all(np.diff(relative_error[far]) > 0),
             "far away the absolute error stays of order one while the relative error grows with R",
             largest_abs_error=abs_error[far].max(), relative_errors=np.round(relative_error[far], 3).tolist())
claims.check(np.argmax(density_error) == 0, "the error in delta/D is largest at the smallest distance",
             density_error=np.round(density_error, 4).tolist())
claims.check(density_error.max() * math.sqrt(PRUNE_DIM) < 1 < density_error.max() * math.sqrt(BIG_DIM) / 10,
             "the error is below one sqrt(D) at D = 40 but tens of sqrt(D) at D = 10^6",
             small=density_error.max() * math.sqrt(PRUNE_DIM), big=density_error.max() * math.sqrt(BIG_DIM));

# %% tags=["hide-input"]
glue("eta", ETA, display=False)
glue("a_eta", a_eta, display=False)
glue("wendel_trials", WENDEL_TRIALS, display=False)
glue("bp_m50", bp_m50, display=False)
glue("bp_delta", bp_delta, display=False)
glue("circ_k50", circ_k50, display=False)
glue("circ_pred", CIRC_DIM - circ_delta, display=False)
glue("wendel_zmax", float(wendel_z.max()), display=False)
glue("area_zmax", max(abs(r["area"] - r["delta"]) / math.hypot(r["se"], r["area_se"]) for r in prune_rows),
     display=False)
glue("prune_k50_far", prune_rows[-1]["k50"], display=False)
glue("prune_pred_far", PRUNE_DIM - prune_rows[-1]["delta"], display=False)
glue("prune_approx_far", PRUNE_DIM - prune_rows[-1]["approx"], display=False)
glue("prune_R_far", prune_rows[-1]["R"], display=False)

# %% tags=["nbval-check-output"]
print(f"a_eta(eta={ETA:g}) = {a_eta:.4f}, window a_eta sqrt(D) at D={CIRC_DIM}: {geometry.kinematic_slack(CIRC_DIM, ETA):.3f}")
print(f"Wendel D={WENDEL_DIM}: P(k=10) = {geometry.wendel_probability(WENDEL_DIM, 10):.4f}, "
      f"P(k=6) = {geometry.wendel_probability(WENDEL_DIM, 6):.4f}")
print(f"circular D={CIRC_DIM}, alpha={CIRC_ANGLE:g}: D - delta = {CIRC_DIM - circ_delta:.3f}")
print(f"basis pursuit D={BP_DIM}, q={BP_NNZ}: D psi = {bp_delta:.3f}; Donoho-Tanner q/m at m/D=0.5: {donoho_tanner(0.5):.4f}")
print("approximation at R = " + ", ".join(
    f"{R:g}: {geometry.pruning_cone_statistical_dimension_approx(radii, R):.3f}" for R in PRUNE_DISTANCES))

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-kinematic-formula-ex1
# The kinematic formula is about the *location* of the transition; its *width* for the circular cone can be read off the exact Beta law.
# For $D \in \{25, 100, 400, 1600\}$ and the chapter's angle `CIRC_ANGLE`, compute the distance between the dimensions $k$ where the exact probability crosses 10% and 90%, and compare it with $\sqrt D$ and with the guaranteed window $2a_{0.1}\sqrt D$.
# ```
#
# ```{solution-start} ch-kinematic-formula-ex1
# :class: dropdown
# ```
#
# The 10% and 90% crossings bracket the transition. Treating $k$ as continuous in the Beta law, `brentq` finds both.

# %%
def exact_meet_probability(dim, k):
    """P(random k-dim subspace meets Circ_D(alpha)) from the Beta law, k continuous."""
    return stats.beta.sf(math.cos(CIRC_ANGLE) ** 2, k / 2, (dim - k) / 2)


width_rows = []
for dim in (25, 100, 400, 1600):
    k10 = optimize.brentq(lambda k: exact_meet_probability(dim, k) - 0.1, 1e-6, dim - 1e-6)
    k90 = optimize.brentq(lambda k: exact_meet_probability(dim, k) - 0.9, 1e-6, dim - 1e-6)
    width_rows.append((dim, k90 - k10, 2 * geometry.kinematic_slack(dim, 0.1)))
    print(f"D = {dim:5d}: 10-90% width {k90 - k10:7.2f} = {(k90 - k10) / math.sqrt(dim):.2f} sqrt(D); "
          f"guaranteed window {2 * geometry.kinematic_slack(dim, 0.1):7.1f}")

# %% [markdown]
# The width grows like $\sqrt D$ with a constant below two, and it is six to seven times narrower than the guaranteed window at every $D$. Relative to $D$ the transition therefore gets sharper and sharper, its width shrinking like $1/\sqrt D$.

# %% tags=["claim", "hide-input"]
width_rows = np.array(width_rows)
claims.check(np.all(width_rows[:, 1] / np.sqrt(width_rows[:, 0]) < 2), "the width is below 2 sqrt(D)",
             width_over_sqrt_d=np.round(width_rows[:, 1] / np.sqrt(width_rows[:, 0]), 3).tolist())
claims.check(np.all((width_rows[:, 2] / width_rows[:, 1] > 6) & (width_rows[:, 2] / width_rows[:, 1] < 7)),
             "the transition is six to seven times narrower than the guaranteed window",
             window_over_width=np.round(width_rows[:, 2] / width_rows[:, 1], 2).tolist())
claims.check(np.all(np.diff(width_rows[:, 1] / width_rows[:, 0]) < 0), "relative to D the width shrinks");

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-kinematic-formula-ex2
# The approximation $\sum_i r_i^2/(R^2 + r_i^2)$ does not depend on the direction of the centre $c$.
# With the radii of the miniature pruning problem and $R = 2.5$, estimate the exact statistical dimension of $\mathrm{cone}(c + E)$ for $c$ along the shortest axis, along the longest axis, and in a random direction.
# ```
#
# ```{solution-start} ch-kinematic-formula-ex2
# :class: dropdown
# ```

# %%
R = 2.5
directions = {"shortest axis": np.eye(PRUNE_DIM)[0], "longest axis": np.eye(PRUNE_DIM)[-1],
              "random direction": direction}
by_direction = {}
for name, u in directions.items():
    by_direction[name] = geometry.statistical_dimension_mc(
        lambda x, c=R * u: geometry.project_ellipsoid_cone(x, c, radii), PRUNE_DIM,
        num_samples=PRUNE_SAMPLES // 2, generator=rng)
    print(f"{name:22s}: exact {by_direction[name][0]:5.2f} ± {by_direction[name][1]:4.2f}")
approx_25 = geometry.pruning_cone_statistical_dimension_approx(radii, R)
print(f"approximation (any direction): {approx_25:5.2f}")

# %% [markdown]
# The exact value depends on the direction. With $c$ along the longest axis the ellipsoid reaches to within $R - r_{\max}$ of the origin, so it subtends a much wider cone than with $c$ along the shortest axis, where every long axis is orthogonal to $c$. A formula that only sees $R$ and the radii cannot tell these apart.
#
# Nor does the random orientation of the pruning model rescue it "on average". The kinematic formula rotates the whole cone $\mathrm{cone}(c + E)$ rigidly (equivalently, it rotates the subspace), and since the statistical dimension is invariant under rotations, that randomness never changes the direction of $c$ relative to the axes of $E$: the formula needs $\delta$ of the one cone at hand, not an average over directions of $c$. The random direction drawn here gives {glue:text}`dir_random:.2f` against the approximation's {glue:text}`dir_approx:.2f`, and both axis directions lie above the approximation too, so in this example it undercounts whichever way $c$ points.

# %% tags=["claim", "hide-input"]
glue("dir_random", by_direction["random direction"][0], display=False)
glue("dir_approx", approx_25, display=False)
(short, se_short), (long_, se_long) = by_direction["shortest axis"], by_direction["longest axis"]
claims.check(long_ - short > 3 * math.hypot(se_short, se_long),
             "c along the longest axis gives a much larger cone than along the shortest",
             longest=long_, shortest=short)
claims.check(all(est - 3 * se > approx_25 for est, se in by_direction.values()),
             "every direction, the random one included, lies above the approximation",
             approximation=approx_25, **{k.split()[0]: v[0] for k, v in by_direction.items()});

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-kinematic-formula-ex3
# Let $L$ be a fixed $a$-dimensional subspace of $\mathbb R^D$ and $M$ a uniformly random $b$-dimensional subspace (the image $QM_0$ of a fixed one under a uniformly random rotation $Q$). Prove that
#
# $$
# \Pr\{L \cap M \ne \{0\}\} = \begin{cases} 1 & a + b > D, \\ 0 & a + b \le D. \end{cases}
# $$
#
# Conclude that for two subspaces both implications of {eq}`eq-kinematic-formula` hold for every $\eta$, with a step of width zero in place of the window, and that the sum {eq}`eq-transition-area` equals $\delta(L)$, not $\delta(L) + \tfrac12$, when $C = L$ is a subspace.
# ```
#
# ```{solution-start} ch-kinematic-formula-ex3
# :class: dropdown
# ```
#
# **Case $a + b > D$.** For any two subspaces $\dim(L + M) \le D$, so $\dim(L \cap M) = \dim L + \dim M - \dim(L + M) \ge a + b - D \ge 1$. The subspaces meet outside the origin for every rotation, hence with probability 1.
#
# **Case $a + b \le D$.** Describe $M$ through Gaussian vectors. Let $G$ be a $D \times b$ matrix with independent standard normal entries. For every fixed rotation $Q$ the matrix $QG$ has the same law as $G$, so the column span of $G$, once we know it is $b$-dimensional, is a random $b$-dimensional subspace whose law is invariant under rotations. The rotation group acts transitively on the $b$-dimensional subspaces and there is only one rotation-invariant probability on them, the uniform one, so $\mathrm{span}(G)$ has the law of $M$. It therefore suffices to show that $\Pr\{L \cap \mathrm{span}(G) \ne \{0\}\} = 0$.
#
# Let $u_1, \dots, u_a$ be a basis of $L$ and $g_1, \dots, g_b$ the columns of $G$. If the $D \times (a + b)$ matrix $[u_1, \dots, u_a, g_1, \dots, g_b]$ has rank $a + b$, then $L \cap \mathrm{span}(G) = \{0\}$. Indeed, a common vector $v = \sum_i x_i u_i = \sum_j y_j g_j \ne 0$ has $x \ne 0$, so $(x, -y)$ would be a nonzero vector in the kernel of that matrix. We show that the rank is $a + b$ with probability 1 by adding the columns $g_j$ one at a time. Let $V_j = \mathrm{span}(u_1, \dots, u_a, g_1, \dots, g_{j-1})$ for $j = 1, \dots, b$. Its dimension is at most $a + j - 1 \le a + b - 1 < D$, so $V_j$ is a proper subspace and lies in a hyperplane $\{x : \langle n_j, x\rangle = 0\}$ with a unit normal $n_j$ that depends only on $g_1, \dots, g_{j-1}$. Given those vectors, $\langle n_j, g_j\rangle$ is standard normal, because $g_j$ is independent of them, and a standard normal variable is 0 with probability 0. So $\Pr\{g_j \in V_j\} = 0$ for each $j$, and outside an event of probability 0 every new column raises the rank by one, to $a + b$ in the end. Taking $a = 0$ shows along the way that the columns of $G$ are linearly independent with probability 1, as used above.
#
# **Consequences.** By the previous chapter's third exercise $\delta(L) = a$ and $\delta(M) = b$. The first implication of {eq}`eq-kinematic-formula` asks for $\Pr\{L \cap M \ne \{0\}\} \le \eta$ when $a + b \le D - a_\eta\sqrt D$; then $a + b \le D$ and the probability is 0. The second asks for probability at least $1 - \eta$ when $a + b \ge D + a_\eta\sqrt D$; then $a + b > D$ and the probability is 1. Both hold for every $\eta$, and the probability jumps from 0 to 1 between $a + b = D$ and $a + b = D + 1$: for subspaces the transition is an exact step at $\delta(L) + \delta(M) = D$. For the area identity take $C = L$ of dimension $j \ge 1$. A random $k$-dimensional $L_k$ meets $L$ with probability 1 exactly when $k > D - j$, which happens for the $j$ values $k = D - j + 1, \dots, D$, and with probability 0 otherwise. The sum in {eq}`eq-transition-area` is therefore $j = \delta(L)$, not $\delta(L) + \tfrac12$, which is why that identity, like the general statement, excludes subspaces. $\blacksquare$
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - A random $k$-dimensional subspace meets a cone $C$ with probability that jumps from 0 to 1 around $k = D - \delta(C)$; the guarantee is a window of $\pm a_\eta\sqrt D$ with $a_\eta = \sqrt{8\log(4/\eta)}$ ({glue:text}`a_eta:.2f` for $\eta$ = {glue:text}`eta`), and the observed transitions are much narrower. For two subspaces the jump is an exact step.
# - Against exact finite-dimensional answers (Wendel's formula for the orthant, a Beta law for the circular cone) the simulations agree within three binomial standard errors (largest deviation {glue:text}`wendel_zmax:.1f` standard errors for the orthant); the circular-cone transition crosses 50% at $k$ = {glue:text}`circ_k50:.1f`, predicted {glue:text}`circ_pred:.1f`.
# - Basis pursuit recovers a sparse signal once the number of measurements exceeds the statistical dimension of the $\ell_1$ descent cone: 50% at {glue:text}`bp_m50:.1f` measurements against $D\psi(q/D)$ = {glue:text}`bp_delta:.1f`.
# - The area under a full transition curve equals $\delta(C) + 1/2$ exactly for a cone that is not a subspace; in the pruning miniature it matches the projection-based statistical dimension within {glue:text}`area_zmax:.1f` combined standard errors.
# - In the pruning miniature the transition follows the exact statistical dimension of the pruning cone (at $R$ = {glue:text}`prune_R_far:.0f`: simulated {glue:text}`prune_k50_far:.1f`, predicted {glue:text}`prune_pred_far:.1f`), while the approximation $\sum_i r_i^2/(R^2+r_i^2)$ predicts {glue:text}`prune_approx_far:.1f`. The approximation undercounts $\delta$; where the distance lies among the semi-axes it does so by a nearly constant {glue:text}`relerr_near:.0%`, up to {glue:text}`density_points_max:.1f` percentage points of $\delta/D$ and hence of predicted density, an error that does not shrink as $D$ grows. Its error must be judged in $\delta/D$, not against the $\sqrt D$ window.
# :::
