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
# (ch-pruning-limit)=
# # The pruning limit
#
# :::{admonition} Learning goals
# :class: tip
# - Derive, with proofs, how the pruning question becomes a question about a random subspace meeting a cone, and where the formula $\rho(R) = \frac1D \sum_i \frac{\lambda_i R^2}{\lambda_i R^2 + 2\epsilon}$ and its lower and upper bounds come from.
# - Say exactly which assumptions each step needs, and compute the threshold as the unique fixed point $s^* = s(R(s^*))$.
# - Bound the threshold by the trace and the largest eigenvalue alone, and tell the signed trace $\operatorname{tr} H$ of the random-direction identity from the $\operatorname{tr}\lvert H\rvert$ of the formula's $\lvert\lambda\rvert$ convention.
# - Know what the rotation-invariant "free" variant assumes, and why an interval, not a standard error over probes, is the error bar of a threshold computed from an SLQ spectrum.
# :::
#
# **Prerequisites:** {ref}`ch-how-sparse`, {ref}`ch-statistical-dimension`, {ref}`ch-kinematic-formula`, {ref}`ch-lanczos`.
#
# This chapter derives the paper's formula for the pruning limit from named assumptions and proves each step; the next chapter, {ref}`ch-limit-checks`, holds every step against exact answers (quadratic losses with a computable limit, a Monte Carlo statistical dimension, and a real network with its exact Hessian). Throughout, **sparsity** $s$ is the fraction of weights removed and **density** $\rho = 1 - s$ the fraction kept. The paper's "pruning ratio" is the kept fraction, so its "smaller is sparser" reads "larger $s$" here.

# %% tags=["parameters", "hide-input"]
SEED = 0
DIRECTION_DIM = 200  # dimension of the random-direction illustration
DIRECTION_SAMPLES = 4000  # random directions drawn for it

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
from myst_nb import glue

from pnlib import bounds, claims, plotting, repro

plotting.use_book_style()
rng = repro.numpy_rng(SEED)

# %% [markdown]
# The code cells use `pnlib.bounds` (the formulas, the fixed point, the bounds, the sharpness forms); the proofs need nothing beyond the convex geometry of the earlier chapters.
#
# ## The theory, derived
#
# None of the statements below is quoted from the paper; they are this book's own derivation of its formula, with every assumption named. Let $w^* \in \mathbb{R}^D$ be the trained weights, $L$ the training loss and $S(\epsilon) = \{w : L(w) \le L(w^*) + \epsilon\}$ its sublevel set. For a set $T$ of $k$ kept coordinates let $V_T = \{w : w_j = 0 \text{ for } j \notin T\}$. Pruning to $T$ within loss $\epsilon$ is then possible exactly when $V_T \cap S(\epsilon) \neq \emptyset$.
#
# ```{prf:lemma} Translation and the magnitude support
# :label: lem-pl-translation
#
# For every $p \in V_T$, $V_T \cap S(\epsilon) \ne \emptyset$ if and only if $V_T \cap (S(\epsilon) - p) \ne \emptyset$.
# With $p = P_T w^*$ (the kept part of $w^*$), the translated set contains $c_T = w^* - P_T w^*$, whose norm $\lVert w^*_{T^{\rm c}} \rVert_2$ is smallest over all $|T| = k$ for the magnitude support, where it equals $R = \lVert w^* - w^k \rVert_2$.
# ```
#
# ```{prf:proof}
# $V_T$ is a linear subspace and $p \in V_T$, so $x \in V_T$ if and only if $x - p \in V_T$.
# $\lVert w^*_{T^{\rm c}} \rVert_2^2$ is the sum of the $D - k$ squared entries outside $T$, least when these are the $D - k$ smallest magnitudes.
# ```
#
# ```{prf:lemma} From a set to its cone
# :label: lem-pl-cone
#
# Let $A$ be compact and convex with $0 \notin A$, and $V$ a linear subspace.
# Then $V \cap A \ne \emptyset$ if and only if $V \cap \operatorname{cone}(A) \ne \{0\}$, where $\operatorname{cone}(A) = \{t a : t \ge 0, a \in A\}$ is a closed convex cone.
# ```
#
# ```{prf:proof}
# A point $a \in V \cap A$ is non-zero and lies in the cone.
# Conversely, a non-zero $y = t a \in V$ with $a \in A$ has $t > 0$, so $a = y / t \in V \cap A$.
# ```
#
# ```{prf:assumption} Quadratic model
# :label: asm-pl-quadratic
#
# Near $w^*$, $L(w^* + \Delta) = L(w^*) + \tfrac12 \Delta^\top H \Delta$ with $H$ positive semi-definite (no gradient term).
# Then $S(\epsilon) - w^* = E = \{\Delta : \tfrac12 \Delta^\top H \Delta \le \epsilon\}$, a **solid ellipsoid** (the sublevel set, interior included) with semi-axes $r_i = \sqrt{2\epsilon/\lambda_i}$ along the eigenvectors of $H$; where $\lambda_i = 0$ the semi-axis is infinite and $E$ is an elliptic cylinder.
# For an indefinite Hessian the paper's code uses $|\lambda_i|$; clipping negative eigenvalues to 0 is the other natural choice.
# ```
#
# By {prf:ref}`lem-pl-translation` and {prf:ref}`lem-pl-cone`, pruning to the magnitude support is possible exactly when $V_T$ meets the cone $C = \operatorname{cone}(c_T + E)$, or when $0 \in c_T + E$, that is, when $w^k$ itself is already within $\epsilon$. The subspace $V_T$ is fixed by the weights, and the next assumption is what turns the question into one of integral geometry.
#
# ```{prf:assumption} Random orientation
# :label: asm-pl-random
#
# $V_T$ is replaced by a uniformly random $k$-dimensional subspace, independent of $c_T$ and $E$.
# ```
#
# This is the step the next chapter tests hardest, because the true $V_T$ is not random: $c_T$ is orthogonal to it by construction. Granting it, the approximate kinematic formula {cite:p}`amelunxen2014` ({ref}`ch-kinematic-formula`) decides when a random subspace $L$ of dimension $k$ meets a closed convex cone $C$ that is not a subspace. With $a_\eta = \sqrt{8 \log(4/\eta)}$, if $k + \delta(C) \le D - a_\eta\sqrt D$ they meet with probability at most $\eta$, and if $k + \delta(C) \ge D + a_\eta \sqrt D$ with probability at least $1 - \eta$.
#
# What remains is the statistical dimension $\delta(C)$ ({ref}`ch-statistical-dimension`). It satisfies $w^2 \le \delta(C) \le w^2 + 1$, where $w$ is the Gaussian width of $C \cap S^{D-1}$, the trace of the cone on the unit **sphere** $S^{D-1} = \{x : \lVert x \rVert_2 = 1\}$ (the surface of the solid unit **ball** $\{x : \lVert x \rVert_2 \le 1\}$).
#
# ```{prf:assumption} Endpoint projection
# :label: asm-pl-endpoint
#
# The Gaussian width of $C \cap S^{D-1}$ equals that of the solid ellipsoid $E_b$ with semi-axes $b_i = r_i / \sqrt{R^2 + r_i^2}$: each axis of $c_T + E$ is seen from the origin under the angle $\arctan(r_i/R)$, as if it were orthogonal to $c_T$.
# ```
#
# In terms of the curvatures, $b_i^2 = \frac{r_i^2}{R^2 + r_i^2} = \frac{2\epsilon}{2\epsilon + \lambda_i R^2}$, which is 1 on a flat direction and falls towards 0 once $\lambda_i R^2$ exceeds $2\epsilon$. The width of a solid ellipsoid is known up to its largest semi-axis.
#
# ```{prf:lemma} Width of an ellipsoid
# :label: lem-pl-width
#
# $\sum_i b_i^2 - \max_i b_i^2 \le w(E_b)^2 \le \sum_i b_i^2$.
# ```
#
# ```{prf:proof}
# By Cauchy-Schwarz, $\sup_{x \in E_b} \langle g, x \rangle = \lVert b \circ g \rVert_2$, so $w(E_b) = \mathbb{E} \lVert b \circ g \rVert_2$.
# Jensen gives $w(E_b)^2 \le \mathbb{E}\lVert b \circ g \rVert_2^2 = \sum_i b_i^2$.
# The map $g \mapsto \lVert b \circ g \rVert_2$ is $\max_i b_i$-Lipschitz, so the Gaussian Poincaré inequality bounds its variance by $\max_i b_i^2$, and $w(E_b)^2 = \mathbb{E}\lVert b \circ g\rVert_2^2 - \operatorname{Var}\lVert b \circ g \rVert_2 \ge \sum_i b_i^2 - \max_i b_i^2$.
# ```
#
# Dividing $\sum_i b_i^2$ by $D$ gives the removable fraction of the model, and its complement the density. Written out, the two curves are
#
# $$
# s(R) = \frac1D \sum_{i=1}^D \frac{2\epsilon}{2\epsilon + \lambda_i R^2}, \qquad \rho(R) = 1 - s(R) = \frac1D \sum_{i=1}^D \frac{\lambda_i R^2}{\lambda_i R^2 + 2\epsilon} .
# $$ (eq-pl-density)
#
# ```{prf:theorem} Lower and upper bounds at a fixed distance
# :label: thm-pl-bounds
#
# Under {prf:ref}`asm-pl-quadratic`, {prf:ref}`asm-pl-random` and {prf:ref}`asm-pl-endpoint`, remove $m = sD$ weights at projection distance $R$.
# If $s \le s(R) - (a_\eta\sqrt D + \max_i b_i^2)/D$, pruning succeeds with probability at least $1 - \eta$.
# If $s \ge s(R) + (a_\eta \sqrt D + 1)/D$, it fails with probability at least $1 - \eta$.
# ```
#
# ```{prf:proof}
# With $k = D - m$ kept and $W = \sum_i b_i^2 = D\,s(R)$, {prf:ref}`lem-pl-width` and $w^2 \le \delta \le w^2 + 1$ give $W - \max_i b_i^2 \le \delta(C) \le W + 1$.
# In the first case $k + \delta(C) \ge D - m + W - \max_i b_i^2 \ge D + a_\eta \sqrt D$, so the subspace meets $C$ with probability at least $1-\eta$; by {prf:ref}`lem-pl-cone` it meets $c_T + E$, a sparse point within $\epsilon$.
# In the second case $k + \delta(C) \le D - m + W + 1 \le D - a_\eta\sqrt D$, so it meets $C$ with probability at most $\eta$.
# ```
#
# Dropping the slack terms leaves the paper's estimate: the removable fraction at distance $R$ is $s(R)$, and the minimum density is $\rho(R)$ of {eq}`eq-pl-density`. But $R$ depends on $s$, since $R(s)$ is the norm of the $sD$ smallest-magnitude weights, so the threshold is a fixed point.
#
# ```{prf:lemma} A unique threshold
# :label: lem-pl-fixed-point
#
# $s(R)$ is non-increasing in $R$ and $R(s)$ non-decreasing in $s$, so $g(s) = s(R(s)) - s$ is strictly decreasing on $[0, 1]$ with $g(0) = 1$.
# The set $\{s : g(s) \ge 0\}$ is an interval starting at 0, and the threshold $s^* = \sup\{s : g(s) \ge 0\}$ is unique; bisection on the exact $R(s)$ finds it.
# The same holds for the curves shifted by the slack of {prf:ref}`thm-pl-bounds`, whose thresholds $s^*_{\rm low} \le s^* \le s^*_{\rm up}$ bracket it; their difference is the gap $\Delta$.
# ```
#
# ```{prf:proof}
# Each term $2\epsilon/(2\epsilon + \lambda R^2)$ is non-increasing in $R$, and removing more weights never decreases the removed norm, so $s(R(s))$ is non-increasing and $-s$ strictly decreasing.
# $R(s)$ is a step function, so $g$ may jump, but only downwards; hence $g \ge 0$ exactly on an initial interval.
# The lower curve is the sum of all but the largest $b_i^2$, minus a constant, so it is non-increasing in $R$ too; shifting a curve down (up) can only move its threshold left (right).
# ```
#
# ```{prf:lemma} Stability of the threshold
# :label: lem-pl-stability
#
# If two curves satisfy $|s_a(R) - s_b(R)| \le \delta$ for all $R$, their thresholds differ by at most $\delta$.
# ```
#
# ```{prf:proof}
# For $s > s^*_a$, $g_a(s) < 0$, and $g_a$ decreases with slope at most $-1$, so $g_a(s^*_a + \delta + h) < -\delta - h$ for $h > 0$; then $g_b \le g_a + \delta < 0$ there, so $s^*_b \le s^*_a + \delta$; exchange $a$ and $b$.
# ```
#
# So an error in the curve moves the threshold by no more than the error itself. For an SLQ estimate of the spectrum ({ref}`ch-lanczos`) the curve's error has two parts: the probe noise, which the standard error over probes measures, and the quadrature bias of a finite number of Lanczos steps, which it does not measure at all. The bias is largest where $2\epsilon/R^2$, the scale on which each term of $s(R)$ changes, falls inside a cluster of eigenvalues that few Ritz values resolve, such as the near-zero bulk of a network's Hessian.
#
# The error bar of an SLQ-based threshold is therefore not `PruningLimit.stderr`, which is probe noise only, but the interval `[PruningLimit.interval_lower, PruningLimit.interval_upper]` that `bounds.predicted_sparsity(..., interval=True)` returns. It comes from bounds on the curve that hold for every spectrum consistent with what the Lanczos runs saw (`pnlib.spectrum.trace_interval`), widened for probe noise, and by {prf:ref}`lem-pl-stability` carried through the fixed point (`pnlib.bounds.limit_interval`). The next chapter compares both error bars with the threshold from the exact spectrum of a network.
#
# ```{prf:corollary} Sharpness forms
# :label: cor-pl-sharpness
#
# For $H$ positive semi-definite, with $\operatorname{tr} H = \sum_i \lambda_i$,
# $\frac{R^2 \operatorname{tr} H}{D(\lambda_{\max} R^2 + 2\epsilon)} \le \rho(R) \le \frac{R^2 \operatorname{tr} H}{R^2 \operatorname{tr} H + 2D\epsilon}$, and $\rho(R) \le \frac{R^2 \operatorname{tr} H}{2D\epsilon}$, with equality to first order when $\lambda_i R^2 \ll 2\epsilon$ (the flat regime).
# The thresholds of these curves bracket $s^*$ using only $\operatorname{tr} H$ and $\lambda_{\max}$.
# For an indefinite $H$ the same holds for the curve of the $\lvert\lambda_i\rvert$ with $\operatorname{tr}\lvert H\rvert = \sum_i \lvert\lambda_i\rvert$ and $\max_i\lvert\lambda_i\rvert$ in their place (for the clipped curve, with the sum and maximum of $\max(\lambda_i, 0)$).
# ```
#
# ```{prf:proof}
# $f(\lambda) = \lambda R^2/(\lambda R^2 + 2\epsilon)$ is concave on $\lambda \ge 0$, so the mean of $f(\lambda_i)$ is at most $f$ of the mean (Jensen); $f(\lambda) \ge \lambda R^2 / (\lambda_{\max}R^2 + 2\epsilon)$ and $f(\lambda) \le \lambda R^2/(2\epsilon)$ termwise.
# The bracket follows from {prf:ref}`lem-pl-fixed-point` applied to the bounding curves.
# The indefinite case applies the same argument to the non-negative numbers $\lvert\lambda_i\rvert$ (or $\max(\lambda_i, 0)$), which are all the curve sees.
# ```
#
# The corollary is the paper's message in formulas: the kept fraction grows with the weight magnitude $R$ and with the sharpness $\operatorname{tr} H$. Its flat form also has a reading of its own. For a direction $u$ drawn uniformly from the sphere $\{\lVert u \rVert_2 = R\}$, $\mathbb{E}\,[u^\top H u] = R^2 \operatorname{tr} H / D$ (proved in the last exercise of this chapter), so $R^2 \operatorname{tr} H/(2D\epsilon)$ is the expected loss increase of a random step of length $R$, in units of $\epsilon$.
#
# That identity holds for every symmetric $H$, but with the **signed** trace $\operatorname{tr} H = \sum_i \lambda_i$, in which negative curvature cancels positive curvature. The formula's $\lvert\lambda\rvert$ convention instead adds $2\sum_{\lambda_i < 0} \lvert\lambda_i\rvert$ to it, so for an indefinite Hessian the sharpness $\operatorname{tr}\lvert H\rvert$ of the $\lvert\lambda\rvert$ curve is larger than the curvature a random step meets. The two readings part exactly where the spectrum has negative mass, which the Hessians of trained networks in this book have in abundance. A small indefinite example, with eigenvalues of both signs in a random eigenbasis, shows which of the two traces a random step actually meets.

# %%
# eigenvalues of both signs, in a random eigenbasis: the identity holds for every symmetric H
lam_u = rng.normal(0.4, 1.0, DIRECTION_DIM)
basis, _ = np.linalg.qr(rng.normal(size=(DIRECTION_DIM, DIRECTION_DIM)))
H_u = (basis * lam_u) @ basis.T
radius_u = 1.0
g_u = rng.normal(size=(DIRECTION_SAMPLES, DIRECTION_DIM))
u = radius_u * g_u / np.linalg.norm(g_u, axis=1, keepdims=True)  # uniform on the sphere
quad_u = np.einsum("ni,ij,nj->n", u, H_u, u)
mc_mean, mc_se = quad_u.mean(), quad_u.std(ddof=1) / np.sqrt(DIRECTION_SAMPLES)
signed_u = radius_u**2 * lam_u.sum() / DIRECTION_DIM
abs_u = radius_u**2 * np.abs(lam_u).sum() / DIRECTION_DIM
glue("dir_neg", float(np.mean(lam_u < 0)), display=False)

# %% tags=["nbval-check-output"]
print(f"negative eigenvalues: {np.mean(lam_u < 0):.3f}")
print(f"mean u'Hu over {DIRECTION_SAMPLES} random directions: {mc_mean:.3f} +- {mc_se:.3f}")
print(f"R^2 tr H / D = {signed_u:.3f}   R^2 tr|H| / D = {abs_u:.3f}")

# %% tags=["claim", "hide-input"]
claims.check(abs(mc_mean - signed_u) < 4 * mc_se,
             "the mean curvature of a random direction matches R^2 tr H / D (within 4 s.e.)",
             mc_mean=mc_mean, signed=signed_u, se=mc_se)
claims.check(abs_u - mc_mean > 10 * mc_se,
             "R^2 tr|H| / D overstates it by more than 10 standard errors",
             mc_mean=mc_mean, absolute=abs_u, se=mc_se);

# %% [markdown]
# With {glue:text}`dir_neg:.0%` of the eigenvalues negative, the average curvature of random directions sits on the signed value $R^2 \operatorname{tr} H/D$ and well below $R^2 \operatorname{tr}\lvert H\rvert/D$. Wherever this book uses the random-direction identity it therefore uses the signed trace, and wherever it uses the sharpness forms of the $\lvert\lambda\rvert$ curve it uses $\operatorname{tr}\lvert H\rvert$; the next chapter prints both for the digits network.
#
# ### A variant for rotation-invariant quadratics, valid at large $D$
#
# For a quadratic loss the truth is computable, and it is not the paper's curve. Removing the coordinates $c$ (with values $u = w^*_c$, $\lVert u \rVert = R$) and re-fitting the kept ones costs exactly $\tfrac12 u^\top S u$, with $S = H_{cc} - H_{cT} H_{TT}^{-1} H_{Tc} = ((H^{-1})_{cc})^{-1}$ the **Schur complement**.
#
# ```{prf:proposition} The rotation-invariant limit
# :label: prop-pl-free
#
# Let $H = Q \Lambda Q^\top$ be positive definite with $Q$ Haar-distributed, and $m = sD$ coordinates removed.
# (i) Given the eigenvalues $\sigma$ of $S$, the least increase $\tfrac12 u^\top S u$ has mean $\tfrac12 R^2 \bar\sigma$ and relative standard deviation $\sqrt{2/(m+2)}\,\operatorname{sd}(\sigma)/\bar\sigma$.
# (ii) **Assume** that $\bar\sigma$ may be replaced by its large-$D$ deterministic equivalent $\tau(s) = (1-s)/(s\,t)$, where $t > 0$ solves $\frac1D\sum_i \frac{1}{1 + \lambda_i t} = s$.
# Then the mean increase is at most $\epsilon$ if and only if
# $s \le \frac1D \sum_i \frac{2\epsilon s}{2\epsilon s + \lambda_i R^2 (1 - s)}$: the paper's curve with $R^2$ replaced by $R^2 (1-s)/s$.
# ```
#
# ```{prf:proof}
# (i) $S$ is a function of $(H^{-1})_{cc}$, whose law is invariant under rotations of the $c$ coordinates, so $S = V \operatorname{diag}(\sigma) V^\top$ with $V$ Haar and independent of $\sigma$; $V^\top u / R$ is uniform on the unit sphere of $\mathbb{R}^m$, whose squared coordinates have mean $1/m$, second moments $3/(m(m+2))$ and cross moments $1/(m(m+2))$, which give the stated variance.
# (ii) $\tfrac12 R^2 \tau \le \epsilon$ means $t \ge t_0 = R^2 (1-s)/(2\epsilon s)$; since $\frac1D\sum_i 1/(1 + \lambda_i t)$ decreases in $t$, this is $\frac1D \sum_i 1/(1 + \lambda_i t_0) \ge s$, which is the displayed condition.
# ```
#
# The assumption in (ii) is where free probability enters, and this book does not prove it. When $Q$ is Haar, $H^{-1}$ and the coordinate projection onto $c$ are asymptotically free as $D \to \infty$ {cite:p}`mingo2017`, so the spectrum of $(H^{-1})_{cc}$ tends to the free compression of the spectrum of $H^{-1}$, whose R-transform is that of $H^{-1}$ at the argument $s z$ {cite:p}`nica2006`. Solving that relation for the Cauchy transform at 0 gives the limit of the mean reciprocal eigenvalue of $(H^{-1})_{cc}$, that is of $\bar\sigma$, and the limit is $\tau(s)$ with $t$ as stated; such limits are the deterministic equivalents of random-matrix methods {cite:p}`couillet2022`. Replacing the finite-$D$ mean $\bar\sigma$ by its limit is the whole of the assumption, and it costs an error that vanishes only as $D \to \infty$.
#
# The resulting curve is therefore a **large-$D$ approximation** for rotation-invariant quadratics, not an exact formula at any finite $D$. We call it the **free variant** (`variant="free"` in `pnlib.bounds`); it is not the paper's formula. The two curves agree at $s = 1/2$, where $(1-s)/s = 1$. Above it the paper's $R^2$ is too large, so it predicts too little sparsity, and below it too small, so it predicts too much.
#
# A first sanity check of the fixed point takes all eigenvalues equal to $\lambda$ and all weights of magnitude $a$. Then $R(s)^2 \approx a^2 s D$, and the threshold is the positive root of $\lambda a^2 D s^2 + 2\epsilon s - 2\epsilon = 0$.

# %% tags=["nbval-check-output"]
d_c, a_c, lam_c, eps_c = 1000, 0.1, 3.0, 0.05
k_c = lam_c * a_c**2 * d_c
closed_form = (-2 * eps_c + np.sqrt(4 * eps_c**2 + 8 * eps_c * k_c)) / (2 * k_c)
lim_c = bounds.predicted_sparsity(np.full(d_c, a_c), np.full(d_c, lam_c), eps_c)
print(f"closed form {closed_form:.4f}  bisection {lim_c.estimate:.4f}  "
      f"bounds [{lim_c.lower:.4f}, {lim_c.upper:.4f}]")

# %% tags=["claim", "hide-input"]
claims.check(abs(lim_c.estimate - closed_form) <= 1 / d_c,
             "bisection on the exact R(s) agrees with the closed form to within one weight (1/D)",
             bisection=lim_c.estimate, closed_form=closed_form)
claims.check(lim_c.lower <= closed_form <= lim_c.upper,
             "the closed-form threshold lies inside the bounds", closed_form=closed_form,
             lower=lim_c.lower, upper=lim_c.upper)
slack_c = bounds.akf_slack(d_c, 0.01)  # a_eta sqrt(D) / D at the default eta of predicted_sparsity
claims.check(slack_c > 2 * closed_form, "the slack of the kinematic formula is several times the threshold",
             slack=slack_c, threshold=closed_form, ratio=slack_c / closed_form);

# %% [markdown]
# Bisection on the exact, step-shaped $R(s)$ agrees with the closed form, which takes $R(s)^2$ to be exactly linear in $s$, to within one weight. The bounds around it are wide: at $D = 1000$ the slack $a_\eta\sqrt D/D$ of the kinematic formula is several times the threshold itself. {numref}`fig-pl-fixed-point` draws the construction of {prf:ref}`lem-pl-fixed-point` for this example: the removable fraction $s(R(s))$ falls as more weights are removed, because the projection distance grows, and the threshold is where it meets the diagonal.

# %% mystnb={"figure": {"caption": "The fixed point for equal eigenvalues and equal weight magnitudes: the removable fraction s(R(s)) (solid) falls as the sparsity grows and crosses the diagonal exactly once, at the closed-form threshold (dot). Left of the crossing more could be removed than is; right of it, less.", "name": "fig-pl-fixed-point"}}
s_grid = np.linspace(0.0, 1.0, 201)
weights_c = np.full(d_c, a_c)
radius_c = np.array([bounds.removed_norm(weights_c, s) for s in s_grid])
removable_c = 2 * eps_c / (2 * eps_c + lam_c * radius_c**2)  # s(R) = 1 - rho(R), equal eigenvalues
fig, ax = plt.subplots()
ax.plot(s_grid, removable_c, color=plotting.PALETTE["prediction"], label="$s(R(s))$")
ax.plot(s_grid, s_grid, color="k", lw=1, ls="--", label="$s$")
ax.plot([closed_form], [closed_form], "o", color=plotting.PALETTE["actual"], label="closed form $s^*$")
ax.set_xlabel("sparsity $s$")
ax.set_ylabel("removable fraction")
ax.legend()
plt.show()

# %% tags=["claim", "hide-input"]
crossings = np.flatnonzero(np.diff(np.sign(removable_c - s_grid)))
claims.check(np.all(np.diff(removable_c) <= 0) and crossings.size == 1,
             "s(R(s)) never rises and crosses the diagonal exactly once",
             crossings=int(crossings.size))
claims.check(abs(s_grid[crossings[0]] - closed_form) <= s_grid[1] - s_grid[0],
             "the crossing is the closed-form threshold (to the grid step)",
             crossing=float(s_grid[crossings[0]]), closed_form=closed_form);

# %% [markdown]
# ## What the next chapter checks
#
# Every step above can fail on a real network, and {ref}`ch-limit-checks` measures by how much. It compares the paper's curve and the free variant with the exact Schur-complement limit of rotation-invariant quadratics, where only {prf:ref}`asm-pl-random` and the large-$D$ assumption are at stake. It then moves the curvature onto chosen weights to see what random orientation hides, and measures the endpoint approximation of {prf:ref}`asm-pl-endpoint` against a Monte Carlo statistical dimension. Finally it holds the prediction against the digits network with its exact Hessian, against an SLQ spectrum, and against three readings of "scaling the weights".
#
# ## Exercises
#
# ```{exercise}
# :label: ch-pruning-limit-ex1
# Take all $D = 2000$ eigenvalues equal to $\lambda = 1$ and weights of equal magnitude $a$.
# Derive the threshold $s^*$ as a function of $\gamma = \lambda a^2 D/(2\epsilon)$, check it against `bounds.predicted_sparsity` for $\gamma = 0.1, 1, 10, 100$, and explain why $s^* \approx \gamma^{-1/2}$ for large $\gamma$.
# ```
#
# ```{solution-start} ch-pruning-limit-ex1
# :class: dropdown
# ```
#
# With $R(s)^2 = a^2 s D$ the fixed point solves $s = 1/(1 + \gamma s)$, i.e. $\gamma s^2 + s - 1 = 0$, so $s^* = (\sqrt{1 + 4\gamma} - 1)/(2\gamma)$. When $\gamma \gg 1$ the root is $\sqrt{1/\gamma + 1/(4\gamma^2)} - 1/(2\gamma) \approx \gamma^{-1/2}$, since the $1/\gamma$ under the root dominates.

# %%
d_e = 2000
for gamma in (0.1, 1.0, 10.0, 100.0):
    a = np.sqrt(gamma * 2 * 0.01 / d_e)
    est = bounds.predicted_sparsity(np.full(d_e, a), np.ones(d_e), 0.01).estimate
    print(f"gamma {gamma:6.1f}: closed form {(np.sqrt(1 + 4 * gamma) - 1) / (2 * gamma):.4f}  "
          f"bisection {est:.4f}  gamma^-1/2 {gamma**-0.5:.4f}")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-pruning-limit-ex3
# Let $H$ be a symmetric $D \times D$ matrix, not necessarily semi-definite, and $u$ uniform on the sphere $\{x : \lVert x \rVert_2 = R\}$.
#
# 1. Prove that $\mathbb{E}\,[u^\top H u] = R^2 \operatorname{tr} H / D$.
# 2. Prove that $\operatorname{Var}(u^\top H u) = \frac{2 R^4 \left(D \operatorname{tr} H^2 - (\operatorname{tr} H)^2\right)}{D^2 (D+2)}$, and deduce that a random step's curvature concentrates at its mean as $D \to \infty$ when the eigenvalues stay bounded.
# 3. Prove that the flat form $R^2 \operatorname{tr}\lvert H\rvert/(2D\epsilon)$ of the $\lvert\lambda\rvert$ curve exceeds the expected random-step increase $\mathbb{E}[\tfrac12 u^\top H u]/\epsilon$ by $R^2 \sum_{\lambda_i < 0}\lvert\lambda_i\rvert/(D\epsilon)$, so the two agree if and only if $H$ is positive semi-definite.
# ```
#
# ```{solution-start} ch-pruning-limit-ex3
# :class: dropdown
# ```
#
# Write $u = R\,g/\lVert g \rVert_2$ with $g \sim N(0, I_D)$. For every orthogonal $Q$, $Qg$ has the law of $g$, so $Qu$ has the law of $u$, and $H = Q \Lambda Q^\top$ gives $u^\top H u = (Q^\top u)^\top \Lambda (Q^\top u)$ with $Q^\top u$ again uniform. Hence it suffices to take $H = \Lambda$ diagonal, where $u^\top H u = \sum_i \lambda_i u_i^2$.
#
# **Part 1.** The coordinates $u_i^2$ are exchangeable and sum to $R^2$, so each has mean $R^2/D$, and $\mathbb{E}\,[u^\top H u] = \sum_i \lambda_i R^2/D = R^2 \operatorname{tr} H/D$. Nothing in this uses the sign of any $\lambda_i$: the trace is the signed one.
#
# **Part 2.** The norm $\lVert g \rVert_2$ is independent of the direction $g/\lVert g\rVert_2$, so $\mathbb{E}\,[g_i^4] = \mathbb{E}\lVert g\rVert_2^4 \, \mathbb{E}\,[(u_i/R)^4]$ and $\mathbb{E}\,[g_i^2 g_j^2] = \mathbb{E}\lVert g\rVert_2^4 \, \mathbb{E}\,[(u_i u_j/R^2)^2]$. With $\mathbb{E}\lVert g\rVert_2^4 = D(D+2)$, $\mathbb{E}\,g_i^4 = 3$ and $\mathbb{E}\,g_i^2 g_j^2 = 1$ for $i \ne j$, this gives $\mathbb{E}\,u_i^4 = 3R^4/(D(D+2))$ and $\mathbb{E}\,u_i^2u_j^2 = R^4/(D(D+2))$. Therefore
#
# $$
# \mathbb{E}\,(u^\top H u)^2 = \frac{R^4}{D(D+2)} \Big(3 \sum_i \lambda_i^2 + \sum_{i \ne j} \lambda_i \lambda_j\Big) = \frac{R^4 \left(2 \operatorname{tr} H^2 + (\operatorname{tr} H)^2\right)}{D(D+2)},
# $$
#
# and subtracting $(R^2 \operatorname{tr} H/D)^2$ leaves $\frac{R^4}{D^2(D+2)}\left(2D \operatorname{tr} H^2 + D(\operatorname{tr} H)^2 - (D+2)(\operatorname{tr} H)^2\right)$, which is the stated variance. If $\lvert\lambda_i\rvert \le \Lambda$ for all $i$, then $D \operatorname{tr} H^2 - (\operatorname{tr} H)^2 \le D \operatorname{tr} H^2 \le D^2 \Lambda^2$, so the variance is at most $2R^4\Lambda^2/(D+2)$, which tends to 0 at fixed $R$.
#
# **Part 3.** By part 1, $\mathbb{E}[\tfrac12 u^\top H u]/\epsilon = R^2 \operatorname{tr} H/(2D\epsilon)$. Splitting each eigenvalue into its positive and negative parts, $\operatorname{tr}\lvert H\rvert - \operatorname{tr} H = \sum_i (\lvert\lambda_i\rvert - \lambda_i) = 2\sum_{\lambda_i < 0} \lvert\lambda_i\rvert$, so the difference of the two flat forms is $R^2 \cdot 2\sum_{\lambda_i<0}\lvert\lambda_i\rvert/(2D\epsilon)$, as claimed. It is zero exactly when no eigenvalue is negative, that is, when $H$ is positive semi-definite.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - The paper's formula follows from three assumptions (a quadratic loss, a randomly oriented sparse subspace, and the endpoint picture of the cone) plus the kinematic formula; its lower and upper bounds are exact consequences of those assumptions, with a gap of order $a_\eta/\sqrt D$.
# - The threshold is the unique fixed point $s^* = s(R(s^*))$, and it moves by no more than the error of the curve; for an SLQ spectrum that error includes a quadrature bias that only the interval `interval_lower`, `interval_upper` covers, not the standard error over probes.
# - The trace and the largest eigenvalue bracket the threshold. The random-direction identity $\mathbb{E}[u^\top H u] = R^2 \operatorname{tr} H/D$ needs the signed trace, while the $\lvert\lambda\rvert$ curve's sharpness is $\operatorname{tr}\lvert H\rvert$, larger by twice the negative part.
# - For rotation-invariant quadratics with re-fitted weights, a free-probability deterministic equivalent, assumed rather than proved here, turns $R^2$ into $R^2(1-s)/s$: the free variant, a large-$D$ approximation.
# :::
