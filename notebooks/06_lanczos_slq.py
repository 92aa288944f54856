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
# (ch-lanczos)=
# # Lanczos and stochastic Lanczos quadrature
#
# :::{admonition} Learning goals
# :class: tip
# - Explain why $m$ Lanczos steps cost $m$ Hessian-vector products and give a Gauss quadrature rule for the spectrum.
# - Estimate spectral sums $\operatorname{tr} f(H)/D$ with stochastic Lanczos quadrature (SLQ), with an error bar, and check them against the exact spectrum.
# - Decide how many steps and probes are needed for the pruning function $f_R$, and bound the quadrature bias that the error bar over probes cannot see.
# - Handle what real Hessians bring: negative eigenvalues, a mass at zero curvature, and the bias of smoothed densities.
# :::
#
# **Prerequisites:** {ref}`ch-hvp`.
#
# The pruning limit of {cite:t}`zhang2024pruning` is a spectral sum: the mean, over the eigenvalues of the Hessian, of a function that depends on the allowed loss increase. For a network with millions of weights the eigenvalues cannot be computed one by one, but their mean can be estimated from a few hundred Hessian-vector products with stochastic Lanczos quadrature. This chapter builds that estimator from the Lanczos recurrence, tests it on a synthetic matrix and on the digits MLP, whose exact spectrum is known, and shows where its error comes from and how to bound it.

# %% tags=["parameters", "hide-input"]
SEED = 0
SYNTH_DIM = 400  # dimension of the synthetic test matrix
HIDDEN = [32, 32]  # the digits MLP of the earlier chapters
EPOCHS = 20  # brief l1 training
BATCH_SIZE = 32
LR = 0.05
MOMENTUM = 0.9
L1 = 1e-4
STEPS = 128  # Lanczos steps per probe on the network, as in the authors' configurations (96 for AlexNet)
PROBES = 4  # SLQ probes on the network, as in the authors' configurations
STUDY_STEPS = 400  # longest rule in the steps study
STUDY_PROBES = 16  # probes in the steps study
SPARSITY = 0.75  # the removed norm R is taken at this sparsity (fraction of weights removed)
SAVE_FIGS = False

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from myst_nb import glue
from torch import nn

from pnlib import claims, data, hessian, models, plotting, predict, prune, repro, spectrum, train

plotting.use_book_style()
gen = repro.seed_everything(SEED)
rng = repro.numpy_rng(gen)
loss_fn = nn.CrossEntropyLoss()

# %% [markdown]
# ## The Lanczos recurrence
#
# Start from a unit vector $q_1$ and a symmetric $H$. The **Lanczos recurrence** {cite:p}`lanczos1950` builds an orthonormal basis $q_1, \dots, q_m$ of the Krylov space $\operatorname{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}$ with one product per step:
#
# $$
# \beta_j q_{j+1} = H q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}, \qquad \alpha_j = q_j^\top H q_j, \quad \beta_j = \lVert \cdot \rVert .
# $$ (eq-lanczos-recurrence)
#
# The coefficients form a tridiagonal $T_m = Q_m^\top H Q_m$, whose eigenvalues, the **Ritz values** $\theta_k$, approximate those of $H$, the extreme ones first {cite:p}`golub2010`. In floating point the basis loses orthogonality as Ritz values converge, so `pnlib.spectrum.lanczos` re-orthogonalises each new vector against all previous ones, and stops, reporting the step, if $\beta_j \approx 0$.
#
# A synthetic matrix with a known spectrum comes first: a bulk of small eigenvalues, some negative ones, and a few large outliers, in a random basis. The chapter uses `pnlib.spectrum.lanczos`, `slq`, `trace_of`, `truncate`, `trace_interval` and `density`, and `pnlib.hessian.HessianOperator`.

# %%
def rotate(eigenvalues, rng):
    """Q diag(eigenvalues) Q^T with a Haar-random orthogonal Q."""
    q, r = np.linalg.qr(rng.standard_normal((eigenvalues.size, eigenvalues.size)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T


synth_eigs = np.sort(np.concatenate([
    rng.gamma(0.5, 0.02, SYNTH_DIM - 50),  # bulk near zero
    -rng.gamma(1.0, 0.02, 40),  # negative curvature
    rng.uniform(0.5, 2.0, 7), [4.0, 6.0, 10.0],  # outliers
]))
A = rotate(synth_eigs, rng)
run = spectrum.lanczos(A, SYNTH_DIM, 60, generator=gen)
ritz_by_step = [np.linalg.eigvalsh(run.tridiagonal()[:m, :m]) for m in range(1, 61)]

# %% mystnb={"figure": {"caption": "Ritz values of the synthetic matrix (dots) against the number of Lanczos steps, with the largest four eigenvalues and the smallest one dotted. Notice that each outlier is matched by a Ritz value within a few steps of its first appearance, while the Ritz values inside the bulk keep moving through all 60 steps.", "name": "fig-lanczos-ritz"}}
fig, ax = plt.subplots(figsize=(7, 3.8))
for m, theta in enumerate(ritz_by_step, start=1):
    ax.plot(np.full(theta.size, m), theta, ".", color="C0", markersize=2)
for lam in synth_eigs[-4:]:
    ax.axhline(lam, color="0.6", linewidth=0.7, linestyle=":")
ax.axhline(synth_eigs[0], color="0.6", linewidth=0.7, linestyle=":")
ax.set_xlabel("Lanczos steps $m$")
ax.set_ylabel(r"Ritz values $\theta_k$")
plotting.maybe_save(fig, "fig-lanczos-ritz", notebook="06_lanczos_slq", enabled=SAVE_FIGS)
plt.show()

# %% tags=["hide-input"]
top_error = [float(np.min(np.abs(theta - synth_eigs[-1]))) for theta in ritz_by_step]
top_found = next(m for m, e in enumerate(top_error, start=1) if e < 1e-6 * synth_eigs[-1])
glue("top_found", top_found, display=False)

# %% [markdown]
# In {numref}`fig-lanczos-ritz` the outliers (dotted lines) are found within a few steps (the largest eigenvalue to a relative error of $10^{-6}$ after {glue:text}`top_found` steps), while the Ritz values inside the bulk keep moving. Lanczos resolves the edges of the spectrum long before its interior, and this will decide how many steps the pruning function needs.

# %% tags=["claim", "hide-input"]
claims.check(top_found <= 20, "the largest eigenvalue is found to 1e-6 within 20 of the 60 steps",
             steps=top_found);

# %% [markdown]
# ## From Lanczos to quadrature
#
# Write $H = \sum_i \lambda_i u_i u_i^\top$. For a unit vector $v$, the quadratic form $v^\top f(H) v = \sum_i (u_i^\top v)^2 f(\lambda_i)$ is an integral of $f$ against a measure with weights $(u_i^\top v)^2$, the **spectral measure** of $v$. Lanczos started at $q_1 = v$ gives the $m$-point Gauss rule of that measure {cite:p}`golub2010`: nodes $\theta_k$ and weights $\tau_k = (e_1^\top y_k)^2$, with $y_k$ the eigenvectors of $T_m$. The rule integrates every polynomial of degree up to $2m - 1$ exactly (the third exercise proves it). Averaging over random unit probes $v_1, \dots, v_p$, whose $\mathbb{E}[v v^\top] = I/D$, gives **stochastic Lanczos quadrature** {cite:p}`ubaru2017,lin2016`:
#
# $$
# \frac{1}{D}\operatorname{tr} f(H) \approx \frac{1}{p} \sum_{l=1}^{p} \sum_{k=1}^{m} \tau_k^{(l)} f\big(\theta_k^{(l)}\big),
# $$ (eq-slq)
#
# with a standard error from the spread over probes.
#
# The function that matters in this book is the one of the pruning limit, the answer to the question of {ref}`ch-how-sparse`. For an allowed loss increase $\epsilon$ and removed norm $R$ it is
#
# $$
# f_R(\lambda) = \frac{|\lambda| R^2}{|\lambda| R^2 + 2\epsilon},
# $$ (eq-lanczos-fR)
#
# whose spectral mean is the minimum density $\rho(R)$ of {cite:t}`zhang2024pruning`. The paper states it for a positive semi-definite Hessian, with $\lambda$ in place of $|\lambda|$; the authors' code takes $|\lambda|$, and so does this book. The function rises from 0 at $\lambda = 0$ to $1/2$ at $|\lambda| = c$, where
#
# $$
# c = \frac{2\epsilon}{R^2},
# $$ (eq-lanczos-c)
#
# and towards 1 beyond, so $c$ is the scale at which the quadrature must resolve the spectrum. The next cell estimates three spectral means on the synthetic matrix: the trace (identity), the mass above zero (a step), and $f_R$.

# %%
def f_R(lam, R, eps):
    a = np.abs(lam) * R**2
    return a / (a + 2 * eps)


synth_functions = {
    "identity": lambda x: x,
    "step 1[lambda > 0]": lambda x: (x > 0).astype(float),
    "f_R (R = 1, eps = 1e-3)": lambda x: f_R(x, 1.0, 1e-3),
}
synth_steps = (10, 40, 160)
synth_slq = spectrum.slq(A, SYNTH_DIM, 160, num_probes=20, generator=gen)
synth_rows = {}
for name, f in synth_functions.items():
    exact = float(np.mean(f(synth_eigs)))
    synth_rows[name] = [exact] + [spectrum.trace_of(f, spectrum.truncate(synth_slq, m))
                                  for m in synth_steps]

# %% tags=["nbval-check-output", "hide-input"]
print(f"{'spectral mean':26s} {'exact':>7s}   {'m = 10':>15s} {'m = 40':>15s} {'m = 160':>15s}")
for name, (exact, *estimates) in synth_rows.items():
    cells = " ".join(f"{est:7.4f} ± {err:.4f}" for est, err in estimates)
    print(f"{name:26s} {exact:7.4f}   {cells}")

# %% [markdown]
# The identity is integrated exactly by any rule with $m \ge 1$, so its error is pure probe noise, the same for every $m$: it is the Hutchinson estimator {cite:p}`hutchinson1989`. The step and $f_R$ are another matter, because they change abruptly at $\lambda = 0$, inside the bulk. With 40 nodes the rule cannot place enough of them there, and both estimates are off by more than three standard errors ($f_R$ already with 10). With 160 steps the quadrature error has fallen to within three standard errors of the exact value. The lesson is that the standard error says nothing about the quadrature error, which only more steps reveal.

# %% tags=["claim", "hide-input"]
def z_score(name, index):
    exact, *estimates = synth_rows[name]
    est, err = estimates[index]
    return abs(est - exact) / err


identity_estimates = [est for est, _ in synth_rows["identity"][1:]]
claims.check(np.ptp(identity_estimates) < 1e-10, "the identity's estimate is the same for every number of steps",
             spread=float(np.ptp(identity_estimates)))
claims.check(min(z_score("step 1[lambda > 0]", 1), z_score("f_R (R = 1, eps = 1e-3)", 1),
                 z_score("f_R (R = 1, eps = 1e-3)", 0)) > 3,
             "with 40 steps the step and f_R (and f_R with 10) are off by more than 3 standard errors",
             step_40=z_score("step 1[lambda > 0]", 1), fR_40=z_score("f_R (R = 1, eps = 1e-3)", 1),
             fR_10=z_score("f_R (R = 1, eps = 1e-3)", 0))
claims.check(max(z_score("step 1[lambda > 0]", 2), z_score("f_R (R = 1, eps = 1e-3)", 2)) < 3,
             "with 160 steps both are within 3 standard errors",
             step_160=z_score("step 1[lambda > 0]", 2), fR_160=z_score("f_R (R = 1, eps = 1e-3)", 2));

# %% [markdown]
# ## A real network: the digits MLP
#
# The digits MLP of {ref}`ch-how-sparse` is small enough that its Hessian fits in memory, so `eigvalsh` gives the exact spectrum to compare with. It is trained briefly with the $\ell_1$ penalty, and $\epsilon$ is set as in the authors' code, to the standard deviation of the per-batch training losses. The SLQ run on the network uses the authors' configuration, {glue:text}`steps` Lanczos steps and {glue:text}`probes` probes, all advanced together through one pass over the data per step.

# %%
train_set = data.load("digits", train=True)
net = models.build("mlp", num_classes=10, in_shape=(64,), hidden=HIDDEN, generator=gen)
config = train.TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, momentum=MOMENTUM, l1=L1)
train.train(net, train_set, config, generator=gen)
net = net.double().eval()
x_all, y_all = train_set.tensors
x_all = x_all.double()
eps = predict.batch_loss_eps(net, (x_all, y_all), loss_fn=loss_fn)[0]  # batches of 128, ddof = 0
weights = prune.flat_prunable(net).abs().sort().values
R = float(torch.linalg.norm(weights[: prune.num_removed(SPARSITY, weights.numel())]))
glue("steps", STEPS, display=False)
glue("probes", PROBES, display=False)

# %%
batches = list(zip(x_all.split(256), y_all.split(256)))
H = hessian.exact_hessian(net, loss_fn, batches).numpy()
H = (H + H.T) / 2
exact_eigs = np.linalg.eigvalsh(H)
op = hessian.HessianOperator(net, loss_fn, batches)
D = op.shape[0]
slq_result = spectrum.slq(op, D, STEPS, num_probes=PROBES, generator=gen)
glue("D", D, display=False)
print(f"D = {D}, eps = {eps:.2e}, R = {R:.2f} at sparsity {SPARSITY}")
print(f"{slq_result.num_matvecs} Hessian-vector products in {STEPS + 1} passes over the data")

# %% [markdown]
# The network has $D =$ {glue:text}`D` parameters. {numref}`fig-lanczos-digits-spectrum` compares its exact eigenvalues with the SLQ nodes, each node drawn with its weight.

# %% mystnb={"figure": {"caption": "Exact Hessian spectrum of the digits MLP (filled) and the SLQ quadrature measure (outline), over the whole spectrum (left) and near zero (right), on a log scale. Notice that the quadrature follows the exact histogram at the large eigenvalues, but near zero, where most of the mass lies, its few nodes cannot reproduce the shape of the exact histogram.", "name": "fig-lanczos-digits-spectrum"}}
fig, (ax_full, ax_zoom) = plt.subplots(1, 2, figsize=(10, 3.8))
bins = np.linspace(exact_eigs[0], exact_eigs[-1], 80)
for ax, edges in ((ax_full, bins), (ax_zoom, np.linspace(-0.02, 0.02, 81))):
    ax.hist(exact_eigs, bins=edges, weights=np.full(D, 1 / D), alpha=0.5, label="exact")
    ax.hist(slq_result.nodes.ravel(), bins=edges, weights=slq_result.weights.ravel() / PROBES,
            histtype="step", linewidth=2, label=f"SLQ ({STEPS} steps, {PROBES} probes)")
    ax.set_yscale("log")
    ax.set_xlabel(r"eigenvalue $\lambda$")
ax_full.set_ylabel("spectral mass")
ax_zoom.set_title("near zero")
ax_full.legend()
plotting.maybe_save(fig, "fig-lanczos-digits-spectrum", notebook="06_lanczos_slq",
                    enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# ## How many steps, how many probes
#
# The mean of $f_R$ in {eq}`eq-lanczos-fR` is $\rho(R)$, and the run above estimates it as follows.

# %%
def rho(result, negative="abs"):
    curvature = (lambda x: np.abs(x)) if negative == "abs" else (lambda x: np.maximum(x, 0.0))
    return spectrum.trace_of(lambda x: f_R(curvature(x), R, eps), result)


rho_exact = float(np.mean(f_R(exact_eigs, R, eps)))
rho_slq, rho_err = rho(slq_result)
c_scale = 2 * eps / R**2
glue("rho_exact", rho_exact, display=False)
glue("rho_slq", rho_slq, display=False)
glue("rho_err", rho_err, display=False)
glue("rho_rel", abs(rho_slq - rho_exact) / rho_exact, display=False)
glue("rho_z", abs(rho_slq - rho_exact) / rho_err, display=False)
glue("fR_scale", c_scale, display=False)
glue("median_abs", float(np.median(np.abs(exact_eigs))), display=False)
glue("below_c", float(np.mean(np.abs(exact_eigs) < c_scale)), display=False)
glue("lam_max_over_c", float(exact_eigs[-1] / c_scale), display=False)
print(f"rho(R): exact {rho_exact:.3f}, SLQ {rho_slq:.3f} ± {rho_err:.3f}")

# %% [markdown]
# With {glue:text}`steps` steps the estimate {glue:text}`rho_slq:.3f` $\pm$ {glue:text}`rho_err:.3f` misses the exact {glue:text}`rho_exact:.3f` by {glue:text}`rho_rel:.1%`, or {glue:text}`rho_z:.1f` standard errors. This is a quadrature error, as on the synthetic matrix, and its cause is the scale of $f_R$. The function rises to 1/2 at $c = 2\epsilon/R^2 =$ {glue:text}`fR_scale:.1e`, below the median $|\lambda|$ of {glue:text}`median_abs:.1e`, so that {glue:text}`below_c:.0%` of the eigenvalues lie below $c$, while the largest eigenvalue is {glue:text}`lam_max_over_c:.0f` times larger. The rule must therefore resolve the spectrum far inside its bulk.

# %% tags=["claim", "hide-input"]
claims.check(abs(rho_slq - rho_exact) > 3 * rho_err,
             f"with {STEPS} steps the SLQ estimate is more than 3 standard errors from the exact value",
             slq=rho_slq, se=rho_err, exact=rho_exact)
claims.check(c_scale < float(np.median(np.abs(exact_eigs))) and exact_eigs[-1] > 1000 * c_scale,
             "c lies below the median |lambda|, and the largest eigenvalue is more than 1000 times c",
             c=c_scale, median=float(np.median(np.abs(exact_eigs))), lam_max=float(exact_eigs[-1]));

# %% [markdown]
# How many steps does that take? Longer runs are cheap on the exact spectrum: a Gaussian probe of $H = U \operatorname{diag}(\lambda) U^\top$ is, in the eigenbasis $U$, again a Gaussian probe, so SLQ on $\operatorname{diag}(\lambda)$ with Gaussian probes has the same distribution as on $H$. The long runs below re-orthogonalise, as the run on the network does; `spectrum.truncate` gives every shorter rule from the same run.

# %%
lam_t = torch.as_tensor(exact_eigs)
study = spectrum.slq(lambda V: lam_t[:, None] * V, D, STUDY_STEPS, num_probes=STUDY_PROBES,
                     generator=gen, distribution="gaussian", block=True)
step_grid = sorted({m for m in (10, 20, 40, 80, STEPS, 160, 320) if m < STUDY_STEPS} | {STUDY_STEPS})
by_steps = [rho(spectrum.truncate(study, m)) for m in step_grid]
probe_grid = [p for p in (2, 4, 8, 16, 32, 64) if p <= STUDY_PROBES]
by_probes = [rho(spectrum.SLQResult(nodes=study.nodes[:p], weights=study.weights[:p], dim=D))
             for p in probe_grid]

# %% mystnb={"figure": {"caption": "SLQ estimate of rho(R) on the digits Hessian, with two standard errors, against the number of Lanczos steps (left, all probes) and the number of probes (right, all steps); the dotted line is the exact value. Notice on the left that at every number of steps the error bar is too short to reach the exact value, although the estimate itself approaches it only after hundreds of steps, and on the right that more probes only shrink the error bar.", "name": "fig-lanczos-steps"}}
fig, (ax_m, ax_p) = plt.subplots(1, 2, figsize=(10, 3.6))
est, err = np.array(by_steps).T
ax_m.errorbar(step_grid, est, yerr=2 * err, marker="o", capsize=3, label="SLQ ± 2 stderr")
ax_m.axhline(rho_exact, color="0.3", linestyle=":", label="exact")
ax_m.set_xscale("log")
ax_m.set_xlabel("Lanczos steps $m$")
ax_m.set_ylabel(r"$\rho(R)$")
ax_m.legend()
est_p, err_p = np.array(by_probes).T
ax_p.errorbar(probe_grid, est_p, yerr=2 * err_p, marker="s", capsize=3,
              label=f"{STUDY_STEPS} steps, ± 2 stderr")
ax_p.axhline(rho_exact, color="0.3", linestyle=":", label="exact")
ax_p.set_xscale("log", base=2)
ax_p.set_xlabel("probes $p$")
ax_p.legend()
plotting.maybe_save(fig, "fig-lanczos-steps", notebook="06_lanczos_slq", enabled=SAVE_FIGS)
plt.show()

# %% tags=["nbval-check-output", "hide-input"]
for m, (e, se) in zip(step_grid, by_steps):
    print(f"m = {m:4d}: rho(R) = {e:.3f} ± {se:.3f}   (exact {rho_exact:.3f})")

# %%
long_est, long_err = by_steps[-1]
short_z = [abs(e - rho_exact) / se for m, (e, se) in zip(step_grid, by_steps) if m <= 80]
glue("study_steps", step_grid[-1], display=False)
glue("rho_long", long_est, display=False)
glue("rho_long_err", long_err, display=False)
glue("short_z", max(short_z), display=False)

# %% [markdown]
# {numref}`fig-lanczos-steps` shows the estimate wandering by far more than its error bar for tens of steps (up to {glue:text}`short_z:.0f` standard errors away with 80 steps or fewer) and approaching the exact value only after hundreds: with {glue:text}`study_steps` steps it is {glue:text}`rho_long:.3f` $\pm$ {glue:text}`rho_long_err:.3f`, within 0.01 of the exact value. Even there the error bar of two standard errors does not reach the exact value, at any number of steps: it measures the probe noise, not the quadrature error that remains. Once the steps suffice, the error is the probe noise, which shrinks as $1/\sqrt{p}$, but no number of probes repairs too few steps.

# %% tags=["claim", "hide-input"]
claims.check(max(short_z) > 10, "with 80 steps or fewer the estimate strays more than 10 standard errors",
             max_z=max(short_z))
claims.check(all(abs(e - rho_exact) > 2 * se for e, se in by_steps),
             "at every number of steps the two-standard-error bar misses the exact value",
             closest=min(abs(e - rho_exact) / se for e, se in by_steps))
claims.check(abs(long_est - rho_exact) < 0.01,
             f"with {STUDY_STEPS} steps the estimate is within 0.01 of the exact value",
             estimate=long_est, se=long_err, exact=rho_exact);

# %% [markdown]
# ## An error bar that covers the bias
#
# The standard error over probes cannot see the quadrature bias, so it is no error bar for a spectral sum like $\rho(R)$. The moments do bound the bias, though. A run of $m$ steps, together with its last off-diagonal $\beta_m$, fixes the moments up to order $2m$ of the probe's spectral measure $\mu$. Among all measures with those moments, the distribution function $F(t) = \mu((-\infty, t])$ is pinned between two step functions: the Chebyshev–Markov–Stieltjes inequalities, whose ends at any point $t$ are the partial sums of the Gauss–Radau rule with a node prescribed at $t$ {cite:p}`golub2010`.
#
# Integrating by parts on each piece where $f$ is monotone, $\int f\,d\mu = [fF] - \int F\,df$, turns the band on $F$ into an interval on $\int f\,d\mu$ that holds for *every* spectrum consistent with the run. `pnlib.spectrum.trace_interval` computes it per probe, averages the ends over probes and widens them by three standard errors for the probe noise. The next cell computes it for every rule of the steps study and for the run on the network.

# %%
def f_abs(x):
    """The integrand of rho(R), a function of |lambda| (monotone on each side of 0)."""
    return f_R(np.abs(x), R, eps)


intervals = [spectrum.trace_interval(f_abs, spectrum.truncate(study, m)) for m in step_grid]
run_lo, run_hi = spectrum.trace_interval(f_abs, slq_result)
widths = [hi - lo for lo, hi in intervals]
glue("run_lo", run_lo, display=False)
glue("run_hi", run_hi, display=False)
glue("run_width_in_se", (run_hi - run_lo) / rho_err, display=False)
glue("width_first", widths[0], display=False)
glue("width_last", widths[-1], display=False)
glue("first_steps", step_grid[0], display=False)

# %% tags=["hide-input"]
rows = [f"| {m} | {e:.3f} ± {se:.3f} | [{lo:.3f}, {hi:.3f}] | {hi - lo:.3f} |"
        for m, (e, se), (lo, hi) in zip(step_grid, by_steps, intervals)]
display(Markdown(f"Exact $\\rho(R)$ = {rho_exact:.3f}. The network's own run, {STEPS} steps and {PROBES} probes: "
                 f"{rho_slq:.3f} ± {rho_err:.3f}, interval [{run_lo:.3f}, {run_hi:.3f}].\n\n"
                 "| steps $m$ | Gauss ± stderr | interval | width |\n|---|---|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# Every interval contains the exact $\rho(R)$, and the intervals narrow as the steps resolve the spectrum near $c$: from a width of {glue:text}`width_first:.2f` with {glue:text}`first_steps` steps to {glue:text}`width_last:.2f` with {glue:text}`study_steps`. On the network's own run, with the authors' {glue:text}`steps` steps, the interval is [{glue:text}`run_lo:.3f`, {glue:text}`run_hi:.3f`], {glue:text}`run_width_in_se:.0f` times as wide as the standard error. That width is the honest uncertainty: the moments the run saw cannot tell where, inside the unresolved bulk, the mass lies.

# %% tags=["claim", "hide-input"]
claims.check(all(lo <= rho_exact <= hi for lo, hi in intervals) and run_lo <= rho_exact <= run_hi,
             "every interval, of the study and of the network's run, contains the exact rho(R)",
             exact=rho_exact, run=f"[{run_lo:.3f}, {run_hi:.3f}]")
claims.check(all(b <= a for a, b in zip(widths, widths[1:])),
             "the interval never widens as steps are added", widths=[round(w, 3) for w in widths])
claims.check(run_hi - run_lo > 10 * rho_err, "at the authors' steps the interval is more than 10 standard errors wide",
             width=run_hi - run_lo, se=rho_err);

# %% [markdown]
# ## What decides the number of steps
#
# Whether a few dozen steps suffice or several hundred are needed depends on where $c = 2\epsilon/R^2$ falls in the spectrum. A rule of $k$ nodes spreads them over $[\lambda_{\min}, \lambda_{\max}]$ roughly like the Chebyshev points, densest at the ends: near an end they are about $(\lambda_{\max} - \lambda_{\min})/k^2$ apart, and at a distance $d$ from the end about $\pi\sqrt{d\,(\lambda_{\max} - \lambda_{\min})}/k$ apart. Were the Hessian positive semi-definite, $\lambda = 0$ would be the lower end and $k$ steps would resolve the spectrum near $0$ to about $(\lambda_{\max} - \lambda_{\min})/k^2$. The negative eigenvalues put $0$ at the distance $d = |\lambda_{\min}|$ inside, where the nodes are much farther apart. These are rules of thumb for a measure without structure; a rule whose measure has most of its mass near zero places some nodes there sooner, and only the interval says what the run actually resolved.
#
# The second panel of {numref}`fig-lanczos-interval` makes the dependence visible: it shows the width of the interval on the mean of $|\lambda|/(|\lambda| + c)$, the integrand $f_R$ written with its scale, for a range of $c$ and three numbers of steps.

# %%
lam_range = float(exact_eigs[-1] - exact_eigs[0])
edge_spacing = lam_range / STEPS**2
zero_spacing = float(np.pi * np.sqrt(abs(exact_eigs[0]) * lam_range) / STEPS)
glue("lam_min", float(exact_eigs[0]), display=False)
glue("edge_spacing", edge_spacing, display=False)
glue("zero_spacing", zero_spacing, display=False)
glue("zero_spacing_over_c", zero_spacing / c_scale, display=False)

c_grid = np.logspace(-7, -1, 25)
few_steps = 32
width_steps = (few_steps, STEPS, STUDY_STEPS)
scaled = [lambda x, c=c: np.abs(x) / (np.abs(x) + c) for c in c_grid]
width_by_c = {}
for m in width_steps:
    lo_c, hi_c = spectrum.trace_intervals(scaled, spectrum.truncate(study, m))
    width_by_c[m] = hi_c - lo_c
q10, q90 = np.quantile(np.abs(exact_eigs), [0.1, 0.9])
c_above = 10 * q90  # well above the bulk of |lambda|
lo_a, hi_a = spectrum.trace_interval(lambda x: np.abs(x) / (np.abs(x) + c_above),
                                     spectrum.truncate(study, few_steps))
lo_c, hi_c = spectrum.trace_interval(f_abs, spectrum.truncate(study, few_steps))
glue("few_steps", few_steps, display=False)
glue("q90", float(q90), display=False)
glue("width_above", hi_a - lo_a, display=False)
glue("width_at_c_few", hi_c - lo_c, display=False)

# %% mystnb={"figure": {"caption": "Left: the guaranteed interval on rho(R) (shaded) and the Gauss estimate against the number of Lanczos steps on the digits Hessian; the dotted line is the exact value. Right: width of the interval on the mean of |lambda|/(|lambda| + c) against c, for three numbers of steps, with the 10 %–90 % range of |lambda| shaded and the chapter's c marked. Notice that the interval always contains the exact value and narrows with the steps, and that its width is small for every number of steps once c lies above the bulk of |lambda|, but large inside the bulk, where only many steps help.", "name": "fig-lanczos-interval"}}
fig, (ax_i, ax_c) = plt.subplots(1, 2, figsize=(10, 3.6))
lo_i, hi_i = np.array(intervals).T
ax_i.fill_between(step_grid, lo_i, hi_i, alpha=0.3, label="interval")
ax_i.plot(step_grid, [e for e, _ in by_steps], marker="o", label="Gauss estimate")
ax_i.axhline(rho_exact, color="0.3", linestyle=":", label="exact")
ax_i.set_xscale("log")
ax_i.set_xlabel("Lanczos steps $m$")
ax_i.set_ylabel(r"$\rho(R)$")
ax_i.legend()
for m, w in width_by_c.items():
    ax_c.plot(c_grid, w, marker=".", label=f"{m} steps")
ax_c.axvspan(q10, q90, color="C4", alpha=0.15, label=r"10 %–90 % of $|\lambda|$")
ax_c.axvline(c_scale, color="0.3", linestyle=":", label="this chapter's $c$")
ax_c.set_xscale("log")
ax_c.set_xlabel("$c$")
ax_c.set_ylabel("width of the interval")
ax_c.legend(fontsize="small", loc="lower left")
plotting.maybe_save(fig, "fig-lanczos-interval", notebook="06_lanczos_slq", enabled=SAVE_FIGS)
plt.show()

# %% [markdown]
# For the digits Hessian, $\lambda_{\min} =$ {glue:text}`lam_min:.1e`, so with {glue:text}`steps` steps the nodes near zero are about {glue:text}`zero_spacing:.1e` apart, {glue:text}`zero_spacing_over_c:.0f` times $c$, although near an end they would be only {glue:text}`edge_spacing:.1e` apart. The interval agrees: with {glue:text}`few_steps` steps it is {glue:text}`width_at_c_few:.2f` wide at this chapter's $c$, but only {glue:text}`width_above:.3f` wide for a $c$ ten times the 90th percentile of $|\lambda|$ ({glue:text}`q90:.1e`). So a few dozen steps are enough when $c$ lies above the bulk of the spectrum, as for a generous $\epsilon$ or a small removed norm, and hundreds or more are needed when it lies inside, as here.

# %% tags=["claim", "hide-input"]
claims.check(zero_spacing > c_scale > edge_spacing,
             f"with {STEPS} steps the node spacing near zero is larger than c, the spacing at an end smaller",
             zero_spacing=zero_spacing, c=c_scale, edge_spacing=edge_spacing)
claims.check(hi_a - lo_a < 0.1 < 0.5 < hi_c - lo_c,
             f"with {few_steps} steps the interval is narrower than 0.1 for c above the bulk, wider than 0.5 at this c",
             width_above=hi_a - lo_a, width_here=hi_c - lo_c);

# %% [markdown]
# ## The paper's scale
#
# At the scale of the paper's networks the same reasoning matters more, not less. For $0 \le f \le 1$ the variance of one probe's estimate $v^\top f(H) v$, for a Gaussian probe normalised to the unit sphere or a Rademacher one, is at most $2\operatorname{Var}_\lambda f / D \le 1/(2D)$, so its standard deviation is at most $1/\sqrt{2D}$: {glue:text}`sd_bound_digits:.3f` for the digits MLP (where the measured spread of the study's probes is {glue:text}`sd_measured:.3f`), and {glue:text}`sd_bound_resnet:.1e` for ResNet18 on CIFAR-10 with its {glue:text}`resnet_D:,.0f` weights. The probe noise all but vanishes with $D$ in the millions. The node spacing does not: it depends on the number of steps and on the ends of the spectrum, not on $D$, and with 128 steps far fewer than $D$ the rule of thumb above applies all the more. If $c$ falls inside the bulk of near-zero eigenvalues, as it does for the digits MLP, the whole error of the 128-step estimate is quadrature bias, which the standard error cannot show, and the interval, not the standard error, is what the prediction can claim.
#
# This is why the prediction engine carries the interval through the fixed point ({ref}`ch-pruning-limit`) and, asked for a width, adds Lanczos steps until the interval on the predicted sparsity is that narrow or its product budget is spent.

# %% tags=["hide-input"]
resnet_D = sum(p.numel() for p in models.build("resnet18", num_classes=10, in_shape=(3, 32, 32)).parameters())
per_probe = (study.weights * f_abs(study.nodes)).sum(axis=1)
sd_measured = float(per_probe.std(ddof=1))
glue("sd_bound_digits", float(1 / np.sqrt(2 * D)), display=False)
glue("sd_measured", sd_measured, display=False)
glue("sd_bound_resnet", float(1 / np.sqrt(2 * resnet_D)), display=False)
glue("resnet_D", float(resnet_D), display=False)

# %% tags=["claim", "hide-input"]
claims.check(sd_measured <= 1 / np.sqrt(2 * D), "the measured spread of one probe is within the bound 1/sqrt(2D)",
             measured=sd_measured, bound=1 / np.sqrt(2 * D));

# %% [markdown]
# ## Negative curvature
#
# Trained for a few epochs with SGD and the $\ell_1$ penalty, the weights are at best near a stationary point of the regularised objective, the loss plus the penalty, not at a minimum of the loss alone. Nothing then makes the Hessian of the unregularised loss positive semi-definite. Even at an exact minimum of the regularised objective, it would need to be positive semi-definite only along the weights that are not zero, since moving a zero weight costs the penalty at first order. Measured, the Hessian at the trained weights is indefinite.
#
# Taking $|\lambda|$, as the authors' code does, is one way to apply a formula stated for a positive semi-definite Hessian; clipping negative eigenvalues to zero is the other natural choice. The next cell measures how much the choice matters, and how well SLQ sees the negative mass.

# %%
neg_mass_exact = float(np.mean(exact_eigs < 0))
neg_mass_slq = spectrum.trace_of(lambda x: (x < 0).astype(float), slq_result)
big = 1e-3 * float(np.abs(exact_eigs).max())
neg_big_exact = float(np.mean(exact_eigs < -big))
neg_big_slq = spectrum.trace_of(lambda x: (x < -big).astype(float), slq_result)
rho_clip_exact = float(np.mean(f_R(np.maximum(exact_eigs, 0), R, eps)))
rho_clip_slq = rho(slq_result, negative="clip")
glue("neg_mass", neg_mass_exact, display=False)
glue("neg_mass_slq", neg_mass_slq[0], display=False)
glue("neg_big", neg_big_exact, display=False)
glue("neg_big_slq", neg_big_slq[0], display=False)
glue("neg_big_slq_err", neg_big_slq[1], display=False)
glue("rho_clip", rho_clip_exact, display=False)
glue("neg_min", float(exact_eigs[0]), display=False)
glue("pos_max", float(exact_eigs[-1]), display=False)

# %% tags=["nbval-check-output", "hide-input"]
print(f"negative mass:               exact {neg_mass_exact:.3f}, "
      f"SLQ {neg_mass_slq[0]:.3f} ± {neg_mass_slq[1]:.3f}")
print(f"mass below -1e-3 lambda_max: exact {neg_big_exact:.3f}, "
      f"SLQ {neg_big_slq[0]:.3f} ± {neg_big_slq[1]:.3f}")
print(f"rho(R) with |lambda|: exact {rho_exact:.3f}, SLQ {rho_slq:.3f}")
print(f"rho(R) clipped:       exact {rho_clip_exact:.3f}, SLQ {rho_clip_slq[0]:.3f}")

# %% [markdown]
# A fraction {glue:text}`neg_mass:.1%` of the eigenvalues are negative (the smallest is {glue:text}`neg_min:.2e`, against a largest of {glue:text}`pos_max:.2f`), and clipping them instead of taking $|\lambda|$ lowers $\rho(R)$ from {glue:text}`rho_exact:.3f` to {glue:text}`rho_clip:.3f`. SLQ with {glue:text}`steps` steps sees only {glue:text}`neg_mass_slq:.1%` of negative mass. Most negative eigenvalues are tiny and sit in the same cluster as tiny positive ones, which a few nodes cannot separate by sign. The clearly negative part, below $-10^{-3}\lambda_{\max}$, is resolved far better: {glue:text}`neg_big_slq:.1%` $\pm$ {glue:text}`neg_big_slq_err:.1%` against the exact {glue:text}`neg_big:.1%`.

# %% tags=["claim", "hide-input"]
claims.check(exact_eigs[0] < 0 < exact_eigs[-1], "the Hessian is indefinite",
             lam_min=float(exact_eigs[0]), lam_max=float(exact_eigs[-1]))
claims.check(rho_clip_exact < rho_exact, "clipping lowers rho(R)", clipped=rho_clip_exact, abs=rho_exact)
claims.check(neg_mass_slq[0] < neg_mass_exact - 3 * neg_mass_slq[1],
             "SLQ sees less negative mass than there is, by more than 3 standard errors",
             slq=neg_mass_slq[0], exact=neg_mass_exact)
claims.check(abs(neg_big_slq[0] - neg_big_exact) / neg_big_exact
             < abs(neg_mass_slq[0] - neg_mass_exact) / neg_mass_exact,
             "the clearly negative mass is estimated with a smaller relative error than the whole negative mass",
             big_slq=neg_big_slq[0], big_exact=neg_big_exact);

# %% [markdown]
# ## Mass at zero curvature
#
# The digits images have pixels that are 0 in every training image, in the corners and along the edges. A first-layer weight that reads such a **blank pixel** never changes the network's output on the training set, so the loss does not depend on it at all: its gradient, and its whole row and column of the Hessian, are exactly zero, whatever the other weights are and whatever penalty trained them. Each such row contributes an eigenvalue $0$ and, through $f_R(0) = 0$, nothing to $\rho(R)$: these weights can always be removed.
#
# A hidden unit that is inactive on every training image (a **dead** unit) would add zero rows too, for its incoming weights, its bias and its outgoing weights. Vanishing incoming weights alone do not make a unit dead, though: with a positive bias it outputs a constant, which the next layer still uses. The authors' code adds the mass at $\lambda = 0$ explicitly for its convolutional models, as the share of 100 sampled Hessian rows (at magnitude quantiles) whose $\ell_1$ norm is below $10^{-7}$, and sets it to zero for the fully connected ones; here it is measured, and compared with the count of blank-pixel weights.

# %%
scale = float(np.abs(exact_eigs).max())
zero_row_mask = np.abs(H).max(axis=1) <= 1e-12 * scale
zero_rows = int(zero_row_mask.sum())
blank_pixels = np.flatnonzero(x_all.abs().max(dim=0).values.numpy() == 0)
first_width = HIDDEN[0]
# The first layer's weight comes first in the flat vector, row by row: unit i reads pixel j at i * 64 + j.
blank_weights = {i * x_all.shape[1] + j for i in range(first_width) for j in blank_pixels}
prunable = prune.flat_prunable(net).numel()
zero_eigs = int(np.sum(np.abs(exact_eigs) <= 1e-8 * scale))
shift_directions = HIDDEN[-1] + 1  # the softmax ignores a common shift of the logits
zero_mass_slq = spectrum.trace_of(lambda x: (np.abs(x) <= 1e-8 * scale).astype(float), slq_result)
glue("zero_rows", zero_rows, display=False)
glue("blank_pixels", len(blank_pixels), display=False)
glue("first_width", first_width, display=False)
glue("prunable", prunable, display=False)
glue("zero_row_frac", zero_rows / prunable, display=False)
glue("zero_eigs", zero_eigs, display=False)
glue("shift_directions", shift_directions, display=False)
glue("zero_frac", zero_eigs / D, display=False)
glue("zero_slq", zero_mass_slq[0], display=False)

# %% tags=["nbval-check-output", "hide-input"]
print(f"blank pixels: {len(blank_pixels)} of {x_all.shape[1]}; first hidden layer: {first_width} units")
print(f"Hessian rows numerically zero: {zero_rows} of {D} ({zero_rows / prunable:.4f} of the {prunable} prunable weights)")
print(f"eigenvalues with |lambda| <= 1e-8 max: {zero_eigs} ({zero_eigs / D:.3f} of the mass)")
print(f"SLQ mass there: {zero_mass_slq[0]:.3f} ± {zero_mass_slq[1]:.3f}")

# %% [markdown]
# Here {glue:text}`blank_pixels` pixels are blank, read by {glue:text}`first_width` units each, and the Hessian has exactly {glue:text}`zero_rows` zero rows, {glue:text}`zero_row_frac:.2%` of the {glue:text}`prunable` prunable weights: the zero rows are the blank-pixel weights and nothing else, so no unit is dead. The spectrum holds more zero curvature than that. The softmax does not change when the same number is added to every logit, so moving together the output biases, or the outgoing weights of one unit of the last hidden layer, leaves the loss exactly constant; that gives {glue:text}`shift_directions` more exact zero eigenvalues. With further directions along which the loss is almost flat, {glue:text}`zero_eigs` eigenvalues, a fraction {glue:text}`zero_frac:.3f` of the spectrum, lie within $10^{-8}\lambda_{\max}$ of zero.
#
# SLQ puts {glue:text}`zero_slq:.3f` of its mass there: the zero eigenvalues merge with the near-zero cluster into nodes at small non-zero values, so the quadrature cannot isolate them. This is why the authors add this mass explicitly, and why it must be measured, not guessed.

# %% tags=["claim", "hide-input"]
claims.check(set(np.flatnonzero(zero_row_mask).tolist()) == blank_weights,
             "the zero rows of the Hessian are exactly the first-layer weights that read a blank pixel",
             zero_rows=zero_rows, blank_pixels=len(blank_pixels), units=first_width)
claims.check(zero_eigs >= zero_rows + shift_directions,
             "at least the blank-pixel and the softmax-shift directions sit at zero curvature",
             zero_eigs=zero_eigs, zero_rows=zero_rows, shifts=shift_directions)
claims.check(zero_mass_slq[0] < 0.5 * zero_eigs / D, "SLQ puts less than half the zero mass at zero",
             slq=zero_mass_slq[0], exact=zero_eigs / D);

# %% [markdown]
# ## Integrate with the rule, not with the plot
#
# A smoothed density $\hat\phi(t) = \frac1p\sum_{l,k} \tau_k^{(l)} g_\sigma(t - \theta_k^{(l)})$ is good for plots {cite:p}`ghorbani2019,papyan2020`. Integrating $f_R$ against it on a grid, as PyHessian-based code does, adds two errors, however. The kernel smears the nodes by $\sigma$ across the region where $f_R$ changes fastest, and a grid coarser than $\sigma$ samples each Gaussian at an arbitrary height. The next cell integrates $f_R$ against PyHessian's density (variance $10^{-5}$ times the spectral range, $10^4$ bins, renormalised on the grid) and against narrower kernels, and compares with the direct quadrature {eq}`eq-slq` on the same nodes.

# %%
def grid_integral(result, sigma2, num_bins):
    """PyHessian's recipe: smooth on a grid, renormalise the Riemann sum, integrate f_R on it."""
    lo, hi = result.nodes.min() - 0.01, result.nodes.max() + 0.01
    grid = np.linspace(lo, hi, num_bins)
    phi = spectrum.density(result, grid, np.sqrt(sigma2))
    phi = phi / (phi.sum() * (grid[1] - grid[0]))
    return float(np.sum(f_R(grid, R, eps) * phi) * (grid[1] - grid[0]))


width = float(slq_result.nodes.max() - slq_result.nodes.min())
kde = {
    "sigma^2 = 1e-5 range, 1e4 bins": grid_integral(slq_result, 1e-5 * max(1, width), 10_000),
    "sigma^2 = 1e-7, 1e5 bins": grid_integral(slq_result, 1e-7, 100_000),
    "sigma^2 = 1e-10, 1e5 bins": grid_integral(slq_result, 1e-10, 100_000),
}
glue("kde_pyhessian", kde["sigma^2 = 1e-5 range, 1e4 bins"], display=False)

# %% tags=["nbval-check-output", "hide-input"]
print(f"exact rho(R)            {rho_exact:.4f}")
print(f"direct quadrature       {rho_slq:.4f}")
for name, value in kde.items():
    print(f"grid, {name:26s} {value:.4f}")

# %% [markdown]
# The same nodes and weights give {glue:text}`rho_slq:.3f` by quadrature and {glue:text}`kde_pyhessian:.3f` through PyHessian's smoothed density, against the exact {glue:text}`rho_exact:.3f`. On top of the quadrature error, the smoothing adds an error whose size and sign depend on $\sigma$ and the grid, which no one can tune without knowing the answer. The pruning-limit computations of this book therefore always use `spectrum.trace_of` and `spectrum.trace_interval` on the quadrature rules.

# %% tags=["claim", "hide-input"]
claims.check(abs(kde["sigma^2 = 1e-5 range, 1e4 bins"] - rho_exact) > abs(rho_slq - rho_exact),
             "PyHessian's smoothed density is further from the exact value than the direct quadrature",
             smoothed=kde["sigma^2 = 1e-5 range, 1e4 bins"], quadrature=rho_slq, exact=rho_exact);

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ch-lanczos-ex1
# Run Lanczos on the synthetic matrix for 120 steps with and without re-orthogonalisation (`reorthogonalize=False`).
# How far is the basis from orthogonal, and how many Ritz values sit within $10^{-8}$ of the largest eigenvalue?
# Does the SLQ estimate of the mean of $f_R$ change?
# ```
#
# ```{solution-start} ch-lanczos-ex1
# :class: dropdown
# ```

# %%
ex1 = {}
for reorth in (True, False):
    res = spectrum.lanczos(A, SYNTH_DIM, 120, generator=torch.Generator().manual_seed(1),
                           reorthogonalize=reorth)
    theta, Y = res.ritz()
    ghosts = int(np.sum(np.abs(theta - synth_eigs[-1]) < 1e-8))
    one_probe = float(np.sum(Y[0] ** 2 * f_R(theta, 1.0, 1e-3)))
    ex1[reorth] = (ghosts, one_probe)
    line = f"reorthogonalize={reorth!s:5s}: copies of the top eigenvalue {ghosts}, "
    if reorth:
        Q = res.basis.numpy()
        line += f"max |Q'Q - I| = {np.abs(Q.T @ Q - np.eye(Q.shape[1])).max():.1e}, "
    print(line + f"quadrature of f_R {one_probe:.4f}")

# %% [markdown]
# Without re-orthogonalisation the converged top eigenvalue reappears as "ghost" copies, but the quadrature changes only slightly: the ghosts take their weight from the original node, so sums stay accurate while individual Ritz values do not {cite:p}`papyan2020`. (Only the re-orthogonalised run keeps the basis, so only its orthogonality is printed.) The ghosts are not free, though: every step spent on a copy of a converged eigenvalue is a step not spent on the bulk, which is why the runs of this chapter re-orthogonalise.

# %% tags=["claim", "hide-input"]
claims.check(ex1[False][0] > 1 == ex1[True][0],
             "without re-orthogonalisation the top eigenvalue has several copies, with it one",
             without=ex1[False][0], with_=ex1[True][0])
claims.check(abs(ex1[False][1] - ex1[True][1]) < 0.05, "the quadrature of f_R changes by less than 0.05",
             without=ex1[False][1], with_=ex1[True][1]);

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-lanczos-ex2
# Rademacher or Gaussian probes?
# On the digits Hessian (use the dense matrix `H` as the operator, which is fast), compare the standard error of the SLQ estimate of $\operatorname{tr}(H)/D$ with 32 probes of each kind.
# (The identity needs a single step, so only the probes matter.)
# ```
#
# ```{solution-start} ch-lanczos-ex2
# :class: dropdown
# ```

# %%
ex2 = {}
for distribution in ("rademacher", "gaussian"):
    res = spectrum.slq(H, D, 2, num_probes=32, generator=torch.Generator().manual_seed(2),
                       distribution=distribution)
    est, err = spectrum.trace_of(lambda x: x, res)
    ex2[distribution] = err
    print(f"{distribution:10s}: {est:.3e} ± {err:.1e} (exact {np.mean(exact_eigs):.3e})")

# %% [markdown]
# The variance of $z^\top F z$ is $2(\lVert F\rVert_F^2 - \sum_i F_{ii}^2)$ for a Rademacher $z$ against $2\lVert F\rVert_F^2$ for a Gaussian one (before normalisation). Rademacher probes gain only the diagonal term, which is small for a Hessian far from diagonal, so the two standard errors come out close here; on a diagonal matrix a Rademacher probe would be exact.

# %% tags=["claim", "hide-input"]
claims.check(2 / 3 < ex2["rademacher"] / ex2["gaussian"] < 3 / 2,
             "the two standard errors are within a factor 1.5 of each other", **ex2);

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ch-lanczos-ex3
# Let $H$ be symmetric, $v$ a unit vector, and suppose that $k$ steps of the Lanczos recurrence {eq}`eq-lanczos-recurrence` started at $q_1 = v$ run in exact arithmetic without breakdown ($\beta_j > 0$ for $j < k$). Prove that the Gauss rule with nodes $\theta_j$ and weights $\tau_j = (e_1^\top y_j)^2$ from $T_k = \sum_j \theta_j y_j y_j^\top$ is exact for every polynomial $p$ of degree at most $2k - 1$:
#
# $$
# v^\top p(H)\, v = \sum_{j=1}^{k} \tau_j\, p(\theta_j).
# $$
#
# Then show by an example that degree $2k$ is not always integrated exactly.
# ```
#
# ```{solution-start} ch-lanczos-ex3
# :class: dropdown
# ```
#
# *The Lanczos relation.* Collecting the recurrence for $j = 1, \dots, k$ in matrix form gives $H Q_k = Q_k T_k + \beta_k q_{k+1} e_k^\top$, where $Q_k = [q_1, \dots, q_k]$ has orthonormal columns, $q_{k+1}$ is orthogonal to all of them, and $e_k$ is the last unit vector of $\mathbb{R}^k$. (If $\beta_k = 0$ the last term vanishes and everything below holds with it.)
#
# *Step 1: $H^i q_1 = Q_k T_k^i e_1$ for $0 \le i \le k - 1$.* For $i = 0$ both sides are $q_1 = Q_k e_1$. Suppose the claim holds for some $i \le k - 2$. Then
#
# $$
# H^{i+1} q_1 = H Q_k T_k^i e_1 = Q_k T_k^{i+1} e_1 + \beta_k q_{k+1}\, e_k^\top T_k^i e_1 .
# $$
#
# Since $T_k$ is tridiagonal, $T_k^i e_1$ has non-zero entries only in its first $i + 1$ positions, and $i + 1 \le k - 1 < k$, so $e_k^\top T_k^i e_1 = 0$ and the claim holds for $i + 1$.
#
# *Step 2: the monomials up to degree $2k - 1$.* Let $0 \le n \le 2k - 2$ and write $n = a + b$ with $0 \le a, b \le k - 1$. By step 1 and $Q_k^\top Q_k = I$,
#
# $$
# v^\top H^n v = (H^a q_1)^\top (H^b q_1) = e_1^\top T_k^a Q_k^\top Q_k T_k^b e_1 = e_1^\top T_k^n e_1 .
# $$
#
# For $n = 2k - 1$ take $a = k - 1$ and compute $H^k q_1 = H (H^{k-1} q_1) = Q_k T_k^k e_1 + \beta_k q_{k+1}\, e_k^\top T_k^{k-1} e_1$ as in step 1. Then
#
# $$
# v^\top H^{2k-1} v = (H^{k-1} q_1)^\top H^k q_1 = e_1^\top T_k^{k-1} Q_k^\top \big(Q_k T_k^k e_1 + \beta_k q_{k+1} e_k^\top T_k^{k-1} e_1\big) = e_1^\top T_k^{2k-1} e_1,
# $$
#
# because $Q_k^\top q_{k+1} = 0$. By linearity, $v^\top p(H) v = e_1^\top p(T_k) e_1$ for every polynomial of degree at most $2k - 1$.
#
# *Step 3: the rule.* With $T_k = \sum_j \theta_j y_j y_j^\top$ and orthonormal $y_j$, $p(T_k) = \sum_j p(\theta_j) y_j y_j^\top$, so $e_1^\top p(T_k) e_1 = \sum_j (e_1^\top y_j)^2 p(\theta_j) = \sum_j \tau_j p(\theta_j)$, which proves the claim.
#
# *Degree $2k$.* Take $p(x) = \prod_{j=1}^{k} (x - \theta_j)^2$, of degree $2k$. The rule gives $\sum_j \tau_j p(\theta_j) = 0$, while $v^\top p(H) v = \sum_i (u_i^\top v)^2 p(\lambda_i)$ is positive as soon as $v$ has a component along an eigenvector whose eigenvalue is not a Ritz value. This happens whenever the spectral measure of $v$ has more than $k$ points, for instance for $H = \operatorname{diag}(0, 1, 2)$, $v = (1, 1, 1)/\sqrt3$ and $k = 1$: then $T_1 = (1)$, the rule puts all weight at $\theta_1 = 1$, and for $p(x) = (x - 1)^2$ it gives 0, against $v^\top p(H) v = (1 + 0 + 1)/3 = 2/3$.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - $m$ Lanczos steps cost $m$ Hessian-vector products, and with several probes advanced together, $m$ passes over the data; the resulting Gauss rule is exact for polynomials of degree up to $2m - 1$.
# - On the digits MLP, the authors' {glue:text}`steps` steps estimate $\rho(R)$ as {glue:text}`rho_slq:.3f` $\pm$ {glue:text}`rho_err:.3f` against the exact {glue:text}`rho_exact:.3f`, because $f_R$ varies on the scale $c = 2\epsilon/R^2$, deep inside the bulk of the spectrum.
# - How many steps are needed depends on where $c$ falls: a few dozen when it lies above the bulk of $|\lambda|$, hundreds or more when it lies inside, where the node spacing near zero is set by $|\lambda_{\min}|$ and the spectral range.
# - The standard error over probes measures the probe noise only, and with $D$ in the millions it all but vanishes; `spectrum.trace_interval` bounds the quadrature bias too, and its width is what an SLQ estimate can claim.
# - The Hessian is indefinite: {glue:text}`neg_mass:.1%` of its eigenvalues are negative, and clipping them instead of taking $|\lambda|$ moves $\rho(R)$ to {glue:text}`rho_clip:.3f`.
# - A fraction {glue:text}`zero_frac:.3f` of the spectrum sits at zero curvature, starting with the {glue:text}`zero_rows` weights that read blank pixels; SLQ cannot isolate it.
# - Integrating through a smoothed density gave {glue:text}`kde_pyhessian:.3f` from the same nodes; always integrate with the quadrature rule.
# :::
