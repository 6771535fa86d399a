"""Benchmarks of the convex baselines (theory.regression) against cvxpy, on natural-image DFT data.

The problem: 5000 embedded-dataset training patches (32x32x3 = 3072 DFT features), target = the
centred indicator of class 0 (K = 1), lam = 1e-3: the LASSO of eq. A.1 (modulus penalty per
coefficient) and the nuclear-norm problem of Theorem 4.9 case (ii) (for K = 1 a 2-norm over channels
per frequency). Agreement is measured on the objective, re-evaluated by freqsens for both answers.
OSQP is not run: both penalties are second-order cones, and OSQP solves quadratic programs only.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from benchmarks.harness import Case, register

LAM = 1e-3
AGREE = 1e-6


@functools.lru_cache(maxsize=2)
def _design(small: bool):
    from nets.data import load_dataset
    from theory.dft import dft2
    from theory.regression import design
    n, size = (300, 8) if small else (5000, 32)
    data = load_dataset("embedded?n_train=5000&n_val=100&n_test=100")
    x = data.normalised("train")[:n, :, :size, :size].astype(np.float64)
    y = (data.y_train[:n] == 0).astype(float)
    return design(dft2(x), y - y.mean())


def _objective_gap(a, b):
    # candidate must be at least as good as the baseline, up to AGREE
    return max(0.0, (a - b) / abs(b))


def _case(penalty: str, solver: str, small: bool) -> Case:
    from theory.regression import solve_cd, solve_cvxpy
    d = _design(small)
    solve_cd(d=_design(True), lam=LAM, penalty=penalty)  # compile the numba kernel outside the timing
    opts = {"SCS": dict(eps_abs=1e-9, eps_rel=1e-9, max_iters=200000)}.get(solver, {})

    def baseline():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return solve_cvxpy(d=d, lam=LAM, penalty=penalty, solver=solver, **opts).objective

    N, n = d.N, int(np.prod(d.shape))
    return Case(f"{penalty}, N={N}, {n} DFT features, K=1, lam={LAM}",
                lambda: solve_cd(d=d, lam=LAM, penalty=penalty).objective, baseline,
                "solve_cd (coordinate descent)", f"cvxpy {solver}", rtol=AGREE, repeats=1,
                agreement=_objective_gap)


for _pen in ("lasso", "nuclear"):
    for _solver in ("CLARABEL", "SCS"):
        register(f"{_pen}-{_solver.lower()}", f"{_pen} on 5000 x 3072 DFT features: coordinate descent vs cvxpy "
                 f"{_solver} (1e-6 relative objective)")(functools.partial(_case, _pen, _solver))
