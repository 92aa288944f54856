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
# - Simulate the pruning question in miniature, and judge the approximation $\sum_i r_i^2/(R^2+r_i^2)$ that the pruning paper uses.
# :::
#
# **Prerequisites:** {ref}`ch-statistical-dimension`.

# %% tags=["parameters"]
SEED = 0
ETA = 0.1  # failure probability of the kinematic formula's guarantee
WENDEL_DIM = 20  # orthant against the null space of a Gaussian matrix
WENDEL_TRIALS = 150
CIRC_DIM = 60  # random subspace against a circular cone
CIRC_ANGLE = 0.6  # its half-aperture (radians)
CIRC_TRIALS = 1000
BP_DIM = 100  # basis pursuit: ambient dimension
BP_NNZ = 10  # nonzeros of the signal
BP_TRIALS = 60  # trials per number of measurements
BP_MEASUREMENTS = [15, 20, 24, 27, 30, 33, 36, 39, 42, 46, 52]
PRUNE_DIM = 40  # the pruning setting in miniature
PRUNE_DISTANCES = [0.5, 1.0, 2.0, 4.0]  # distances R of the ellipsoid centre
PRUNE_SAMPLES = 1500  # Monte Carlo draws for the exact statistical dimension
PRUNE_TRIALS = 300  # random subspaces per dimension k
SAVE_FIGS = False

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from myst_nb import glue
from scipy import optimize, stats

from pnlib import geometry, plotting

plotting.use_book_style()
rng = np.random.default_rng(SEED)
a_eta = geometry.kinematic_a_eta(ETA)

# %% [markdown]
# This chapter uses `pnlib.geometry.phase_transition`, `crossing_point`, `kinematic_slack`, `wendel_probability`, the `subspace_meets_*` tests, `basis_pursuit` and `project_ellipsoid_cone`.
#
# ## The statement
#
# Two cones in general position either meet outside the origin or do not, and which one happens is decided, with high probability, by their statistical dimensions.
#
# **Approximate kinematic formula** {cite:p}`amelunxen2014` (Theorem I): let $C, K \subseteq \mathbb R^D$ be closed convex cones, not both subspaces, and $Q$ a uniformly random rotation; for $\eta \in (0, 1)$,
#
# $$
# \begin{aligned}
# \delta(C) + \delta(K) \le D - a_\eta\sqrt D &\implies \Pr\{C \cap QK \ne \{0\}\} \le \eta, \\
# \delta(C) + \delta(K) \ge D + a_\eta\sqrt D &\implies \Pr\{C \cap QK \ne \{0\}\} \ge 1 - \eta,
# \end{aligned}
# \qquad a_\eta = \sqrt{8\log(4/\eta)} .
# $$ (eq-kinematic-formula)
#
# For a uniformly random $k$-dimensional subspace $L$ (so $\delta(L) = k$) the transition sits at $k = D - \delta(C)$, and the guarantee covers a window of half-width $a_\eta\sqrt D$ around it.
#
# The window is a worst case over all cones; the experiments below show transitions that are much sharper.

# %%
for eta in (0.5, 0.1, 0.01, 0.001):
    print(f"eta = {eta:<6g} a_eta = {geometry.kinematic_a_eta(eta):.4f}")

# %% [markdown]
# ## The orthant against a Gaussian null space: Wendel's formula
#
# The null space of an $m \times D$ standard Gaussian matrix $A$ is a uniformly random subspace of dimension $k = D - m$.
#
# It meets the orthant outside 0 exactly when the linear program "find $x \ge 0$ with $Ax = 0$ and $\mathbf 1^\top x = 1$" is feasible, and {cite:t}`wendel1962` gives the exact probability
#
# $$
# \Pr\{\mathbb R^D_+ \cap \mathrm{null}(A) \ne \{0\}\} = \Pr\{\mathrm{Bin}(D-1, \tfrac12) \ge m\} .
# $$ (eq-wendel)
#
# With $\delta(\mathbb R^D_+) = D/2$, the kinematic formula puts the transition at $k = D/2$.

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
# For the circular cone the test is explicit: $L = \mathrm{span}(U)$ meets $\mathrm{Circ}_D(\alpha)$ iff the projection of the axis onto $L$ has length at least $\cos\alpha$.
#
# That squared length follows a $\mathrm{Beta}(k/2, (D-k)/2)$ law, so here too the finite-$D$ answer is exact.

# %%
circ_ks = np.arange(0, CIRC_DIM + 1)
circ = geometry.phase_transition(lambda U: geometry.subspace_meets_circular_cone(U, CIRC_ANGLE),
                                 CIRC_DIM, circ_ks, num_trials=CIRC_TRIALS, generator=rng)
circ_exact = np.array([float(k == CIRC_DIM) if k in (0, CIRC_DIM) else
                       stats.beta.sf(math.cos(CIRC_ANGLE) ** 2, k / 2, (CIRC_DIM - k) / 2)
                       for k in circ_ks])
circ_delta = geometry.statistical_dimension_circular_cone(CIRC_DIM, CIRC_ANGLE)

# %% [markdown]
# {numref}`fig-kinematic-formula-exact` draws both experiments with their exact curves, the predicted transition $k = D - \delta(C)$, and the window $\pm a_\eta\sqrt D$ for $\eta$ = {glue:text}`eta`.

# %% mystnb={"figure": {"caption": "Two transitions with exact finite-D answers", "name": "fig-kinematic-formula-exact"}}
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

# %% [markdown]
# The simulations follow the exact curves within their binomial error, and both transitions are centred at $D - \delta(C)$.
#
# The curves rise from 0 to 1 over a width of order $\sqrt D$, far inside the guaranteed window.

# %%
wendel_k50 = geometry.crossing_point(np.arange(WENDEL_DIM + 1),
                                     [geometry.wendel_probability(WENDEL_DIM, k) for k in range(WENDEL_DIM + 1)])
circ_k50 = geometry.crossing_point(circ_ks, circ.probability)
print(f"orthant: largest |error| / se = {wendel_z.max():.2f}, exact 50% point {wendel_k50:.2f}, "
      f"predicted {WENDEL_DIM / 2:.2f}")
print(f"circular: largest |error| = {np.abs(circ.probability - circ_exact).max():.3f}, "
      f"simulated 50% point {circ_k50:.2f}, predicted {CIRC_DIM - circ_delta:.2f}")

# %% [markdown]
# ## Basis pursuit and the Donoho-Tanner transition
#
# To recover an $s$-sparse $x_0 \in \mathbb R^D$ from $m$ Gaussian measurements $y = Ax_0$, **basis pursuit** solves
#
# $$
# \min_x \lVert x\rVert_1 \quad\text{subject to}\quad Ax = y ,
# $$ (eq-basis-pursuit)
#
# a linear program, solved here with HiGHS through `scipy.optimize.linprog`.
#
# It succeeds exactly when the null space of $A$, a random subspace of dimension $D - m$, meets the descent cone of $\lVert\cdot\rVert_1$ at $x_0$ only at the origin.
#
# By {eq}`eq-kinematic-formula` the transition is at $m \approx \delta(\mathcal D(\lVert\cdot\rVert_1, x_0)) \approx D\psi(s/D)$ {cite:p}`amelunxen2014`, the curve that {cite:t}`donoho2009` found by counting faces of random polytopes.

# %%
def basis_pursuit_success(m, trials):
    """Fraction of trials in which basis pursuit recovers a random s-sparse signal from m measurements."""
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
    """s/m on the weak threshold at m/D = undersampling, from psi(rho_DT * m/D) = m/D."""
    return optimize.brentq(lambda q: geometry.l1_phase_function(q * undersampling)[0] - undersampling,
                           1e-9, 1.0)


# %% [markdown]
# {numref}`fig-kinematic-formula-bp` shows the success rate against $m$, and the same transition in the coordinates of {cite:t}`donoho2009`: undersampling $m/D$ against $s/m$.

# %% mystnb={"figure": {"caption": "Basis pursuit succeeds above the statistical dimension", "name": "fig-kinematic-formula-bp"}}
fig, (ax_m, ax_dt) = plt.subplots(1, 2, figsize=(9, 3.8))
bp_se = np.sqrt(bp_success * (1 - bp_success) / BP_TRIALS)
ax_m.errorbar(BP_MEASUREMENTS, bp_success, yerr=2 * bp_se, fmt="o-", label="basis pursuit")
ax_m.axvspan(bp_delta - geometry.kinematic_slack(BP_DIM, ETA), bp_delta + geometry.kinematic_slack(BP_DIM, ETA),
             color=plotting.PALETTE["bound"], alpha=0.2, label=r"$\pm a_\eta\sqrt{D}$")
plotting.mark_limit(ax_m, bp_delta, r"$m = D\psi(s/D)$")
ax_m.set_xlim(0, BP_DIM)
ax_m.set_xlabel("measurements $m$")
ax_m.set_ylabel("P(exact recovery)")
ax_m.legend(fontsize=8, loc="lower right")
undersampling = np.linspace(0.02, 0.98, 60)
ax_dt.plot(undersampling, [donoho_tanner(u) for u in undersampling], label=r"$\psi(\rho) = m/D$")
ax_dt.plot(bp_m50 / BP_DIM, BP_NNZ / bp_m50, "o", color=plotting.PALETTE["prediction"],
           label="simulated 50% point")
ax_dt.set_xlabel("undersampling $m/D$")
ax_dt.set_ylabel("sparsity $s/m$")
ax_dt.legend(fontsize=8)
plotting.maybe_save(fig, "fig-kinematic-formula-bp", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The simulated 50% point lies at $m$ = {glue:text}`bp_m50:.1f` against $D\psi(s/D)$ = {glue:text}`bp_delta:.1f`.
#
# ## The pruning question in miniature
#
# {ref}`ch-convex-cones` reduced the pruning question to this one: does a random $k$-dimensional subspace meet the translated ellipsoid $c + E$ with semi-axes $r_i$, centre at distance $R$?
#
# Because $0 \notin c + E$, a subspace meets $c + E$ iff it meets $\mathrm{cone}(c + E)$ outside the origin, and that is an exact weighted least-squares test, $\min_z \sum_i ((Uz - c)_i/r_i)^2 \le 1$.
#
# The kinematic formula then puts the transition at $k = D - \delta(\mathrm{cone}(c + E))$, and we can compute the statistical dimension in two ways:
#
# - **exactly**, by Monte Carlo with the projection onto the pruning cone of {ref}`ch-convex-cones`;
# - **approximately**, by the formula $\sum_i r_i^2/(R^2 + r_i^2)$ of {eq}`eq-pruning-cone-approx`, which the pruning paper {cite:p}`zhang2024pruning` uses.
#
# A second, projection-free estimate of the exact value comes from the transition curve itself.
# The conic Crofton formula writes $p_k = \Pr\{C \cap L_k \ne \{0\}\}$ through the intrinsic volumes of $C$ {cite:p}`amelunxen2014`, and summing it over all $k$ gives the exact identity
#
# $$
# \sum_{k=0}^{D} \Pr\{C \cap L_k \ne \{0\}\} = \delta(C) + \tfrac12
# $$ (eq-transition-area)
#
# for every closed convex cone that is not a subspace (`statistical_dimension_from_transition`); the area under a simulated curve therefore checks the projection-based value independently.
#
# The semi-axes spread over a decade and a half, as the semi-axes $\sqrt{2\epsilon/\lambda_i}$ of a sublevel set do for a spread-out Hessian spectrum, and the direction of $c$ is random.

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
    print(f"R = {R:4.1f}: delta exact {delta:6.2f} ± {se:4.2f}, from the curve {area:6.2f} ± {area_se:4.2f}, "
          f"approximation {approx:6.2f}; 50% at k = {k50:5.2f}, predicted {PRUNE_DIM - delta:5.2f} (exact) "
          f"/ {PRUNE_DIM - approx:5.2f} (approx.)")

# %% mystnb={"figure": {"caption": "A random subspace against a translated ellipsoid", "name": "fig-kinematic-formula-pruning"}}
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
# The farther the ellipsoid, the larger the subspace must be to reach it: the transition moves right as $R$ grows, which is the statement "removing more weight needs a flatter loss" in miniature.
#
# The area under each curve reproduces the projection-based $\delta$ within the combined standard errors, so the exact statistical dimension of the pruning cone is confirmed twice, by two unrelated computations.
#
# The dashed lines (exact $\delta$) sit on the simulated 50% points; the dotted lines (the approximation) sit to their right, because the approximation undercounts the statistical dimension.
#
# ## Where the approximation is good, and where it is not
#
# {numref}`fig-kinematic-formula-approx` compares both over a range of distances, with the error in units of the transition's natural width $\sqrt D$.

# %% mystnb={"figure": {"caption": "Exact and approximate size of the pruning cone", "name": "fig-kinematic-formula-approx"}}
distances = np.geomspace(0.3, 16, 9)
sweep = []
for R in distances:
    est, se = geometry.statistical_dimension_mc(
        lambda x, c=R * direction: geometry.project_ellipsoid_cone(x, c, radii), PRUNE_DIM,
        num_samples=PRUNE_SAMPLES // 2, generator=rng)
    sweep.append((est, se, geometry.pruning_cone_statistical_dimension_approx(radii, R)))
sweep = np.array(sweep)
fig, (ax_d, ax_e) = plt.subplots(1, 2, figsize=(9, 3.8))
ax_d.errorbar(distances, sweep[:, 0], yerr=2 * sweep[:, 1], fmt="o-", label="exact (Monte Carlo)")
ax_d.plot(distances, sweep[:, 2], "s--", label=r"$\sum_i r_i^2/(R^2+r_i^2)$")
ax_d.set_xscale("log")
ax_d.set_yscale("log")
ax_d.set_xlabel("distance $R$")
ax_d.set_ylabel(r"$\delta(\mathrm{cone}(c+E))$")
ax_d.legend(fontsize=8)
ax_e.plot(distances, (sweep[:, 0] - sweep[:, 2]) / math.sqrt(PRUNE_DIM), "o-", label=r"error$/\sqrt{D}$")
ax_e.plot(distances, sweep[:, 2] / sweep[:, 0], "s-", label="approximation / exact")
ax_e.set_xscale("log")
ax_e.set_xlabel("distance $R$")
ax_e.legend(fontsize=8)
plotting.maybe_save(fig, "fig-kinematic-formula-approx", notebook="04_kinematic_formula", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# Two regimes show up.
#
# - **Far ellipsoid** ($R$ above every $r_i$, here $R > 2$): the cone shrinks to a thin cone around the ray through $c$, whose statistical dimension tends to $1/2$ (a ray), while the approximation tends to $0$; the absolute error stays below one, but the relative error grows without bound.
# - **Near ellipsoid** ($R$ inside the range of the radii): the approximation is low by a roughly constant fraction (ratio {glue:text}`ratio_near:.2f` at the smallest $R$), and the absolute error grows with the number of axes comparable to $R$; for a ball this is exact geometry, since the true cone has $\sin\alpha = r/R$, the approximation $\tan\alpha = r/R$.
#
# For the pruning bound what matters is the error relative to the window $\sqrt D$ of the kinematic formula: in this example it stays below {glue:text}`max_error_sqrt_d:.2f` $\sqrt D$.
#
# The approximation also ignores the direction of $c$ relative to the axes of $E$, which the exact statistical dimension depends on (second exercise); {ref}`ch-pruning-limit` returns to both points on real networks.

# %%
errors = (sweep[:, 0] - sweep[:, 2]) / math.sqrt(PRUNE_DIM)
glue("eta", ETA, display=False)
glue("a_eta", a_eta, display=False)
glue("bp_m50", bp_m50, display=False)
glue("bp_delta", bp_delta, display=False)
glue("circ_k50", circ_k50, display=False)
glue("circ_pred", CIRC_DIM - circ_delta, display=False)
glue("wendel_zmax", float(wendel_z.max()), display=False)
glue("max_error_sqrt_d", float(np.abs(errors).max()), display=False)
glue("ratio_near", float(sweep[0, 2] / sweep[0, 0]), display=False)
glue("area_zmax", max(abs(r["area"] - r["delta"]) / math.hypot(r["se"], r["area_se"]) for r in prune_rows),
     display=False)
glue("prune_k50_far", prune_rows[-1]["k50"], display=False)
glue("prune_pred_far", PRUNE_DIM - prune_rows[-1]["delta"], display=False)
glue("prune_approx_far", PRUNE_DIM - prune_rows[-1]["approx"], display=False)
glue("prune_R_far", prune_rows[-1]["R"], display=False)
glue("prune_ratio_far", prune_rows[-1]["approx"] / prune_rows[-1]["delta"], display=False)

# %% tags=["nbval-check-output"]
print(f"a_eta(eta={ETA:g}) = {a_eta:.4f}, window a_eta sqrt(D) at D={CIRC_DIM}: {geometry.kinematic_slack(CIRC_DIM, ETA):.3f}")
print(f"Wendel D={WENDEL_DIM}: P(k=10) = {geometry.wendel_probability(WENDEL_DIM, 10):.4f}, "
      f"P(k=6) = {geometry.wendel_probability(WENDEL_DIM, 6):.4f}")
print(f"circular D={CIRC_DIM}, alpha={CIRC_ANGLE:g}: D - delta = {CIRC_DIM - circ_delta:.3f}")
print(f"basis pursuit D={BP_DIM}, s={BP_NNZ}: D psi = {bp_delta:.3f}; Donoho-Tanner s/m at m/D=0.5: {donoho_tanner(0.5):.4f}")
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
# Treat $k$ as continuous in the Beta law and solve for the two crossings with `brentq`.

# %%
def exact_meet_probability(dim, k):
    """P(random k-dim subspace meets Circ_D(alpha)) from the Beta law, k continuous."""
    return stats.beta.sf(math.cos(CIRC_ANGLE) ** 2, k / 2, (dim - k) / 2)


for dim in (25, 100, 400, 1600):
    k10 = optimize.brentq(lambda k: exact_meet_probability(dim, k) - 0.1, 1e-6, dim - 1e-6)
    k90 = optimize.brentq(lambda k: exact_meet_probability(dim, k) - 0.9, 1e-6, dim - 1e-6)
    print(f"D = {dim:5d}: 10-90% width {k90 - k10:7.2f} = {(k90 - k10) / math.sqrt(dim):.2f} sqrt(D); "
          f"guaranteed window {2 * geometry.kinematic_slack(dim, 0.1):7.1f}")

# %% [markdown]
# The width grows like $\sqrt D$ with a constant below two, about six times narrower than the guaranteed window; relative to $D$ the transition gets sharper and sharper.
#
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
for name, u in directions.items():
    est, se = geometry.statistical_dimension_mc(
        lambda x, c=R * u: geometry.project_ellipsoid_cone(x, c, radii), PRUNE_DIM,
        num_samples=PRUNE_SAMPLES // 2, generator=rng)
    print(f"{name:22s}: exact {est:5.2f} ± {se:4.2f}")
print(f"approximation (any direction): {geometry.pruning_cone_statistical_dimension_approx(radii, R):5.2f}")

# %% [markdown]
# The exact value depends on the direction.
# With $c$ along the longest axis the ellipsoid reaches to within $R - r_{\max}$ of the origin, so it subtends a much wider cone than with $c$ along the shortest axis, where its nearest point is at distance $R - r_{\min}$.
# A formula that only sees $R$ and the radii cannot tell these apart; it can only be right on average over directions, which is what the random orientation of the pruning model assumes.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - A random $k$-dimensional subspace meets a cone $C$ with probability that jumps from 0 to 1 around $k = D - \delta(C)$; the guarantee is a window of $\pm a_\eta\sqrt D$ with $a_\eta = \sqrt{8\log(4/\eta)}$ ({glue:text}`a_eta:.2f` for $\eta$ = {glue:text}`eta`), the observed transitions are much narrower.
# - Against exact finite-dimensional answers (Wendel's formula for the orthant, a Beta law for the circular cone) the simulations agree within their binomial error (largest deviation {glue:text}`wendel_zmax:.1f` standard errors for the orthant); the circular-cone transition crosses 50% at $k$ = {glue:text}`circ_k50:.1f`, predicted {glue:text}`circ_pred:.1f`.
# - Basis pursuit recovers a sparse signal once the number of measurements exceeds the statistical dimension of the $\ell_1$ descent cone: 50% at {glue:text}`bp_m50:.1f` measurements against $D\psi(s/D)$ = {glue:text}`bp_delta:.1f`.
# - The area under a full transition curve equals $\delta(C) + 1/2$ exactly; in the pruning miniature it matches the projection-based statistical dimension within {glue:text}`area_zmax:.1f` combined standard errors.
# - In the pruning miniature, the transition follows the exact statistical dimension of the pruning cone (at $R$ = {glue:text}`prune_R_far:.0f`: simulated {glue:text}`prune_k50_far:.1f`, predicted {glue:text}`prune_pred_far:.1f`), while the approximation $\sum_i r_i^2/(R^2+r_i^2)$ predicts {glue:text}`prune_approx_far:.1f`; it undercounts the exact value, by an error below one unit of $\sqrt D$ here but a large relative error when the cone is thin (ratio {glue:text}`prune_ratio_far:.2f` at that distance).
# :::
