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
def bcd_nuclear(G, b, u, Gu, rows, a, lam, tol, max_sweeps, inner):
    n, K = u.shape
    P, C = rows.shape
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        max_d = 0.0
        max_u = 0.0
        for p in range(P):
            r = rows[p]
            Gpp = np.empty((C, C), dtype=np.complex128)
            for i in range(C):
                for j in range(C):
                    Gpp[i, j] = G[r[i], r[j]]
            U = np.empty((C, K), dtype=np.complex128)
            cb = np.empty((C, K), dtype=np.complex128)
            for i in range(C):
                for k in range(K):
                    U[i, k] = u[r[i], k]
            # c = b_p - (G u)_p + G_pp U_p: the linear term with block p's own contribution removed
            GppU = Gpp @ U
            for i in range(C):
                for k in range(K):
                    cb[i, k] = b[r[i], k] - Gu[r[i], k] + GppU[i, k]
            # a zero block stays zero when ||c||_op <= lam (its KKT condition); ||c||_F bounds ||c||_op
            if np.max(np.abs(U)) == 0.0 and np.sqrt(np.sum(np.abs(cb) ** 2)) <= lam:
                continue
            V = U.copy()
            for _ in range(inner):
                Z = V - (Gpp @ V - cb) / a[p]
                W, s, Vh = np.linalg.svd(Z, full_matrices=False)
                for q in range(s.shape[0]):
                    s[q] = max(s[q] - lam / a[p], 0.0)
                V = (W * s) @ Vh
            D = V - U
            dmax = np.max(np.abs(D))
            if dmax > 0:
                for i in range(n):
                    for jj in range(C):
                        g = np.conj(G[r[jj], i])
                        for k in range(K):
                            Gu[i, k] += g * D[jj, k]
                for i in range(C):
                    for k in range(K):
                        u[r[i], k] = V[i, k]
                if dmax > max_d:
                    max_d = dmax
            vmax = np.max(np.abs(V))
            if vmax > max_u:
                max_u = vmax
        if max_d <= tol * max(max_u, 1e-300):
            break
    return sweeps
