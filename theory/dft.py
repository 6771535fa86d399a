"""The one DFT convention of freqsens, and the exact identities it implies.

Convention (paper eq. 3.5/3.6): the unitary 2-D DFT over the last two
(spatial) axes,

    x_hat[..., i, j] = (HW)^(-1/2) sum_{m,n} x[..., m, n] exp(-2 pi i (m i / H + n j / W)),

i.e. ``numpy.fft.fft2(x, norm="ortho")``, computed with ``scipy.fft`` (same transform, same float64 /
complex128 output for every input dtype, faster than ``numpy.fft`` on image batches; ``scipy.fft.set_workers(n)``
around a call uses n threads). Every module (theory and nets) takes
the transform from here; nothing else in the project calls ``fft2`` with a
different ``norm``.

The paper drops constants. Under this convention, with the *true* circular
convolution of eq. 3.2 and real arrays:

* convolution theorem (eq. 3.7, exact):  DFT(w * x) = sqrt(HW) * (w_hat . x_hat)
* Parseval (eq. 3.8, exact):             sum(w x) = sum(conj(w_hat) x_hat)

(eq. 3.7 as printed is off by the factor sqrt(HW); eq. 3.8 as printed omits the
conjugate, which matters because w_hat is complex). Both are proved against
dense DFT matrices and explicit loops in ``tests/test_dft.py``.

Array layout is channel-first: images ``(..., C, H, W)``; conv weights
``(C_out, C_in, H, W)`` (the paper's ``w_{c m n d}`` is ``w[c, d, m, n]``).
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from theory._validate import as_array

NORM = "ortho"  # the unitary DFT of eq. 3.5; torch.fft uses the same keyword
AXES = (-2, -1)


def _at_least_double(a: np.ndarray) -> np.ndarray:
    """numpy.fft's precision for every input (scipy.fft would keep float32 / complex64 in single precision)."""
    return a if a.dtype in (np.float64, np.complex128) else a.astype(np.result_type(a.dtype, np.float64))


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def dft2(x, axes: tuple[int, int] = AXES):
    """Unitary 2-D DFT over the last two axes (paper eq. 3.5, 3.6), or over ``axes``.

    x: ``(..., H, W)`` real or complex (numpy array or torch tensor)
    returns: ``(..., H, W)`` complex, same library as the input.
    """
    if _is_torch(x):
        import torch  # lazily: theory never needs torch at import time
        return torch.fft.fft2(x, dim=axes, norm=NORM)
    x = as_array("x", x, ndim_min=2, finite=False)
    return sfft.fft2(_at_least_double(x), axes=axes, norm=NORM)


def idft2(x_hat):
    """Inverse of :func:`dft2` (unitary, so it is also the adjoint).

    x_hat: ``(..., H, W)`` complex; returns ``(..., H, W)`` complex (take
    ``.real`` when the input is the DFT of a real array).
    """
    if _is_torch(x_hat):
        import torch
        return torch.fft.ifft2(x_hat, norm=NORM)
    x_hat = as_array("x_hat", x_hat, ndim_min=2, finite=False)
    return sfft.ifft2(_at_least_double(x_hat), axes=AXES, norm=NORM)


def conv_theorem_constant(H: int, W: int) -> float:
    """The factor in DFT(w * x) = c * (w_hat . x_hat) under the unitary DFT: c = sqrt(HW).

    The paper's eq. 3.7 writes c = 1; that is exact only for the
    non-unitary "forward-normalised" DFT, not for eq. 3.5.
    """
    return float(np.sqrt(H * W))


def _check_conv_shapes(w: np.ndarray, x: np.ndarray, wname: str, xname: str) -> None:
    if w.ndim != 4:
        raise ValueError(f"{wname}: expected shape (C_out, C_in, H, W), got {w.shape}")
    if x.ndim < 3:
        raise ValueError(f"{xname}: expected shape (..., C_in, H, W), got {x.shape}")
    if x.shape[-3:] != w.shape[1:]:
        raise ValueError(f"{xname}: expected trailing shape (C_in, H, W) = {w.shape[1:]} to match {wname}, "
                         f"got {x.shape[-3:]}")


def fourier_product(w_hat, x_hat):
    """Right-hand side of the exact convolution theorem (eq. 3.7 with its constant).

    ``(w_hat . x_hat)[..., c, i, j] = sqrt(HW) * sum_d w_hat[c, d, i, j] x_hat[..., d, i, j]``
    (eq. 3.9 times sqrt(HW)); equals ``dft2(circular_conv(w, x))``.

    w_hat: ``(C_out, C_in, H, W)``; x_hat: ``(..., C_in, H, W)``; returns ``(..., C_out, H, W)``
    (numpy arrays, or torch tensors when x_hat is one).
    """
    if _is_torch(x_hat):  # the same formula on torch tensors (autograd), shapes unchecked
        import torch
        H, W = w_hat.shape[-2:]
        return conv_theorem_constant(H, W) * torch.einsum("cdij,...dij->...cij", w_hat, x_hat)
    w_hat = as_array("w_hat", w_hat)
    x_hat = as_array("x_hat", x_hat)
    _check_conv_shapes(w_hat, x_hat, "w_hat", "x_hat")
    H, W = w_hat.shape[-2:]
    return conv_theorem_constant(H, W) * np.einsum("cdij,...dij->...cij", w_hat, x_hat)


def circular_conv(w, x, method: str = "fft"):
    """Multi-channel circular convolution of eq. 3.2 (a true convolution, not torch's correlation).

    ``(w * x)[..., c, i, j] = sum_{m + m' = i, n + n' = j (mod H, W)} sum_d w[c, d, m, n] x[..., d, m', n']``

    method="fft": through the exact convolution theorem, ``idft2(fourier_product(dft2(w), dft2(x)))``,
    O(HW log HW) per channel pair. method="direct": eq. 3.2 term by term in pixel space,
    ``sum_{m,n} w[:, :, m, n] @ roll(x, (m, n))``, O((HW)^2) per channel pair, no FFT involved
    (used as the pixel-space side of Lemma 3.11). ``tests/test_dft.py`` pins both to explicit loops.

    w: ``(C_out, C_in, H, W)`` real; x: ``(..., C_in, H, W)`` real; returns ``(..., C_out, H, W)`` real.
    """
    w = as_array("w", w)
    x = as_array("x", x)
    _check_conv_shapes(w, x, "w", "x")
    if np.iscomplexobj(w) or np.iscomplexobj(x):
        raise ValueError("circular_conv: expected real w and x (eq. 3.2 acts on real tensors)")
    if method == "fft":
        return idft2(fourier_product(dft2(w), dft2(x))).real
    if method != "direct":
        raise ValueError(f"method: expected 'fft' or 'direct', got {method!r}")
    H, W = w.shape[-2:]
    out = np.zeros(x.shape[:-3] + (w.shape[0], H, W), dtype=np.result_type(w, x, np.float64))
    for m in range(H):
        for n in range(W):
            # np.roll(x, (m, n))[..., i, j] = x[..., i - m, j - n]: the m' = i - m term of eq. 3.2
            out += np.einsum("cd,...dij->...cij", w[:, :, m, n], np.roll(x, (m, n), axis=AXES))
    return out


def contract(w, x):
    """The contraction ``w^{L,T} x`` of eq. 3.3 ("flatten, then a linear layer").

    ``out[..., k] = sum_{d, m, n} w[k, d, m, n] x[..., d, m, n]``.

    w: ``(K, C, H, W)``; x: ``(..., C, H, W)``; returns ``(..., K)``.
    """
    w = as_array("w", w)
    x = as_array("x", x)
    _check_conv_shapes(w, x, "w", "x")
    return np.einsum("kdmn,...dmn->...k", w, x)


def fourier_inner(w_hat, x_hat):
    """Right-hand side of the exact Parseval identity (eq. 3.8 with the conjugate).

    ``out[..., k] = sum_{d, i, j} conj(w_hat[k, d, i, j]) x_hat[..., d, i, j]``, which equals
    ``contract(w, x)`` for real w, x (eq. 3.8 as printed omits the conjugate).

    w_hat: ``(K, C, H, W)``; x_hat: ``(..., C, H, W)``; returns ``(..., K)`` complex
    (its imaginary part vanishes for DFTs of real arrays).
    """
    if _is_torch(x_hat):
        import torch
        return torch.einsum("kdij,...dij->...k", w_hat.conj(), x_hat)
    w_hat = as_array("w_hat", w_hat)
    x_hat = as_array("x_hat", x_hat)
    _check_conv_shapes(w_hat, x_hat, "w_hat", "x_hat")
    return np.einsum("kdij,...dij->...k", np.conj(w_hat), x_hat)


def signed_frequencies(n: int) -> np.ndarray:
    """Signed integer frequencies of an n-point DFT in FFT order: 0, 1, ..., -(n//2), ..., -1.

    (``numpy.fft.fftfreq(n) * n``; for even n the Nyquist index n/2 is reported as -n/2, so
    the centred grid is ``[-n/2, n/2)`` as in the design's radial averages.)
    """
    return np.rint(np.fft.fftfreq(n) * n).astype(int)


def conjugate_indices(H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (I, J) of the frequency -k for every k on the H x W grid.

    For real x, ``dft2(x)[..., I, J] == conj(dft2(x))`` (conjugate symmetry).
    Returned with shapes ``(H, 1)`` and ``(1, W)`` for broadcasting.
    """
    return ((-np.arange(H)) % H)[:, None], ((-np.arange(W)) % W)[None, :]


def conjugate_flat_indices(H: int, W: int) -> np.ndarray:
    """:func:`conjugate_indices` flattened: the flat index of ``-k`` for every flat frequency ``k`` of an
    ``H x W`` grid, ``(HW,)`` int, C-contiguous."""
    I, J = conjugate_indices(H, W)
    return np.ascontiguousarray(np.arange(H * W).reshape(H, W)[I, J].ravel())


def conjugate_symmetrise(v_hat: np.ndarray) -> np.ndarray:
    """``(v_hat[k] + conj(v_hat[-k])) / 2`` over the last two axes ``(..., H, W)``: the DFT of ``Re idft2(v_hat)``,
    i.e. of a real image exactly (solvers apply it to remove round-off asymmetry)."""
    I, J = conjugate_indices(*v_hat.shape[-2:])
    return (v_hat + np.conj(v_hat[..., I, J])) / 2


def to_blocks(a):
    """Move the spatial axes in front of the channel axes: ``(..., K, C, H, W) -> (..., H, W, K, C)``.

    The per-frequency ``K x C`` blocks (the paper's ``v_hat_{ij}``, Theorem 4.9) are then
    the trailing matrices, so batched linear algebra runs over all frequencies at once.
    """
    return np.moveaxis(a, (-2, -1), (-4, -3))


def from_blocks(b):
    """Inverse of :func:`to_blocks`: ``(..., H, W, K, C) -> (..., K, C, H, W)``."""
    return np.moveaxis(b, (-4, -3), (-2, -1))
