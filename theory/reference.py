"""Slow, independent references for checks and tests.

Nothing here calls an FFT: the DFT is a dense matrix built from eq. 3.5, the
convolution and contraction are explicit Python loops over eq. 3.2 / 3.3. They
are O(n^2) or worse and meant for tiny sizes only; the fast code in
``theory.dft`` and ``theory.linear_cnn`` is tested against them.
"""
from __future__ import annotations

import numpy as np


def dft_matrix(n: int) -> np.ndarray:
    """Dense unitary 1-D DFT matrix, ``F[k, m] = n^(-1/2) exp(-2 pi i k m / n)`` (eq. 3.5 in 1-D). Shape (n, n)."""
    k = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(k, k) / n) / np.sqrt(n)


def dft2_matrix(H: int, W: int) -> np.ndarray:
    """Dense unitary 2-D DFT acting on row-major flattened ``(H, W)`` arrays: ``kron(F_H, F_W)``. Shape (HW, HW)."""
    return np.kron(dft_matrix(H), dft_matrix(W))


def dft2_dense(x: np.ndarray) -> np.ndarray:
    """eq. 3.5 by a dense matrix product over the last two axes. x: (..., H, W) -> (..., H, W) complex."""
    H, W = x.shape[-2:]
    flat = x.reshape(x.shape[:-2] + (H * W,))
    return (flat @ dft2_matrix(H, W).T).reshape(x.shape)


def circular_conv_loops(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """eq. 3.2 by explicit loops. w: (C_out, C_in, H, W), x: (C_in, H, W) -> (C_out, H, W)."""
    C_out, C_in, H, W = w.shape
    out = np.zeros((C_out, H, W), dtype=np.result_type(w, x))
    for c in range(C_out):
        for i in range(H):
            for j in range(W):
                total = 0.0
                for m in range(H):
                    for n in range(W):
                        mp, np_ = (i - m) % H, (j - n) % W  # m + m' = i (mod H)
                        for d in range(C_in):
                            total += w[c, d, m, n] * x[d, mp, np_]
                out[c, i, j] = total
    return out


def contract_loops(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """eq. 3.3 by explicit loops. w: (K, C, H, W), x: (C, H, W) -> (K,)."""
    K, C, H, W = w.shape
    out = np.zeros(K, dtype=np.result_type(w, x))
    for k in range(K):
        for d in range(C):
            for m in range(H):
                for n in range(W):
                    out[k] += w[k, d, m, n] * x[d, m, n]
    return out


def linear_cnn_loops(ws: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """eq. 3.1 by explicit loops: L-1 convolutions then the contraction. x: (C, H, W) -> (K,)."""
    h = x
    for w in ws[:-1]:
        h = circular_conv_loops(w, h)
    return contract_loops(ws[-1], h)
