"""Schatten p-(quasi)norms (paper Def. 4.6, eq. 4.7) and the balanced factorization (eq. B.17).

All functions are batched: a matrix argument has shape ``(..., m, n)`` and the
leading axes are kept, so one call handles every frequency block of a
``(H, W, K, C)`` stack (see ``theory.dft.to_blocks``).

Rank tolerance: singular values ``s_i <= rtol * s_max`` (per matrix) are set to
exactly zero before ``s^p`` is taken. Without it a round-off singular value of
1e-16 contributes ``1e-16^0.05 = 0.16`` to ``sum s^p`` at p = 0.05, and a
rank-deficient matrix looks full-rank. The default, ``max(m, n) * eps``, is the
one ``numpy.linalg.matrix_rank`` uses.
"""
from __future__ import annotations

import math

import numpy as np

from theory._validate import as_array, positive_int, schatten_exponent


def default_rtol(shape: tuple[int, ...], dtype) -> float:
    """The default relative rank tolerance ``max(m, n) * eps(dtype)``."""
    return max(shape[-2:]) * float(np.finfo(np.result_type(dtype, np.float32)).eps)


def _matrices(name: str, A) -> np.ndarray:
    A = as_array(name, A, ndim_min=2)
    if A.shape[-1] == 0 or A.shape[-2] == 0:
        raise ValueError(f"{name}: expected non-empty matrices, got shape {A.shape}")
    return A


def singular_values(A, rtol: float | None = None) -> np.ndarray:
    """Singular values of every matrix in a stack, descending, those ``<= rtol * s_max`` set to 0.

    A: ``(..., m, n)`` real or complex; returns ``(..., min(m, n))`` real.
    """
    A = _matrices("A", A)
    m, n = A.shape[-2:]
    # a tall (or wide) block is first reduced to its small square R factor: QR is backward
    # stable and keeps the singular values, and the SVD of R is cheaper (10x3 blocks: ~1.8x)
    if m >= 2 * n:
        s = np.linalg.svd(np.linalg.qr(A, mode="r"), compute_uv=False)
    elif n >= 2 * m:
        s = np.linalg.svd(np.linalg.qr(np.swapaxes(A, -1, -2).conj(), mode="r"), compute_uv=False)
    else:
        s = np.linalg.svd(A, compute_uv=False)
    tol = default_rtol(A.shape, A.dtype) if rtol is None else float(rtol)
    if not 0 <= tol < 1:
        raise ValueError(f"rtol: expected a number in [0, 1), got {rtol!r}")
    return np.where(s > tol * s[..., :1], s, 0.0)


def schatten_power(A, p: float, rtol: float | None = None) -> np.ndarray:
    """``|A|_p^p = sum_i s_i(A)^p`` (eq. 4.7 without the outer root), for finite p > 0.

    This is the penalty the paper uses: ``|v_hat_ij|_{2/L}^{2/L}`` in eq. 4.10 / B.14.
    A: ``(..., m, n)``; returns ``(...)``.
    """
    p = schatten_exponent("p", p, allow_inf=False)
    s = singular_values(A, rtol)
    # 0^p = 0 for p > 0; computing it through where() keeps tiny p well defined
    return np.sum(np.where(s > 0, s, 1.0) ** p * (s > 0), axis=-1)


def schatten_norm(A, p: float, rtol: float | None = None) -> np.ndarray:
    """Schatten p-(quasi)norm ``|A|_p = (sum_i s_i^p)^(1/p)`` (paper eq. 4.7); ``p = inf`` gives s_max.

    A norm for p >= 1, a quasi-norm for 0 < p < 1 (the triangle inequality then fails,
    see ``tests/test_schatten.py``). p = 1: nuclear norm; p = 2: Frobenius norm.
    A: ``(..., m, n)``; returns ``(...)``.
    """
    p = schatten_exponent("p", p)
    if math.isinf(p):
        return singular_values(A, rtol)[..., 0]
    return _norm_from_values(singular_values(A, rtol), p)


def _norm_from_values(s: np.ndarray, p: float) -> np.ndarray:
    # factor out s_max before the power so that tiny p or huge s neither overflow nor underflow
    smax = s[..., 0]
    safe = np.where(smax > 0, smax, 1.0)
    ratio = s / safe[..., None]
    terms = np.where(ratio > 0, np.where(ratio > 0, ratio, 1.0) ** p, 0.0)
    return np.where(smax > 0, safe * np.sum(terms, axis=-1) ** (1.0 / p), 0.0)


def factorization_penalty(factors) -> np.ndarray:
    """``(1/L) sum_l |A_l|_2^2`` (right-hand side of Lemma B.13, eq. B.14), batched over leading axes.

    factors: sequence of L arrays ``(..., m_l, n_l)``; returns ``(...)``.
    """
    if len(factors) == 0:
        raise ValueError("factors: expected at least one matrix, got an empty sequence")
    total = sum(np.sum(np.abs(as_array(f"factors[{l}]", A)) ** 2, axis=(-2, -1)) for l, A in enumerate(factors))
    return total / len(factors)


def product(factors) -> np.ndarray:
    """``A_L ... A_1`` for factors given as ``[A_1, ..., A_L]`` (composable, Def. B.11), batched."""
    out = factors[0]
    for l, A in enumerate(factors[1:], start=2):
        if A.shape[-1] != out.shape[-2]:
            raise ValueError(f"factors[{l - 1}]: expected {out.shape[-2]} columns to compose with the "
                             f"previous factor, got shape {A.shape}")
        out = A @ out
    return out


def _widths(L: int, widths, r: int, rank: int) -> list[int]:
    if widths is None:
        return [r] * (L - 1)
    widths = [positive_int(f"widths[{l}]", w) for l, w in enumerate(widths)]
    if len(widths) != L - 1:
        raise ValueError(f"widths: expected L - 1 = {L - 1} inner widths, got {len(widths)}")
    if min(widths, default=rank) < rank:
        raise ValueError(f"widths: every inner width must be >= rank(B) = {rank}, got {widths}")
    return widths


def balanced_factorization(B, L: int, widths=None, rtol: float | None = None) -> list[np.ndarray]:
    """The balanced factorization of eq. B.17: ``B = (U S^(1/L)) S^(1/L) ... (S^(1/L) V^*)``.

    Its penalty attains Lemma B.13: ``(1/L) sum_l |A_l|_2^2 = |B|_{2/L}^{2/L}`` (eq. B.16).
    Inner widths (default ``min(m, n)``) may be anything >= rank(B): singular triples beyond the
    width are (numerically) zero and dropped, extra width is zero-padded.

    B: ``(..., m, n)``; L >= 1; returns ``[A_1, ..., A_L]`` with ``A_1: (..., w_1, n)``,
    ``A_l: (..., w_l, w_{l-1})``, ``A_L: (..., m, w_{L-1})`` and ``A_L ... A_1 = B``.
    """
    B = _matrices("B", B)
    L = positive_int("L", L)
    if L == 1:
        return [B.copy()]
    U, s, Vh = np.linalg.svd(B, full_matrices=False)
    tol = default_rtol(B.shape, B.dtype) if rtol is None else float(rtol)
    s = np.where(s > tol * s[..., :1], s, 0.0)
    r = s.shape[-1]
    rank = int(np.max(np.count_nonzero(s, axis=-1))) if s.size else 0
    ws = _widths(L, widths, r, rank)
    root = s ** (1.0 / L)  # (..., r)

    def diag_block(rows: int, cols: int) -> np.ndarray:
        out = np.zeros(B.shape[:-2] + (rows, cols), dtype=root.dtype)
        k = min(rows, cols, r)
        idx = np.arange(k)
        out[..., idx, idx] = root[..., :k]
        return out

    first = diag_block(ws[0], r) @ Vh                          # S^(1/L) V^*, padded to w_1 rows
    last = U @ diag_block(r, ws[-1])                           # U S^(1/L), padded to w_{L-1} columns
    middle = [diag_block(ws[l], ws[l - 1]) for l in range(1, L - 1)]
    return [first, *middle, last]


def conjugate_symmetric_factorization(B, L: int, widths=None, rtol: float | None = None) -> list[np.ndarray]:
    """Balanced factorization (eq. B.17) of a conjugate-symmetric stack of frequency blocks.

    For a real filter, the blocks satisfy ``B[-k] = conj(B[k])`` (k on the H x W frequency
    grid). This returns factors with the same symmetry, ``A_l[-k] = conj(A_l[k])``, so each
    factor is the DFT of a *real* array: each pair {k, -k} is factorized once and mirrored, and
    self-conjugate frequencies (k = -k: DC and the Nyquist lines), where B[k] is real, get a real
    SVD and real factors.

    B: ``(H, W, m, n)`` complex with ``B[-k] = conj(B[k])``; returns ``[A_1, ..., A_L]``,
    each ``(H, W, w_l, w_{l-1})`` (shapes as in :func:`balanced_factorization`).
    """
    from theory.dft import conjugate_indices

    B = _matrices("B", B)
    if B.ndim != 4:
        raise ValueError(f"B: expected shape (H, W, m, n), got {B.shape}")
    H, W = B.shape[:2]
    I, J = conjugate_indices(H, W)
    mirror = np.conj(B[I, J])
    scale = max(float(np.max(np.abs(B))), np.finfo(float).tiny)
    if np.max(np.abs(B - mirror)) > 1e-8 * scale:
        raise ValueError("B: expected conjugate-symmetric blocks B[-k] = conj(B[k]) "
                         "(the DFT of a real filter)")
    factors = balanced_factorization(B, L, widths, rtol)
    flat = np.arange(H * W).reshape(H, W)
    canonical = flat < flat[I, J]         # one representative of each {k, -k} pair
    selfconj = flat == flat[I, J]         # k = -k: DC and Nyquist frequencies
    real_factors = balanced_factorization(B[selfconj].real, L, widths, rtol)
    out = []
    for A, Areal in zip(factors, real_factors):
        A = np.array(A, dtype=complex)
        sym = np.where(canonical[..., None, None], A, np.conj(A[I, J]))
        sym[selfconj] = Areal
        out.append(sym)
    return out
