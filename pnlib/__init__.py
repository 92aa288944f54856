"""pnlib: the library behind the Pruning limits book.

Modules, in dependency order (each imports only from those above it; ``plotting`` is a leaf):

- ``paths``, ``repro``: project paths, atomic writes, seeding, the environment record;
- ``data``, ``models``: the embedded and the paper's datasets and architectures;
- ``hessian``: Hessian-vector products over a dataset, exact Hessians for tiny networks;
- ``spectrum``: Lanczos, stochastic Lanczos quadrature, trace estimators;
- ``geometry``: cones, projections, statistical dimension, Gaussian width, kinematic formula;
- ``bounds``: the pruning-limit formulas, the threshold fixed point, lower and upper bounds;
- ``prune``: masks, global magnitude pruning, sweeps, and the baselines;
- ``train``: training with l1/l2 regularisation, evaluation, checkpoints;
- ``experiment``: the end-to-end pipeline a papermill notebook calls, results I/O;
- ``runner``: executing the Jupytext notebooks with papermill;
- ``plotting``: the book's figure style.

Submodules are imported on demand: ``from pnlib import hessian, spectrum``.
"""

__version__ = "0.1.0"
