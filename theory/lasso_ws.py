"""The LASSO of eq. A.1 from ``x_hat`` by working sets: no full Gram, no pixels (what celer and skglm do).

Problem (``theory.regression``'s covariance form, u = conj(v_hat) flattened to ``(CHW, K)``):

    P(u) = (1/N) |Y - A u|^2 + 2 lam sum_jk |u_jk|,     A = x_hat as an (N, CHW) complex matrix,

over complex u (the relaxation whose optimum is conjugate-symmetric for real images, so it is eq. A.1's).
At lam large enough most coefficients are 0 (9 % non-zero on 5000 embedded patches at lam = 1e-3), so:

1. the gradient of the data term ``c = A^H (Y - A u) / N`` costs one O(N CHW) product; ``u_j = 0`` is
   optimal iff ``|c_jk| <= lam`` (KKT), so the coefficients with ``|c| > lam`` are the ones to add;
2. a working set S (the non-zeros and the worst violators, at least twice the support, closed under
   k -> -k) gets its Gram ``G_SS = A_S^H A_S / N`` from one real symmetric rank-N product of
   ``[Re A_K, Im A_K]`` over one representative K of each pair {k, -k} (``A_{-k} = conj(A_k)``), four
   times cheaper than the complex Gram of S;
3. the compiled coordinate descent of ``theory._cd.cd_lasso`` solves the problem restricted to S, warm
   started; repeat until no coefficient outside S violates its KKT condition.

Certificate: the duality gap of the scaled problem ``(1/2)|Y - A u|^2 + N lam |u|_1`` with the dual point
``theta = R min(1, lam / max|c|)`` (feasible: ``|A^H theta|_max <= N lam``),
``gap = P(u) - (2 Re<Y, theta> - |theta|^2) / N >= P(u) - P*``, is returned with the solution.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import nonnegative, positive_int, regression_data
from theory.dft import conjugate_flat_indices, conjugate_symmetrise
from theory.linalg import gram
from theory.real_basis import check_real_spectrum


@dataclass
class WorkingSetSolution:
    v_hat: np.ndarray      # (K, C, H, W), conjugate-symmetric
    objective: float       # P at v_hat, from its residual (eq. A.1, the same value as regression.objective)
    gap: float             # duality gap at the last check: objective - optimum <= gap
    iterations: int        # working-set rounds
    converged: bool        # no KKT violation outside the working set and the inner solver converged
    working_set: int       # coefficients in the last working set


def _pairs(H: int, W: int, C: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat index of ``-k`` for every flat ``(c, i, j)``, and whether k is self-conjugate: ``(CHW,)`` each."""
    neg = (np.arange(C)[:, None] * H * W + conjugate_flat_indices(H, W)[None, :]).ravel()
    return neg, neg == np.arange(C * H * W)


def _subgram(A: np.ndarray, K: np.ndarray, neg: np.ndarray, self_conj: np.ndarray, N: int):
    """Coordinates ``S = K + (-K without self-conjugate)`` and ``G_SS = A_S^H A_S / N`` (complex, C-contiguous)
    from the real Gram of ``[P, Q] = [Re A_K, Im A_K]``: ``A_K^H A_K = PP + QQ + i(PQ - QP)``,
    ``A_K^H conj(A_K) = PP - QQ - i(PQ + QP)`` (products written ``PQ = P^T Q``)."""
    m = len(K)
    AK = A[:, K]
    M = gram(np.concatenate([AK.real, AK.imag], axis=1)) / N       # (2m, 2m) real, dsyrk
    PP, PQ, QQ = M[:m, :m], M[:m, m:], M[m:, m:]
    G11 = PP + QQ + 1j * (PQ - PQ.T)                                  # K x K
    G12 = PP - QQ - 1j * (PQ + PQ.T)                                  # K x (-K), before dropping self-conjugate
    keep = ~self_conj[K]
    S = np.concatenate([K, neg[K[keep]]])
    G = np.empty((len(S), len(S)), complex)
    G[:m, :m] = G11
    G[:m, m:] = G12[:, keep]
    G[m:, :m] = G12[:, keep].conj().T
    G[m:, m:] = G11[np.ix_(keep, keep)].conj()
    return S, G


def _adjoint(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``A^H R`` as ``conj(R^H A)^T``: one complex GEMM on A as stored (``A.conj()`` would copy all of A)."""
    return np.conj(R.conj().T @ A).T


def lasso_working_set(x_hat: np.ndarray, y: np.ndarray, lam: float, tol: float = 1e-10, max_rounds: int = 100,
                      max_sweeps: int = 5000, first: int = 128) -> WorkingSetSolution:
    """Solve eq. A.1's LASSO ``(1/N)|y - f|^2 + 2 lam sum |v_hat_cij|`` by working sets (module docstring).

    x_hat: ``(N, C, H, W)`` complex, the DFT of real images (checked: ``theory.real_basis.check_real_spectrum``);
    y: ``(N,)`` or ``(N, K)`` real. tol: the inner coordinate descent's (as in ``solve_cd``). Returns
    :class:`WorkingSetSolution` with ``v_hat (K, C, H, W)``.
    """
    from theory import _cd
    lam, tol = nonnegative("lam", lam), nonnegative("tol", tol)
    max_rounds, max_sweeps, first = (positive_int(n, v) for n, v in
                                     (("max_rounds", max_rounds), ("max_sweeps", max_sweeps), ("first", first)))
    x_hat, Y = regression_data(x_hat, y)                              # y (N,) or (N, K) -> Y (N, K) float
    check_real_spectrum(x_hat)
    N, C, H, W = x_hat.shape
    n, K = C * H * W, Y.shape[1]
    A = np.ascontiguousarray(x_hat).reshape(N, n)
    Yc = Y.astype(complex)
    b = _adjoint(A, Yc) / N                                           # (n, K)
    neg, self_conj = _pairs(H, W, C)
    rep = np.nonzero(np.arange(n) <= neg)[0]                          # one representative of each pair
    u = np.zeros((n, K), complex)
    S = np.zeros(0, int)
    converged, rounds, sweeps_ok, gap = False, 0, True, np.inf
    for rounds in range(1, max_rounds + 1):
        R = Yc - A[:, S] @ u[S] if len(S) else Yc.copy()              # (N, K) residual
        c = _adjoint(A, R) / N                                        # b - G u, (n, K)
        cmax = np.abs(c).max()
        P = float(np.vdot(R, R).real / N + 2 * lam * np.abs(u).sum())
        theta = R * (min(1.0, lam / cmax) if cmax > 0 else 1.0)
        gap = P - float(2 * np.vdot(Yc, theta).real - np.vdot(theta, theta).real) / N
        score = np.abs(c).max(axis=1) - lam                           # > 0: u_j = 0 is not optimal
        support = np.abs(u).max(axis=1) > 0
        outside = np.ones(n, bool)
        outside[S] = False
        if sweeps_ok and not np.any(score[outside] > 1e-12 * max(lam, 1e-300)):
            converged = True
            break
        score = np.maximum(score, score[neg])                         # a pair enters together
        score[support | support[neg]] = np.inf                        # the support stays
        cand = rep[score[rep] > 0]
        m = min(len(cand), max(first, 2 * int(np.count_nonzero(support[rep]))))
        if m == 0:                                                    # u = 0 and nothing to add: u = 0 is optimal
            converged = True
            break
        Kset = np.sort(cand[np.argpartition(-score[cand], m - 1)[:m]]) if m < len(cand) else cand
        S, G = _subgram(A, Kset, neg, self_conj, N)
        uS = np.ascontiguousarray(u[S])
        GuS = G @ uS
        sweeps = _cd.cd_lasso(G, np.ascontiguousarray(b[S]), uS, GuS, lam, tol, max_sweeps)
        sweeps_ok = sweeps < max_sweeps
        u[:] = 0
        u[S] = uS
    v = np.conj(u).T.reshape(K, C, H, W)
    v = conjugate_symmetrise(v)                                       # exact symmetry (real predictor)
    f = (A @ np.conj(v.reshape(K, n)).T).real                        # (N, K): f = X_hat u, real
    objective = float(np.sum((Y - f) ** 2) / N + 2 * lam * np.abs(v).sum())
    return WorkingSetSolution(v, objective, float(gap), rounds, converged, len(S))
