"""Small linear-algebra helpers shared by the theory modules and the tests: Haar-random unitaries and
the relative error every check reports."""
from __future__ import annotations

import numpy as np


def haar_unitary(rng: np.random.Generator, n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """Haar-random ``n x n`` unitaries of shape ``batch + (n, n)``: QR of a complex Gaussian, with the
    phases of R's diagonal moved into Q (without that fix QR's output is not Haar-distributed)."""
    Z = rng.standard_normal((*batch, n, n)) + 1j * rng.standard_normal((*batch, n, n))
    Q, R = np.linalg.qr(Z)
    d = np.diagonal(R, axis1=-2, axis2=-1)
    return Q * (d / np.abs(d))[..., None, :]


def relative_error(a, b) -> float:
    """``max |a - b| / max |b|`` elementwise, on b's scale (the smallest positive float when b is 0)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), np.finfo(float).tiny))


def gram(X: np.ndarray) -> np.ndarray:
    """``X^T X`` for ``X: (N, d)`` float64 (eq. 4.15's Gram in pixel space, times N) by a symmetric rank-N
    update (BLAS ``dsyrk``: N d^2 flops instead of the general product's 2 N d^2; on this machine's OpenBLAS
    no faster, see benchmarks/README.md), mirrored to the full symmetric ``(d, d)``."""
    from scipy.linalg.blas import dsyrk
    X = np.asarray(X, dtype=np.float64)
    # X C-contiguous (N, d) is X.T Fortran-contiguous (d, N): dsyrk(a = X.T, trans=0) = X.T @ X, no copy
    return mirror_upper(dsyrk(1.0, X.T, trans=0, lower=0))


def mirror_upper(U: np.ndarray, block: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``U`` onto its lower one in place, block by block (cache-sized
    transposes instead of a 4.7-million-entry fancy index at d = 3072)."""
    d = U.shape[0]
    for i in range(0, d, block):
        for j in range(i, d, block):
            blk = U[i:i + block, j:j + block]
            if i == j:
                lo = np.tril_indices(blk.shape[0], -1)
                blk[lo] = blk.T[lo]
            else:
                U[j:j + block, i:i + block] = blk.T
    return U


def refined_gram_solve(Z: np.ndarray, rhs: np.ndarray, lam: float, max_steps: int = 30,
                       to_floor: bool = False) -> np.ndarray | None:
    """``(Z^T Z / N + lam I) x = rhs`` for ``Z: (N, d)`` float64, ``rhs: (d, K)``, in mixed precision: the Gram in
    float32 (``ssyrk``, twice ``dsyrk``'s rate), its Cholesky in float64 as the approximate inverse, then
    iterative refinement whose residuals ``r = rhs - Z^T (Z x) / N - lam x`` use the float64 Z (O(N d) each).
    Stops as LAPACK's ``dsposv`` does: each column's ``max|r| <= max|x| * ||A||_F * eps * sqrt(d)`` (a float64
    backward-stable answer: the float64 system's solution, whatever the float32 round-off). Returns None
    when that is not reached in ``max_steps`` or the residual grows (cond(G + lam I) near 1 / float32
    epsilon, a singular Gram): the caller then solves in float64, as ``dsposv`` falls back.

    to_floor=True: after that test holds, keep refining while a step at least halves the largest residual
    (to the floor of the float64 residual itself), so the answer is as accurate as a float64 Cholesky solve
    of the same system, not only backward stable (the forward error of the two differs by up to cond x the
    test's bound otherwise; measured 1e-8 relative at cond 2e6 on 3072 pixel features)."""
    import scipy.linalg as sla
    from scipy.linalg.blas import ssyrk
    N, d = Z.shape
    G = mirror_upper(ssyrk(1.0, Z.astype(np.float32).T, trans=0, lower=0).astype(np.float64)) / N
    G[np.diag_indices_from(G)] += lam
    bound = np.linalg.norm(G) * np.finfo(float).eps * np.sqrt(d)
    try:
        c = sla.cho_factor(G, lower=False, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    x = sla.cho_solve(c, rhs, check_finite=False)
    prev, passed, x_prev = np.inf, False, x
    for _ in range(max_steps + 1):
        r = rhs - (Z.T @ (Z @ x) / N + lam * x)
        size = np.abs(r).max(axis=0)
        if passed and not size.max() < prev / 2:         # at the floor: the previous x was as good
            return x_prev
        passed = passed or bool(np.all(size <= np.abs(x).max(axis=0) * bound))
        if passed and not to_floor:
            return x
        if not passed and (not np.all(np.isfinite(size)) or size.max() >= prev):   # diverging: float32 too poor
            return None
        prev, x_prev = size.max(), x.copy()
        x += sla.cho_solve(c, r, check_finite=False)
    return x if passed else None
