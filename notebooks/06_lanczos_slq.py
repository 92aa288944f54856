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
# - Decide how many steps and probes are needed for the pruning function $f_R$.
# - Handle what real Hessians bring: negative eigenvalues, a mass at zero curvature, and the bias of smoothed densities.
# :::
#
# **Prerequisites:** {ref}`ch-hvp`.

# %% tags=["parameters"]
SEED = 0
SYNTH_DIM = 400  # dimension of the synthetic test matrix
HIDDEN = [32, 32]  # the digits MLP of the earlier chapters
EPOCHS = 20  # brief l1 training
BATCH_SIZE = 32
LR = 0.05
MOMENTUM = 0.9
L1 = 1e-4
STEPS = 80  # Lanczos steps per probe on the network (the authors' configurations use 128, 96 for AlexNet)
PROBES = 8  # SLQ probes on the network
STUDY_STEPS = 400  # longest rule in the steps study
STUDY_PROBES = 16  # probes in the steps study
SPARSITY = 0.75  # the removed norm R is taken at this sparsity (fraction of weights removed)
SAVE_FIGS = False

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from myst_nb import glue
from torch import nn

from pnlib import data, hessian, models, plotting, predict, prune, repro, spectrum, train

plotting.use_book_style()
gen = repro.seed_everything(SEED)
rng = repro.numpy_rng(gen)
loss_fn = nn.CrossEntropyLoss()

# %% [markdown]
# This chapter uses `pnlib.spectrum.lanczos`, `pnlib.spectrum.slq`, `pnlib.spectrum.trace_of`, `pnlib.spectrum.truncate`, `pnlib.spectrum.density` and `pnlib.hessian.HessianOperator`.
#
# ## The Lanczos recurrence
#
# Start from a unit vector $q_1$ and a symmetric $H$; the **Lanczos recurrence** {cite:p}`lanczos1950` builds an orthonormal basis $q_1, \dots, q_m$ of the Krylov space $\operatorname{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}$ with one product per step:
#
# $$
# \beta_j q_{j+1} = H q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}, \qquad \alpha_j = q_j^\top H q_j, \quad \beta_j = \lVert \cdot \rVert .
# $$ (eq-lanczos-recurrence)
#
# The coefficients form a tridiagonal $T_m = Q_m^\top H Q_m$, whose eigenvalues, the **Ritz values** $\theta_k$, approximate those of $H$, the extreme ones first {cite:p}`golub2010`.
#
# In floating point the basis loses orthogonality as Ritz values converge, so `pnlib.spectrum.lanczos` re-orthogonalises each new vector against all previous ones, and stops, reporting the step, if $\beta_j \approx 0$.
#
# A synthetic matrix with a known spectrum comes first: a bulk of small eigenvalues, some negative ones, and a few large outliers, in a random basis.

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

# %% mystnb={"figure": {"caption": "Ritz values of the synthetic matrix against the number of Lanczos steps", "name": "fig-lanczos-ritz"}}
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

# %% [markdown]
# In {numref}`fig-lanczos-ritz` the outliers (dotted lines) are found within a few steps, while the Ritz values inside the bulk keep moving: Lanczos resolves the edges of the spectrum long before its interior.
#
# ## From Lanczos to quadrature
#
# Write $H = \sum_i \lambda_i u_i u_i^\top$. For a unit vector $v$, the quadratic form $v^\top f(H) v = \sum_i (u_i^\top v)^2 f(\lambda_i)$ is an integral of $f$ against a measure with weights $(u_i^\top v)^2$.
#
# Lanczos started at $q_1 = v$ gives the $m$-point Gauss rule of that measure {cite:p}`golub2010`: nodes $\theta_k$ and weights $\tau_k = (e_1^\top y_k)^2$, with $y_k$ the eigenvectors of $T_m$.
#
# Averaging over random unit probes $v_1, \dots, v_p$, whose $\mathbb{E}[v v^\top] = I/D$, gives **stochastic Lanczos quadrature** {cite:p}`ubaru2017,lin2016`:
#
# $$
# \frac{1}{D}\operatorname{tr} f(H) \approx \frac{1}{p} \sum_{l=1}^{p} \sum_{k=1}^{m} \tau_k^{(l)} f\big(\theta_k^{(l)}\big),
# $$ (eq-slq)
#
# with a standard error from the spread over probes.
#
# The function that matters in this book is the one of the pruning limit, the answer to the question of {ref}`ch-how-sparse`: for an allowed loss increase $\epsilon$ and removed norm $R$,
#
# $$
# f_R(\lambda) = \frac{|\lambda| R^2}{|\lambda| R^2 + 2\epsilon},
# $$ (eq-lanczos-fR)
#
# whose spectral mean is the minimum density $\rho(R)$ of {cite:t}`zhang2024pruning`.
#
# The next cell estimates three spectral means on the synthetic matrix: the trace (identity), the mass above zero (a step), and $f_R$.

# %%
def f_R(lam, R, eps):
    a = np.abs(lam) * R**2
    return a / (a + 2 * eps)


synth_functions = {
    "identity": lambda x: x,
    "step 1[lambda > 0]": lambda x: (x > 0).astype(float),
    "f_R (R = 1, eps = 1e-3)": lambda x: f_R(x, 1.0, 1e-3),
}
synth_slq = spectrum.slq(A, SYNTH_DIM, 160, num_probes=20, generator=gen)
synth_rows = {}
for name, f in synth_functions.items():
    exact = float(np.mean(f(synth_eigs)))
    synth_rows[name] = [exact] + [spectrum.trace_of(f, spectrum.truncate(synth_slq, m))
                                  for m in (10, 40, 160)]

# %% tags=["nbval-check-output"]
print(f"{'spectral mean':26s} {'exact':>7s}   {'m = 10':>15s} {'m = 40':>15s} {'m = 160':>15s}")
for name, (exact, *estimates) in synth_rows.items():
    cells = " ".join(f"{est:7.4f} ± {err:.4f}" for est, err in estimates)
    print(f"{name:26s} {exact:7.4f}   {cells}")

# %% [markdown]
# The identity is integrated exactly by any rule with $m \ge 1$, so its error is pure probe noise, the same for every $m$: it is the Hutchinson estimator {cite:p}`hutchinson1989`.
#
# The step and $f_R$ change abruptly at $\lambda = 0$, inside the bulk, and with 10 or 40 nodes the rule cannot place enough of them there: the estimates are off by many standard errors.
#
# With 160 steps the quadrature error has fallen to about the probe noise; the standard error says nothing about the quadrature error, which only more steps reveal.
#
# ## A real network: the digits MLP
#
# The digits MLP of {ref}`ch-how-sparse` has $D = 3{,}466$ parameters, so its Hessian fits in memory and `eigvalsh` gives the exact spectrum to compare with.
#
# It is trained briefly with the $\ell_1$ penalty, and $\epsilon$ is set as in the authors' code, to the standard deviation of the per-batch training losses.

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

# %%
batches = list(zip(x_all.split(256), y_all.split(256)))
H = hessian.exact_hessian(net, loss_fn, batches).numpy()
H = (H + H.T) / 2
exact_eigs = np.linalg.eigvalsh(H)
op = hessian.HessianOperator(net, loss_fn, batches)
D = op.shape[0]
slq_result = spectrum.slq(op, D, STEPS, num_probes=PROBES, generator=gen)
print(f"D = {D}, eps = {eps:.2e}, R = {R:.2f} at sparsity {SPARSITY}")
print(f"{slq_result.num_matvecs} Hessian-vector products in {STEPS + 1} passes over the data")

# %% [markdown]
# {numref}`fig-lanczos-digits-spectrum` compares the exact eigenvalues with the SLQ nodes, each node drawn with its weight.

# %% mystnb={"figure": {"caption": "Exact Hessian spectrum of the digits MLP and the SLQ quadrature measure", "name": "fig-lanczos-digits-spectrum"}}
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
# The mean of $f_R$ in {eq}`eq-lanczos-fR` is $\rho(R)$; the run above, with {glue:text}`steps` steps per probe, estimates it as follows.

# %%
def rho(result, negative="abs"):
    curvature = (lambda x: np.abs(x)) if negative == "abs" else (lambda x: np.maximum(x, 0.0))
    return spectrum.trace_of(lambda x: f_R(curvature(x), R, eps), result)


rho_exact = float(np.mean(f_R(exact_eigs, R, eps)))
rho_slq, rho_err = rho(slq_result)
glue("rho_exact", rho_exact, display=False)
glue("rho_slq", rho_slq, display=False)
glue("rho_err", rho_err, display=False)
glue("rho_rel", abs(rho_slq - rho_exact) / rho_exact, display=False)
glue("steps", STEPS, display=False)
glue("fR_scale", 2 * eps / R**2, display=False)
glue("median_abs", float(np.median(np.abs(exact_eigs))), display=False)
print(f"rho(R): exact {rho_exact:.3f}, SLQ {rho_slq:.3f} ± {rho_err:.3f}")

# %% [markdown]
# With {glue:text}`steps` steps the estimate {glue:text}`rho_slq:.3f` $\pm$ {glue:text}`rho_err:.3f` misses the exact {glue:text}`rho_exact:.3f` by {glue:text}`rho_rel:.1%`, many standard errors: a quadrature error, as on the synthetic matrix.
#
# The reason is the scale of $f_R$: it rises from 0 to 1/2 at $|\lambda| = 2\epsilon/R^2 =$ {glue:text}`fR_scale:.1e`, while the median $|\lambda|$ is {glue:text}`median_abs:.1e` and the largest eigenvalue is thousands of times larger, so the rule must resolve the spectrum far inside its bulk.
#
# To see how many steps that takes, longer runs are cheap on the exact spectrum: a Gaussian probe of $H = U \operatorname{diag}(\lambda) U^\top$ is, in the eigenbasis $U$, again a Gaussian probe, so SLQ on $\operatorname{diag}(\lambda)$ with Gaussian probes has the same distribution as on $H$.
#
# These long runs skip re-orthogonalisation (the first exercise shows why sums survive that), and `spectrum.truncate` gives every shorter rule from the same run.

# %%
lam_t = torch.as_tensor(exact_eigs)
study = spectrum.slq(lambda V: lam_t[:, None] * V, D, STUDY_STEPS, num_probes=STUDY_PROBES,
                     generator=gen, distribution="gaussian", block=True, reorthogonalize=False)
step_grid = [m for m in (10, 20, 40, 80, 160, 320) if m < STUDY_STEPS] + [STUDY_STEPS]
by_steps = [rho(spectrum.truncate(study, m)) for m in step_grid]
probe_grid = [p for p in (2, 4, 8, 16, 32, 64) if p <= STUDY_PROBES]
by_probes = [rho(spectrum.SLQResult(nodes=study.nodes[:p], weights=study.weights[:p], dim=D))
             for p in probe_grid]

# %% mystnb={"figure": {"caption": "SLQ estimate of rho(R) on the digits Hessian against the steps (left, all probes) and the probes (right, all steps)", "name": "fig-lanczos-steps"}}
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

# %%
long_est, long_err = by_steps[-1]
glue("study_steps", step_grid[-1], display=False)
glue("rho_long", long_est, display=False)
glue("rho_long_err", long_err, display=False)

# %% tags=["nbval-check-output"]
for m, (e, se) in zip(step_grid, by_steps):
    print(f"m = {m:4d}: rho(R) = {e:.3f} ± {se:.3f}   (exact {rho_exact:.3f})")

# %% [markdown]
# {numref}`fig-lanczos-steps` shows the estimate wandering by far more than its error bar for tens of steps and approaching the exact value only after hundreds: with {glue:text}`study_steps` steps it is {glue:text}`rho_long:.3f` $\pm$ {glue:text}`rho_long_err:.3f`.
#
# Once the steps suffice, the error is the probe noise, which shrinks as $1/\sqrt{p}$; for $D$ in the millions a single probe already has a small standard error, because it averages over $D$ random weights, but no number of probes repairs too few steps.
#
# ## An error bar that covers the bias
#
# The standard error over probes cannot see the quadrature bias, so it is no error bar for a spectral sum like $\rho(R)$. The moments do bound the bias, though. A run of $m$ steps, together with its last off-diagonal $\beta_m$, fixes the first $2m$ moments of the probe's spectral measure $\mu$, and among all measures with those moments the distribution function $F(t) = \mu((-\infty, t])$ is pinned between two step functions: the Chebyshev–Markov–Stieltjes inequalities, whose ends at any point $t$ are the partial sums of the Gauss–Radau rule with a node prescribed at $t$ (Golub and Meurant, *Matrices, Moments and Quadrature*). Integrating by parts on each piece where $f$ is monotone, $\int f\,d\mu = [fF] - \int F\,df$, turns the band on $F$ into an interval on $\int f\,d\mu$ that holds for *every* spectrum consistent with the run. `pnlib.spectrum.trace_interval` computes it per probe, averages the ends over probes and widens them by three standard errors for the probe noise. On the digits Hessian it contains the exact $\rho(R)$ at every number of steps, and it narrows as the steps resolve the spectrum near $2\epsilon/R^2$.

# %%
curv_abs = lambda x: f_R(np.abs(x), R, eps)  # noqa: E731 (the integrand of rho(R))
interval_rows = []
for m in (16, 40, STEPS):
    run_m = spectrum.truncate(slq_result, m) if m <= STEPS else slq_result
    lo_m, hi_m = spectrum.trace_interval(curv_abs, run_m)
    est_m, se_m = spectrum.trace_of(curv_abs, run_m)
    interval_rows.append((m, est_m, se_m, lo_m, hi_m))
    print(f"{m:4d} steps: Gauss {est_m:.4f} ± {se_m:.4f}, interval [{lo_m:.4f}, {hi_m:.4f}] "
          f"(exact {rho_exact:.4f})")

# %% tags=["remove-input"]
assert all(lo <= rho_exact <= hi for _, _, _, lo, hi in interval_rows)
assert interval_rows[-1][4] - interval_rows[-1][3] < interval_rows[0][4] - interval_rows[0][3]
print("checked: every interval contains the exact value, and the last is narrower than the first")

# %% [markdown]
# At the paper's scale this matters more, not less. With $D$ in the millions a single probe averages over millions of weights, so the standard error all but vanishes, while the 128 steps the authors' configurations use resolve the spectrum only to about $(\lambda_{\max} - \lambda_{\min})/128^2$ near zero. If $2\epsilon/R^2$ falls inside the bulk of near-zero eigenvalues, as it does here, the whole error of $s(R)$ is quadrature bias, and the interval, not the standard error, is what the prediction can claim. The prediction engine carries this interval through the fixed point ({ref}`ch-pruning-limit`) and, asked for a width, adds Lanczos steps until the interval on $s^*$ is that narrow or its product budget is spent.
#
# ## Negative curvature
#
# The trained weights are not an exact minimum, so the Hessian is indefinite; the paper's formula uses $|\lambda|$.
#
# Clipping negative eigenvalues to zero instead is the other natural choice; the next cell measures how much it matters, and how well SLQ sees the negative mass.

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
glue("rho_clip", rho_clip_exact, display=False)
glue("neg_min", float(exact_eigs[0]), display=False)
glue("pos_max", float(exact_eigs[-1]), display=False)

# %% tags=["nbval-check-output"]
print(f"negative mass:               exact {neg_mass_exact:.3f}, "
      f"SLQ {neg_mass_slq[0]:.3f} ± {neg_mass_slq[1]:.3f}")
print(f"mass below -1e-3 lambda_max: exact {neg_big_exact:.3f}, "
      f"SLQ {neg_big_slq[0]:.3f} ± {neg_big_slq[1]:.3f}")
print(f"rho(R) with |lambda|: exact {rho_exact:.3f}, SLQ {rho_slq:.3f}")
print(f"rho(R) clipped:       exact {rho_clip_exact:.3f}, SLQ {rho_clip_slq[0]:.3f}")

# %% [markdown]
# A fraction {glue:text}`neg_mass:.1%` of the eigenvalues are negative (the smallest is {glue:text}`neg_min:.2e`, against a largest of {glue:text}`pos_max:.2f`), and clipping them instead of taking $|\lambda|$ lowers $\rho(R)$ from {glue:text}`rho_exact:.3f` to {glue:text}`rho_clip:.3f`.
#
# SLQ with {glue:text}`steps` steps sees only {glue:text}`neg_mass_slq:.1%` of negative mass: most negative eigenvalues are tiny and sit in the same cluster as tiny positive ones, which a few nodes cannot separate by sign.
#
# The clearly negative part, below $-10^{-3}\lambda_{\max}$, is roughly resolved: {glue:text}`neg_big_slq:.1%` against the exact {glue:text}`neg_big:.1%`.
#
# ## Mass at zero curvature
#
# An $\ell_1$ penalty drives many weights to zero, and a hidden unit whose incoming weights all vanish is dead: the loss no longer depends on its outgoing weights, whose Hessian rows are then exactly zero.
#
# Each such row contributes an eigenvalue $0$ and, through $f_R(0) = 0$, nothing to $\rho(R)$: these weights can always be removed.
#
# The authors' code adds this mass at $\lambda = 0$ explicitly; here it is measured.

# %%
scale = float(np.abs(exact_eigs).max())
zero_rows = int(np.sum(np.abs(H).max(axis=1) <= 1e-12 * scale))
zero_eigs = int(np.sum(np.abs(exact_eigs) <= 1e-8 * scale))
zero_mass_slq = spectrum.trace_of(lambda x: (np.abs(x) <= 1e-8 * scale).astype(float), slq_result)
glue("zero_rows", zero_rows, display=False)
glue("zero_frac", zero_eigs / D, display=False)
glue("zero_slq", zero_mass_slq[0], display=False)

# %% tags=["nbval-check-output"]
print(f"Hessian rows numerically zero: {zero_rows} of {D}")
print(f"eigenvalues with |lambda| <= 1e-8 max: {zero_eigs} ({zero_eigs / D:.3f} of the mass)")
print(f"SLQ mass there: {zero_mass_slq[0]:.3f} ± {zero_mass_slq[1]:.3f}")

# %% [markdown]
# Here {glue:text}`zero_rows` rows of the Hessian are zero, and a fraction {glue:text}`zero_frac:.3f` of the spectrum sits at zero curvature (the zero rows, plus directions along which the loss is flat for other reasons).
#
# SLQ puts {glue:text}`zero_slq:.3f` of its mass there: the zero eigenvalues merge with the near-zero cluster into nodes at small non-zero values, so the quadrature cannot isolate them, which is why the authors add this mass explicitly and why it must be measured, not guessed.
#
# ## Integrate with the rule, not with the plot
#
# A smoothed density $\hat\phi(t) = \frac1p\sum_{l,k} \tau_k^{(l)} g_\sigma(t - \theta_k^{(l)})$ is good for plots {cite:p}`ghorbani2019,papyan2020`.
#
# Integrating $f_R$ against it on a grid, as PyHessian-based code does, adds two errors: the kernel smears the nodes by $\sigma$ across the region where $f_R$ changes fastest, and a grid coarser than $\sigma$ samples each Gaussian at an arbitrary height.
#
# The next cell integrates $f_R$ against PyHessian's density (variance $10^{-5}$ times the spectral range, $10^4$ bins, renormalised on the grid) and against narrower kernels, and compares with the direct quadrature {eq}`eq-slq` on the same nodes.

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

# %% tags=["nbval-check-output"]
print(f"exact rho(R)            {rho_exact:.4f}")
print(f"direct quadrature       {rho_slq:.4f}")
for name, value in kde.items():
    print(f"grid, {name:26s} {value:.4f}")

# %% [markdown]
# The same nodes and weights give {glue:text}`rho_slq:.3f` by quadrature and {glue:text}`kde_pyhessian:.3f` through PyHessian's smoothed density, against the exact {glue:text}`rho_exact:.3f`: on top of the quadrature error, the smoothing adds an error whose size and sign depend on $\sigma$ and the grid, which no one can tune without knowing the answer.
#
# The pruning-limit computations of this book therefore always use `spectrum.trace_of` on the quadrature rules.
#
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
for reorth in (True, False):
    res = spectrum.lanczos(A, SYNTH_DIM, 120, generator=torch.Generator().manual_seed(1),
                           reorthogonalize=reorth)
    theta, Y = res.ritz()
    ghosts = int(np.sum(np.abs(theta - synth_eigs[-1]) < 1e-8))
    one_probe = float(np.sum(Y[0] ** 2 * f_R(theta, 1.0, 1e-3)))
    line = f"reorthogonalize={reorth!s:5s}: copies of the top eigenvalue {ghosts}, "
    if reorth:
        Q = res.basis.numpy()
        line += f"max |Q'Q - I| = {np.abs(Q.T @ Q - np.eye(Q.shape[1])).max():.1e}, "
    print(line + f"quadrature of f_R {one_probe:.4f}")

# %% [markdown]
# Without re-orthogonalisation the converged top eigenvalue reappears as "ghost" copies, but the quadrature changes only slightly: the ghosts take their weight from the original node, so sums stay accurate while individual Ritz values do not {cite:p}`papyan2020`.
# (Only the re-orthogonalised run keeps the basis, so only its orthogonality is printed.)
#
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
for distribution in ("rademacher", "gaussian"):
    res = spectrum.slq(H, D, 2, num_probes=32, generator=torch.Generator().manual_seed(2),
                       distribution=distribution)
    est, err = spectrum.trace_of(lambda x: x, res)
    print(f"{distribution:10s}: {est:.3e} ± {err:.1e} (exact {np.mean(exact_eigs):.3e})")

# %% [markdown]
# The variance of $z^\top F z$ is $2(\lVert F\rVert_F^2 - \sum_i F_{ii}^2)$ for a Rademacher $z$ against $2\lVert F\rVert_F^2$ for a Gaussian one (before normalisation).
#
# Rademacher probes gain only the diagonal term, which is small for a Hessian far from diagonal, so the two standard errors come out close here; on a diagonal matrix a Rademacher probe would be exact.
#
# ```{solution-end}
# ```
#
# ## Takeaways
#
# :::{admonition} Takeaways
# :class: important
# - $m$ Lanczos steps cost $m$ Hessian-vector products, and with several probes advanced together, $m$ passes over the data.
# - On the digits MLP, {glue:text}`steps` steps estimate $\rho(R)$ as {glue:text}`rho_slq:.3f` $\pm$ {glue:text}`rho_err:.3f` against the exact {glue:text}`rho_exact:.3f`: $f_R$ varies deep inside the bulk, and a few hundred steps are needed ({glue:text}`rho_long:.3f` with {glue:text}`study_steps`).
- The standard error over probes measures the probe noise only; check the steps by truncating a longer run.
# - The Hessian is indefinite: {glue:text}`neg_mass:.1%` of its eigenvalues are negative, and clipping them instead of taking $|\lambda|$ moves $\rho(R)$ to {glue:text}`rho_clip:.3f`.
# - A fraction {glue:text}`zero_frac:.3f` of the spectrum sits at zero curvature, from weights the $\ell_1$ penalty disconnected.
# - Integrating through a smoothed density gave {glue:text}`kde_pyhessian:.3f` from the same nodes; always integrate with the quadrature rule.
# :::
