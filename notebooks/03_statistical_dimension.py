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
# (ch-statistical-dimension)=
# # Statistical dimension and Gaussian width
#
# :::{admonition} Learning goals
# :class: tip
# - Define the statistical dimension of a convex cone and the Gaussian width of a set, and relate the two.
# - Estimate both by Monte Carlo, with a standard error, from the projections of {ref}`ch-convex-cones`.
# - Know the closed forms (subspace, orthant, PSD cone, circular cone, $\ell_1$ descent cone) and see each confirmed by simulation.
# - Prove that a cone and its polar split the ambient dimension between them, $\delta(C) + \delta(C^\circ) = D$.
# - Compute the Gaussian width of a solid ellipsoid exactly and bound it.
# :::
#
# **Prerequisites:** {ref}`ch-convex-cones`; the notation is in {ref}`notation`.
#
# The previous chapter turned the pruning question into a question about a subspace meeting a cone. Whether a random subspace meets a cone turns out to depend on a single number of the cone, its statistical dimension, much as whether two random subspaces meet depends only on their dimensions. This chapter defines that number, computes it in closed form for the standard cones, and estimates it by Monte Carlo for the cones that have no closed form, the pruning cone among them. It uses `pnlib.geometry.statistical_dimension_mc`, `gaussian_width_mc`, the closed forms `statistical_dimension_*`, `l1_phase_function` and `gaussian_width_ellipsoid`.

# %% tags=["parameters"]
SEED = 0
NUM_SAMPLES = 4000  # Gaussian draws per Monte Carlo estimate
DIM = 20  # ambient dimension of the table of closed forms
PSD_N = 5  # matrix size of the PSD cone (ambient dimension n(n+1)/2)
L1_DIM = 100  # ambient dimension of the l1 descent cones
L1_NNZ = [2, 5, 10, 20, 40, 70]  # numbers of nonzeros q of the l1 descent cones
ELLIPSOID_DIM = 30  # number of semi-axes of the ellipsoids
SAVE_FIGS = False

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from myst_nb import glue

from pnlib import claims, geometry, plotting

plotting.use_book_style()
rng = np.random.default_rng(SEED)


def mc(project, dim):
    """Statistical dimension by Monte Carlo with the chapter's sample size."""
    return geometry.statistical_dimension_mc(project, dim, num_samples=NUM_SAMPLES, generator=rng)


# %% [markdown]
# ## Two ways to measure a cone
#
# Let $g \sim \mathcal N(0, I_D)$ be a standard Gaussian vector and $C \subseteq \mathbb R^D$ a closed convex cone. Projecting $g$ onto $C$ keeps the part of a random direction that the cone can represent. The **statistical dimension** of $C$ is the expected squared length of that part {cite:p}`amelunxen2014`,
#
# ```{math}
# :label: eq-statistical-dimension
# \delta(C) = \mathbb E\,\lVert \Pi_C(g)\rVert^2 = \mathbb E\,\mathrm{dist}^2(g, C^\circ),
# ```
#
# where the second form follows from Moreau's decomposition {eq}`eq-moreau`. A second measure of size looks at correlations instead of projections. The **Gaussian width** of a set $T$ is the expected largest correlation of $g$ with a point of $T$,
#
# ```{math}
# :label: eq-gaussian-width
# w(T) = \mathbb E \sup_{x \in T}\langle g, x\rangle .
# ```
#
# Over a whole cone this supremum is infinite, so for a cone we measure the width on its intersection with the **unit ball** $B^D = \{x : \lVert x\rVert \le 1\}$, the solid ball. Because $\langle g, \Pi_C(g)\rangle = \lVert\Pi_C(g)\rVert^2$ while $\langle g, x\rangle \le \langle \Pi_C(g), x\rangle$ for every $x \in C$, the supremum over $C \cap B^D$ is attained at $\Pi_C(g)/\lVert\Pi_C(g)\rVert$ (or at $0$ when $\Pi_C(g) = 0$), and so $w(C) := w(C \cap B^D) = \mathbb E\lVert\Pi_C(g)\rVert$. Some texts, {cite:t}`amelunxen2014` among them, and {ref}`ch-pruning-limit` take the supremum over the **unit sphere** $S^{D-1} = \{x : \lVert x\rVert = 1\}$, the surface of the ball, instead. The two widths differ only on the event $\Pi_C(g) = 0$, and the sandwich below holds for both.
#
# The two measures are almost the same number. On the one hand $\delta(C) = \mathbb E\lVert\Pi_C(g)\rVert^2 \ge (\mathbb E\lVert\Pi_C(g)\rVert)^2 = w(C)^2$ by Jensen. On the other, $g \mapsto \lVert\Pi_C(g)\rVert$ is 1-Lipschitz (a projection onto a closed convex set never increases distances), so the Gaussian Poincaré inequality bounds its variance by 1, and therefore
#
# ```{math}
# :label: eq-width-vs-dimension
# w(C)^2 \le \delta(C) \le w(C)^2 + 1 .
# ```
#
# The statistical dimension behaves like a dimension. It equals $k$ for a $k$-dimensional subspace, adds over products of cones, grows with the cone, and a cone and its polar split the ambient dimension between them, $\delta(C) + \delta(C^\circ) = D$; the third exercise proves the last identity.
#
# ## Monte Carlo with a standard error
#
# With $n$ independent draws, the mean of $\lVert\Pi_C(g_j)\rVert^2$ estimates $\delta(C)$ without bias, and its standard error is the sample standard deviation over $\sqrt n$. The projections of {ref}`ch-convex-cones` work on the whole batch of draws at once, which makes a few thousand draws per estimate cheap even for the pruning cone, whose projection needs an inner bisection.
#
# ## Closed forms side by side with simulation
#
# Several cones have a statistical dimension in closed form. The list below collects the ones this book uses, each with the reason for its value, and the next cell checks every one of them against simulation.
#
# - A $k$-dimensional subspace: $\delta = k$.
# - The orthant $\mathbb R^D_+$, the second-order cone $\mathrm{Circ}_D(\pi/4)$ and the PSD cone are self-dual ($C^\circ = -C$), so $\delta = D/2$; for $n\times n$ PSD matrices that is $n(n+1)/4$.
# - The circular cone: the angle $\theta$ between $g$ and the axis has density proportional to $\sin^{D-2}\theta$ and is independent of $\lVert g\rVert$, which gives the exact one-dimensional integral
#
# ```{math}
# :label: eq-circular-cone-integral
# \delta(\mathrm{Circ}_D(\alpha)) = D\,\frac{\int_0^{\alpha + \pi/2} F_\alpha(\theta)\sin^{D-2}\theta\,d\theta}{\int_0^\pi\sin^{D-2}\theta\,d\theta},\qquad
# F_\alpha(\theta) = \begin{cases} 1 & \theta \le \alpha \\ \cos^2(\theta - \alpha) & \theta > \alpha \end{cases}
# ```
#
# - The $\ell_1$ descent cone at a point with $q$ nonzero entries: with $\nu = q/D$ the fraction of nonzeros, $Q$ the upper normal tail and $\varphi$ the normal density,
#
# ```{math}
# :label: eq-l1-psi
# \delta \le D\,\psi(\nu), \qquad \psi(\nu) = \inf_{\tau \ge 0}\Big\{\nu(1+\tau^2) + 2(1-\nu)\big[(1+\tau^2)Q(\tau) - \tau\varphi(\tau)\big]\Big\},
# ```
#
# an upper bound that is tight up to $O(\sqrt{D/q})$ {cite:p}`amelunxen2014`. The exact value is $\mathbb E \inf_{\tau} \mathrm{dist}^2(g, \tau\,\partial\lVert x\rVert_1)$, while $D\psi$ takes the infimum over the threshold $\tau$ *outside* the expectation; the Monte Carlo estimate, which minimises inside it, therefore comes out slightly lower.
#
# The next cell estimates each of these cones, together with the cone generated by a solid ball of radius 1 whose centre lies at distance 2 from the origin. That cone is a circular cone with $\sin\alpha = 1/2$ ({ref}`ch-convex-cones`), so it checks the projection onto the pruning cone against a closed form.

# %%
x0 = np.r_[np.ones(10), np.zeros(DIM - 10)]
pruning_center = np.r_[np.zeros(DIM - 1), 2.0]
rows = [
    ("subspace, k = 7", lambda x: geometry.project_subspace(x, np.eye(DIM)[:, :7]), DIM,
     geometry.statistical_dimension_subspace(DIM, 7)),
    ("orthant", geometry.project_orthant, DIM, geometry.statistical_dimension_orthant(DIM)),
    ("second-order cone", lambda x: geometry.project_circular_cone(x, math.pi / 4), DIM, DIM / 2),
    (f"PSD, n = {PSD_N}", lambda x: geometry.project_psd_cone(x, PSD_N), PSD_N * (PSD_N + 1) // 2,
     geometry.statistical_dimension_psd_cone(PSD_N)),
    ("circular, α = π/6", lambda x: geometry.project_circular_cone(x, math.pi / 6), DIM,
     geometry.statistical_dimension_circular_cone(DIM, math.pi / 6)),
    ("solid ball, R = 2, r = 1", lambda x: geometry.project_ellipsoid_cone(x, pruning_center, np.ones(DIM)),
     DIM, geometry.statistical_dimension_circular_cone(DIM, math.asin(0.5))),
    ("ℓ1 descent, q = 10 (bound)", lambda x: geometry.project_l1_descent_cone(x, x0), DIM,
     geometry.statistical_dimension_l1_descent_cone(DIM, 10)),
]
table = []
for name, project, dim, exact in rows:
    est, se = mc(project, dim)
    table.append((name, dim, exact, est, se))

# %% tags=["hide-input"]
lines = ["| cone | $D$ | exact | Monte Carlo | $z$ |", "|---|---:|---:|---:|---:|"]
for name, dim, exact, est, se in table:
    lines.append(f"| {name} | {dim} | {exact:.3f} | {est:.3f} ± {se:.3f} | {(est - exact) / se:.2f} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# The column $z$ is the error in units of the standard error. Every exact value lies within three standard errors of its simulation, except in the $\ell_1$ row, whose formula is an upper bound that the simulation sits below, as explained above. Closed forms and simulations are also compared in the library's test suite against an independent quadrature, with a tolerance of five standard errors.

# %% tags=["claim", "hide-input"]
z_closed = [(est - exact) / se for _, _, exact, est, se in table[:-1]]
claims.check(max(abs(z) for z in z_closed) < 3,
             "every closed form lies within three standard errors of its simulation",
             largest_abs_z=max(abs(z) for z in z_closed))
claims.check(table[-1][3] < table[-1][2], "the l1 simulation sits below the upper bound D psi",
             simulated=table[-1][3], bound=table[-1][2]);

# %% [markdown]
# For large $D$ the circular-cone integral is close to the simple expression $D\sin^2\alpha + \cos 2\alpha$ {cite:p}`amelunxen2014`. {numref}`fig-statistical-dimension-circular` traces both across apertures, with simulated points on top.

# %% mystnb={"figure": {"caption": "Circular cones in dimension 20. The simulated points (with two standard errors) fall on the exact integral at every aperture, and the dotted approximation $D\\sin^2\\alpha + \\cos 2\\alpha$ is hard to tell apart from it: the statistical dimension grows from 0 to $D$ like $\\sin^2\\alpha$.", "name": "fig-statistical-dimension-circular"}}
alphas_fine = np.linspace(0, np.pi / 2, 91)
alphas_mc = np.linspace(0.05, np.pi / 2 - 0.05, 9)
circ_mc = np.array([mc(lambda x, a=a: geometry.project_circular_cone(x, a), DIM) for a in alphas_mc])
circ_fine = np.array([geometry.statistical_dimension_circular_cone(DIM, a) for a in alphas_fine])
circ_simple = DIM * np.sin(alphas_fine) ** 2 + np.cos(2 * alphas_fine)
fig, ax = plt.subplots()
ax.plot(alphas_fine, circ_fine, label="exact integral")
ax.plot(alphas_fine, circ_simple, ":", label=r"$D\sin^2\alpha + \cos 2\alpha$")
ax.errorbar(alphas_mc, circ_mc[:, 0], yerr=2 * circ_mc[:, 1], fmt="o", label="Monte Carlo ($\\pm 2$ se)")
ax.set_xlabel(r"half-aperture $\alpha$ (radians)")
ax.set_ylabel(r"$\delta(\mathrm{Circ}_D(\alpha))$")
ax.legend()
plotting.maybe_save(fig, "fig-statistical-dimension-circular", notebook="03_statistical_dimension",
                    enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# Every simulated point lies within three standard errors of the integral, and the simple expression stays within {glue:text}`circ_simple_err:.2f` of it at every aperture, a small fraction of $D$ = {glue:text}`dim`. Up to a correction of order one, then, the statistical dimension of a circular cone is the fraction $\sin^2\alpha$ of the ambient dimension.

# %% tags=["claim", "hide-input"]
circ_exact_mc = np.array([geometry.statistical_dimension_circular_cone(DIM, a) for a in alphas_mc])
circ_simple_err = float(np.abs(circ_fine - circ_simple).max())
glue("circ_simple_err", circ_simple_err, display=False)
claims.check(np.all(np.abs(circ_mc[:, 0] - circ_exact_mc) < 3 * circ_mc[:, 1]),
             "every simulated circular cone lies within three standard errors of the integral",
             largest_abs_z=float(np.max(np.abs(circ_mc[:, 0] - circ_exact_mc) / circ_mc[:, 1])))
claims.check(circ_simple_err < 0.05 * DIM, "D sin^2 alpha + cos 2 alpha is within a small fraction of D",
             largest_error=circ_simple_err, D=DIM);

# %% [markdown]
# ## The $\ell_1$ descent cone
#
# The curve $\psi$ is the phase-transition curve of sparse recovery, met again in {ref}`ch-kinematic-formula`. {numref}`fig-statistical-dimension-l1` compares it with the exact statistical dimension, estimated by projecting onto the descent cone at points with $q$ nonzeros in dimension {glue:text}`l1_dim`.

# %% mystnb={"figure": {"caption": "The $\\ell_1$ descent cone against the fraction of nonzeros $\\nu = q/D$. The simulated points sit just below the curve $\\psi$, as they must for an upper bound that is tight up to $O(\\sqrt{D/q})$, and the gap stays below a hundredth of $D$.", "name": "fig-statistical-dimension-l1"}}
nus = np.linspace(0.002, 1, 200)
l1_mc = []
for q in L1_NNZ:
    point = np.r_[np.ones(q), np.zeros(L1_DIM - q)]
    l1_mc.append(mc(lambda x, point=point: geometry.project_l1_descent_cone(x, point), L1_DIM))
l1_mc = np.array(l1_mc)
l1_bound = np.array([geometry.statistical_dimension_l1_descent_cone(L1_DIM, q) for q in L1_NNZ])
fig, ax = plt.subplots()
ax.plot(nus, [geometry.l1_phase_function(nu)[0] for nu in nus], label=r"$\psi(\nu)$")
ax.errorbar(np.array(L1_NNZ) / L1_DIM, l1_mc[:, 0] / L1_DIM, yerr=2 * l1_mc[:, 1] / L1_DIM, fmt="o",
            label=f"Monte Carlo, $D = {L1_DIM}$")
ax.set_xlabel(r"fraction of nonzeros $\nu = q/D$")
ax.set_ylabel(r"$\delta / D$")
ax.legend()
plotting.maybe_save(fig, "fig-statistical-dimension-l1", notebook="03_statistical_dimension",
                    enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# The simulated points all sit just below the curve, as the upper bound predicts, and none lies more than {glue:text}`l1_gap_max:.3f` of $D$ below it. For a phase transition, which is read off $\delta/D$, the closed form $D\psi$ is therefore as good as the exact value, and the next chapter uses it to locate the transition of basis pursuit.

# %% tags=["claim", "hide-input"]
l1_gap = (l1_bound - l1_mc[:, 0]) / L1_DIM
glue("l1_gap_max", float(l1_gap.max()), display=False)
claims.check(np.all(l1_mc[:, 0] < l1_bound), "every simulated l1 point lies below D psi",
             largest_excess=float(np.max(l1_mc[:, 0] - l1_bound)))
claims.check(l1_gap.max() < 0.01, "the simulated points lie less than a hundredth of D below the curve",
             largest_gap_over_D=float(l1_gap.max()));

# %% [markdown]
# ## A cone and its polar fill the space
#
# `polar_projection` turns any projection into the projection onto the polar cone, through {eq}`eq-moreau`. The next cell estimates $\delta(C)$ and $\delta(C^\circ)$ with independent draws for the pruning cone $\mathrm{cone}(c + E)$ of a translated solid ellipsoid, whose statistical dimension has no closed form, and adds them.

# %%
radii = np.geomspace(0.1, 2.0, ELLIPSOID_DIM)
center = rng.standard_normal(ELLIPSOID_DIM)
center *= 1.5 / np.linalg.norm(center)
project_pruning = lambda x: geometry.project_ellipsoid_cone(x, center, radii)  # noqa: E731
delta_cone, se_cone = mc(project_pruning, ELLIPSOID_DIM)
delta_polar, se_polar = mc(geometry.polar_projection(project_pruning), ELLIPSOID_DIM)
polar_sum, polar_se = delta_cone + delta_polar, math.hypot(se_cone, se_polar)
polar_z = (polar_sum - ELLIPSOID_DIM) / polar_se
# On one batch of draws the identity holds draw by draw: the two projections are orthogonal.
g_check = rng.standard_normal((NUM_SAMPLES, ELLIPSOID_DIM))
p_check = project_pruning(g_check)
orthogonality_defect = float(np.abs(np.sum(p_check * (g_check - p_check), axis=1)).max())
print(f"delta(C) = {delta_cone:.3f} ± {se_cone:.3f}, delta(C polar) = {delta_polar:.3f} ± {se_polar:.3f}")
print(f"sum = {polar_sum:.3f} ± {polar_se:.3f}, D = {ELLIPSOID_DIM}, "
      f"difference = {polar_z:.1f} standard errors")
print(f"largest |<P_C g, P_polar g>| on one batch: {orthogonality_defect:.1e}")

# %% [markdown]
# The sum comes out {glue:text}`polar_sum:.2f` $\pm$ {glue:text}`polar_se:.2f`, which is {glue:text}`polar_z:.1f` standard errors above $D$ = {glue:text}`ellipsoid_dim`. That is more than the one standard error a typical estimate misses by, but fewer than three: for unbiased estimates a deviation at least this large happens by chance in about one run in {glue:text}`polar_odds:.0f`, so the simulation is consistent with the identity without confirming it tightly. The identity itself is exact, and a sharper check uses a single batch of draws: there $\lVert\Pi_C(g)\rVert^2 + \lVert\Pi_{C^\circ}(g)\rVert^2 = \lVert g\rVert^2$ holds draw by draw because the two projections are orthogonal, and the largest inner product between them is at the level of rounding errors.

# %% tags=["claim", "hide-input"]
glue("polar_sum", polar_sum, display=False)
glue("polar_se", polar_se, display=False)
glue("polar_z", polar_z, display=False)
# Two-sided normal tail: how often independent, unbiased estimates miss by |z| or more.
glue("polar_odds", 1 / math.erfc(abs(polar_z) / math.sqrt(2)), display=False)
claims.check(1 < abs(polar_z) < 3, "the sum misses D by more than one but fewer than three standard errors",
             sum=polar_sum, se=polar_se, z=polar_z)
claims.check(orthogonality_defect < 1e-10, "the two projections are orthogonal up to rounding",
             largest_inner_product=orthogonality_defect);

# %% [markdown]
# ## Width against statistical dimension
#
# The sandwich {eq}`eq-width-vs-dimension` says that the squared width and the statistical dimension differ by at most one. The next cell estimates the width $w(C) = \mathbb E\lVert\Pi_C(g)\rVert$ with `gaussian_width_mc` and compares its square with the statistical dimension, to check {eq}`eq-width-vs-dimension`.

# %%
width_rows = {
    "orthant": (geometry.project_orthant, DIM, geometry.statistical_dimension_orthant(DIM)),
    "subspace, k = 7": (lambda x: geometry.project_subspace(x, np.eye(DIM)[:, :7]), DIM, 7.0),
    "circular, α = π/6": (lambda x: geometry.project_circular_cone(x, math.pi / 6), DIM,
                          geometry.statistical_dimension_circular_cone(DIM, math.pi / 6)),
    "pruning cone": (project_pruning, ELLIPSOID_DIM, delta_cone),
}
gaps = {}
widths = {}
for name, (project, dim, delta) in width_rows.items():
    w, se = geometry.gaussian_width_mc(lambda g, p=project: np.linalg.norm(p(g), axis=1), dim,
                                       num_samples=NUM_SAMPLES, generator=rng)
    widths[name] = w
    gaps[name] = delta - w * w

# %% tags=["hide-input"]
lines = ["| cone | $w^2$ | $\\delta$ | $\\delta - w^2$ |", "|---|---:|---:|---:|"]
for name, (_, _, delta) in width_rows.items():
    lines.append(f"| {name} | {widths[name] ** 2:.3f} | {delta:.3f} | {gaps[name]:.3f} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# The gap $\delta - w^2$ is the variance of $\lVert\Pi_C(g)\rVert$, which lies in $[0, 1]$, and every estimate here lies in that range too (the pruning-cone row compares two independent simulations, so its gap carries the noise of both). Squared width and statistical dimension are therefore interchangeable in the pruning bound. There both are of order $D$, and a difference of at most one changes $\delta/D$, the quantity the pruning limit reads off, by at most $1/D$.

# %% tags=["claim", "hide-input"]
claims.check(all(0 <= gap <= 1 for gap in gaps.values()), "every estimated gap delta - w^2 lies in [0, 1]",
             smallest=min(gaps.values()), largest=max(gaps.values()));

# %% [markdown]
# ## The Gaussian width of a solid ellipsoid
#
# The quadratic model of the loss near the trained weights makes the sublevel set $\{x : \tfrac12 x^\top H x \le \epsilon\}$ a **solid ellipsoid** with semi-axes $r_i = \sqrt{2\epsilon/\lambda_i}$ along the eigenvectors of $H$ (an elliptic cylinder, unbounded along the null space, when $H$ is singular). In its own axes it reads $E = \{x : \sum_i x_i^2/r_i^2 \le 1\}$, and the supremum in {eq}`eq-gaussian-width` is explicit: $\sup_{x\in E}\langle g, x\rangle = \lVert r\circ g\rVert$ by Cauchy–Schwarz, so $w(E) = \mathbb E\sqrt{\sum_i r_i^2 g_i^2}$. Writing $\sqrt a = \frac{1}{2\sqrt\pi}\int_0^\infty(1 - e^{-ta})t^{-3/2}\,dt$ for $a \ge 0$ and using the Laplace transform of a chi-square variable gives an exact one-dimensional integral,
#
# ```{math}
# :label: eq-ellipsoid-width
# w(E) = \frac{1}{2\sqrt\pi}\int_0^\infty\Big(1 - \prod_{i=1}^D(1 + 2tr_i^2)^{-1/2}\Big)t^{-3/2}\,dt .
# ```
#
# Jensen and Poincaré again give bounds. Jensen applied to the square root gives the upper bound, Jensen applied to the norm of the vector $(r_i\lvert g_i\rvert)_i$ gives $\sqrt{2/\pi}$ times it, and Poincaré, for the map $g \mapsto \lVert r \circ g\rVert$ with Lipschitz constant $\max_i r_i$, gives the other lower bound:
#
# ```{math}
# :label: eq-ellipsoid-width-bounds
# \max\Big(\sqrt{\textstyle\sum_i r_i^2 - \max_i r_i^2},\ \sqrt{2/\pi}\,\sqrt{\textstyle\sum_i r_i^2}\Big) \le w(E) \le \sqrt{\textstyle\sum_i r_i^2}.
# ```
#
# {numref}`fig-statistical-dimension-ellipsoid` uses semi-axes $r_i = i^{-p}$: a flat spectrum for $p = 0$, dominated by a few axes for large $p$.

# %% mystnb={"figure": {"caption": "Gaussian width of solid ellipsoids with semi-axes $r_i = i^{-p}$, divided by the upper bound $\\sqrt{\\sum_i r_i^2}$. The exact integral and the simulated points stay inside the shaded bounds; the ratio is near 1 when all axes are equal and falls towards $\\sqrt{2/\\pi}$ as the first axis comes to dominate.", "name": "fig-statistical-dimension-ellipsoid"}}
powers = np.linspace(0, 2, 21)
exact_w, lower_w, upper_w, mc_w = [], [], [], []
for p in powers:
    r = np.arange(1, ELLIPSOID_DIM + 1) ** -p
    exact_w.append(geometry.gaussian_width_ellipsoid(r))
    lo, up = geometry.gaussian_width_ellipsoid_bounds(r)
    lower_w.append(lo)
    upper_w.append(up)
for p in powers[::5]:
    r = np.arange(1, ELLIPSOID_DIM + 1) ** -p
    mc_w.append(geometry.gaussian_width_mc(lambda g, r=r: np.linalg.norm(r * g, axis=1), ELLIPSOID_DIM,
                                           num_samples=NUM_SAMPLES, generator=rng))
exact_w, lower_w, upper_w = np.array(exact_w), np.array(lower_w), np.array(upper_w)
mc_w = np.array(mc_w)
fig, ax = plt.subplots()
ax.fill_between(powers, lower_w / upper_w, 1.0, color=plotting.PALETTE["bound"], alpha=0.3,
                label="bounds")
ax.plot(powers, exact_w / upper_w, label="exact integral")
ax.errorbar(powers[::5], mc_w[:, 0] / upper_w[::5], yerr=2 * mc_w[:, 1] / upper_w[::5], fmt="o",
            label="Monte Carlo")
ax.set_xlabel("decay exponent $p$ of $r_i = i^{-p}$")
ax.set_ylabel(r"$w(E) / \sqrt{\sum_i r_i^2}$")
ax.legend()
plotting.maybe_save(fig, "fig-statistical-dimension-ellipsoid", notebook="03_statistical_dimension",
                    enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# When many axes contribute, $w(E)^2 \approx \sum_i r_i^2$ (the ratio is {glue:text}`width_ratio_flat:.3f` for equal axes), the sum of the squared semi-axes. As one axis comes to dominate, the ratio falls steadily, to {glue:text}`width_ratio_steep:.3f` at $p = 2$, on its way to $\sqrt{2/\pi} \approx 0.798$, the mean of $|g_1|$. The pruning paper needs more than $w(E)$, however: it needs the size of the cone generated by the *translated* ellipsoid, which depends on the distance $R$ as well; {ref}`ch-kinematic-formula` simulates it.

# %% tags=["claim", "hide-input"]
width_ratio = exact_w / upper_w
glue("width_ratio_flat", float(width_ratio[0]), display=False)
glue("width_ratio_steep", float(width_ratio[-1]), display=False)
claims.check(np.all((lower_w <= exact_w + 1e-9) & (exact_w <= upper_w + 1e-9)),
             "the exact width lies inside its bounds for every exponent")
claims.check(np.all(np.abs(mc_w[:, 0] - exact_w[::5]) < 3 * mc_w[:, 1]),
             "the simulated widths lie within three standard errors of the integral",
             largest_abs_z=float(np.max(np.abs(mc_w[:, 0] - exact_w[::5]) / mc_w[:, 1])))
claims.check(width_ratio[0] > 0.98 and np.all(np.diff(width_ratio) < 0) and width_ratio[-1] > math.sqrt(2 / math.pi),
             "the ratio is near 1 for equal axes and falls steadily, staying above sqrt(2/pi)",
             flat=width_ratio[0], steep=width_ratio[-1]);

# %% tags=["hide-input"]
circ_exact = geometry.statistical_dimension_circular_cone(DIM, math.pi / 6)
l1_row = table[-1]
glue("circ_exact", circ_exact, display=False)
glue("circ_mc", table[4][3], display=False)
glue("circ_se", table[4][4], display=False)
glue("l1_bound", l1_row[2], display=False)
glue("l1_mc", l1_row[3], display=False)
glue("max_gap", max(gaps.values()), display=False)
glue("dim", DIM, display=False)
glue("l1_dim", L1_DIM, display=False)
glue("ellipsoid_dim", ELLIPSOID_DIM, display=False)

# %% tags=["nbval-check-output"]
print(f"subspace k=7: {geometry.statistical_dimension_subspace(DIM, 7):.1f}")
print(f"orthant D={DIM}: {geometry.statistical_dimension_orthant(DIM):.1f}")
print(f"PSD n={PSD_N}: {geometry.statistical_dimension_psd_cone(PSD_N):.2f}")
print(f"Circ_{DIM}(pi/6): {circ_exact:.4f}")
print(f"psi(0.1) = {geometry.l1_phase_function(0.1)[0]:.4f}, D psi at D=100, q=10: "
      f"{geometry.statistical_dimension_l1_descent_cone(100, 10):.3f}")
print(f"w(unit ball, D=10) = {geometry.gaussian_width_unit_ball(10):.4f}")
print(f"w(E), r_i = 1/i, D={ELLIPSOID_DIM}: {geometry.gaussian_width_ellipsoid(1 / np.arange(1, ELLIPSOID_DIM + 1)):.4f}")

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-statistical-dimension-ex1
# The statistical dimension adds over products: $\delta(C \times K) = \delta(C) + \delta(K)$.
# Build the projection onto $\mathbb R^4_+ \times \mathrm{Circ}_6(\pi/3)$ by projecting the two blocks of coordinates separately, estimate its statistical dimension, and compare with the sum of the closed forms.
# ```
#
# ```{solution-start} ch-statistical-dimension-ex1
# :class: dropdown
# ```

# %%
def project_product(x):
    """Project onto the orthant in the first 4 coordinates and a circular cone in the last 6."""
    return np.concatenate([geometry.project_orthant(x[:, :4]),
                           geometry.project_circular_cone(x[:, 4:], math.pi / 3)], axis=1)


est, se = mc(project_product, 10)
exact = geometry.statistical_dimension_orthant(4) + geometry.statistical_dimension_circular_cone(6, math.pi / 3)
print(f"Monte Carlo {est:.3f} ± {se:.3f}, sum of closed forms {exact:.3f}")

# %% [markdown]
# The simulation agrees with the sum of the closed forms within three standard errors. The reason is that the projection onto a product is the product of the projections, so $\lVert\Pi(g)\rVert^2$ is a sum of two independent terms, one per block, and the expectations add.

# %% tags=["claim", "hide-input"]
claims.check(abs(est - exact) < 3 * se, "the product cone's simulation agrees with the sum of closed forms",
             simulated=est, se=se, closed_forms=exact);

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-statistical-dimension-ex2
# {cite:t}`chandrasekaran2012` bound the squared Gaussian width of the $\ell_1$ descent cone at a point with $q$ nonzeros by $2q\log(D/q) + 5q/4$.
# For $D = 100$ and the numbers of nonzeros in `L1_NNZ`, compare this bound with $D\psi(q/D)$ and with the simulated $w^2$.
# ```
#
# ```{solution-start} ch-statistical-dimension-ex2
# :class: dropdown
# ```

# %%
crpw_rows = []
for q in L1_NNZ:
    point = np.r_[np.ones(q), np.zeros(L1_DIM - q)]
    w, _ = geometry.gaussian_width_mc(
        lambda g, point=point: np.linalg.norm(geometry.project_l1_descent_cone(g, point), axis=1),
        L1_DIM, num_samples=1000, generator=rng)
    crpw = 2 * q * math.log(L1_DIM / q) + 1.25 * q
    crpw_rows.append((q, w * w, geometry.statistical_dimension_l1_descent_cone(L1_DIM, q), crpw))
crpw_rows = np.array(crpw_rows)

# %% tags=["hide-input"]
lines = ["| $q$ | simulated $w^2$ | $D\\psi(q/D)$ | CRPW bound | bound $/\\, D\\psi$ |", "|---:|---:|---:|---:|---:|"]
for q, w2, dpsi, crpw in crpw_rows:
    lines.append(f"| {q:.0f} | {w2:.1f} | {dpsi:.1f} | {crpw:.1f} | {crpw / dpsi:.2f} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# The table calls this bound CRPW, after the initials of its four authors. Where it says anything, the bound overshoots $D\psi$ by a nearly constant factor, between {glue:text}`crpw_ratio_min:.2f` and {glue:text}`crpw_ratio_max:.2f` for up to {glue:text}`crpw_q_max` nonzeros, and the factor does not shrink at the sparsest points: the bound has the right order $q\log(D/q)$ but not the right constant. For {glue:text}`crpw_q_over` or more nonzeros it exceeds the ambient dimension $D$, where the trivial bound $\delta \le D$ is better. The $\psi$ curve, by contrast, is sharp: at every $q$ it lies above the simulated $w^2$, by at most {glue:text}`psi_w2_max:.1f`, which is the up to one unit that {eq}`eq-width-vs-dimension` allows between $w^2$ and $\delta$ plus the small slack of the upper bound.

# %% tags=["claim", "hide-input"]
useful = crpw_rows[:, 3] < L1_DIM
crpw_ratio = crpw_rows[useful, 3] / crpw_rows[useful, 2]
glue("crpw_ratio_min", float(crpw_ratio.min()), display=False)
glue("crpw_ratio_max", float(crpw_ratio.max()), display=False)
glue("crpw_q_max", int(crpw_rows[useful, 0].max()), display=False)
glue("crpw_q_over", int(crpw_rows[~useful, 0].min()), display=False)
claims.check(crpw_ratio.min() > 1.5 and crpw_ratio.max() / crpw_ratio.min() < 1.1,
             "below D, the bound overshoots D psi by a nearly constant factor",
             smallest=crpw_ratio.min(), largest=crpw_ratio.max())
claims.check(np.all(useful == (crpw_rows[:, 0] < crpw_rows[~useful, 0].min())),
             "the bound exceeds D exactly for the larger numbers of nonzeros")
psi_w2 = crpw_rows[:, 2] - crpw_rows[:, 1]
glue("psi_w2_max", float(psi_w2.max()), display=False)
claims.check(np.all((psi_w2 > 0) & (psi_w2 < 2)), "D psi lies above the simulated w^2 at every q, by less than two",
             smallest=float(psi_w2.min()), largest=float(psi_w2.max()));

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-statistical-dimension-ex3
# Let $C \subseteq \mathbb R^D$ be a closed convex cone with polar $C^\circ$. Prove that
#
# 1. $\delta(C) + \delta(C^\circ) = D$;
# 2. $\delta(L) = k$ for a $k$-dimensional subspace $L$;
# 3. $\delta(C) = D/2$ for every self-dual cone, $C^\circ = -C$ (the orthant, $\mathrm{Circ}_D(\pi/4)$, the PSD cone).
#
# You may use Moreau's decomposition {eq}`eq-moreau`: every $x$ is $x = \Pi_C(x) + \Pi_{C^\circ}(x)$ with $\langle \Pi_C(x), \Pi_{C^\circ}(x)\rangle = 0$.
# ```
#
# ```{solution-start} ch-statistical-dimension-ex3
# :class: dropdown
# ```
#
# **1.** Fix $x \in \mathbb R^D$. By Moreau's decomposition $x = \Pi_C(x) + \Pi_{C^\circ}(x)$ with the two parts orthogonal, so expanding the square gives Pythagoras,
#
# $$
# \lVert x\rVert^2 = \lVert\Pi_C(x)\rVert^2 + 2\langle\Pi_C(x), \Pi_{C^\circ}(x)\rangle + \lVert\Pi_{C^\circ}(x)\rVert^2 = \lVert\Pi_C(x)\rVert^2 + \lVert\Pi_{C^\circ}(x)\rVert^2 .
# $$
#
# Apply this to $x = g \sim \mathcal N(0, I_D)$ and take expectations. All three terms are integrable, since both projections have norm at most $\lVert g\rVert$ (each is a summand of an orthogonal decomposition of $g$) and $\mathbb E\lVert g\rVert^2 < \infty$. By linearity of expectation and the definition {eq}`eq-statistical-dimension`,
#
# $$
# \delta(C) + \delta(C^\circ) = \mathbb E\lVert\Pi_C(g)\rVert^2 + \mathbb E\lVert\Pi_{C^\circ}(g)\rVert^2 = \mathbb E\lVert g\rVert^2 = \sum_{i=1}^D \mathbb E g_i^2 = D .
# $$
#
# The last step uses that each coordinate $g_i$ is standard normal, with $\mathbb E g_i^2 = 1$. This proves the identity for every closed convex cone, with no assumption on its shape.
#
# **2.** Let $u_1, \dots, u_k$ be an orthonormal basis of $L$ and extend it to an orthonormal basis $u_1, \dots, u_D$ of $\mathbb R^D$. The projection onto $L$ is $\Pi_L(g) = \sum_{j \le k}\langle u_j, g\rangle u_j$, so $\lVert\Pi_L(g)\rVert^2 = \sum_{j\le k}\langle u_j, g\rangle^2$. Each $\langle u_j, g\rangle$ is normal with mean 0 and variance $\lVert u_j\rVert^2 = 1$, hence $\delta(L) = \sum_{j \le k} 1 = k$. As a check of part 1, the polar of a subspace is its orthogonal complement, $L^\circ = L^\perp$, of dimension $D - k$, and indeed $k + (D - k) = D$.
#
# **3.** The Gaussian law is symmetric, $-g \sim g$, and projection commutes with the reflection $x \mapsto -x$: $\Pi_{-C}(x) = -\Pi_C(-x)$, because $y \in -C$ is nearest to $x$ exactly when $-y \in C$ is nearest to $-x$. Hence $\delta(-C) = \mathbb E\lVert\Pi_C(-g)\rVert^2 = \mathbb E\lVert\Pi_C(g)\rVert^2 = \delta(C)$. For a self-dual cone part 1 then reads $2\delta(C) = \delta(C) + \delta(-C) = \delta(C) + \delta(C^\circ) = D$, so $\delta(C) = D/2$. For $n \times n$ symmetric matrices the ambient dimension is $n(n+1)/2$, which gives the value $n(n+1)/4$ of the PSD cone in the table above. $\blacksquare$
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - The statistical dimension $\delta(C) = \mathbb E\lVert\Pi_C(g)\rVert^2$ is a dimension for cones: $k$ for subspaces, $D/2$ for self-dual cones, additive over products, and $\delta(C) + \delta(C^\circ) = D$ exactly, by Moreau's decomposition (simulated with independent draws for a pruning cone in dimension {glue:text}`ellipsoid_dim`: {glue:text}`polar_sum:.2f` $\pm$ {glue:text}`polar_se:.2f`).
# - Monte Carlo with batched projections confirms every closed form within three standard errors; for the circular cone in dimension {glue:text}`dim` at $\alpha = \pi/6$, the exact integral gives {glue:text}`circ_exact:.3f` and simulation {glue:text}`circ_mc:.3f` $\pm$ {glue:text}`circ_se:.3f`.
# - The $\ell_1$ formula $D\psi(q/D)$ is an upper bound: {glue:text}`l1_bound:.2f` against the simulated {glue:text}`l1_mc:.2f`. The older bound $2q\log(D/q) + 5q/4$ overshoots it by a factor near {glue:text}`crpw_ratio_max:.1f`.
# - Squared width and statistical dimension differ by at most one (here at most {glue:text}`max_gap:.2f`), so either can stand in the pruning bound.
# - The sublevel set of the quadratic model is a solid ellipsoid; its Gaussian width is an exact one-dimensional integral, squeezed between $\sqrt{2/\pi}\sqrt{\sum_i r_i^2}$ and $\sqrt{\sum_i r_i^2}$.
# :::
