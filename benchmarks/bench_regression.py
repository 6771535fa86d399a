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
    from theory.cvx_reference import solve_cvxpy
    from theory.regression import solve_cd
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
                 f"{_solver} (1e-6 relative objective; target >= 10x)", target=10)(functools.partial(_case, _pen, _solver))


def _ridge_case(small: bool) -> Case:
    """eq. 4.15 on 50,000 DFT images of 32x32x3 (CIFAR-10 training-set size), all the work from ``x_hat`` on:
    freqsens (design in the real Fourier basis, float32 Gram refined in float64) vs eq. 4.15 literally (complex Gram
    X_hat^H X_hat / N, complex Cholesky). Random images: the timing does not depend on the content."""
    import scipy.linalg as sla
    from theory.dft import dft2
    from theory.regression import ridge
    N, C, H = (400, 3, 4) if small else (50_000, 3, 32)
    rng = np.random.default_rng(0)
    x_hat = dft2(rng.standard_normal((N, C, H, H)))
    y = rng.standard_normal(N)
    lam = 1e-3

    def literal():
        Xh = x_hat.reshape(N, -1)
        G = Xh.conj().T @ Xh / N
        b = Xh.conj().T @ y / N
        G[np.diag_indices_from(G)] += lam
        u = sla.cho_solve(sla.cho_factor(G, check_finite=False), b, check_finite=False)
        return np.conj(u).reshape(C, H, H)[None]

    return Case(f"ridge, N={N}, {C * H * H} DFT features, K=1, lam={lam}", lambda: ridge(x_hat, y, lam), literal,
                "ridge (real Fourier basis, mixed-precision Gram)", "eq. 4.15 literally (complex Gram + Cholesky)", rtol=1e-8,
                slow_baseline=not small)


register("ridge-50k", "ridge on 50,000 x 3072 DFT data: freqsens vs eq. 4.15 in complex arithmetic "
         "(target: seconds)")(_ridge_case)
