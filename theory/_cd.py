"""Compiled (numba) coordinate-descent kernels for ``theory.regression`` (covariance form).

Problem: ``min_u u^H G u - 2 Re tr(b^H u) + pen(u)`` with G Hermitian PSD ``(n, n)``, u, b ``(n, K)``.

* ``cd_lasso``: pen = 2 lam sum |u_jk|. Each complex coordinate has the exact minimiser
  ``u = (c / G_jj) max(1 - lam / |c|, 0)``, ``c = b_jk - (G u)_jk + G_jj u_jk`` (G_jj is real).
* ``bcd_nuclear``: pen = 2 lam sum_p |U_p|_1 over row blocks ``U_p`` (the C x K frequency blocks);
  each block visit takes ``inner`` proximal-gradient steps with step ``1 / lambda_max(G_pp)``; a zero
  block whose KKT condition ``||c||_op <= lam`` already holds (checked through ``||c||_F``) is skipped.

Both keep ``Gu = G u`` up to date (O(n) per changed coordinate; G[:, j] = conj(G[j, :])) and stop when
the largest coordinate change in a sweep is below ``tol`` times the largest |u|.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def cd_lasso(G, b, u, Gu, lam, tol, max_sweeps):
    n, K = u.shape
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        max_d = 0.0
        max_u = 0.0
        for j in range(n):
            gjj = G[j, j].real
            if gjj <= 0.0:
                continue
            for k in range(K):
                c = b[j, k] - Gu[j, k] + gjj * u[j, k]
                mod = abs(c)
                new = 0j
                if mod > lam:
                    new = c / gjj * (1.0 - lam / mod)
                d = new - u[j, k]
                if d != 0:
                    for i in range(n):
                        Gu[i, k] += np.conj(G[j, i]) * d
                    u[j, k] = new
                    if abs(d) > max_d:
                        max_d = abs(d)
                if abs(new) > max_u:
                    max_u = abs(new)
        if max_d <= tol * max(max_u, 1e-300):
            break
    return sweeps


@njit(cache=True)
def _prox_nuclear_block(Z, t, out):
    """``out = argmin_V |V - Z|_F^2 / 2 + t |V|_1``: singular-value soft-thresholding; a C x 1 block (K = 1)
    is a vector, whose only singular value is its norm, so no SVD is needed."""
    C, K = Z.shape
    if K == 1:
        nrm = np.sqrt(np.sum(np.abs(Z[:, 0]) ** 2))
        f = max(1.0 - t / nrm, 0.0) if nrm > 0 else 0.0
        for i in range(C):
            out[i, 0] = Z[i, 0] * f
        return
    W, s, Vh = np.linalg.svd(Z, full_matrices=False)
    for q in range(s.shape[0]):
        s[q] = max(s[q] - t, 0.0)
    out[:, :] = (W * s) @ Vh


@njit(cache=True)
def bcd_nuclear(G, b, u, Gu, rows, a, lam, tol, max_sweeps, inner):
    n, K = u.shape
    P, C = rows.shape
    # work buffers, allocated once (per-block allocations cost more than the arithmetic at C = 3)
    Gpp = np.empty((C, C), dtype=np.complex128)
    U = np.empty((C, K), dtype=np.complex128)
    cb = np.empty((C, K), dtype=np.complex128)
    V = np.empty((C, K), dtype=np.complex128)
    Z = np.empty((C, K), dtype=np.complex128)
    D = np.empty((C, K), dtype=np.complex128)
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        max_d = 0.0
        max_u = 0.0
        for p in range(P):
            r = rows[p]
            for i in range(C):
                for j in range(C):
                    Gpp[i, j] = G[r[i], r[j]]
            zero = True
            for i in range(C):
                for k in range(K):
                    U[i, k] = u[r[i], k]
                    if U[i, k] != 0:
                        zero = False
            # c = b_p - (G u)_p + G_pp U_p: the linear term with block p's own contribution removed
            cnorm2 = 0.0
            for i in range(C):
                for k in range(K):
                    acc = b[r[i], k] - Gu[r[i], k]
                    for j in range(C):
                        acc += Gpp[i, j] * U[j, k]
                    cb[i, k] = acc
                    cnorm2 += abs(acc) ** 2
            # a zero block stays zero when ||c||_op <= lam (its KKT condition); ||c||_F bounds ||c||_op
            if zero and np.sqrt(cnorm2) <= lam:
                continue
            V[:, :] = U
            for _ in range(inner):   # proximal-gradient steps on the block subproblem, step 1 / lambda_max(G_pp)
                for i in range(C):
                    for k in range(K):
                        acc = 0j
                        for j in range(C):
                            acc += Gpp[i, j] * V[j, k]
                        Z[i, k] = V[i, k] - (acc - cb[i, k]) / a[p]
                _prox_nuclear_block(Z, lam / a[p], V)
            dmax = 0.0
            vmax = 0.0
            for i in range(C):
                for k in range(K):
                    D[i, k] = V[i, k] - U[i, k]
                    dmax = max(dmax, abs(D[i, k]))
                    vmax = max(vmax, abs(V[i, k]))
            if dmax > 0:
                for jj in range(C):          # row r[jj] of G is contiguous: G[:, j] = conj(G[j, :])
                    Gr = G[r[jj]]
                    for k in range(K):
                        dk = D[jj, k]
                        if dk != 0:
                            for i in range(n):
                                Gu[i, k] += np.conj(Gr[i]) * dk
                for i in range(C):
                    for k in range(K):
                        u[r[i], k] = V[i, k]
                if dmax > max_d:
                    max_d = dmax
            if vmax > max_u:
                max_u = vmax
        if max_d <= tol * max(max_u, 1e-300):
            break
    return sweeps
