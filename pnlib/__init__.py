"""pnlib: the library behind the Pruning limits book.

Modules, in dependency order (each imports only from those above it; ``claims``, ``plotting``
are leaves):

- ``paths``, ``repro``: project paths, atomic writes, seeding, the environment record;
- ``claims``: the checked claims of the book's prose (a leaf, like ``plotting``);
- ``data``, ``models``: the embedded and the paper's datasets and architectures;
- ``magnitude``: the magnitude order of the prunable weights, the one owner of "which go first";
- ``hessian``: Hessian-vector products over a dataset, exact Hessians for tiny networks;
- ``spectrum``: Lanczos, stochastic Lanczos quadrature, trace estimators;
- ``geometry``: cones, projections, statistical dimension, Gaussian width, kinematic formula;
- ``bounds``: the pruning-limit formulas, the threshold fixed point, lower and upper bounds;
- ``quadratic``: exact pruning limits of quadratic losses (Schur complements), the ground truth;
- ``prune``: masks, global magnitude pruning, sweeps, the actual limit by three criteria;
- ``train``: training with l1/l2 regularisation, evaluation, checkpoints;
- ``refit``: the measured refit limits (re-training the kept weights by L-BFGS);
- ``predictors``: direct second-order predictors of the limit (Taylor, with and without refit);
- ``authors``: the authors' pipeline, one choice at a time;
- ``predict``: the prediction engine, every predictor from one call (``predict_pruning_limit``);
- ``baselines``: masked training, IMP with rewinding, Smart-Ratio, Rare Gems;
- ``experiment``: the end-to-end pipeline a papermill notebook calls, results I/O;
- ``exercises``: the exercise pages generated from the solution cells;
- ``runner``: executing the Jupytext notebooks with papermill;
- ``plotting``: the book's figure style.

Submodules are imported on demand: ``from pnlib import hessian, spectrum``.
"""

__version__ = "0.1.0"
