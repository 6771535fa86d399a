"""The linear CNN of eq. 3.1, its Fourier form (Lemma 3.11, eq. 3.12) and effective predictor (Lemma 4.3).

Weights are a list ``ws = [w^1, ..., w^L]`` of real arrays with
``w^l: (C_l, C_{l-1}, H, W)`` (``C_0 = C`` input channels, ``C_L = K`` outputs; the
paper's ``w^l_{c m n d}`` is ``w^l[c, d, m, n]``); full ``H x W`` kernels, no bias.
``f(x) = w^{L,T}(w^{L-1} * ... * (w^1 * x))`` with ``*`` the circular convolution of eq. 3.2
and ``w^{L,T}`` the contraction of eq. 3.3.

Exact constants (derived once here, tested in ``tests/test_linear_cnn.py``; N = HW).
With the unitary DFT, each convolution contributes a factor sqrt(N) (exact eq. 3.7) and
the final contraction a conjugate (exact eq. 3.8):

    f(x) = sum_k conj(w^L_hat_k) (sqrt N)^(L-1) w^{L-1}_hat_k ... w^1_hat_k x_hat_k      (eq. 3.12)

where ``w_hat_k`` is the ``C_l x C_{l-1}`` block at frequency k. Writing
``f(x) = sum_k conj(v_hat_k) x_hat_k = sum(v x)`` makes ``v_hat`` the DFT of the real
end-to-end filter ``v`` (so ``v_hat[-k] = conj(v_hat[k])`` and sensitivities are ``|v_hat|``):

    v_hat_k = N^((L-1)/2) * w^L_hat_k conj(w^{L-1}_hat_k) ... conj(w^1_hat_k)               (eq. 4.4)

The paper's eq. 4.4 reads ``v_hat = w^L_hat ... w^1_hat`` with ``f = v_hat^T x_hat``: it drops the
factor ``N^((L-1)/2)`` and the conjugates (the singular values, hence every Schatten norm, are
unaffected by the conjugates but scale with the factor).

Theorem 4.9 with its constant: over real weights with a given end-to-end ``v_hat``,

    min sum_l |w^l|_2^2 = L * N^(-(L-1)/L) * sum_k |v_hat_k|_{2/L}^{2/L}

(cases (i), (ii) of the theorem; in general given Conjecture 4.13), attained by
:func:`balanced_weights`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theory._validate import as_array, positive_int
from theory.dft import _is_torch, circular_conv, contract, dft2, fourier_inner, fourier_product, from_blocks, idft2, to_blocks
from theory.schatten import conjugate_symmetric_factorization, schatten_power


def check_weights(ws: Sequence) -> list[np.ndarray]:
    """Validate a weight list for eq. 3.1 and return it as float arrays.

    Expected: L >= 1 real 4-D arrays ``w^l: (C_l, C_{l-1}, H, W)``, composable channel counts,
    one common spatial size.
    """
    if isinstance(ws, np.ndarray) or not isinstance(ws, Sequence) or len(ws) < 1:
        raise ValueError("ws: expected a list of L >= 1 weight arrays [w^1, ..., w^L]")
    out = []
    for l, w in enumerate(ws, start=1):
        w = as_array(f"ws[{l - 1}] (w^{l})", w, ndim=4)
        if np.iscomplexobj(w):
            raise ValueError(f"ws[{l - 1}] (w^{l}): expected real weights, got dtype {w.dtype}")
        if out and w.shape[1] != out[-1].shape[0]:
            raise ValueError(f"ws[{l - 1}] (w^{l}): expected {out[-1].shape[0]} input channels "
                             f"(the outputs of w^{l - 1}), got shape {w.shape}")
        if out and w.shape[2:] != out[0].shape[2:]:
            raise ValueError(f"ws[{l - 1}] (w^{l}): expected spatial size {out[0].shape[2:]}, got {w.shape[2:]}")
        out.append(w.astype(np.float64, copy=False))
    return out


def random_weights(channels: Sequence[int], H: int, W: int, rng: np.random.Generator,
                   scale: float | None = None) -> list[np.ndarray]:
    """Gaussian weights for eq. 3.1 with ``channels = (C, C_1, ..., C_{L-1}, K)``.

    Default scale ``1 / sqrt(C_{l-1} H W)`` keeps activations O(1) (He-style fan-in).
    Returns ``[w^1, ..., w^L]`` with ``w^l: (channels[l], channels[l-1], H, W)``.
    """
    channels = [positive_int(f"channels[{i}]", c) for i, c in enumerate(channels)]
    if len(channels) < 2:
        raise ValueError(f"channels: expected (C, C_1, ..., K) with at least 2 entries, got {channels}")
    H, W = positive_int("H", H), positive_int("W", W)
    return [rng.standard_normal((co, ci, H, W)) * (scale if scale is not None else 1 / np.sqrt(ci * H * W))
            for ci, co in zip(channels[:-1], channels[1:])]


def _check_input(ws: list[np.ndarray], x, name: str = "x") -> np.ndarray:
    x = as_array(name, x, ndim_min=3)
    if x.shape[-3:] != ws[0].shape[1:]:
        raise ValueError(f"{name}: expected trailing shape (C, H, W) = {ws[0].shape[1:]}, got {x.shape[-3:]}")
    return x


def forward_pixel(ws: Sequence, x) -> np.ndarray:
    """f(x) of eq. 3.1 in pixel space: direct circular convolutions (eq. 3.2), then eq. 3.3.

    No FFT is used (``circular_conv(method="direct")``), so this is independent of the Fourier paths.
    x: ``(..., C, H, W)`` real; returns ``(..., K)``.
    """
    ws = check_weights(ws)
    h = _check_input(ws, x)
    for w in ws[:-1]:
        h = circular_conv(w, h, method="direct")
    return contract(ws[-1], h)


def forward_fourier(ws: Sequence, x_hat) -> np.ndarray:
    """The Fourier-space network f_hat(x_hat) of Lemma 3.11 (eq. 3.12), with its exact constants.

    Layer by layer: ``h_hat <- sqrt(HW) * w^l_hat . h_hat`` (exact eq. 3.7), then
    ``f = sum conj(w^L_hat) h_hat`` (exact eq. 3.8). x_hat: ``(..., C, H, W)`` complex
    (``dft2(x)``); returns ``(..., K)`` complex, whose imaginary part vanishes for real x. Accepts torch
    tensors for ``ws`` and ``x_hat`` too (``theory.equivalence`` trains through this forward pass).
    """
    if _is_torch(x_hat):  # the same layers on torch tensors (autograd through the weights), unchecked
        h = x_hat
    else:
        ws = check_weights(ws)
        h = _check_input(ws, x_hat, "x_hat")
    for w in ws[:-1]:
        h = fourier_product(dft2(w), h)
    return fourier_inner(dft2(ws[-1]), h)


def v_hat(ws: Sequence) -> np.ndarray:
    """Effective Fourier predictor of Lemma 4.3 (eq. 4.4) with the exact constant and conjugates.

    ``v_hat_k = (HW)^((L-1)/2) * w^L_hat_k conj(w^{L-1}_hat_k) ... conj(w^1_hat_k)`` per frequency k,
    so that ``f(x) = sum_k conj(v_hat_k) x_hat_k`` and ``v_hat = dft2(v)`` for the real
    end-to-end filter v. Returns ``(K, C, H, W)`` complex (per frequency a K x C block).
    """
    ws = check_weights(ws)
    H, W = ws[0].shape[-2:]
    blocks = [to_blocks(dft2(w)) for w in ws]            # (H, W, C_l, C_{l-1})
    prod = blocks[0].conj()
    for b in blocks[1:-1]:
        prod = b.conj() @ prod
    if len(blocks) > 1:
        prod = blocks[-1] @ prod
    else:
        prod = blocks[0]
    return float(H * W) ** ((len(ws) - 1) / 2) * from_blocks(prod)


def effective_filter(ws: Sequence) -> np.ndarray:
    """The real end-to-end filter v with ``f(x) = contract(v, x)``: ``idft2(v_hat(ws)).real``. Shape ``(K, C, H, W)``."""
    return idft2(v_hat(ws)).real


def weight_penalty(ws: Sequence) -> float:
    """``sum_l |w^l|_2^2``, the weight-decay term of eq. 4.1 (without lambda)."""
    return float(sum(np.sum(w ** 2) for w in check_weights(ws)))


def min_weight_penalty(v_hat_, L: int) -> float:
    """Theorem 4.9's penalty with its exact constant: ``L * N^(-(L-1)/L) * sum_k |v_hat_k|_{2/L}^{2/L}``.

    The minimum of ``sum_l |w^l|_2^2`` over real L-layer weights (inner widths >= the block ranks)
    whose eq. 4.4 predictor is ``v_hat`` (proved for L <= 2 or 1x1 blocks; in general it rests on
    Conjecture 4.13). The paper's eq. 4.10 writes ``L * sum_k |v_hat_k|_{2/L}^{2/L}``; the factor
    ``N^(-(L-1)/L)`` (N = HW) comes from the sqrt(N) of each exact convolution theorem.
    v_hat_: ``(K, C, H, W)`` complex; returns a float.
    """
    v = as_array("v_hat", v_hat_, ndim=4)
    L = positive_int("L", L)
    H, W = v.shape[-2:]
    return float(L * (H * W) ** (-(L - 1) / L) * np.sum(schatten_power(to_blocks(v), 2.0 / L)))


def balanced_weights(v_hat_, L: int, widths: Sequence[int] | None = None) -> list[np.ndarray]:
    """Real L-layer weights with predictor ``v_hat`` and the smallest ``sum_l |w^l|^2`` (eq. B.17 per frequency).

    Per frequency, ``B_k = v_hat_k / N^((L-1)/2)`` gets the balanced factorization ``F_L ... F_1``
    (conjugate-symmetric across k so that every layer is real), and
    ``w^L_hat = F_L``, ``w^l_hat = conj(F_l)`` for l < L inverts eq. 4.4.
    v_hat_: ``(K, C, H, W)``, the DFT of a real filter; widths: ``(C_1, ..., C_{L-1})``, each
    >= the largest block rank (default ``min(K, C)``). Returns ``[w^1, ..., w^L]``.
    """
    v = as_array("v_hat", v_hat_, ndim=4)
    L = positive_int("L", L)
    H, W = v.shape[-2:]
    factors = conjugate_symmetric_factorization(to_blocks(v) / float(H * W) ** ((L - 1) / 2), L, widths)
    hats = [np.conj(F) for F in factors[:-1]] + [factors[-1]]
    return [np.ascontiguousarray(idft2(from_blocks(F)).real) for F in hats]
