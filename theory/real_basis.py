"""The real orthonormal Fourier basis of pixel space and the design in it, straight from ``x_hat``.

For real images the unitary DFT pairs ``k`` with ``-k`` (eq. 3.6), so ``sqrt2 Re e_k`` and ``sqrt2 Im e_k``
over one representative of each pair, and ``e_k`` at the self-conjugate k, form a real orthonormal basis Q.
Since ``<x, e_k> = conj(x_hat_k)`` for real x, the design ``Z = X Q`` is a gather of ``Re x_hat`` and
``-Im x_hat`` columns times sqrt2: O(N CHW) and no FFT. Being orthogonal, Q leaves eq. 4.15's ridge and
eq. A.1's LASSO the same problems in ``beta = Q^T v`` (the LASSO's moduli become group norms); the cvxpy
reference (``theory.cvx_reference``), the ridge from data (``theory.regression.ridge``) and the peer
benchmarks use this one definition.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from theory._validate import as_array
from theory.dft import conjugate_flat_indices, idft2


def real_fourier_columns(shape: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """The column order of the real orthonormal Fourier basis (:func:`real_fourier_basis`), without the basis.

    For each channel c and each pair {k, -k} (k the smaller flat index): ``sqrt(2) Re e_k`` then ``sqrt(2) Im e_k``;
    for each self-conjugate k: ``e_k`` (real). Returns per column ``(channel, flat frequency index, imaginary?,
    scale)`` and per group ``weight``: the factor ``c_g`` with ``sum_{all k} |v_hat_k| = sum_g c_g |beta_g|``
    (sqrt2 pairs, 1 self), and per column its ``group`` id."""
    C, H, W = shape
    neg = conjugate_flat_indices(H, W)
    chan, freq, imag, group, weight = [], [], [], [], []
    for c in range(C):
        for p in range(H * W):
            if p > neg[p]:
                continue
            g = len(weight)
            pair = p != neg[p]
            chan += [c] * (1 + pair)
            freq += [p] * (1 + pair)
            imag += [False, True][:1 + pair]
            group += [g] * (1 + pair)
            weight.append(np.sqrt(2) if pair else 1.0)
    weight = np.array(weight)
    group = np.array(group)
    return np.array(chan), np.array(freq), np.array(imag), weight[group], group, weight


def real_fourier_basis(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real orthonormal basis of pixel space built from the unitary Fourier basis, ``Q: (CHW, CHW)``.

    Columns in the order of :func:`real_fourier_columns`. With ``v = Q beta``: ``beta = (sqrt2 Re v_hat_k,
    -sqrt2 Im v_hat_k)``, so ``|v_hat_k| = |beta_pair| / sqrt2``. Returns ``(Q, group, weight)``: each
    column's group id and, per group, the factor ``c_g`` with ``sum_{all k} |v_hat_k| = sum_g c_g |beta_g|``.
    """
    C, H, W = shape
    chan, freq, imag, scale, group, weight = real_fourier_columns(shape)
    unit = np.zeros((len(chan), C, H * W), complex)
    unit[np.arange(len(chan)), chan, freq] = 1
    e = idft2(unit.reshape(-1, C, H, W)).reshape(len(chan), -1)   # e_k in pixel space, one per column
    return (np.where(imag[:, None], e.imag, e.real) * scale[:, None]).T, group, weight


@njit(cache=True)
def _pass(x, neg, chan, freq, imag, scale, Z, write):
    """One pass over ``x (N, C, HW)`` complex: ``max|Re x_k - Re x_-k|, |Im x_k + Im x_-k|``, ``max|Re|, |Im|``,
    all finite?; with ``write``, ``Z[n, j] = scale_j (Re or -Im) x[n, chan_j, freq_j]`` for the same image
    while it is in cache."""
    N, C, P = x.shape
    asym, big, finite = 0.0, 0.0, True
    for n in range(N):
        for c in range(C):
            for p in range(P):
                a, b = x[n, c, p], x[n, c, neg[p]]
                if not (np.isfinite(a.real) and np.isfinite(a.imag)):
                    finite = False
                big = max(big, abs(a.real), abs(a.imag))
                asym = max(asym, abs(a.real - b.real), abs(a.imag + b.imag))
        if write:
            for j in range(chan.shape[0]):
                v = x[n, chan[j], freq[j]]
                Z[n, j] = scale[j] * (-v.imag if imag[j] else v.real)
    return asym, big, finite


def _scan(x_hat, write: bool):
    x_hat = as_array("x_hat", x_hat, ndim=4, finite=False)      # finiteness: checked in the pass
    N, C, H, W = x_hat.shape
    x = np.ascontiguousarray(x_hat, dtype=np.complex128).reshape(N, C, H * W)
    chan, freq, imag, scale = real_fourier_columns((C, H, W))[:4]
    Z = np.empty((N, len(chan)) if write else (0, 0))
    asym, big, finite = _pass(x, conjugate_flat_indices(H, W), chan, freq, imag, scale, Z, write)
    if not finite:
        raise ValueError("x_hat: expected finite entries, found NaN or inf")
    if asym > 1e-8 * max(big, np.finfo(float).tiny):
        raise ValueError("x_hat: expected the DFT of real images (x_hat[-k] = conj(x_hat[k]))")
    return Z


def check_real_spectrum(x_hat: np.ndarray) -> None:
    """ValueError unless ``x_hat (N, C, H, W)`` is finite and conjugate-symmetric (eq. 3.6, the DFT of real
    images) to ``1e-8 max|x_hat|``, real and imaginary parts apart: one compiled O(N CHW) pass, no FFT."""
    _scan(x_hat, write=False)


def real_fourier_design(x_hat: np.ndarray) -> np.ndarray:
    """``Z = X Q``: the real images' coordinates in the real Fourier basis (:func:`real_fourier_basis`' column
    order), ``(N, CHW)`` float64, gathered from ``x_hat (N, C, H, W)`` in the same pass as
    :func:`check_real_spectrum`'s check."""
    return _scan(x_hat, write=True)


def from_real_coefficients(beta: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """``v_hat = dft2(Q beta)`` without Q: ``beta (CHW, K)`` in the column order of :func:`real_fourier_columns`
    -> ``(K, C, H, W)`` complex, conjugate-symmetric. ``v_hat_k = (beta_re - i beta_im) / sqrt2`` on a pair's
    representative k, ``conj`` of it at -k, ``beta`` at a self-conjugate k."""
    C, H, W = shape
    chan, freq, imag, scale = real_fourier_columns(shape)[:4]
    K = beta.shape[1]
    v = np.zeros((K, C, H * W), complex)
    np.add.at(v, (slice(None), chan, freq), (beta / scale[:, None] * np.where(imag, -1j, 1.0)[:, None]).T)
    neg = conjugate_flat_indices(H, W)
    rep = np.arange(H * W) < neg                      # pairs' representatives; fill their partners
    v[:, :, neg[rep]] = np.conj(v[:, :, rep])
    return v.reshape(K, C, H, W)
