"""cvxpy references for the regression problems of ``theory.regression`` (eq. 4.15, A.1, 4.10 with L = 2):
the slow, independent solutions the fast solvers are tested and benchmarked against.

Each problem is posed in its best cvxpy form: for LASSO and K = 1 nuclear norm in real variables in the
real Fourier basis (grouped 2-norms; the complex-variable form doubles the unknowns), otherwise in complex
variables through the Cholesky-like factor of G. The solver's status must be OPTIMAL unless
``allow_inaccurate``, and the objective is re-evaluated by ``theory.regression.objective``.
"""
from __future__ import annotations

import warnings

import numpy as np

from theory._validate import nonnegative
from theory.dft import dft2
from theory.real_basis import real_fourier_basis, real_fourier_columns  # noqa: F401 (re-exported)
from theory.regression import Design, Solution, SolverError, _u_to_v, design, objective


def solve_cvxpy(x_hat=None, y=None, lam: float = 0.0, penalty: str = "lasso", d: Design | None = None,
                solver: str = "CLARABEL", allow_inaccurate: bool = False, real_form: bool = True,
                **solver_opts) -> Solution:
    """The same convex problems in cvxpy (reference, not workhorse): squared loss in covariance form
    ``|R u - z|^2`` (``G = R^H R``), modulus / nuclear (2-norm for K = 1 or C = 1) penalties. LASSO and the
    K = 1 nuclear problem use real variables in the real Fourier basis (``_cvxpy_real``: the smaller, faster
    formulation) unless ``real_form=False``; the rest a complex variable ``u``. The status is checked
    (``OPTIMAL`` required unless ``allow_inaccurate``) and the objective is re-evaluated here, never taken
    from the solver."""
    import cvxpy as cp
    d = d if d is not None else design(x_hat, y)
    lam = nonnegative("lam", lam)
    if penalty not in ("ridge", "lasso", "nuclear"):
        raise ValueError(f"penalty: cvxpy handles the convex penalties ridge, lasso, nuclear; got {penalty!r}")
    if real_form and (penalty == "lasso" or (penalty == "nuclear" and d.K == 1)):
        return _cvxpy_real(d, lam, penalty, solver, allow_inaccurate, **solver_opts)
    evals, Q = np.linalg.eigh(d.G)
    keep = evals > 1e-12 * evals[-1]
    R = np.sqrt(evals[keep])[:, None] * Q[:, keep].conj().T           # G = R^H R
    z = (Q[:, keep].conj().T @ d.b) / np.sqrt(evals[keep])[:, None]    # R^H z = b
    C, H, W = d.shape
    u = cp.Variable((C * H * W, d.K), complex=True)
    fit = cp.sum_squares(R @ u - z)
    if penalty == "ridge":
        pen = cp.sum_squares(u)
    elif penalty == "lasso":
        pen = 2 * cp.sum(cp.abs(u))
    else:
        if d.K == 1:    # C x 1 blocks: nuclear norm = 2-norm over channels at each frequency
            pen = 2 * cp.sum(cp.norm(cp.reshape(u, (C, H * W), order="C"), 2, axis=0))
        elif C == 1:    # 1 x K blocks: 2-norm over outputs
            pen = 2 * cp.sum(cp.norm(u, 2, axis=1))
        else:
            rows = np.arange(C * H * W).reshape(C, H * W)
            pen = 2 * cp.sum(cp.hstack([cp.normNuc(u[rows[:, p], :]) for p in range(H * W)]))
    prob = _solve_checked(cp.Problem(cp.Minimize(fit + lam * pen)), solver, allow_inaccurate, **solver_opts)
    v = _u_to_v(u.value, d)
    return Solution(v, objective(d, v, lam, penalty), int(prob.solver_stats.num_iters or 0), True)


def _cvxpy_real(d: Design, lam, penalty: str, solver, allow_inaccurate, **solver_opts) -> Solution:
    """LASSO (eq. A.1) or, for K = 1, the nuclear problem, in cvxpy over *real* variables: ``v = Q beta`` in the
    real Fourier basis (half the unknowns of the complex form, a quarter of the dense matrix), so the
    penalty is a weighted sum of 2-norms over groups of beta: per (channel, frequency pair) for the LASSO,
    per frequency pair across channels for the nuclear norm of a C x 1 block (its 2-norm)."""
    import cvxpy as cp
    Q, group, weight = real_fourier_basis(d.shape)
    Gr = Q.T @ d.G_pix @ Q
    br = Q.T @ d.b_pix
    evals, V = np.linalg.eigh(Gr)
    keep = evals > 1e-12 * evals[-1]
    R = np.sqrt(evals[keep])[:, None] * V[:, keep].T
    z = (V[:, keep].T @ br) / np.sqrt(evals[keep])[:, None]
    # columns of each (channel, pair) group; a self-conjugate frequency has one column, listed twice so every
    # group has two, and weighted 1/sqrt2 so that |(b, b)| / sqrt2 = |b|; a pair carries sqrt2 (|v_k| = |beta|/sqrt2,
    # counted for k and -k)
    cols = np.array([np.resize(np.nonzero(group == g)[0], 2) for g in range(len(weight))])   # (groups, 2)
    w = np.where(weight == 1, 1 / np.sqrt(2), np.sqrt(2))
    if penalty == "nuclear":   # groups ordered channel-major with the same frequency order in every channel
        C = d.shape[0]
        cols = cols.reshape(C, -1, 2).transpose(1, 0, 2).reshape(-1, 2 * C)
        w = w[:cols.shape[0]]
    beta = cp.Variable((Q.shape[0], d.K))
    pen = 0
    for k in range(d.K):
        pen = pen + 2 * cp.sum(cp.multiply(w, cp.norm(cp.vstack([beta[cols[:, j], k] for j in range(cols.shape[1])]),
                                                      2, axis=0)))
    prob = _solve_checked(cp.Problem(cp.Minimize(cp.sum_squares(R @ beta - z) + lam * pen)), solver,
                          allow_inaccurate, **solver_opts)
    v = dft2((Q @ beta.value).T.reshape((d.K,) + d.shape))
    return Solution(v, objective(d, v, lam, penalty), int(prob.solver_stats.num_iters or 0), True)


def _solve_checked(prob, solver: str, allow_inaccurate: bool, **solver_opts):
    """Solve a cvxpy problem; a solver error or any status but OPTIMAL raises SolverError, except
    OPTIMAL_INACCURATE with ``allow_inaccurate`` (then a warning). Never a silent inaccurate answer."""
    import cvxpy as cp
    try:
        prob.solve(solver=solver, **solver_opts)
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy/{solver} failed: {exc}") from None
    if prob.status != cp.OPTIMAL:
        msg = f"cvxpy/{solver} returned status {prob.status}"
        if not (allow_inaccurate and prob.status == cp.OPTIMAL_INACCURATE):
            raise SolverError(msg)
        warnings.warn(msg + "; returning it because allow_inaccurate=True", stacklevel=4)
    return prob
